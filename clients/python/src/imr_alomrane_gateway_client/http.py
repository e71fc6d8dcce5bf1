"""The two clients: the same operations (imr_alomrane_gateway_client.core), driven with blocking or async I/O."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path
from typing import Any

import httpx

from imr_alomrane_gateway_client.core import (
    Downloaded,
    DownloadCheck,
    Operations,
    ReceiptChecker,
    Sleep,
    Steps,
    download_request,
    downloaded,
    inbox_resume,
    raise_for_problem,
    staged_file,
)
from imr_alomrane_gateway_client.auth import RequestSigner
from imr_alomrane_gateway_client.trust import KeysDocument, TrustRoots

DEFAULT_GATEWAY_ID = "imr-alomrane-gateway"


class _Settings:
    """What both clients are configured with: where the gateway is, and a unit's credentials. A
    head office's `unit_id` is its institution's id; a regional unit connects with its own."""

    def __init__(
        self,
        base_url: str,
        unit_id: str,
        *,
        ca: Path,
        cert: Path,
        key: Path,
        signing_key: Path,
        signing_kid: str | None = None,
        receipt_keys: KeysDocument | None = None,
        checkpoint_key: str | Path | None = None,
        trust_on_first_use: bool = False,
        gateway_id: str = DEFAULT_GATEWAY_ID,
        retries: int = 4,
        max_retry_after: float = 30.0,
        timeout: float = 30.0,
    ) -> None:
        """`receipt_keys` and `checkpoint_key` are the trust roots (imr_alomrane_gateway_client.trust):
        a key history or JWK Set (or its file), and the checkpoint verifier key (or its file).
        `max_retry_after` bounds the wait a 503's `Retry-After` asks for, in seconds."""
        self.unit_id, self.gateway_id, self.retries, self.max_retry_after = unit_id, gateway_id, retries, max_retry_after
        trust = TrustRoots(gateway_id, receipt_keys=receipt_keys, checkpoint_key=checkpoint_key, trust_on_first_use=trust_on_first_use)
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(cert), str(key))
        self._http_options: dict[str, Any] = {
            "base_url": base_url,
            "verify": context,
            "timeout": timeout,
            "auth": RequestSigner.from_key_file(unit_id, signing_key, gateway_id, signing_kid),
            "headers": {"Accept": "application/json"},
        }
        self.receipts = ReceiptChecker(gateway_id, unit_id, trust)

    @classmethod
    def from_pki_dir(cls, base_url: str, unit_id: str, pki_dir: Path, **options: Any):
        """Credentials laid out as `gateway pki init` makes them (ca.pem, <id>.pem/.key, <id>-signing.key);
        the trust roots are still given in `options`."""
        return cls(
            base_url, unit_id, ca=pki_dir / "ca.pem", cert=pki_dir / f"{unit_id}.pem",
            key=pki_dir / f"{unit_id}.key", signing_key=pki_dir / f"{unit_id}-signing.key", **options,
        )


class GatewayClient(_Settings, Operations):
    """Blocking client. Writes return `Accepted(value, receipt, deferred)`; errors raise `GatewayError` subclasses."""

    def __init__(self, base_url: str, unit_id: str, **options: Any) -> None:
        super().__init__(base_url, unit_id, **options)
        self.http = httpx.Client(**self._http_options)

    def _drive(self, steps: Steps) -> Any:
        outcome: Any = None
        try:
            while True:
                step = steps.send(outcome)
                if isinstance(step, Sleep):
                    time.sleep(step.seconds)
                    outcome = None
                    continue
                try:
                    outcome = self.http.send(step)
                except httpx.TransportError as error:
                    outcome = error
        except StopIteration as done:
            return done.value

    def download_document(self, case_id: str, document_id: str, destination: Path, *, start: int | None = None,
                          end: int | None = None) -> Downloaded:
        """Stream a document (or the byte range start..end, inclusive) into `destination`, checking
        its digest; raises DocumentCorrupted, leaving no file, if it does not match."""
        response = self.http.send(download_request(self.http, case_id, document_id, start, end), stream=True)
        try:
            if not response.is_success:
                response.read()
                raise_for_problem(response)
            check = DownloadCheck(response)
            with staged_file(destination) as out:
                for chunk in response.iter_bytes():
                    out.write(check.feed(chunk))
                return downloaded(destination, response, check)
        finally:
            response.close()

    def download_ledger_export(self, destination: Path) -> Path:
        """The whole ledger as JSON Lines (auditors), streamed into `destination`."""
        with self.http.stream("GET", "/v1/ledger/export") as response:
            if not response.is_success:
                response.read()
                raise_for_problem(response)
            with staged_file(destination) as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        return destination

    def iter_inbox(self, cursor: str | None = None, limit: int | None = None, wait: int | None = None):
        """Every event available now (or, with `wait`, the first to come within that many seconds
        and any behind it), oldest first; `self.inbox_cursor` is where to resume."""
        self.inbox_cursor = cursor
        while True:
            page = self.inbox_page(cursor=self.inbox_cursor, limit=limit, wait=wait)
            yield from page.items
            self.inbox_cursor = inbox_resume(page, self.inbox_cursor)
            if page.next_cursor is None:
                return

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncGatewayClient(_Settings, Operations):
    """The same operations, awaited."""

    def __init__(self, base_url: str, unit_id: str, **options: Any) -> None:
        super().__init__(base_url, unit_id, **options)
        self.http = httpx.AsyncClient(**self._http_options)

    async def _drive(self, steps: Steps) -> Any:
        outcome: Any = None
        try:
            while True:
                step = steps.send(outcome)
                if isinstance(step, Sleep):
                    await asyncio.sleep(step.seconds)
                    outcome = None
                    continue
                try:
                    outcome = await self.http.send(step)
                except httpx.TransportError as error:
                    outcome = error
        except StopIteration as done:
            return done.value

    async def download_document(self, case_id: str, document_id: str, destination: Path, *, start: int | None = None,
                                end: int | None = None) -> Downloaded:
        response = await self.http.send(download_request(self.http, case_id, document_id, start, end), stream=True)
        try:
            if not response.is_success:
                await response.aread()
                raise_for_problem(response)
            check = DownloadCheck(response)
            with staged_file(destination) as out:
                async for chunk in response.aiter_bytes():
                    out.write(check.feed(chunk))
                return downloaded(destination, response, check)
        finally:
            await response.aclose()

    async def download_ledger_export(self, destination: Path) -> Path:
        async with self.http.stream("GET", "/v1/ledger/export") as response:
            if not response.is_success:
                await response.aread()
                raise_for_problem(response)
            with staged_file(destination) as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
        return destination

    async def iter_inbox(self, cursor: str | None = None, limit: int | None = None, wait: int | None = None):
        self.inbox_cursor = cursor
        while True:
            page = await self.inbox_page(cursor=self.inbox_cursor, limit=limit, wait=wait)
            for event in page.items:
                yield event
            self.inbox_cursor = inbox_resume(page, self.inbox_cursor)
            if page.next_cursor is None:
                return

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncGatewayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
