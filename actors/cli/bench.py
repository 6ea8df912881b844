"""``smart-exec bench [--json] [--quick] [--only NAME ...]``: measure, print the figures.

Each entry below is a module with ``run(quick: bool) -> dict`` of metric → value; the
command merges them into one JSON object. Targets (2-core machine) are in the README.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
import time

BENCHMARKS: dict[str, str] = {
    "book": "actors.benchmarks.book",
    "intake": "actors.benchmarks.intake",
    "router": "actors.benchmarks.router",
    "journal": "actors.benchmarks.journal",
    "runtime": "actors.benchmarks.runtime",
    "recalibration": "actors.benchmarks.recalibration",
    "brief_run": "actors.benchmarks.brief_run",
    "portfolio": "actors.benchmarks.portfolio",
    "fix": "actors.fix.loopback",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help=f"run only these: {', '.join(BENCHMARKS)}",
    )


def main(args: argparse.Namespace) -> int:
    figures: dict[str, float] = {}
    for name in args.only or list(BENCHMARKS):
        module = importlib.import_module(BENCHMARKS[name])
        gc.collect()
        started = time.perf_counter()
        result = module.run(quick=args.quick)
        figures.update(result)
        if not args.json:
            print(
                f"{name:10s} {time.perf_counter() - started:6.1f}s  "
                + "  ".join(f"{k}={v}" for k, v in result.items()),
                file=sys.stderr,
            )
    if args.json:
        print(json.dumps(figures, sort_keys=True))
    else:
        for key, value in sorted(figures.items()):
            print(f"{key:32s} {value}")
    return 0
