"""Conformance vectors: fixed inputs and what the gateway's own code makes of them, as JSON files
beside this module, for implementations in other languages (conformance/README.md)."""
