"""The two-shard speed-up over interleaved pairs: what one ``smart-exec bench`` pair
cannot say on a shared machine.

    python -m actors.benchmarks.portfolio_pairs 10 [--instruments N] > pairs.jsonl

Each pair is the portfolio day in one process and on two Ray shards, back to back, each
in a fresh interpreter (``portfolio.measure``); which goes first alternates, so a
machine that drifts does not favour one side. Every run is printed as a JSON line as it
ends, then the summary: the speed-up of each pair, its median and mean, a 95 % bootstrap
interval of the median, and how many pairs fall below the 1.7× target.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable

from actors.benchmarks.portfolio import PORTFOLIO, measure

TARGET = 1.7
_RESAMPLES = 10_000


def speedups(
    pairs: int,
    instruments: int | None = None,
    out: Callable[[str], None] = print,
    scenario: str = PORTFOLIO,
) -> list[float]:
    """One-process wall over two-shard wall, for each of ``pairs`` interleaved pairs."""
    ratios = []
    for pair in range(pairs):
        walls = {}
        for shards in (0, 2) if pair % 2 == 0 else (2, 0):
            at = time.strftime("%H:%M:%S")
            figures = measure(scenario, shards=shards, instruments=instruments)
            walls[shards] = figures["wall_s"]
            out(json.dumps({"pair": pair, "shards": shards, "at": at, **figures}))
        ratios.append(walls[0] / walls[2])
    return ratios


def summary(ratios: list[float], seed: int = 1) -> dict[str, object]:
    rng = random.Random(seed)  # the interval is reproducible for the same ratios
    medians = sorted(
        statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(_RESAMPLES)
    )
    return {
        "pairs": len(ratios),
        "speedups": [round(r, 3) for r in ratios],
        "median": round(statistics.median(ratios), 3),
        "mean": round(statistics.mean(ratios), 3),
        "median_95": [round(medians[_RESAMPLES // 40], 3), round(medians[-_RESAMPLES // 40], 3)],
        "below_target": sum(r < TARGET for r in ratios),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actors.benchmarks.portfolio_pairs")
    parser.add_argument("pairs", type=int)
    parser.add_argument("--instruments", type=int, help="only the first N instruments")
    args = parser.parse_args(argv)
    print(json.dumps({"summary": summary(speedups(args.pairs, args.instruments))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
