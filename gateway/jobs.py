"""What the gateway does on its own, not for a request: purging spent request ids, sending the
reminders of missed deadlines, following the registry in force. Besides the exchange
(gateway.services.exchange) and the runtime's registry apply, this is the only place that commits:
each job commits transactions of its own.

Each process runs the jobs periodically (started by gateway.app); `gateway reminders run` runs the
reminders' sweep once, for cron. Processes take turns on a sweep under a database lock
(gateway.storage.locks); each reminder is exactly once anyway (gateway.services.reminders).
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from datetime import UTC, datetime
from functools import partial

from starlette.concurrency import run_in_threadpool

from gateway.misconfiguration import ConfigurationError
from gateway.ops import hangup
from gateway.runtime import Runtime
from gateway.services import nonces, reminders
from gateway.storage import locks

log = logging.getLogger(__name__)
REMINDERS_LOCK = "gateway-reminders"


def purge_nonces(runtime: Runtime) -> None:
    with runtime.database.session(write=True) as session:
        nonces.purge_expired(session)
        session.commit()


def due_reminders(runtime: Runtime, now: datetime) -> list[reminders.Due]:
    settings = runtime.settings
    with runtime.database.session(write=False) as session:
        return reminders.due(session, now, settings.escalation_days, settings.reminders_per_run)


def send_reminder(runtime: Runtime, reminder: reminders.Due, now: datetime) -> bool:
    """One reminder in a transaction of its own; whether it was sent (not already, not answered)."""
    with runtime.database.session(write=True) as session:
        appended = reminders.send(session, runtime.ledger, runtime.settings.gateway_id, reminder, now)
        session.commit()
    if appended is not None:
        runtime.ledger.committed(appended)
        runtime.inbox_signals.committed([appended.entry.recipient_unit])  # the reminder's inbox event, to its entry's recipient
    return appended is not None


def send_reminders(runtime: Runtime, now: datetime | None = None) -> int:
    """One sweep (`gateway reminders run`): how many reminders were sent; 0 also when another
    process holds the sweep."""
    now = now or datetime.now(UTC)
    with locks.exclusive(runtime.database, REMINDERS_LOCK) as held:
        return sum(send_reminder(runtime, reminder, now) for reminder in due_reminders(runtime, now)) if held else 0


async def purge_nonces_periodically(runtime: Runtime) -> None:
    """Expired request ids are purged in the background, never on a request's path."""
    await _every(runtime.settings.nonce_purge_seconds, "purging expired request ids", lambda: run_in_threadpool(purge_nonces, runtime))


async def send_reminders_periodically(runtime: Runtime) -> None:
    """The same sweep as `send_reminders`, each reminder's transaction through the process's
    writer like any write (on SQLite: its one writer thread)."""
    await _every(runtime.settings.reminder_interval_seconds, "sending reminders", partial(_sweep, runtime))


async def _sweep(runtime: Runtime) -> None:
    if runtime.readiness.write_refusal() is not None:
        return  # a reminder is a ledger entry: none while writes are refused
    held = await run_in_threadpool(locks.try_lock, runtime.database, REMINDERS_LOCK)
    if held is None:
        return  # another process is sweeping
    try:
        now = datetime.now(UTC)
        for reminder in await run_in_threadpool(due_reminders, runtime, now):
            await runtime.writer.run(partial(send_reminder, runtime, reminder, now))
    finally:
        await run_in_threadpool(held.release)


async def follow_registry(runtime: Runtime) -> None:
    """Serve the registry version in force: the database is checked every
    GATEWAY_REGISTRY_POLL_SECONDS for a version applied elsewhere, and on SIGHUP the files are
    applied here (through the writer, like any write). A file that does not apply changes nothing:
    one line says why, and the version in force stays."""
    woken = asyncio.Event()
    loop = asyncio.get_running_loop()
    stop_listening = hangup.listen(lambda: loop.call_soon_threadsafe(woken.set))
    try:
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), runtime.settings.registry_poll_seconds)
            try:
                if woken.is_set() and (refusal := runtime.readiness.write_refusal()) is not None:
                    woken.clear()
                    log.error("SIGHUP: registry not applied while writes are refused: %s", refusal.reason)
                elif woken.is_set():
                    woken.clear()
                    applied = await runtime.writer.run(runtime.apply_files)
                    log.info("SIGHUP: registry %s", f"version {applied.version} applied" if applied else "unchanged")
                elif await run_in_threadpool(runtime.follow):
                    log.info("registry version %s in force from now on", runtime.trust.version)
            except ConfigurationError as invalid:
                log.error("registry not applied, the version in force stays: %s", invalid)
            except Exception:  # a storage fault now is retried next time
                log.warning("following the registry failed; retrying in %s s", runtime.settings.registry_poll_seconds, exc_info=True)
    finally:
        stop_listening()


async def _every(seconds: float, what: str, job) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:  # a storage fault now is retried next time; nothing half-done stays
            log.warning("%s failed; retrying in %s s", what, seconds, exc_info=True)
