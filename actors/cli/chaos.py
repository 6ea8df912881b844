"""``smart-exec chaos --runs N [--seed S] [--jobs J]``: simulation testing at scale.

Draws N cases from seeds S, S+1, ... (a market, client orders with cancels and amends
from several sources, venue faults and actor crashes, some across the close), runs each
on the engine under a watchdog, checks the invariants on its audit trail and prints
runs, orders, faults by kind and every violation with its seed and the command that
replays it. ``--replay SEED`` runs one case and prints what it was and every violation
(``--audit PATH`` keeps its trail for ``smart-exec audit``) with the engine's log
records; a campaign shows none (mostly the injected failures). The report on stdout is the
same for any ``--jobs``; the wall time goes to stderr.

Exit status: 0 when every violation is of a known defect class, 1 otherwise (2: bad
arguments).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from actors import logs
from actors.api import Report, new_trail
from actors.chaos.generator import ChaosCase, draw
from actors.chaos.invariants import KNOWN_DEFECTS
from actors.chaos.runner import RERUN_EVERY, run_case, run_seeds
from actors.chaos.summary import Summary
from actors.cli.audit import DEFAULT_UTC_OFFSET, SESSION_ZONE
from actors.cli.run import print_report
from engine.clock import SECOND
from engine.faults import describe_trigger
from engine.prices import fmt


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs", type=int, default=100, metavar="N", help="cases to run (default 100)"
    )
    parser.add_argument("--seed", type=int, default=1, metavar="S", help="first seed (default 1)")
    parser.add_argument(
        "--jobs", type=int, default=1, metavar="J", help="worker processes (default 1)"
    )
    parser.add_argument(
        "--rerun-every",
        type=int,
        default=RERUN_EVERY,
        metavar="K",
        help=f"run seeds divisible by K twice and compare digests (default {RERUN_EVERY}; 0: never)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="list every violation of the known defect classes too (default: ten runs each)",
    )
    parser.add_argument(
        "--replay", type=int, metavar="SEED", help="run one seed and show it in full"
    )
    parser.add_argument(
        "--audit",
        type=Path,
        metavar="PATH",
        help="with --replay: keep its audit trail here (a new file)",
    )
    parser.add_argument(
        "--kill-resume",
        type=int,
        default=0,
        metavar="K",
        help="also run K of the cases as processes killed (SIGKILL) at a random report and "
        "resumed from their trail: the digest must be the uninterrupted run's (default 0)",
    )
    parser.add_argument(
        "--trace-reports",
        action="store_true",
        help="with --replay: print each report as it is delivered (one line, flushed)",
    )
    parser.add_argument(
        "--step-reports",
        action="store_true",
        help="with --trace-reports: wait for a line on stdin after each report (so that a "
        "test can kill the run right after a given report)",
    )


def main(args: argparse.Namespace) -> int:
    if args.runs < 1 or args.jobs < 1 or args.rerun_every < 0 or args.kill_resume < 0:
        print(
            "smart-exec chaos: --runs and --jobs must be ≥ 1, --rerun-every and --kill-resume ≥ 0",
            file=sys.stderr,
        )
        return 2
    if args.audit is not None and args.replay is None:
        print("smart-exec chaos: --audit keeps the trail of one --replay", file=sys.stderr)
        return 2
    if args.replay is not None:
        trace = _stepped if args.step_reports else print_report if args.trace_reports else None
        return _replay(args.replay, args.audit, trace=trace)
    seeds = range(args.seed, args.seed + args.runs)
    return _campaign(seeds, args.jobs, args.rerun_every, args.kill_resume, every=args.all)


def _campaign(seeds: range, jobs: int, rerun_every: int, kills: int, *, every: bool) -> int:
    started = time.perf_counter()
    # the engine's records here are mostly the injected failures, from every run (and only
    # when runs are in this process): the campaign's report is the violations
    logs.disable()
    try:
        summary = Summary.of(run_seeds(seeds, jobs, rerun_every, kills))
    finally:
        logs.enable()
    for line in summary.lines(every):
        print(line)
    wall = time.perf_counter() - started
    print(
        f"chaos: {len(seeds):,} runs in {wall:.1f} s of wall time, --jobs {jobs}", file=sys.stderr
    )
    return 1 if summary.unexpected() else 0


def _stepped(report: Report) -> None:
    print_report(report)
    sys.stdin.readline()


def _replay(seed: int, audit: Path | None, *, trace: Callable[[Report], None] | None = None) -> int:
    if audit is not None and audit.exists():
        print(f"smart-exec chaos: {audit} exists: give a new --audit path", file=sys.stderr)
        return 2
    case = draw(seed)
    for line in describe(case):
        print(line)
    journal = new_trail(str(audit)) if audit is not None else None
    if journal is not None:  # the default session's zone, for ``audit``
        journal.set_run_info(SESSION_ZONE, DEFAULT_UTC_OFFSET)
    try:
        result = run_case(case, audit=journal, on_report=trace)
    finally:
        if journal is not None:
            journal.close()
    print(f"digest: {result.digest}")
    print(f"trail records: {result.records:,}; venue orders: {result.venue_orders:,}")
    if not result.violations:
        print("violations: none")
    for v in result.violations:
        known = " (known defect)" if v.kind in KNOWN_DEFECTS else ""
        print(f"  {v.kind}{known}: {v.detail}")
    return 1 if any(v.kind not in KNOWN_DEFECTS for v in result.violations) else 0


def describe(case: ChaosCase) -> list[str]:
    """What the case is, in a few lines (times relative to the open and the close)."""
    session = case.session
    minutes = (session.close_ns - session.open_ns) // (60 * SECOND)

    def when(t_ns: int) -> str:
        if t_ns >= session.close_ns - 60 * SECOND:
            return f"close{(t_ns - session.close_ns) / SECOND:+.1f}s"
        return f"open{(t_ns - session.open_ns) / SECOND:+.1f}s"

    venues = ", ".join(f"{v.name} ({v.kind.value})" for v in case.venues)
    out = [
        f"seed {case.seed}: {minutes}-minute session, {case.instrument.symbol} at "
        f"{fmt(case.instrument.ref_price, 2)} lot {case.instrument.lot}; venues {venues}",
        f"router: over-allocation {'on' if case.overallocates else 'off'}; desk: window "
        f"{case.desk.window_ns // 1_000_000} ms, netting {'on' if case.desk.net else 'off'}",
        f"client orders: {len(case.orders)}, cancels: {len(case.cancels)}, amends: {len(case.amends)}",
    ]
    for f in case.faults:
        length = "" if f.duration_ns is None else f" for {f.duration_ns / SECOND:.0f}s"
        detail = "".join(
            (
                f" {f.message}" if f.message else "",
                f" x{f.count}" if f.count else "",
                f" +{f.delay_ns / 1e6:g} ms" if f.delay_ns else "",
            )
        )
        start = "" if f.after is None else f" {describe_trigger(f.after)} from"
        out.append(f"  fault: {f.kind.value} at {f.where}{detail},{start} {when(f.at_ns)}{length}")
    out += [f"  crash: {c.actor} at {when(c.at_ns)}" for c in case.crashes]
    return out
