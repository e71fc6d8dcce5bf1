"""bench/audit.py builds its ledger through the real append path (entries, nodes, signed checkpoints,
a witness's cosignatures through the cosignature service) and its export verifies, sampled and whole:
the benchmark's correctness, at a size the suite can afford (its speed is bench/audit.py's to print)."""

from __future__ import annotations

from bench.audit import WITNESS, build, raw_hashing_seconds
from imr_alomrane_gateway_client.ledger.checkpoint import NoteVerifier
from gateway.ledger.verify import verify_export


def test_the_benchmark_ledger_is_built_through_the_append_path_and_verifies(database_url, tmp_path):
    built = build(database_url, tmp_path, entries=60, batch=25, cosign_every=20)
    log, witness = NoteVerifier.from_key_string(built.note_key), NoteVerifier.from_key_string(built.witness_key)

    def verified(**options):
        with built.export.open("rb") as lines:
            return verify_export(lines, log, [witness], progress=None, **options)

    sampled = verified(sample=5, seed=1)
    assert (sampled.entries, sampled.checkpoints, sampled.cosignatures) == (60, 60, {WITNESS: 3})
    assert sampled.checked == 3 + 5 and len(sampled.sampled) == 5  # the cosigned ones (the latest among them) and the sample
    assert verified(every_checkpoint=True).checked == 60
    assert sum(1 for _ in built.leaves.open("rb")) == 60 and raw_hashing_seconds(built.leaves) > 0
