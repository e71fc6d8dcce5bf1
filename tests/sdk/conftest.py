"""The SDK's own tests run against the same real gateway over mutual TLS as tests/tls."""

from tests.tls.conftest import sdk, tls_gateway  # noqa: F401 - fixtures shared with tests/tls
