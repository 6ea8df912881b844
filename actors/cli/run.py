"""``smart-exec run SCENARIO [--seed N] [--audit PATH] [--overwrite] [--report DIR]``.

SCENARIO is a TOML file, or the name of a shipped scenario (``brief_vwap``). Runs the
scenario end to end on the real actors with simulated venues, shows progress, prints the
TCA report and the baseline comparison, and ends with ``audit-digest: <sha256>`` over the
audit trail (same scenario and seed → same digest).

A trail is never destroyed by accident: a file already at the audit path is refused unless
``--overwrite`` (and the scenario file itself never is). Ctrl-C or SIGTERM stops the run
with its trail flushed and closed, one line saying where it is, and status 130 or 143.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import scenarios
from actors.comparison_text import execution_lines
from actors.scenario_runner import Baseline, ScenarioResult, run_baseline, run_scenario
from engine.audit.journal import Journal
from engine.scenario import Scenario, ScenarioError, load
from engine.tca.html import report_data_from_journal, write_report
from engine.tca.text import format_time, run_report_text

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
        help="replace a file already at the audit path (never the scenario file itself)",
    )
    parser.add_argument("--report", metavar="DIR", help="write an HTML report into DIR")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the market-order baseline run"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    """A scenario that cannot be used, found at load or (a profile, a generated stream) only
    when the run builds it, ends with one line on stderr and exit status 2; so does an
    audit path that is taken."""
    try:
        return _run(args)
    except BrokenPipeError:
        raise  # stdout went away (``| head``): the command line's to handle, not an error
    except (ScenarioError, OSError) as exc:  # OSError: an --audit/--report path unusable
        print(f"smart-exec run: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    scenario_file = scenarios.locate(args.scenario)
    scenario = load(scenario_file)
    seed = scenario.seed if args.seed is None else args.seed
    audit = Path(args.audit or f"{scenario.name}.seed{seed}.audit.sqlite")
    clear_audit_path(audit, scenario_file, overwrite=args.overwrite)
    stop = Interruption()
    bar = None if args.quiet else ProgressBar(sys.stderr, scenario.session.utc_offset_hours)
    with stop.installed():
        try:
            with stop.deferred():
                result = run_scenario(
                    scenario, seed=seed, audit=audit, progress=bar, stop=stop.requested
                )
            try:
                return _report(args, scenario, result, audit, bar, stop)
            finally:
                result.journal.close()
        except KeyboardInterrupt:  # a second signal, or one outside the simulation
            if bar:
                bar.done()
            where = (
                f"the audit trail so far is {audit}" if audit.exists() else "no audit trail written"
            )
            print(f"smart-exec run: interrupted by {stop.name}; {where}", file=sys.stderr)
            return stop.exit_status


def _report(
    args: argparse.Namespace,
    scenario: Scenario,
    result: ScenarioResult,
    audit: Path,
    bar: ProgressBar | None,
    stop: Interruption,
) -> int:
    if bar:
        bar.done()
    offset = scenario.session.utc_offset_hours
    if result.interrupted or stop.requested():
        print(
            f"smart-exec run: interrupted by {stop.name} at {format_time(result.ended_ns, offset)}"
            f" (simulated); the audit trail so far is {audit} ({len(result.journal):,} records)",
            file=sys.stderr,
        )
        return stop.exit_status
    baseline = None if args.no_baseline else run_baseline(scenario, seed=result.seed)
    print(summary(result, baseline, audit))
    if args.report:
        data = report_data_from_journal(
            result.journal,
            f"{scenario.name} (seed {result.seed})",
            notes=[scenario.description] if scenario.description else [],
            utc_offset_hours=offset,
        )
        path = write_report(data, args.report)
        print(f"report: {path}")
    print(f"audit-digest: {result.digest}")
    return 0


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


def summary(result: ScenarioResult, baseline: Baseline | None, audit: Path) -> str:
    s = result.scenario
    lines = [
        f"scenario {s.name} seed {result.seed}: {result.client_orders} client orders "
        f"({result.rejected} rejected), simulated in {result.wall_s:.1f}s wall"
    ]
    offset = s.session.utc_offset_hours
    lines += [
        "",
        f"Child fills (times UTC{offset:+03d}:00): performance vs the market VWAP "
        "over each child's life (bps, + = better)",
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
