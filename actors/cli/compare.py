"""``smart-exec compare [SCENARIO ...] [--logic L ...] --seeds N [--first-seed S] [--json]
[--jobs J]``: the engine against the naive baseline over N seeds, the drift taken out.

Per scenario (files or shipped names; none: every shipped scenario) and routing logic
(default: the scenario's own), over seeds S .. S+N−1: cost vs arrival (unfilled shares
marked at the end price), vs the interval VWAP without our own fills, drift-adjusted
(against the same seed's market without our orders), the baseline likewise, the
drift-adjusted saving with its standard error and 95 % interval, the fees (net of
rebates), the passive-taker share, the fill ratio, the median time for a child to fill
and the excess shares. ``--json`` prints ``{"rows": [...]}``. ``--jobs`` runs seeds in
that many processes; the output is the same whatever it is.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import scenarios
from actors.comparison import LOGICS, SCENARIO_LOGIC, compare, logic_named
from actors.comparison_text import LEGEND, format_table, to_json
from engine.scenario import Scenario, ScenarioError, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help="scenario TOML files or shipped names (default: every shipped scenario)",
    )
    names = ", ".join(lg.name for lg in (SCENARIO_LOGIC, *LOGICS))
    parser.add_argument(
        "--logic",
        action="append",
        metavar="L",
        help=f"routing logic (repeatable; default: the scenario's own): {names}",
    )
    parser.add_argument("--seeds", type=_positive, default=1, metavar="N", help="seeds per row")
    parser.add_argument("--first-seed", type=int, default=1, metavar="S", help="default 1")
    parser.add_argument("--jobs", type=_positive, default=1, metavar="J", help="processes")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number >= 1")
    return value


def main(args: argparse.Namespace) -> int:
    try:
        logics = [logic_named(name) for name in args.logic or [SCENARIO_LOGIC.name]]
        runs = _scenarios(args.scenarios)
    except (LookupError, ScenarioError, OSError) as exc:
        print(f"smart-exec compare: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    progress = _progress if sys.stderr.isatty() else None
    rows = compare(
        runs,
        logics=logics,
        seeds=args.seeds,
        first_seed=args.first_seed,
        jobs=args.jobs,
        done=progress,
    )
    wall = time.perf_counter() - started
    if args.json:
        print(json.dumps(to_json(rows), indent=2))
    else:
        print(format_table(rows))
        print(LEGEND)
    count = len(runs) * args.seeds
    print(
        f"smart-exec compare: {count} scenario-seeds in {wall:.1f}s wall "
        f"({wall / count:.1f}s each, {len(logics)} logic(s), jobs {args.jobs})",
        file=sys.stderr,
    )
    return 0


def _scenarios(given: list[str]) -> list[tuple[str, Scenario]]:
    """The scenarios named, else every shipped one of a single instrument (the baseline
    sends each order to one lit venue of one instrument's market)."""
    loaded = [(Path(n).stem, load(scenarios.locate(n))) for n in given or scenarios.shipped()]
    return loaded if given else [(n, s) for n, s in loaded if not s.many]


def _progress(finished: int, total: int) -> None:
    sys.stderr.write(f"\r{finished}/{total} scenario-seeds" + ("\n" if finished == total else ""))
    sys.stderr.flush()
