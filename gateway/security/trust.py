"""What the registry version in force decides, as one immutable snapshot.

Each gateway process serves one `Trust` at a time and swaps it whole when a new registry version
is put in force (gateway.runtime): a request takes it once, at its start, so that no request sees
half of an old registry and half of a new one; the edge takes its TLS context for each new
connection."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from gateway.security.crl import Revocations
from gateway.security.keys import KeyRing
from gateway.security.registry import Directory, Registry


@dataclass(frozen=True)
class Trust:
    version: int | None  # the registry version (None: read from the files, not applied)
    registry: Registry
    keys: KeyRing
    directory: Directory
    revocations: Revocations
    tls_context: ssl.SSLContext | None  # for the edge's new connections (None: not serving TLS itself)
