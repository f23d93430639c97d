"""Job control latencies and the cost of polling a huge log (run by hand:
`python bench/bench_jobs.py`; prints each figure next to its target).

These were wall-clock assertions in tests/jobs; they are measurements, so they live here. The jobs
are tests/jobs/fakejob.py under the real supervisor, local engine, real signals:

* pause: call -> every process of the job (program, child, grandchild that left the group) in T;
* stop of a job ignoring SIGTERM with a 1 s grace (TERM, grace, KILL of the whole session);
* stop of a paused job that exits on TERM;
* a job writing 100 MB of noise and a 1 MB line, polled by `jobs()` + `tail()` until parsed.
"""

from __future__ import annotations

import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "jobs"))

from conftest import make_warehouse, pipeline_yaml  # noqa: E402

from nba_tui import config  # noqa: E402
from nba_tui.jobs.model import JobState  # noqa: E402
from nba_tui.jobs.procs import proc_stat, session_members, wait_until  # noqa: E402
from nba_tui.jobs.supervisor import Supervisor  # noqa: E402


def pipeline(root: Path, args: list[str]) -> config.Pipeline:
    root.mkdir(parents=True, exist_ok=True)
    path = root / "pipeline.yaml"
    path.write_text(pipeline_yaml({"alpha": args}))
    pipe = config.load(path)
    make_warehouse(pipe, {})
    return pipe


def row(what: str, value: str, target: str) -> None:
    print(f"{what:<52} {value:>12}   target {target}")


def timed(fn: Callable[[], object]) -> float:
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def bench_pause(root: Path) -> None:
    sup = Supervisor(pipeline(root, ["--fork", "--escape", "--delay", "0.2"]))
    v = sup.launch("alpha")
    wait_until(lambda: any("grandchild" in x for x in sup.tail(v.id)), 10)
    rec = sup.job(v.id).record
    procs = session_members(rec.sid, exclude=rec.shim_pid)  # type: ignore[arg-type]

    def pause() -> None:
        sup.pause(v.id)
        wait_until(lambda: all((proc_stat(p.pid) or p).state == "T" for p in procs), 2)

    row(
        f"pause: call -> all {len(procs)} processes in T",
        f"{timed(pause) * 1000:.1f} ms",
        "< 50 ms",
    )
    sup.stop(v.id, grace=1)


def bench_stops(root: Path) -> None:
    sup = Supervisor(pipeline(root / "a", ["--ignore-term", "--fork", "--escape", "--delay", "1"]))
    v = sup.launch("alpha")
    wait_until(lambda: any("grandchild" in x for x in sup.tail(v.id)), 10)
    took = timed(lambda: sup.stop(v.id, grace=1.0))
    row("stop: TERM ignored, grace 1 s (KILL of the session)", f"{took:.3f} s", "1.0 .. 3.0 s")
    sup = Supervisor(pipeline(root / "b", ["--delay", "0.5"]))
    v = sup.launch("alpha")
    sup.pause(v.id)
    took = timed(lambda: sup.stop(v.id, grace=5))
    row("stop: paused job that exits on TERM", f"{took * 1000:.0f} ms", "< 2000 ms")


def bench_huge_log(root: Path) -> None:
    sup = Supervisor(pipeline(root, ["--spam", "100", "--big-line", "1000000"]))
    tracemalloc.start()
    v = sup.launch("alpha")
    slowest, polls = 0.0, 0
    while True:
        t0 = time.monotonic()
        j = sup.jobs()[0]
        sup.tail(v.id)
        slowest, polls = max(slowest, time.monotonic() - t0), polls + 1
        if j.state is JobState.DONE and j.progress.current_date == "2024-01-10":
            break
        time.sleep(0.05)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = Path(v.record.log).stat().st_size / 1e6
    row(
        f"100 MB log: slowest of {polls} polls ({size:.0f} MB)",
        f"{slowest * 1000:.0f} ms",
        "< 2000 ms",
    )
    row("100 MB log: tracemalloc peak", f"{peak / 1e6:.1f} MB", "< 20 MB")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, bench in enumerate((bench_pause, bench_stops, bench_huge_log)):
            (root / str(i)).mkdir()
            bench(root / str(i))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
