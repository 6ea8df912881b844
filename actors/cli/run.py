"""``smart-exec run SCENARIO [--seed N] [--audit PATH] [--overwrite] [--report DIR]
[--fills-csv PATH] [--fills]``.

SCENARIO is a TOML file, or the name of a shipped scenario (``brief_vwap``). Runs the
scenario end to end on the real actors with simulated venues, shows progress, and prints
what a person reads first: the summary (each parent's TCA, then the comparison with the
baseline), one line naming the CSV file that holds the per-fill table (``--fills`` prints
it too), the HTML report's path, and last ``audit-digest: <sha256>`` over the audit trail
(same scenario and seed → same digest).

A trail is never destroyed by accident: a file already at the audit path (or at the fills
CSV's) is refused unless ``--overwrite`` (and the scenario file itself never is). Ctrl-C
or SIGTERM stops the run with its trail flushed and marked interrupted (``smart-exec
resume`` continues it), one line saying where it is, and status 130 or 143. The trail
keeps the scenario and seed (``run_info("scenario")``), which is what ``resume`` replays.
``--trace-reports`` prints each execution report as it is delivered, one line each.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from types import FrameType

import msgspec

import scenarios
from actors.api import Report, new_trail
from actors.baseline_job import BaselineJob
from actors.comparison_text import comparison_figures, execution_lines
from actors.scenario_runner import Baseline, ScenarioResult, run_scenario
from engine.audit.journal import Journal, ReplayMismatch
from engine.fix.allocations import write_allocations_csv
from engine.messages import ExecutionReport
from engine.scenario import Scenario, ScenarioError, load
from engine.tca.html import report_data_from_journal, write_report
from engine.tca.portfolio import portfolio_tca
from engine.tca.text import (
    format_time,
    portfolio_text,
    run_fills_text,
    run_report_text,
    write_fills_csv,
)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
SCENARIO_RUN = "scenario"  # the trail's run info: what ``resume`` replays


class ScenarioRun(msgspec.Struct, frozen=True, kw_only=True):
    """The scenario (as loaded) and seed of a run, kept in its trail."""

    scenario: Scenario
    seed: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario",
        help=f"scenario TOML file, or a shipped scenario's name: {', '.join(scenarios.shipped())}",
    )
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument(
        "--audit",
        help="SQLite audit trail to write (default: SCENARIO-NAME.seedN.audit.sqlite); "
        "a file already there is refused unless --overwrite",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a file already at the audit or fills CSV path (never the scenario file)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        metavar="N",
        help="partition the instruments across N engines, each a Ray actor (the [ray] extra); "
        "trails PREFIX.shardIofN.audit.sqlite, run-digest printed last",
    )
    parser.add_argument(
        "--address", help="with --shards: join the Ray cluster at ADDRESS, not a local one"
    )
    add_output_arguments(parser)


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """What a finished run writes and prints (``run`` and ``resume``)."""
    parser.add_argument("--report", metavar="DIR", help="write an HTML report into DIR")
    parser.add_argument(
        "--fills-csv",
        metavar="PATH",
        help="write the per-fill table as CSV to PATH (default: beside the audit trail, "
        "NAME.audit.sqlite -> NAME.fills.csv); smart-exec tca reads it",
    )
    parser.add_argument(
        "--allocations-csv",
        metavar="PATH",
        help="also write each client order's fills (allocations) as CSV to PATH",
    )
    parser.add_argument(
        "--fills", action="store_true", help="also print the per-fill table after the summary"
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the market-order baseline run"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the run's figures and its TCA roll-up as one JSON object instead",
    )
    parser.add_argument(
        "--trace-reports",
        action="store_true",
        help="print each execution report as it is delivered (one line, flushed)",
    )


def main(args: argparse.Namespace) -> int:
    """A scenario that cannot be used, found at load or (a profile, a generated stream) only
    when the run builds it, ends with one line on stderr and exit status 2; so does an
    audit path that is taken."""
    try:
        return _run(args)
    except BrokenPipeError:
        raise  # stdout went away (``| head``): the command line's to handle, not an error
    except (ScenarioError, OSError, ReplayMismatch) as exc:  # OSError: a path unusable
        print(f"smart-exec {_command(args)}: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    scenario_file = scenarios.locate(args.scenario)
    scenario = load(scenario_file)
    seed = scenario.seed if args.seed is None else args.seed
    if args.shards is not None:
        from actors.shards import cli as sharded  # Ray only when asked for

        return sharded.main(args, scenario_file, scenario, seed)
    audit = Path(args.audit or f"{scenario.name}.seed{seed}.audit.sqlite")
    fills_csv = Path(args.fills_csv) if args.fills_csv else fills_csv_beside(audit)
    clear_audit_path(audit, scenario_file, overwrite=args.overwrite)
    clear_fills_csv_path(fills_csv, audit, scenario_file, overwrite=args.overwrite)
    journal = new_trail(str(audit))
    try:
        journal.set_run_info(SCENARIO_RUN, ScenarioRun(scenario=scenario, seed=seed))
    except BaseException:
        journal.close()
        raise
    return execute(args, ScenarioRun(scenario=scenario, seed=seed), journal, fills_csv)


def execute(args: argparse.Namespace, run: ScenarioRun, journal: Journal, fills_csv: Path) -> int:
    """Run (or, on a resumed ``journal``, replay then continue) ``run`` and report it. The
    trail is closed as complete only if the run reached its end."""
    scenario, audit = run.scenario, Path(journal.path)
    stop = Interruption()
    bar = None if args.quiet else ProgressBar(sys.stderr, scenario.session.utc_offset_hours)
    trace = print_report if args.trace_reports else None
    # the baseline does not depend on the engine's run: a worker runs it meanwhile
    # the baseline sends each order to one lit venue of one instrument's market
    skip = args.no_baseline or scenario.many
    job = None if skip else BaselineJob.start(scenario, run.seed)
    with stop.installed(), job or nullcontext():
        try:
            with stop.deferred():
                result = run_scenario(
                    scenario,
                    seed=run.seed,
                    audit=journal,
                    progress=bar,
                    stop=stop.requested,
                    on_report=trace,
                )
            complete = not (result.interrupted or stop.requested())
            try:
                if complete:
                    journal.check_replayed()
                return _report(args, scenario, result, (audit, fills_csv), bar, stop, job)
            finally:
                journal.close(complete=complete)
        except KeyboardInterrupt:  # a second signal, or one outside the simulation
            if bar:
                bar.done()
            print(
                f"smart-exec {_command(args)}: interrupted by {stop.name}; the audit trail so far"
                f" is {audit} (smart-exec resume {audit} continues it)",
                file=sys.stderr,
            )
            return stop.exit_status


def print_report(report: Report) -> None:
    """One line per delivered report, flushed: what a client was told, in order (its
    message id finds it in the trail)."""
    kind = report.exec_type.value if isinstance(report, ExecutionReport) else "rejected"
    print(f"report {report.msg_id} {kind} {report.source!r}/{report.client_order_id!r}", flush=True)


def _report(
    args: argparse.Namespace,
    scenario: Scenario,
    result: ScenarioResult,
    paths: tuple[Path, Path],
    bar: ProgressBar | None,
    stop: Interruption,
    job: BaselineJob | None = None,
) -> int:
    """The summary first, then where the rest is: fills CSV, HTML report, digest last."""
    audit, fills_csv = paths
    if bar:
        bar.done()
    offset = scenario.session.utc_offset_hours
    if result.interrupted or stop.requested():
        print(
            f"smart-exec {_command(args)}: interrupted by {stop.name} at "
            f"{format_time(result.ended_ns, offset)}"
            f" (simulated); the audit trail so far is {audit} ({len(result.journal):,} records;"
            f" smart-exec resume {audit} continues it)",
            file=sys.stderr,
        )
        return stop.exit_status
    baseline = None if job is None else job.result()
    rows = write_fills_csv(result.tca.parents, fills_csv, offset)
    if getattr(args, "json", False):
        print(json.dumps(run_json(result, audit, fills_csv), indent=2))
        return 0
    print(summary(result, baseline, audit))
    print(
        f"\nFills: {rows:,} rows in {fills_csv}" + ("" if args.fills else " (--fills prints them)")
    )
    if args.allocations_csv:
        count = write_allocations_csv(result.journal.replay(), args.allocations_csv, offset)
        print(f"Allocations: {count:,} rows in {args.allocations_csv}")
    if args.fills and rows:
        print("\n" + run_fills_text(result.tca.parents, offset))
    if args.report:
        print(f"report: {_write_html(args.report, scenario, result, baseline)}")
    print(f"audit-digest: {result.digest}")
    return 0


def _write_html(
    directory: str, scenario: Scenario, result: ScenarioResult, baseline: Baseline | None
) -> Path:
    data = report_data_from_journal(
        result.journal,
        f"{scenario.name} (seed {result.seed})",
        notes=[scenario.description] if scenario.description else [],
        utc_offset_hours=scenario.session.utc_offset_hours,
        tca=result.tca,
    )
    return write_report(
        replace(data, digest=result.digest, comparison=comparison_figures(result, baseline)),
        directory,
    )


def fills_csv_beside(audit: Path) -> Path:
    """``NAME.audit.sqlite`` → ``NAME.fills.csv`` in the same directory."""
    name = audit.name.removesuffix(".sqlite").removesuffix(".audit")
    return audit.with_name(f"{name}.fills.csv")


def clear_audit_path(audit: Path, scenario_file: Path, *, overwrite: bool) -> None:
    """Make room for a new trail at ``audit``, or raise ``OSError`` naming what is there:
    any file unless ``overwrite``, and the scenario file itself always."""
    if not audit.parent.is_dir():
        raise OSError(f"--audit {audit}: no directory {str(audit.parent)!r}")
    if audit.is_dir():
        raise IsADirectoryError(f"--audit {audit}: a directory is there")
    if audit.exists() or audit.is_symlink():
        if scenario_file.exists() and audit.exists() and audit.samefile(scenario_file):
            raise FileExistsError(f"--audit {audit} is the scenario file itself: give a new path")
        if not overwrite:
            raise FileExistsError(
                f"{_what_is_at(audit)}: give a new --audit path, or --overwrite to replace it"
            )
    for stale in (audit, Path(f"{audit}-wal"), Path(f"{audit}-shm")):
        stale.unlink(missing_ok=True)


def clear_fills_csv_path(
    fills_csv: Path, audit: Path, scenario_file: Path, *, overwrite: bool
) -> None:
    """Refuse, before the run, a fills CSV path that would replace the trail, the scenario
    or (unless ``overwrite``) any file already there."""
    if not fills_csv.parent.is_dir():
        raise OSError(f"--fills-csv {fills_csv}: no directory {str(fills_csv.parent)!r}")
    if fills_csv.is_dir():
        raise IsADirectoryError(f"--fills-csv {fills_csv}: a directory is there")
    if fills_csv.absolute() == audit.absolute():
        raise FileExistsError(f"--fills-csv {fills_csv} is the audit trail: give another path")
    if fills_csv.exists():
        if scenario_file.exists() and fills_csv.samefile(scenario_file):
            raise FileExistsError(
                f"--fills-csv {fills_csv} is the scenario file itself: give a new path"
            )
        if not overwrite:
            raise FileExistsError(
                f"{fills_csv} already exists: give a new --fills-csv path, "
                "or --overwrite to replace it"
            )


def _what_is_at(path: Path) -> str:
    try:
        with Journal(str(path), readonly=True) as trail:
            return f"audit trail {path} already exists ({len(trail):,} records of a run)"
    except FileNotFoundError:  # not SQLite, or no journal table in it
        return f"{path} already exists and is not an audit trail"


class Interruption:
    """SIGINT and SIGTERM while ``installed``. While the simulation runs (``deferred``) the
    first signal only asks it to stop at its next step, so the trail ends on a settled
    wave; a second one, or one anywhere else, raises ``KeyboardInterrupt`` at once."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._deferring = False

    @property
    def name(self) -> str:
        return signal.Signals(self.signum or signal.SIGINT).name

    @property
    def exit_status(self) -> int:
        return 128 + (self.signum or signal.SIGINT)  # the shell's status for that signal

    def requested(self) -> bool:
        return self.signum is not None

    @contextmanager
    def deferred(self) -> Iterator[None]:
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        if not (first and self._deferring):
            raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[Interruption]:
        if threading.current_thread() is not threading.main_thread():
            yield self  # only the main thread may take signals; Ctrl-C stays Python's
            return
        previous = {s: signal.signal(s, self) for s in STOP_SIGNALS}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def run_json(result: ScenarioResult, audit: Path, fills_csv: Path) -> dict:
    """The run's figures and its TCA roll-up (per instrument, side, strategy, venue)."""
    return {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "instruments": len(result.scenario.instruments()),
        "client_orders": result.client_orders,
        "rejected": result.rejected,
        "parents": len(result.tca.parents),
        "wall_s": round(result.wall_s, 3),
        "deliveries": result.stats.get("deliveries", 0),
        "audit": str(audit),
        "fills_csv": str(fills_csv),
        "tca": portfolio_tca(result.tca.parents).as_json(),
        "audit_digest": result.digest,
    }


def summary(result: ScenarioResult, baseline: Baseline | None, audit: Path) -> str:
    s = result.scenario
    lines = [
        f"scenario {s.name} seed {result.seed}: {result.client_orders} client orders "
        f"({result.rejected} rejected), simulated in {result.wall_s:.1f}s wall"
    ]
    offset = s.session.utc_offset_hours
    if s.many:  # hundreds of parents, many markets: the roll-up, per instrument last
        lines += ["", portfolio_text(portfolio_tca(result.tca.parents)), ""]
    else:
        lines += [
            "",
            f"Parents (times UTC{offset:+03d}:00; performance in bps, + = better than "
            "the benchmark)",
            run_report_text(result.tca.parents, utc_offset_hours=offset),
            "",
            *execution_lines(result, baseline),
        ]
    if result.excess:
        lines.append(f"Excess account (never allocated to clients): {result.excess}")
    st = result.stats
    lines.append(
        f"Runtime: {st.get('deliveries', 0):,} deliveries, {st.get('failures', 0)} "
        f"actor failures, {st.get('restarts', 0)} restarts; audit trail {audit}"
    )
    return "\n".join(lines)


class ProgressBar:
    """Simulated time and fills so far: redrawn in place on a terminal, a line per fifth
    of the run otherwise (logs stay short)."""

    def __init__(self, stream, utc_offset_hours: int = 0, width: int = 30) -> None:
        self.stream, self.width, self.offset = stream, width, utc_offset_hours
        self.tty = stream.isatty()
        self._start: int | None = None
        self._last_step = -1

    def __call__(self, now: int, end: int, fills: int, arrived: int) -> None:
        if self._start is None:
            self._start = now
        done = (now - self._start) / max(end - self._start, 1)
        filled = int(done * self.width)
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {format_time(now, self.offset)} "
            f"client orders in {arrived:,}  fills {fills:,}"
        )
        if self.tty:
            self.stream.write("\r" + line)
        elif int(done * 5) != self._last_step:
            self._last_step = int(done * 5)
            self.stream.write(line + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _command(args: argparse.Namespace) -> str:
    return str(getattr(args, "command", None) or "run")
