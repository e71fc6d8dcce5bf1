"""Use cases. Each takes a session and never commits: the caller owns the transaction."""
