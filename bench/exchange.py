"""End-to-end cost of the exchange over mutual TLS, through the SDK: a signed write (signature,
verification, idempotency, ledger append, signed checkpoint, receipt, and the client's receipt and
proof checks) against the cheapest authenticated read, `GET /v1/me`, measured in the same run.

Run: .venv/bin/python bench/exchange.py [--requests 300]   (about a minute; SQLite, one process)
"""

from __future__ import annotations

import argparse
import statistics
import time

from imr_alomrane_gateway_client import CaseCreate, GatewayClient, MessageCreate
from gateway.security.dev import trust_roots
from gateway.server import background_gateway, scratch_settings

PAYLOAD = {
    "respondent_id": "al-omrane",
    "complainant": {"full_name": "فاطمة الزهراء بنعلي", "cin": "BE123456", "address": "حي الأمل، الدار البيضاء", "preferred_language": "ar"},
    "subject": "delivery_delays",
    "title": "تأخر تسليم شقة – retard de livraison",
    "summary": "La plaignante a payé l'intégralité du prix ; la livraison n'a toujours pas eu lieu. " * 5,
    "project": {"name": "Al Amal", "city": "Casablanca", "region": "fes-meknes"},
    "requested_action": "Communiquer une date de livraison ferme.",
}


def timed(run, count: int) -> list[float]:
    samples = []
    for i in range(count):
        start = time.perf_counter()
        run(i)
        samples.append(time.perf_counter() - start)
    return samples


def report(name: str, samples: list[float], baseline: float) -> None:
    median = statistics.median(samples)
    p90 = sorted(samples)[int(0.9 * len(samples)) - 1]
    print(f"{name:<44}{median * 1000:>9.2f} ms{p90 * 1000:>10.2f} ms{1 / median:>9.0f}/s{median / baseline:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with scratch_settings(rate_limit_unit_per_second=0, rate_limit_institution_per_second=0) as settings:  # the machinery, not the limiter
        with background_gateway(settings) as url:
            imr = GatewayClient.from_pki_dir(url, "imr", settings.pki_dir, **trust_roots(settings))
            omrane = GatewayClient.from_pki_dir(url, "al-omrane", settings.pki_dir, **trust_roots(settings))
            imr.me(), omrane.me()  # connections and JWKS warm
            reads = timed(lambda i: imr.me(), args.requests)
            opens = timed(lambda i: imr.open_case(CaseCreate(reference=f"BENCH/{i}", **PAYLOAD)), args.requests)
            case_ids = [c.id for page in [imr.cases_page(limit=200)] for c in page.items]
            notes = timed(lambda i: omrane.send_message(case_ids[i % len(case_ids)], MessageCreate(kind="note", body="Suivi en cours.")), args.requests)
            detail = timed(lambda i: imr.get_case(case_ids[i % len(case_ids)]), args.requests)
            imr.close(), omrane.close()
    baseline = statistics.median(reads)
    print(f"{args.requests} requests each, sequential, one client per institution\n")
    print(f"{'operation':<44}{'median':>12}{'p90':>13}{'rate':>11}{'ratio':>8}")
    report("GET /v1/me (baseline)", reads, baseline)
    report("GET /v1/cases/{id} (with timeline)", detail, baseline)
    report("POST /v1/cases (signed, receipt verified)", opens, baseline)
    report("POST /v1/cases/{id}/messages (signed, verified)", notes, baseline)


if __name__ == "__main__":
    main()
