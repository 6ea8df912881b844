"""``smart-exec run SCENARIO [--seed N] [--audit PATH] [--report DIR]``.

SCENARIO is a TOML file, or the name of a shipped scenario (``brief_vwap``). Runs the scenario end to end on the real actors with simulated venues, shows progress,
prints the TCA report and the baseline comparison, and ends with
``audit-digest: <sha256>`` over the audit trail (same scenario and seed → same digest).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import scenarios
from actors.scenario_runner import ExecutionCost, ScenarioResult, run_baseline, run_scenario
from engine.scenario import ScenarioError, load
from engine.tca.html import report_data_from_journal, write_report
from engine.tca.text import format_bps, format_time, run_report_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario",
        help=f"scenario TOML file, or a shipped scenario's name: {', '.join(scenarios.shipped())}",
    )
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument(
        "--audit",
        help="SQLite audit trail to write "
        "(default: SCENARIO-NAME.seedN.audit.sqlite; replaced if present)",
    )
    parser.add_argument("--report", metavar="DIR", help="write an HTML report into DIR")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the market-order baseline run"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    """A scenario that cannot be used, found at load or (a profile, a generated stream) only
    when the run builds it, ends with one line on stderr and exit status 2."""
    try:
        return _run(args)
    except (ScenarioError, OSError) as exc:  # OSError: an --audit/--report path unusable
        print(f"smart-exec run: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    scenario = load(scenarios.locate(args.scenario))
    seed = scenario.seed if args.seed is None else args.seed
    audit = Path(args.audit or f"{scenario.name}.seed{seed}.audit.sqlite")
    if not audit.parent.is_dir():
        raise OSError(f"--audit {audit}: no directory {str(audit.parent)!r}")
    for stale in (audit, Path(f"{audit}-wal"), Path(f"{audit}-shm")):
        stale.unlink(missing_ok=True)  # a run's audit trail is that run's alone
    bar = None if args.quiet else ProgressBar(sys.stderr, scenario.session.utc_offset_hours)
    result = run_scenario(scenario, seed=seed, audit=audit, progress=bar)
    if bar:
        bar.done()
    baseline = None if args.no_baseline else run_baseline(scenario, seed=seed)
    print(summary(result, baseline, audit))
    if args.report:
        data = report_data_from_journal(
            result.journal,
            f"{scenario.name} (seed {seed})",
            notes=[scenario.description] if scenario.description else [],
            utc_offset_hours=scenario.session.utc_offset_hours,
        )
        path = write_report(data, args.report)
        print(f"report: {path}")
    result.journal.close()
    print(f"audit-digest: {result.digest}")
    return 0


def summary(result: ScenarioResult, baseline: ExecutionCost | None, audit: Path) -> str:
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
    ]
    c = result.cost
    lines += [
        "",
        f"Client executions: {c.quantity:,} of {c.ordered:,} shares "
        f"({c.fill_rate:.1%}), cost vs arrival incl. fees {format_bps(c.cost_bps)} bps",
    ]
    if baseline is not None:
        lines.append(
            f"Baseline (each order marketable to the primary venue): {baseline.quantity:,} "
            f"shares, cost vs arrival incl. fees {format_bps(baseline.cost_bps)} bps"
        )
        if c.cost_bps is not None and baseline.cost_bps is not None:
            lines.append(
                f"Engine saving vs baseline: {format_bps(baseline.cost_bps - c.cost_bps)} bps"
            )
        lines += _drift_lines(result)
    if result.excess:
        lines.append(f"Excess account (never allocated to clients): {result.excess}")
    st = result.stats
    lines.append(
        f"Runtime: {st.get('deliveries', 0):,} deliveries, {st.get('failures', 0)} "
        f"actor failures, {st.get('restarts', 0)} restarts; audit trail {audit}"
    )
    return "\n".join(lines)


def _drift_lines(result: ScenarioResult) -> list[str]:
    """How far the market itself moved against each parent over its life: the timing risk
    a schedule takes and an immediate execution does not (one seed is one draw of it)."""
    lines = []
    for p in result.tca.parents:
        end_mid = result.tca.tape.mid_at(p.end_ns)
        if p.arrival_price is None or end_mid is None:
            continue
        arrival = float(p.arrival_price)
        drift = int(p.side) * (float(end_mid) / 1e6 - arrival) / arrival * 1e4
        lines.append(
            f"Market drift against {p.parent_id} over its life (arrival → end mid): "
            f"{format_bps(drift)} bps"
        )
    return lines


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
