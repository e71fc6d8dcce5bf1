"""The verifiable exchange ledger: RFC 9162 Merkle tree, C2SP checkpoints, the store."""
