"""Rate limits: a token bucket per unit and one per institution; 429 `rate-limited` with Retry-After."""

from __future__ import annotations

import uuid

import pytest

from gateway.api.rate_limits import Rate, RateLimiter
from gateway.domain.party import Party, Unit
from imr_alomrane_gateway_client.vocabulary import Role
from tests.factories import case_payload


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def party(institution: str, unit: str | None = None) -> Party:
    return Party(institution, Role.RESPONDENT, "Nom", "اسم", Unit(unit or institution, institution, "Nom", "اسم", frozenset(), unit is None))


def test_a_burst_is_served_then_the_sustained_rate_applies():
    clock = Clock()
    limiter = RateLimiter(Rate(per_second=2, burst=3), Rate(0, 1), clock)
    caller = party("al-omrane")
    assert [limiter.admit(caller) for _ in range(3)] == [None, None, None]
    assert limiter.admit(caller) == 1  # one token comes back in 0.5 s: come back in a whole second
    clock.now += 0.5
    assert limiter.admit(caller) is None
    assert limiter.admit(caller) == 1
    clock.now += 100  # a long pause refills up to the burst, not beyond
    assert [limiter.admit(caller) for _ in range(4)] == [None, None, None, 1]


def test_retry_after_is_the_time_until_the_next_token_rounded_up():
    clock = Clock()
    limiter = RateLimiter(Rate(per_second=0.1, burst=1), Rate(0, 1), clock)
    caller = party("imr")
    assert limiter.admit(caller) is None
    assert limiter.admit(caller) == 10
    clock.now += 9.5
    assert limiter.admit(caller) == 1
    clock.now += 0.5
    assert limiter.admit(caller) is None


def test_units_have_their_own_buckets_and_share_their_institutions():
    clock = Clock()
    limiter = RateLimiter(Rate(per_second=1, burst=2), Rate(per_second=1, burst=3), clock)
    head, casablanca, rabat = party("al-omrane"), party("al-omrane", "al-omrane-casa"), party("al-omrane", "al-omrane-rabat")
    assert [limiter.admit(head) for _ in range(2)] == [None, None]
    assert limiter.admit(head) == 1  # the head office's own bucket is empty
    assert limiter.admit(casablanca) is None  # another unit still has its own, and the institution one left
    assert limiter.admit(rabat) == 1  # the institution's bucket is empty now
    assert limiter.admit(party("imr")) is None  # another institution is not affected


def test_a_refused_request_takes_no_token_from_either_bucket():
    clock = Clock()
    limiter = RateLimiter(Rate(per_second=1, burst=5), Rate(per_second=1, burst=1), clock)
    first, second = party("al-omrane", "a"), party("al-omrane", "b")
    assert limiter.admit(first) is None
    for _ in range(10):
        assert limiter.admit(first) == 1  # refused by the institution's bucket: the unit's keeps its 4 tokens
    clock.now += 4  # the institution's bucket holds 1 token again (its burst)
    assert limiter.admit(first) is None
    assert limiter.admit(second) == 1
    clock.now += 1
    assert limiter.admit(second) is None


def test_a_zero_rate_means_no_limit():
    limiter = RateLimiter(Rate(0, 1), Rate(0, 1), Clock())
    assert all(limiter.admit(party("imr")) is None for _ in range(10_000))


@pytest.fixture
def limited(app):
    """The app's limiter replaced by one on a clock the test moves: 2 requests at once, then 1 per 2 s."""
    clock = Clock()
    app.state.runtime.__dict__["rate_limiter"] = RateLimiter(Rate(per_second=0.5, burst=2), Rate(per_second=0, burst=1), clock)
    return clock


def test_the_request_over_the_limit_gets_a_429_problem_in_the_callers_language(limited, imr, omrane):
    assert imr.get("/v1/me").status_code == 200
    assert imr.get("/v1/cases").status_code == 200
    refused = imr.get("/v1/me", headers={"Accept-Language": "ar"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"] == "/problems/rate-limited"
    assert problem["title"] == "طلبات كثيرة جدا: أعيدوا المحاولة بعد Retry-After"
    assert omrane.get("/v1/me").status_code == 200  # the other institution's budget is its own


def test_a_write_refused_for_its_rate_is_not_recorded_and_can_be_sent_again(limited, imr, ledger_size):
    imr.get("/v1/me")
    imr.get("/v1/me")
    before = ledger_size()
    body = case_payload()
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    refused = imr.post("/v1/cases", json=body, headers=headers)
    assert refused.status_code == 429
    assert ledger_size() == before
    limited.now += 2
    accepted = imr.post("/v1/cases", json=body, headers=headers)  # same key: nothing of the first attempt was kept
    assert accepted.status_code == 201, accepted.text
    assert ledger_size() == before + 1


def test_one_request_takes_one_token_however_many_dependencies_name_the_caller(limited, imr):
    """A write resolves the caller for its role check and for its signature: the token is taken once."""
    assert imr.post("/v1/cases", json=case_payload(), headers={"Idempotency-Key": str(uuid.uuid4())}).status_code == 201
    assert imr.get("/v1/me").status_code == 200
    assert imr.get("/v1/me").status_code == 429


@pytest.mark.tls
def test_over_real_tls_the_limit_answers_429_with_retry_after(settings, test_pki):
    import ssl

    import httpx

    from gateway.app import create_app
    from gateway.server import background_gateway

    limited = settings.model_copy(update={"rate_limit_unit_per_second": 0.01, "rate_limit_unit_burst": 3})
    context = ssl.create_default_context(cafile=str(test_pki.dev.ca_cert))
    context.load_cert_chain(test_pki.files("imr").cert, test_pki.files("imr").key)
    with background_gateway(limited, create_app(limited)) as url, httpx.Client(base_url=url, verify=context) as client:
        statuses = [client.get("/v1/me").status_code for _ in range(5)]
        refused = client.get("/v1/me")
    assert statuses == [200, 200, 200, 429, 429]
    assert refused.headers["Retry-After"] == "100"
    assert refused.json()["type"] == "/problems/rate-limited"
