"""The OpenAPI document as the contract: operation ids and descriptions, headers, per-operation
problem types, examples (gateway.api.openapi.operations), applied to what FastAPI generates
(gateway.api.openapi.document); and the reference HTML made from it (gateway.api.openapi.reference)."""

from gateway.api.openapi.operations import DOCUMENT_OPERATIONS, described

__all__ = ["DOCUMENT_OPERATIONS", "described"]
