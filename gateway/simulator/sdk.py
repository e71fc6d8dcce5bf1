"""The SDK names the simulator uses, imported here only: it uses the SDK's public API (`__all__`) and
nothing else, so that where the SDK lives is one line to change."""

from imr_alomrane_gateway_client import CaseCreate, DocumentCorrupted, GatewayClient, GatewayError, MessageCreate, ReceiptInvalid, inbox_resume

__all__ = ["CaseCreate", "DocumentCorrupted", "GatewayClient", "GatewayError", "MessageCreate", "ReceiptInvalid", "inbox_resume"]
