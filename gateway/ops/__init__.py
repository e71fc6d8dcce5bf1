"""Operations: what operators use to run the gateway (readiness, metrics, logs, backups)."""
