"""`gateway`: serve and migrate; the registry in force; the development PKI; the demo and the sandbox simulator;
the ledger (key, export, offline verification, check); backup and restore; the processing-time report; the
personal-data retention policy, the blob store and the master key; and the published contract."""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gateway.config import Settings
from imr_alomrane_gateway_client.regions import Region
from gateway.misconfiguration import ConfigurationError, from_settings, reachable_database
from gateway.simulator.scenarios import SCENARIOS as SCENARIO_NAMES

if TYPE_CHECKING:
    from gateway.runtime import Runtime
    from gateway.security.pki import GatewayKeyFiles
    from imr_alomrane_gateway_client.signers import KeySigner


@contextmanager
def _runtime(settings: Settings) -> Iterator[Runtime]:
    """What one command needs, built on first use and closed afterwards."""
    from gateway.runtime import Runtime

    runtime = Runtime(settings)
    try:
        yield runtime
    finally:
        runtime.close()


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.security.dev import ensure_dev_setup
    from gateway.server import Sockets, serve_forever
    from gateway.storage.migrations import upgrade

    # Behind a proxy the gateway holds no server certificate: there is no development set-up to make.
    if settings.tls_cert is None and settings.tls_key is None and not settings.trust_proxy_client_cert:
        _, wrote_registry = ensure_dev_setup(settings.pki_dir, settings.registry_file)
        if wrote_registry:
            print(f"development registry written to {settings.registry_file}")
    with _runtime(settings) as runtime:  # every file the settings name, before the database or the server is touched
        runtime.check_configuration()
        if not settings.trust_proxy_client_cert:
            runtime.check_server_tls()
    sockets = Sockets.bound(settings)  # the side listeners' ports, bound now: one already taken stops the start-up here
    with reachable_database():
        upgrade(settings.database_url, master_key=settings.load_master_key(), lock_wait_seconds=settings.migration_lock_wait_seconds)
    host, port = args.host or settings.host, args.port or settings.port
    pki_dir = settings.pki_dir
    if settings.trust_proxy_client_cert:
        print(f"gateway listening on http://{host}:{port} for the TLS-terminating proxy at {', '.join(settings.trusted_proxies)}", flush=True)
    else:
        print(
            f"gateway listening on https://{host}:{port} (client certificates required)\n"
            f"try it as IMR:\n  curl --cacert {pki_dir}/ca.pem --cert {pki_dir}/imr.pem --key {pki_dir}/imr.key "
            f"https://{host}:{port}/v1/me",
            flush=True,
        )
    if sockets.public is not None:
        scheme = "http" if settings.trust_proxy_client_cert else "https"
        print(f"public listener on {scheme}://{settings.public_host}:{settings.public_port} (no client certificate): "
              "the gateway's keys, the key history, the ledger key and checkpoints, problem types, the reference documentation",
              flush=True)
    serve_forever(settings, sockets, host=host, port=port, log_level=args.log_level)
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.storage.migrations import upgrade

    try:
        master_key = settings.load_master_key()
    except ConfigurationError:
        master_key = None  # only needed to seal existing rows; the migration says so if it is
    with reachable_database():
        upgrade(settings.database_url, args.revision, master_key, lock_wait_seconds=settings.migration_lock_wait_seconds)
    print(f"database at {args.revision}")
    return 0


def _registry_apply(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.storage.migrations import check_up_to_date

    with _runtime(settings) as runtime:
        with reachable_database():
            check_up_to_date(runtime.database.engine)
        if _checked_now(runtime, "registry apply"):  # a registry change is a ledger entry
            return 1
        applied = runtime.apply_files()
        if applied is None:
            print(f"registry unchanged: version {runtime.trust.version} stays in force")
            return 0
    print(f"registry version {applied.version} applied ({len(applied.changes)} change(s), ledger entry {applied.appended.index}); "
          f"every gateway process serves it within GATEWAY_REGISTRY_POLL_SECONDS ({settings.registry_poll_seconds:g} s)")
    for change in applied.changes:
        print("  " + " ".join(f"{name}={value}" for name, value in change.items()))
    return 0


def _pki_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.security import pki

    directory = args.dir or settings.pki_dir
    crl = args.crl or (settings.client_crl[0] if settings.client_crl else directory / "crl.pem")
    try:
        serial = pki.revoke_client_certificate(directory, args.institution, crl)
    except (ValueError, OSError) as failed:
        print(f"gateway pki revoke: {failed}", file=sys.stderr)
        return 1
    print(f"revoked {args.institution}'s certificate (serial {serial:x}) in {crl}; "
          "put it in force with `gateway registry apply` (or SIGHUP to a gateway process)")
    return 0


def _pki_init(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.security.dev import ensure_dev_setup

    dev, wrote_registry = ensure_dev_setup(args.dir or settings.pki_dir, settings.registry_file)
    print(f"development PKI ready in {dev.directory}" + (f"; registry written to {settings.registry_file}" if wrote_registry else ""))
    return 0


def _pki_issue(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.security import pki
    from gateway.security.dev import register_certificate

    files = pki.issue_client_certificate(args.dir or settings.pki_dir, args.institution, organization=args.organization)
    fingerprint = pki.certificate_fingerprint(pki.load_certificate(files.cert))
    print(f"issued {files.cert} (key {files.key}, signing key {files.signing_key})")
    if args.register and settings.registry_file.exists() and register_certificate(settings.registry_file, args.institution, files):
        print(f"added to {args.institution} in {settings.registry_file} (the old certificate stays listed); "
              "put it in force with `gateway registry apply`")
        return 0
    print(f'registry entry: "certificates": [{{"sha256": "{fingerprint}"}}]')
    if args.register:
        print(f"{settings.registry_file} does not list {args.institution}: add the entry above", file=sys.stderr)
        return 1
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from gateway import demo
    from imr_alomrane_gateway_client import GatewayError, ReceiptInvalid

    try:
        demo.run(args.url, args.pki, report=args.report)
    except (demo.DemoFailure, GatewayError, ReceiptInvalid, OSError) as failure:
        print(f"DEMO FAILED: {type(failure).__name__}: {failure}", file=sys.stderr)
        return 1
    return 0


def _simulate(settings: Settings, args: argparse.Namespace) -> int:
    import random

    import httpx

    from gateway import samples
    from gateway.simulator.sdk import GatewayClient, GatewayError, ReceiptInvalid
    from gateway.simulator import actor, material

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    scenarios = args.scenario or list(SCENARIO_NAMES)
    if args.dry_run:
        print(f"plan of seed {seed} (references get the run's tag, SIM/<run>/<number>/<scenario>):")
        for planned in itertools.islice(material.planned_cases(seed, scenarios), args.count or 10):
            complaint = samples.COMPLAINTS[planned.complaint]
            print(f"  {planned.number:04d}  {planned.scenario:<18} {complaint['subject']:<22} {complaint['project']['region']:<26} "
                  f"{complaint['complainant']['preferred_language']}")
        return 0
    if args.url is None:
        print("gateway simulate: --url is required (the gateway to drive)", file=sys.stderr)
        return 2
    unit = args.unit or args.side
    explicit = {"ca": args.ca, "cert": args.cert, "key": args.key, "signing_key": args.signing_key}
    if args.pki_dir is None and None in explicit.values():
        print("gateway simulate: give --pki-dir, or all of --ca, --cert, --key and --signing-key", file=sys.stderr)
        return 2
    if not args.trust_on_first_use and None in (args.receipt_keys, args.checkpoint_key):
        print("gateway simulate: give the gateway's keys (--receipt-keys and --checkpoint-key), or --trust-on-first-use", file=sys.stderr)
        return 2
    options = actor.Options(actor.ROLES[args.side], scenarios, seed, args.count, args.duration, args.rate,
                            args.actions_per_second, args.poll_interval, args.counterpart)
    credentials = {"signing_kid": args.signing_kid, "gateway_id": args.gateway_id, "receipt_keys": args.receipt_keys,
                   "checkpoint_key": args.checkpoint_key, "trust_on_first_use": args.trust_on_first_use}
    try:
        with (GatewayClient.from_pki_dir(args.url, unit, args.pki_dir, **credentials) if args.pki_dir else
              GatewayClient(args.url, unit, **explicit, **credentials)) as client:
            try:
                simulation = actor.Actor(client, options)
            except ValueError as wrong_side:
                print(f"gateway simulate: {wrong_side}", file=sys.stderr)
                return 2
            summary = simulation.run()
    except (GatewayError, ReceiptInvalid, httpx.HTTPError, OSError) as failure:
        print(f"SIMULATION FAILED: {type(failure).__name__}: {failure}", file=sys.stderr)
        return 1
    print("\n".join(summary.lines()))
    return 0 if summary.ok else 1


def _ledger_export(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services.ledger import export_lines

    with _runtime(settings) as runtime, (open(args.output, "w", encoding="utf-8") if args.output != "-" else sys.stdout) as out:
        note_key = runtime.ledger.signer.verifier.key_string
        out.writelines(export_lines(runtime.database, settings.origin, note_key, args.start))
    return 0


def _ledger_key(settings: Settings, args: argparse.Namespace) -> int:
    with _runtime(settings) as runtime:
        print(runtime.ledger.signer.verifier.key_string)
    return 0


def _ledger_verify(settings: Settings, args: argparse.Namespace) -> int:
    from imr_alomrane_gateway_client.ledger.checkpoint import COSIGNATURE_V1, NoteError, NoteVerifier
    from gateway.ledger.verify import VerificationFailed, verify_export

    def verified():
        log = NoteVerifier.from_key_string(args.key)
        witnesses = [NoteVerifier.from_key_string(key) for key in args.witness]
        if any(w.signature_type != COSIGNATURE_V1 for w in witnesses):
            raise NoteError("witness keys are cosignature (type 0x04) verifier keys")
        since = Path(args.since).read_text(encoding="utf-8") if args.since else None
        sample = settings.ledger_verify_sample if args.sample is None else args.sample
        with open(args.export, "rb") as lines:
            return verify_export(lines, log, witnesses, since, sample=sample, seed=args.seed, every_checkpoint=args.every_checkpoint)

    return _verdict(verified, (VerificationFailed, NoteError, OSError))


def _ledger_check(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.ledger.integrity import LedgerMismatch, check

    with _runtime(settings) as runtime:
        return _verdict(lambda: check(runtime.database, runtime.ledger.signer.verifier), (LedgerMismatch,))


def _verdict(checked: Callable[[], Any], failures: tuple[type[Exception], ...]) -> int:
    """A check's one line: `OK: …` and exit status 0, or `FAILED: …` naming the first bad entry and 1."""
    try:
        verdict = checked()
    except failures as failure:
        print(f"FAILED: {failure}")
        return 1
    print(verdict.line())
    return 0


def _ledger_reimport(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.ledger.reimport import ReimportRefused, reimport
    from gateway.ops.backup import sha256_of

    with _runtime(settings) as runtime:
        record = runtime.published_checkpoints
        published = record.latest(runtime.ledger.signer.verifier)
        if published is None:
            print(f"gateway ledger reimport: no checkpoint is on record in {record.path}: nothing to re-import up to", file=sys.stderr)
            return 1
        try:
            with runtime.database.session(write=True) as session:
                done = reimport(session, runtime.ledger, Path(args.export), published)
                session.commit()
        except (ReimportRefused, OSError, ValueError) as refused:
            print(f"gateway ledger reimport: {refused}", file=sys.stderr)
            return 1
        if done.last is None:
            print(f"nothing to re-import: the database's ledger already holds the {done.start} entries up to the last published checkpoint")
            return 0
        runtime.ledger.committed(done.last)
        record.record_reimport(done.start, done.end, sha256_of(Path(args.export)))
        print(f"re-imported ledger entries {done.start} to {done.end - 1} from {args.export}; recorded in {record.path}")
        return _checked_now(runtime, "ledger reimport")


def _checked_now(runtime: Runtime, command: str) -> int:
    """The ledger's start-up checks, run on what is there now: each failure on a line of its own; 1 if any.
    A command that appends to the ledger runs them first, and refuses as a write to the API would."""
    runtime.check_ledger()
    failures = runtime.readiness.failures()
    for failure in failures:
        print(f"gateway {command}: {failure.reason}", file=sys.stderr)
    return 1 if failures else 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.ops.backup import BackupError, backup

    with _runtime(settings) as runtime:
        try:
            manifest = backup(settings, runtime.database, runtime.blobs, args.directory)
        except BackupError as failure:
            print(f"gateway backup: {failure}", file=sys.stderr)
            return 1
    blobs = sum(1 for described in manifest["files"] if described["path"] != manifest["database_file"])
    print(f"backed up the {manifest['engine']} database (ledger size {manifest['ledger']['size']}) and {blobs} blob(s) to "
          f"{args.directory}; the master key is not in it: keep it apart")
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.ops.backup import BackupError, restore

    with _runtime(settings) as runtime:
        try:
            manifest = restore(settings, runtime.database, runtime.blobs, args.directory, args.force)
        except BackupError as failure:
            print(f"gateway restore: {failure}", file=sys.stderr)
            return 1
        print(f"restored the backup of {manifest['created_at']} (ledger size {manifest['ledger']['size']}, "
              f"migration {', '.join(manifest['migration_revision'])}); run `gateway migrate` if this gateway is newer")
        _checked_now(runtime, "restore")  # an old backup trips the guard: said now, and the restore stands
    return 0


def _reminders_run(settings: Settings, args: argparse.Namespace) -> int:
    from gateway import jobs

    with _runtime(settings) as runtime:
        if _checked_now(runtime, "reminders run"):
            return 1
        sent = jobs.send_reminders(runtime)
    print(f"sent {sent} reminder(s)")
    return 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.ledger.stats import Scope, exported_entries, statistics
    from gateway.reports import csv, html

    now = args.at or datetime.now(UTC)
    try:
        scope = Scope(args.unit, args.region, args.from_month, args.to_month)
    except ValueError as reversed_months:
        print(f"gateway report: {reversed_months}", file=sys.stderr)
        return 2
    reply_days = args.reply_days or settings.default_reply_days
    if args.export:
        with open(args.export, encoding="utf-8") as lines:
            figures = statistics(exported_entries(lines), reply_days, now, scope)
    else:
        from gateway.services.ledger import processing_statistics

        with _runtime(settings) as runtime:
            figures = processing_statistics(runtime.database, reply_days, now, scope)
    text = csv.render(figures, args.lang) if args.format == "csv" else html.render(figures, args.lang, args.export and Path(args.export).name)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}: {figures.overall.cases_opened} case(s), {figures.overall.thematic_files} thematic file(s)")
    return 0


def _positive(kind: type) -> Callable[[str], Any]:
    def parsed(value: str):
        number = kind(value)
        if number <= 0:
            raise argparse.ArgumentTypeError("must be more than 0")
        return number
    return parsed


def _month(value: str) -> str:
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError("a month is written YYYY-MM")
    return value


def _moment(value: str) -> datetime:
    """RFC 3339, or a date (its midnight); UTC unless it says otherwise."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _retention_apply(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services import retention
    from gateway.services.cases import delete_blobs

    policy = retention.Policy(args.days if args.days is not None else settings.retention_days, datetime.now(UTC))
    with _runtime(settings) as runtime:
        if _checked_now(runtime, "retention apply"):
            return 1
        due = retention.due(runtime.database, policy)
        print(f"{len(due)} case(s) closed before {policy.closed_before:%Y-%m-%d} ({policy.days} days ago) "
              f"{'would have' if args.dry_run or not args.yes else 'will have'} their personal data erased, irreversibly")
        if args.dry_run:
            for case_id in due:
                print(f"  {case_id}")
            return 0
        if due and not (args.yes or _confirmed("erase them? [y/N] ")):
            print("nothing erased (add --yes to erase without being asked, as from cron)", file=sys.stderr)
            return 1
        erased = 0
        for case_id in due:  # one transaction per case: an interruption keeps what was done
            with runtime.database.session(write=True) as session:
                erasure, appended = retention.erase_expired(session, runtime.vault, runtime.ledger, settings.gateway_id, policy, case_id)
                session.commit()
            if appended is not None:
                runtime.ledger.committed(appended)
            delete_blobs(runtime.blobs, erasure.blobs)
            if erasure.erased_now:
                erased += 1
                print(f"erased personal data of case {case_id}")
        print(f"{erased} case(s) closed before {policy.closed_before:%Y-%m-%d}: personal data erased, each recorded in the ledger")
        return 0


def _confirmed(question: str) -> bool:
    """Asked on a terminal only: without one (cron, CI) nothing irreversible happens unasked."""
    return sys.stdin.isatty() and input(question).strip().lower() in ("y", "yes")


def _positive_days(value: str) -> int:
    days = int(value)
    if days < 1:
        raise argparse.ArgumentTypeError("a period is at least 1 day")
    return days


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("a count is 0 or more")
    return number


def _blobs_collect(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services.blobs import collect

    with _runtime(settings) as runtime:
        removed = collect(runtime.database, runtime.blobs, args.older_than_hours * 3600, args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(removed)} blob(s) that no document needs")
    return 0


def _master_key_new(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.security.encryption import MasterKey
    from gateway.security.pki import create_secret

    key = MasterKey.generate_text()
    try:
        create_secret(args.output, (key + "\n").encode())
    except FileExistsError:
        print(f"{args.output} exists: a master key is never overwritten (data keys wrapped by it would be lost)", file=sys.stderr)
        return 1
    print(f"new master key written to {args.output} (id {MasterKey.from_text(key).id})")
    return 0


def _keys_init(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.security.pki import GatewayKeyFiles, create_secrets, remove
    from imr_alomrane_gateway_client.signers import EDDSA, ES256

    if args.in_token and settings.pkcs11_module is None:
        raise ConfigurationError("GATEWAY_PKCS11_MODULE", "is not set, and --in-token makes keys in its token",
                                 "set the GATEWAY_PKCS11_* settings (see README, Production keys)")
    files = GatewayKeyFiles.at(args.dir.absolute())
    labels = {ES256: settings.pkcs11_signing_key_label, EDDSA: settings.pkcs11_checkpoint_key_label} if args.in_token else {}
    in_token = {algorithm: label for algorithm, label in labels.items() if label}
    file_of = {ES256: files.signing, EDDSA: files.checkpoint}
    with _runtime(settings) as runtime:
        hsm = runtime.hsm if in_token else None
        taken = [label for label in in_token.values() if hsm and hsm.holds(label)]
        if hsm and taken:
            print(f"gateway keys init: token {hsm.token.label!r} already holds {', '.join(map(repr, taken))}; nothing was made "
                  "(a key is never replaced)", file=sys.stderr)
            return 1
        try:
            created = create_secrets(files.master.parent, [entry for entry in files.fresh() if entry[0] not in {file_of[a] for a in in_token}])
        except FileExistsError as existing:
            print(f"gateway keys init: already there: {existing.filename}; nothing was written (a key is never overwritten)", file=sys.stderr)
            return 1
        try:
            made = {algorithm: hsm.generate(label, algorithm) for algorithm, label in in_token.items()} if hsm else {}
        except BaseException:
            remove(created)
            raise
        print(_new_keys(settings, files, made, hsm.token.label if hsm else ""))
    return 0


def _new_keys(settings: Settings, files: GatewayKeyFiles, made: dict[str, KeySigner], token: str) -> str:
    """What `gateway keys init` made: where each key is, its public part as the gateway will publish
    it, and the settings naming it. Never a private part."""
    import json

    from imr_alomrane_gateway_client.ledger.checkpoint import NoteSigner
    from gateway.security.encryption import MasterKey
    from gateway.security.keys import checkpoint_jwk, gateway_key, key_file
    from imr_alomrane_gateway_client.signers import EDDSA, ES256

    def place(algorithm: str, path: Path, setting: str, label: str | None) -> tuple[KeySigner, str, str]:
        if algorithm in made:
            return made[algorithm], f"in token {token!r}, labelled {label!r}", f"GATEWAY_PKCS11_{setting}_LABEL={label}"
        return key_file(path, algorithm), str(path), f"GATEWAY_{setting}={path}"

    receipt, receipt_place, receipt_setting = place(ES256, files.signing, "SIGNING_KEY", settings.pkcs11_signing_key_label)
    checkpoint, checkpoint_place, checkpoint_setting = place(EDDSA, files.checkpoint, "CHECKPOINT_KEY", settings.pkcs11_checkpoint_key_label)
    published = gateway_key(receipt, settings.gateway_id)[1].published()
    verifier = NoteSigner(settings.origin, checkpoint).verifier
    published_checkpoint = checkpoint_jwk(verifier, settings.gateway_id)
    master_id = MasterKey.from_text(files.master.read_text()).id
    return (
        f"created (each file 0600: readable by its owner only):\n"
        f"receipt signing key (EC P-256) {receipt_place}; the gateway's JWKS will publish, kid {published['kid']}:\n"
        f"  {json.dumps(published, separators=(',', ':'))}\n"
        f"checkpoint key (Ed25519) {checkpoint_place}; the gateway's JWKS will publish, kid {published_checkpoint['kid']}:\n"
        f"  {json.dumps(published_checkpoint, separators=(',', ':'))}\n"
        f"  and its verifier key, for auditors and witnesses (origin {settings.origin}):\n"
        f"  {verifier.key_string}\n"
        f"master key {files.master} (id {master_id}): back it up now, apart from the database backups\n"
        f"settings:\n  {receipt_setting}\n  {checkpoint_setting}\n  GATEWAY_MASTER_KEY_FILE={files.master}"
    )


def _master_key_rotate(settings: Settings, args: argparse.Namespace) -> int:
    rewrapped, position = 0, None
    with _runtime(settings) as runtime:
        database, vault = runtime.database, runtime.vault
        while True:
            with database.session(write=True) as session:
                done = vault.rewrap_batch(session)
                session.commit()
            if not done:
                break
            rewrapped += done
        while True:
            with database.session(write=True) as session:
                position = vault.reseal_replies_batch(session, position)
                session.commit()
            if position is None:
                break
    print(f"{rewrapped} data key(s) re-wrapped under master key {vault.master.id}; stored replies re-sealed. "
          "No document was re-encrypted. The retired master keys can now be removed from the settings.")
    return 0


def _contract(settings: Settings, args: argparse.Namespace) -> int:
    """The committed contract: openapi/v1.json, schemas/, and the reference page made from them."""
    from gateway.api.openapi import reference
    from gateway.api.contract_files import openapi_document, stale_files, write_files

    root = Path(args.root)
    if args.check:
        stale = stale_files(root) + ([root / reference.PAGE] if reference.is_stale(root, openapi_document()) else [])
        for path in stale:
            print(f"stale: {path} (run `gateway contract`)", file=sys.stderr)
        return 1 if stale else 0
    for path in [*write_files(root), reference.write(root, openapi_document())]:
        print(f"wrote {path}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="gateway", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve HTTPS with mutual TLS (creates a development set-up if none)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.set_defaults(run=_migrate)

    pki_commands = commands.add_parser("pki", help="development PKI").add_subparsers(dest="pki_command", required=True)
    init = pki_commands.add_parser("init", help="create the CA, server and institution certificates if missing")
    init.add_argument("--dir", type=Path)
    init.set_defaults(run=_pki_init)
    issue = pki_commands.add_parser("issue", help="issue (or re-issue) an institution's client certificate")
    issue.add_argument("institution")
    issue.add_argument("--organization")
    issue.add_argument("--dir", type=Path)
    issue.add_argument("--register", action="store_true", help="add the certificate to the institution in GATEWAY_REGISTRY_FILE")
    issue.set_defaults(run=_pki_issue)
    revoke = pki_commands.add_parser("revoke", help="add an institution's client certificate to the development CA's CRL")
    revoke.add_argument("institution")
    revoke.add_argument("--dir", type=Path)
    revoke.add_argument("--crl", type=Path, help="the CRL to write (default: the first GATEWAY_CLIENT_CRL, else <pki_dir>/crl.pem)")
    revoke.set_defaults(run=_pki_revoke)

    registry = commands.add_parser("registry", help="the institution registry in force").add_subparsers(dest="registry_command", required=True)
    registry.add_parser("apply", help="check GATEWAY_REGISTRY_FILE and GATEWAY_CLIENT_CRL and put them in force in every gateway process, "
                        "recorded in the ledger").set_defaults(run=_registry_apply)

    demo = commands.add_parser("demo", help="IMR and Al Omrane work three complaints end to end through the SDK")
    demo.add_argument("--url", help="drive this running gateway instead of starting one")
    demo.add_argument("--pki", type=Path, help="credentials for --url (default: GATEWAY_PKI_DIR)")
    demo.add_argument("--report", type=Path, default=Path("var/demo-report.html"), help="where to write the processing-time report")
    demo.set_defaults(run=_demo)

    simulate = commands.add_parser("simulate", help="play IMR's or Al Omrane's side against a sandbox gateway "
                                   "(see README, Sandbox simulator)")
    simulate.add_argument("--as", dest="side", required=True, choices=["imr", "al-omrane"], help="the side to play")
    simulate.add_argument("--url", help="the gateway, e.g. https://sandbox.example:8443")
    simulate.add_argument("--unit", help="the unit whose credentials these are (default: the institution's head office)")
    simulate.add_argument("--pki-dir", type=Path, help="credentials as `gateway pki init` lays them out (ca.pem, <unit>.pem, "
                          "<unit>.key, <unit>-signing.key)")
    simulate.add_argument("--ca", type=Path, help="the CA that signed the gateway's certificate")
    simulate.add_argument("--cert", type=Path, help="the unit's client certificate")
    simulate.add_argument("--key", type=Path, help="its private key")
    simulate.add_argument("--signing-key", type=Path, help="the unit's request-signing key (EC P-256)")
    simulate.add_argument("--signing-kid", help="its kid, if the registry does not use the key's thumbprint")
    simulate.add_argument("--gateway-id", default="imr-alomrane-gateway", help="the gateway's id (the signatures' audience)")
    simulate.add_argument("--receipt-keys", type=Path, help="the gateway's key history (GET /v1/keys/history) or JWK Set, pinned")
    simulate.add_argument("--checkpoint-key", type=Path, help="a file holding the gateway's checkpoint verifier key (GET /v1/ledger/key)")
    simulate.add_argument("--trust-on-first-use", action="store_true", help="instead of the two: trust the keys the gateway serves first")
    simulate.add_argument("--scenario", action="append", choices=list(SCENARIO_NAMES),
                          help="a scenario to play (repeatable; default: all); IMR's cases cycle through them")
    simulate.add_argument("--count", type=_positive(int), help="cases to carry through, then stop")
    simulate.add_argument("--duration", type=_positive(float), help="seconds to run, then stop")
    simulate.add_argument("--rate", type=_positive(float), default=6.0, help="cases IMR's side opens per minute (default 6)")
    simulate.add_argument("--actions-per-second", type=float, default=5.0, help="at most this many writes a second (default 5; 0: no cap)")
    simulate.add_argument("--poll-interval", type=_positive(float), default=1.0,
                          help="seconds between two looks at an inbox that had nothing new (default 1)")
    simulate.add_argument("--seed", type=int, help="the same seed plays the same cases (default: a random one, printed)")
    simulate.add_argument("--counterpart", default="al-omrane", help="the respondent IMR's side opens cases with (default al-omrane)")
    simulate.add_argument("--dry-run", action="store_true", help="print the cases the seed plans (--count, default 10) and stop")
    simulate.set_defaults(run=_simulate)

    ledger = commands.add_parser("ledger", help="the exchange ledger").add_subparsers(dest="ledger_command", required=True)
    export = ledger.add_parser("export", help="write the ledger as JSON Lines (entries and signed checkpoints)")
    export.add_argument("output", help="file to write, or - for standard output")
    export.add_argument("--from", dest="start", type=int, default=0, help="resume from this entry index")
    export.set_defaults(run=_ledger_export)
    ledger.add_parser("key", help="print the checkpoint verifier key (C2SP vkey) to give auditors").set_defaults(run=_ledger_key)
    verify = ledger.add_parser("verify", help="verify an export offline against the keys you trust")
    verify.add_argument("export")
    verify.add_argument("--key", required=True, help="the gateway's checkpoint verifier key (C2SP vkey)")
    verify.add_argument("--witness", action="append", default=[], help="a witness's cosignature verifier key (repeatable)")
    verify.add_argument("--since", help="a signed checkpoint saved earlier: the export must extend it")
    verify.add_argument("--every-checkpoint", action="store_true", help="check every checkpoint's signature and root, "
                        "not only the latest, the cosigned ones and a random sample of the others")
    verify.add_argument("--sample", type=_count, help="how many of the other checkpoints to check, drawn at random "
                        "(default: GATEWAY_LEDGER_VERIFY_SAMPLE)")
    verify.add_argument("--seed", type=_count, help="draw the sample with this seed, to check the same ones again "
                        "(default: a random seed, printed)")
    verify.set_defaults(run=_ledger_verify)
    ledger.add_parser("check", help="check the whole stored ledger: every entry against its leaf, every node, every "
                      "checkpoint (exit 1 naming the first mismatch)").set_defaults(run=_ledger_check)

    reimport = ledger.add_parser("reimport", help="append the entries a restored database lacks, up to the last published "
                                 "checkpoint, from an auditor's export (see README, The restore guard and recovery)")
    reimport.add_argument("export", help="a ledger export (JSON Lines) covering the ledger from index 0")
    reimport.set_defaults(run=_ledger_reimport)

    backup = commands.add_parser("backup", help="back up the database (online), the blobs and a manifest into DIR; never the master key")
    backup.add_argument("directory", type=Path, help="a new or empty directory")
    backup.set_defaults(run=_backup)
    restore = commands.add_parser("restore", help="restore a backup made by `gateway backup` (every gateway process stopped)")
    restore.add_argument("directory", type=Path)
    restore.add_argument("--force", action="store_true", help="replace a database that already holds a ledger")
    restore.set_defaults(run=_restore)

    report = commands.add_parser("report", help="the processing-time report (HTML with charts, or CSV), from the ledger alone")
    report.add_argument("--from", dest="from_month", type=_month, help="first month of opening, YYYY-MM (default: the first)")
    report.add_argument("--to", dest="to_month", type=_month, help="last month of opening, YYYY-MM (default: the last)")
    report.add_argument("--out", required=True, help="file to write, or - for standard output")
    report.add_argument("--lang", choices=["fr", "ar"], default="fr")
    report.add_argument("--format", choices=["html", "csv"], default="html")
    report.add_argument("--export", help="read this ledger export (JSON Lines) instead of the gateway's database")
    report.add_argument("--at", type=_moment, help="judge overdue cases and commitments as of this moment (default: now)")
    report.add_argument("--reply-days", type=_positive_days, help="reply period of cases opened without a deadline (default: GATEWAY_DEFAULT_REPLY_DAYS)")
    report.add_argument("--unit", help="only the cases and thematic files of this respondent unit")
    report.add_argument("--region", choices=[region.value for region in Region], help="only those of this region")
    report.set_defaults(run=_report)

    reminders = commands.add_parser("reminders", help="reminders of missed deadlines").add_subparsers(dest="reminders_command", required=True)
    reminders.add_parser("run", help="send the reminders now due, once each (from cron; each gateway process also does it "
                         "every GATEWAY_REMINDER_INTERVAL_SECONDS)").set_defaults(run=_reminders_run)
    retention = commands.add_parser("retention", help="the personal-data retention policy").add_subparsers(dest="retention_command", required=True)
    apply = retention.add_parser("apply", help="erase the personal data of cases closed longer ago than the retention period")
    apply.add_argument("--days", type=_positive_days, help="retention period in days, at least 1 (default: GATEWAY_RETENTION_DAYS)")
    apply.add_argument("--dry-run", action="store_true", help="list the cases, erase nothing")
    apply.add_argument("--yes", action="store_true", help="erase without asking (from cron); otherwise asked on a terminal")
    apply.set_defaults(run=_retention_apply)

    blobs = commands.add_parser("blobs", help="the document blob store").add_subparsers(dest="blobs_command", required=True)
    gc = blobs.add_parser("collect", help="remove blobs no document needs (an upload cut off before its commit, an interrupted erasure)")
    gc.add_argument("--older-than-hours", type=float, default=24, help="leave younger blobs alone (default 24)")
    gc.add_argument("--dry-run", action="store_true", help="count them, remove nothing")
    gc.set_defaults(run=_blobs_collect)

    keys = commands.add_parser("keys", help="the gateway's own keys").add_subparsers(dest="keys_command", required=True)
    keys_init = keys.add_parser("init", help="create the receipt, checkpoint and master keys (0600; never overwrites) and print their public parts")
    keys_init.add_argument("--dir", type=Path, required=True, help="where to write them (created 0700 if missing)")
    keys_init.add_argument("--in-token", action="store_true", help="make the keys GATEWAY_PKCS11_*_KEY_LABEL name in the "
                           "GATEWAY_PKCS11_MODULE token instead (never replacing one); the master key stays a file")
    keys_init.set_defaults(run=_keys_init)

    master = commands.add_parser("master-key", help="the master key wrapping the per-case data keys").add_subparsers(
        dest="master_key_command", required=True
    )
    new = master.add_parser("new", help="write a new random master key to a file (0600)")
    new.add_argument("output", type=Path)
    new.set_defaults(run=_master_key_new)
    master.add_parser(
        "rotate", help="re-wrap every data key under GATEWAY_MASTER_KEY, using GATEWAY_RETIRED_MASTER_KEY(S|_FILES) to unwrap"
    ).set_defaults(run=_master_key_rotate)

    contract = commands.add_parser("contract", help="regenerate openapi/v1.json, schemas/ and the reference page openapi/v1.html from the models")
    contract.add_argument("--check", action="store_true", help="exit 1 if the committed files are stale")
    contract.add_argument("--root", default=".")
    contract.set_defaults(run=_contract)
    return top


def main(argv: list[str] | None = None) -> int:
    """Exit status 2, with one line on stderr naming the setting and its fix, for any set-up the
    gateway cannot run with, whichever command found it."""
    args = parser().parse_args(argv)
    try:
        return args.run(_settings(), args)
    except ConfigurationError as misconfigured:
        print(f"gateway: configuration error: {misconfigured}", file=sys.stderr)
        return 2


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as invalid:
        raise from_settings(invalid) from None


if __name__ == "__main__":
    sys.exit(main())
