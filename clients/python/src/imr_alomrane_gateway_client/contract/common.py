"""Building blocks shared by every payload."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from imr_alomrane_gateway_client.names import hidden_character

T = TypeVar("T")

InstitutionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339_only(value: Any) -> Any:
    """Refuse what lax parsing would accept (Unix timestamps, dates, no offset): the contract says RFC 3339."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise PydanticCustomError("rfc3339", "expected an RFC 3339 date-time with an offset, e.g. 2026-12-31T17:00:00+01:00")
    return value


def _in_utc(value: datetime) -> datetime:
    """Every instant is kept in UTC; one that UTC cannot hold (a year 1 or 9999 shifted past its end) is refused."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "the instant falls outside the years 1 to 9999 in UTC") from None


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only), AfterValidator(_in_utc)]


def utc_text(moment: datetime, timespec: str = "auto") -> str:
    """An instant as the gateway writes every one it emits (the API's datetimes, receipt claims,
    files): RFC 3339 in UTC with `Z`, as pydantic writes the contract's."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def text(max_length: int) -> Any:
    """Free text, kept exactly as sent (no trimming, no normalisation: Arabic and French round-trip),
    except NUL, which no database stores faithfully."""
    return Annotated[str, StringConstraints(min_length=1, max_length=max_length, pattern=r"^[^\x00]*$")]


def _visible(value: str) -> str:
    if hidden := hidden_character(value):
        raise PydanticCustomError("name_characters", "a name holds no control, format or invisible character; found {character}",
                                  {"character": hidden})
    return value


def visible_name(max_length: int) -> Any:
    """A name a person reads (a complainant's, a place's, an institution's): kept exactly as sent,
    every character visible (imr_alomrane_gateway_client.names)."""
    return Annotated[str, StringConstraints(min_length=1, max_length=max_length), AfterValidator(_visible), Field(
        description="Kept exactly as sent. No control, format or invisible character (Unicode category C, U+2028, U+2029): "
        "no bidirectional control, zero-width space or soft hyphen; U+200C and U+200D only where RFC 5892 (CONTEXTJ) allows them.",
    )]


class Input(BaseModel):
    """Request payloads refuse unknown fields, so a typo is an error rather than silently dropped data."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list; follow `next_cursor` (also in the `Link: rel="next"` header) for more."""

    items: list[T]
    next_cursor: str | None = Field(default=None, exclude_if=lambda cursor: cursor is None,
                                    description="Opaque; absent on the last page (for the inbox: absent once you are caught up).")


class FieldError(BaseModel):
    """Where a request failed validation: a JSON pointer into the body, or a parameter or header name."""

    pointer: str | None = None
    parameter: str | None = None
    header: str | None = None
    detail: str
    code: str


class Problem(BaseModel):
    """RFC 9457 problem details; `title` follows `Accept-Language` (fr, ar, en)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    request_id: str | None = Field(
        default=None, description="This request's id, also in the `X-Request-ID` response header: yours if you sent a well-formed "
        "`X-Request-ID` (1 to 128 of `A-Z a-z 0-9 . _ : -`), else the gateway's. Quote it to the gateway's operators.",
    )
