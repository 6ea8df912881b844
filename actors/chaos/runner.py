"""Run chaos cases on the embedded engine, each under a watchdog, and check them.

    result = run_seed(17)                      # one case: draw, run, check
    summary = run_seeds(range(1, 201), jobs=2) # many, in worker processes
    run_seed(17, kill_resume=True)             # ... and once more, killed and resumed

A run must end: its simulation is driven in slices with a budget of waves (a
deterministic bound: a run that needs more is stuck, a ``run_stuck`` violation, the same
on every machine), and a wall-clock alarm backs that up for a spin inside one handler.
Results come back in seed order whatever the number of workers, so the summary is the
same for any ``jobs``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from types import FrameType
from typing import Any

from actors.api import Engine, MarketConfig, Report
from actors.chaos.generator import ChaosCase, draw
from actors.chaos.invariants import Violation, check
from actors.chaos.kill_resume import kill_and_resume
from actors.chaos.ledger import Ledger
from actors.runtime import SimRuntime
from engine.audit.journal import Journal
from engine.clock import SECOND
from engine.messages import ClientOrderRejected, ExecutionReport
from engine.parent.order import ParentConfig

WAVE_BUDGET = 400_000  # a few-minute session takes ~10^4 waves
WALL_LIMIT_S = 120.0  # a run takes well under a second; this only catches a spin
SLICE_NS = 10 * SECOND
RERUN_EVERY = 10  # seeds divisible by this are run twice: same seed, same digest


class Hung(BaseException):
    """The wall-clock watchdog's bark: a BaseException, so the runtime halts the run
    rather than restarting the actor it interrupts."""


@dataclass
class RunResult:
    seed: int
    digest: str = ""
    orders: int = 0
    venue_orders: int = 0
    records: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    faults_across_close: int = 0
    violations: list[Violation] = field(default_factory=list)
    rerun: bool = False
    reports: int = 0  # delivered to the client
    killed: bool = False  # also run in a process killed and resumed


def run_case(
    case: ChaosCase, audit: Journal | None = None, on_report: Callable[[Report], None] | None = None
) -> RunResult:
    """Run ``case`` to its end (or until the watchdog stops it) and check it; its trail
    goes to ``audit`` (the caller's, left open) or to memory; ``on_report`` gets each
    report as it is delivered."""
    result = RunResult(
        seed=case.seed,
        orders=len(case.orders),
        faults=case.fault_counts(),
        faults_across_close=case.faults_across_close(),
    )
    engine = _engine(case, audit)
    if on_report is not None:
        engine.on_report(on_report)
    try:
        schedule(engine, case)
        stopped = _drive(engine, case)
    finally:
        engine.close()
    if stopped:
        result.violations.append(Violation(case.seed, *stopped))
    journal = engine.journal
    assert journal is not None  # the engine was given one
    ledger = Ledger.of_trail(journal)
    result.digest = journal.digest()
    result.records = len(journal)
    result.reports = len(engine.reports)
    result.venue_orders = len(ledger.venue_orders)
    result.violations += check(ledger, case.seed, overallocates=case.overallocates)
    result.violations += _unjournaled(engine, ledger, case.seed)
    return result


def _unjournaled(engine: Engine, ledger: Ledger, seed: int) -> list[Violation]:
    """Reports the client received that the trail does not hold (durable before
    acknowledged: what the client saw, the trail must show)."""
    missing = [
        r.exec_id
        for r in engine.reports
        if isinstance(r, ExecutionReport) and r.exec_id not in ledger.exec_ids
    ]
    rejects = sum(isinstance(r, ClientOrderRejected) for r in engine.reports)
    out = []
    if missing:
        shown = ", ".join(missing[:5])
        out.append(Violation(seed, "report_not_journaled", f"{len(missing)} reports: {shown}"))
    if rejects > ledger.rejects:
        out.append(
            Violation(
                seed,
                "report_not_journaled",
                f"{rejects} rejects delivered, {ledger.rejects} journaled",
            )
        )
    return out


def run_seed(seed: int, rerun_every: int = RERUN_EVERY, kill_resume: bool = False) -> RunResult:
    """Draw and run ``seed``; every ``rerun_every``-th seed again, and the digests compared;
    with ``kill_resume``, once more in a process killed and resumed (``kill_resume``)."""
    result = run_case(draw(seed))
    if kill_resume and not any(v.kind in ("run_stuck", "run_halted") for v in result.violations):
        result.killed = True
        result.violations += kill_and_resume(draw(seed), result.digest, result.reports)
    if rerun_every and seed % rerun_every == 0:
        result.rerun = True
        again = run_case(draw(seed))
        if again.digest != result.digest:
            result.violations.append(
                Violation(
                    seed,
                    "nondeterministic",
                    f"digest {result.digest[:12]} then {again.digest[:12]}",
                )
            )
    return result


def run_seeds(
    seeds: Iterable[int], jobs: int = 1, rerun_every: int = RERUN_EVERY, kill_resume: int = 0
) -> Iterator[RunResult]:
    """``run_seed`` for each seed, in seed order; ``jobs`` > 1 runs them in worker
    processes (spawned: a fresh interpreter, no state shared with this one);
    ``kill_resume`` of them, spread evenly, are also killed and resumed."""
    seeds = list(seeds)
    killed = kill_seeds(seeds, kill_resume)
    kills = [seed in killed for seed in seeds]
    if jobs <= 1:
        for seed, kill in zip(seeds, kills, strict=True):
            yield run_seed(seed, rerun_every, kill)
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        yield from pool.map(
            run_seed,
            seeds,
            [rerun_every] * len(seeds),
            kills,
            chunksize=max(1, len(seeds) // (8 * jobs)),
        )


def kill_seeds(seeds: list[int], count: int) -> set[int]:
    """``count`` of ``seeds``, spread evenly over them."""
    count = min(count, len(seeds))
    return {seeds[i * len(seeds) // count] for i in range(count)} if count else set()


# ---------------------------------------------------------------------- the run


def _engine(case: ChaosCase, audit: Journal | None) -> Engine:
    market = MarketConfig(instrument=case.instrument, venues=case.venues, session=case.session)
    return Engine(
        market,
        seed=case.seed,
        audit=":memory:" if audit is None else audit,
        router=case.router,
        desk=case.desk,
        parent=ParentConfig(),
    )


def schedule(engine: Engine, case: ChaosCase) -> None:
    for at, order in case.orders:
        engine.submit(order, at_ns=at)
    for c in case.cancels:
        engine.cancel(c.source, c.client_order_id, at_ns=c.at_ns)
    for a in case.amends:
        engine.amend(
            a.source,
            a.client_order_id,
            quantity=a.quantity,
            limit_price=a.limit_price,
            at_ns=a.at_ns,
        )
    for f in case.faults:
        engine.inject_fault(f.venue, f.kind, f.at_ns, f.duration_ns, **f.plan())
    for crash in case.crashes:
        engine.inject_crash(crash.actor, at_ns=crash.at_ns, reason="chaos")


def _drive(engine: Engine, case: ChaosCase) -> tuple[str, str] | None:
    """Simulate to the case's end; a violation ``(kind, detail)`` if the run did not get
    there: over its wave budget or stopped by the watchdog (``run_stuck``), halted or
    raising (``run_halted``). Wherever the watchdog's exception surfaces (it may be
    wrapped or turned into a halt on its way out), its having fired decides."""
    watchdog = _Watchdog(WALL_LIMIT_S)
    failed, over_budget = None, False
    try:
        with watchdog:
            over_budget = advance(engine, case.end_ns)
    except Hung:
        pass
    except Exception as exc:  # a halted runtime, or the engine raising to its caller
        failed = f"at {_clock(engine, case)}: {exc!r}"[:300]
    if watchdog.fired:
        return "run_stuck", f"{WALL_LIMIT_S:g} s of wall time, at {_clock(engine, case)}"
    if failed is not None:
        return "run_halted", failed
    if over_budget:
        return "run_stuck", f"{WAVE_BUDGET:,} waves and still at {_clock(engine, case)}"
    return None


def advance(engine: Engine, end: int) -> bool:
    """Run to ``end`` in slices; True if the wave budget ran out first."""
    runtime = engine.runtime
    assert isinstance(runtime, SimRuntime)  # the engine is built simulated
    while engine.now < end:
        target = min(engine.now + SLICE_NS, end)
        runtime.run(until_ns=target, max_waves=WAVE_BUDGET - runtime.stats["waves"])
        if runtime.stats["waves"] >= WAVE_BUDGET:
            return True
        runtime.run_until(target)
    return False


def _clock(engine: Engine, case: ChaosCase) -> str:
    """Simulated time as seconds from the close (negative: before it)."""
    return f"close{(engine.runtime.now() - case.session.close_ns) / SECOND:+.3f}s"


class _Watchdog:
    """SIGALRM after ``seconds`` of wall time, raising ``Hung`` wherever the run is
    (main thread only: elsewhere there is no alarm); ``fired`` tells it happened."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.fired = False
        self._previous: Any = None
        self._armed = False

    def _bark(self, signum: int, frame: FrameType | None) -> None:
        self.fired = True
        raise Hung(f"still running after {self.seconds} s")

    def __enter__(self) -> _Watchdog:
        self._armed = threading.current_thread() is threading.main_thread()
        if self._armed:
            self._previous = signal.signal(signal.SIGALRM, self._bark)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)
