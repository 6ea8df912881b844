"""``smart-exec run SCENARIO --shards N [--address ADDR]``: the run on N engines in Ray
actors, reported as one run.

Prints the summary (each parent's TCA over every shard, or the portfolio roll-up for a
many-instrument scenario; the client executions; one line per shard with its trail and its own ``audit-digest``, where the wall time went), writes
the merged per-fill CSV, and prints ``run-digest: <sha256>`` last: the same for any N and
for the in-process engine on the same seed (``actors.shards.digest``). ``--json``: one
JSON object instead, with each shard's figures and ``run_digest``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from actors.cli.run import clear_audit_path, clear_fills_csv_path
from actors.shards.cluster import ShardError
from actors.shards.partition import assign
from actors.shards.sharded import ShardedResult, ShardFailed, run_sharded, trail_paths
from engine.scenario import Scenario
from engine.tca.portfolio import portfolio_tca
from engine.tca.text import format_bps, portfolio_text, run_report_text, write_fills_csv

EXIT_SHARD_FAILED = 1
EXIT_UNUSABLE = 2
# what one engine's run writes that a sharded run does not (yet): flag → its argument
_PER_ENGINE = {
    "--report": "report",
    "--fills": "fills",
    "--trace-reports": "trace_reports",
}


def main(args: argparse.Namespace, scenario_file: Path, scenario: Scenario, seed: int) -> int:
    prefix = Path(args.audit or f"{scenario.name}.seed{seed}.audit.sqlite")
    prefix = prefix.with_name(prefix.name.removesuffix(".sqlite").removesuffix(".audit"))
    count = len(assign(scenario, args.shards))
    fills_csv = Path(args.fills_csv or f"{prefix}.fills.csv")
    for trail in trail_paths(prefix, count):
        clear_audit_path(Path(trail), scenario_file, overwrite=args.overwrite)
    clear_fills_csv_path(
        fills_csv, Path(f"{prefix}.audit.sqlite"), scenario_file, overwrite=args.overwrite
    )
    unused = [flag for flag, on in _PER_ENGINE.items() if getattr(args, on)]
    if unused:
        print(f"smart-exec run: {', '.join(unused)}: not with --shards (ignored)", file=sys.stderr)
    if not args.quiet:
        where = args.address or "a local Ray cluster"
        print(f"running {count} shard(s) on {where} ...", file=sys.stderr, flush=True)
    try:
        result = run_sharded(scenario, args.shards, seed=seed, trails=prefix, address=args.address)
    except ShardFailed as exc:
        print(f"smart-exec run: error: {exc}", file=sys.stderr)
        return EXIT_SHARD_FAILED
    except ShardError as exc:
        print(f"smart-exec run: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    offset = scenario.session.utc_offset_hours
    rows = write_fills_csv(result.parents, fills_csv, offset)
    if args.json:
        print(json.dumps(run_json(result, fills_csv), indent=2))
        return 0
    print(summary(result))
    print(f"\nFills: {rows:,} rows in {fills_csv}")
    print(f"run-digest: {result.digest}")
    return 0


def summary(result: ShardedResult) -> str:
    s, cost = result.scenario, result.cost
    over = result.overhead
    lines = [
        f"scenario {s.name} seed {result.seed}: {result.client_orders} client orders "
        f"({result.rejected} rejected), {len(result.instruments)} instruments on "
        f"{len(result.shards)} shard(s), {result.wall_s:.1f}s wall",
        "",
        *_tca_lines(result),
        "",
        f"Client executions: {cost.quantity:,} of {cost.ordered:,} shares ({cost.fill_rate:.1%})"
        f"; cost vs arrival mid (fees in): {format_bps(cost.cost_bps)} bps",
        "Shards:",
    ]
    lines += [
        f"  {o.index + 1}: {', '.join(o.symbols)} on {o.host}: day {o.wall_s:.1f}s, "
        f"{o.records:,} records in {o.trail}, audit-digest {o.audit_digest}"
        for o in result.shards
    ]
    lines.append(
        f"Overhead: Ray cluster {over.cluster_start_s:.1f}s, actors {over.actor_start_s:.1f}s, "
        f"results back {over.transfer_s:.2f}s"
    )
    return "\n".join(lines)


def _tca_lines(result: ShardedResult) -> list[str]:
    """The roll-up for a many-instrument scenario (hundreds of parents), else each parent."""
    if result.scenario.many:
        return [portfolio_text(portfolio_tca(result.parents))]
    offset = result.scenario.session.utc_offset_hours
    return [
        f"Parents (times UTC{offset:+03d}:00; performance in bps, + = better than the benchmark)",
        run_report_text(result.parents, utc_offset_hours=offset),
    ]


def run_json(result: ShardedResult, fills_csv: Path) -> dict:
    """The run's figures, each shard's, and the TCA roll-up over every shard."""
    over = result.overhead
    return {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "instruments": len(result.instruments),
        "client_orders": result.client_orders,
        "rejected": result.rejected,
        "parents": len(result.parents),
        "wall_s": round(result.wall_s, 3),
        "overhead_s": {
            "ray_start": round(over.cluster_start_s, 3),
            "actor_start": round(over.actor_start_s, 3),
            "results_back": round(over.transfer_s, 3),
        },
        "shards": [
            {
                "symbols": o.symbols,
                "host": o.host,
                "audit": o.trail,
                "audit_digest": o.audit_digest,
                "records": o.records,
                "busy_s": round(o.busy_s, 3),
                "peak_rss_mb": round(o.peak_rss_mb, 1),
            }
            for o in result.shards
        ],
        "fills_csv": str(fills_csv),
        "tca": portfolio_tca(result.parents).as_json(),
        "run_digest": result.digest,
    }
