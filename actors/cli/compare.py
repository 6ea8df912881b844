"""``smart-exec compare [--json] [--seed N]``: routing logics side by side.

Runs each routing logic (sequential, parallel, liquidity seeking, and parallel with
over-allocation) on the same seeded comparison markets (lit-only, dark-heavy, thin) and
prints per logic: cost vs arrival in bps including fees, fill rate, time to complete and
overfills. ``--json`` prints one JSON array of cells instead; ``--market`` and
``--logic`` narrow the run to some rows.
"""

from __future__ import annotations

import argparse
import json
import sys

import scenarios
from actors.routing_comparison import (
    LOGICS,
    MARKETS,
    compare_routing,
    format_table,
    to_json,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed", type=int, help="one seed for every market (default: each scenario's own)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--market",
        action="append",
        metavar="NAME",
        help=f"only this market (repeatable): {', '.join(n for n, _ in MARKETS)}",
    )
    parser.add_argument(
        "--logic",
        action="append",
        metavar="NAME",
        help=f"only this logic (repeatable): {', '.join(lg.name for lg in LOGICS)}",
    )


def main(args: argparse.Namespace) -> int:
    markets = [(n, scenarios.path(f)) for n, f in MARKETS if not args.market or n in args.market]
    logics = [lg for lg in LOGICS if not args.logic or lg.name in args.logic]
    for kind, asked, known in (
        ("market", args.market, [n for n, _ in MARKETS]),
        ("logic", args.logic, [lg.name for lg in LOGICS]),
    ):
        unknown = sorted(set(asked or []) - set(known))
        if unknown:
            print(
                f"smart-exec compare: unknown {kind} {unknown[0]!r} (one of {', '.join(known)})",
                file=sys.stderr,
            )
            return 2
    cells = compare_routing(seed=args.seed, markets=markets, logics=logics)
    if args.json:
        print(json.dumps(to_json(cells), indent=2))
    else:
        print(format_table(cells))
        print(
            "cost: vs the lit mid at each client order's arrival, fees included, "
            "positive = cost; complete in: first child placed to last fill"
        )
    return 0
