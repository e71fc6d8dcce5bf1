"""What a client checks of the ledger by itself: RFC 9162 Merkle proofs, C2SP checkpoints, the canonical entry."""
