"""The wire contract of API v1: pydantic models shared by the server, the SDK and the JSON Schemas."""
