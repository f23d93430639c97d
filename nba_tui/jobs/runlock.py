"""What a table's run lock says about a live job its record does not show.

The shim of a running job holds `locks/run-<table>.lock` (an flock: it dies with its holder) for
the job's whole life and writes into it the facts that identify the job's processes (job id,
table, pids, create times, session). So the *lock*, not the record, says whether a table has a
live job: a record truncated by a full disk or by hand, or deleted, never allows a second launch
of the same table, and a job whose record is damaged can still be found and stopped. When the
shim itself was killed, the session scan over the lock's facts finds the processes left behind.
"""

from __future__ import annotations

from typing import Any

from nba_tui.jobs import procs
from nba_tui.jobs.model import Damaged, JobRecord, JobState
from nba_tui.jobs.store import Store


def stub(facts: dict) -> JobRecord:
    """A record with just the process facts a shim wrote into a run lock (to find or signal the
    processes of a job whose record is damaged)."""

    def num(key: str, kind: type) -> Any:
        v = facts.get(key)
        if isinstance(v, int) and kind is float and not isinstance(v, bool):
            return float(v)
        return v if isinstance(v, kind) and not isinstance(v, bool) else None

    return JobRecord(
        id=str(facts.get("job", "?"))[:64],
        table=str(facts.get("table", "?"))[:64],
        argv=[],
        log="",
        created_at=0.0,
        user="?",
        state=JobState.RUNNING,
        pid=num("pid", int),
        pgid=num("pid", int),
        start_time=num("start_time", float),
        shim_pid=num("shim_pid", int),
        shim_start_time=num("shim_start_time", float),
        sid=num("sid", int),
    )


def live_unrecorded(store: Store, table: str) -> str | None:
    """Why `table` has a live job no readable active record shows, or None (its own run lock and
    its shards' `<table>-<job>` locks)."""
    why = _unrecorded(store, table)
    if why is None:
        for key in store.run_locks():
            if key.startswith(table + "-") and why is None:
                why = _unrecorded(store, key)
    return why


def _unrecorded(store: Store, key: str) -> str | None:
    held, facts = store.run_lock(key)
    table = str((facts or {}).get("table", key))[:64]
    job = str((facts or {}).get("job", "?"))[:64]
    rec = store.read_job(job) if facts else None
    if held and not (isinstance(rec, JobRecord) and rec.state.active):
        why = rec.reason if isinstance(rec, Damaged) else "its record is missing or ended"
        return (
            f"{table} has a live job {job} (its shim holds the table's run lock; "
            f"record: {why}); `nba-tui stop {job}` stops it"
        )
    orphan = not held and facts is not None and not isinstance(rec, JobRecord)
    if orphan and procs.job_members(stub(facts or {})):
        return (
            f"{table}: processes of job {job} still run (session {(facts or {}).get('sid')}) "
            "and its record is damaged or missing; stop them before launching"
        )
    return None


def run_facts(store: Store, job_id: str) -> dict | None:
    """The facts of the held run lock whose shim runs `job_id`, if any."""
    for held, facts in store.run_locks().values():
        if held and facts and facts.get("job") == job_id:
            return facts
    return None


def damaged_message(store: Store, bad: Damaged) -> str:
    """One line: the record is damaged, why, where, and what can still be done."""
    if run_facts(store, bad.id) is not None:
        how = f"its program still runs: `nba-tui stop {bad.id}` stops it"
    else:
        how = "no live shim holds a run lock for it; move the file away"
    return f"job {bad.id}'s record is damaged ({bad.reason}): {bad.path}; {how}"
