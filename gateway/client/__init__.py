"""The institutions' SDK: a typed, signing, retrying client for the gateway (sync and async)."""
