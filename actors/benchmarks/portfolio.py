"""The portfolio day in one process and on two Ray shards, wall seconds.

- ``portfolio_day_wall_s``: the shipped portfolio scenario in one engine, from the loaded
  scenario to the result (the day, the TCA); ``portfolio_peak_rss_mb`` that process's
  peak resident memory; ``portfolio_instruments`` how many instruments it trades.
- ``portfolio_day_wall_s_shards2``: the same scenario on two shards, each a whole engine
  in a Ray actor, from the loaded scenario to the merged result, the local cluster's
  start included; its parts say what sharding costs on top of the shards' own days
  (``portfolio_shards2_ray_start_s``, ``…_actor_start_s``, ``…_transfer_s``,
  ``…_ray_stop_s``) and the slowest shard's own work (``…_slowest_shard_s``, and the
  CPU it took, ``…_slowest_shard_cpu_s``: less when the shard waited for a core), the
  largest shard's peak memory and the size of the results that cross
  (``…_shard_peak_rss_mb``, ``…_result_mb``, pickled).

Each measurement runs in a child process of its own (a fresh interpreter, as a user
starts a run), so the peak RSS is the run's alone. Skipped under ``--quick``: a day of a
hundred instruments takes minutes.
"""

from __future__ import annotations

import json
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

REPO = Path(__file__).resolve().parents[2]
PORTFOLIO = "portfolio_rebalance"


def run(quick: bool) -> dict[str, float]:
    if quick:
        return {}
    one = measure(PORTFOLIO, shards=0)
    two = measure(PORTFOLIO, shards=2)
    return {
        "portfolio_instruments": one["instruments"],
        "portfolio_day_wall_s": round(one["wall_s"], 2),
        "portfolio_peak_rss_mb": round(one["peak_rss_mb"], 1),
        "portfolio_day_wall_s_shards2": round(two["wall_s"], 2),
        "portfolio_shards2_ray_start_s": round(two["cluster_start_s"], 2),
        "portfolio_shards2_actor_start_s": round(two["actor_start_s"], 2),
        "portfolio_shards2_transfer_s": round(two["transfer_s"], 3),
        "portfolio_shards2_ray_stop_s": round(two["cluster_stop_s"], 2),
        "portfolio_shards2_slowest_shard_s": round(two["slowest_shard_s"], 2),
        "portfolio_shards2_slowest_shard_cpu_s": round(two["slowest_shard_cpu_s"], 2),
        "portfolio_shards2_shard_peak_rss_mb": round(two["shard_peak_rss_mb"], 1),
        "portfolio_shards2_result_mb": round(two["result_mb"], 2),
    }


def measure(
    scenario: str, shards: int, seed: int | None = None, instruments: int | None = None
) -> dict[str, float]:
    """One run in a child process (``shards=0``: in-process engine); its figures.
    ``instruments``: only the first N of the scenario's (a smaller day, same markets)."""
    command = [sys.executable, "-m", "actors.benchmarks.portfolio", scenario, str(shards)]
    command += ["" if seed is None else str(seed), "" if instruments is None else str(instruments)]
    with TemporaryDirectory() as scratch:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(command, env=env, cwd=scratch, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{scenario} on {shards} shard(s) failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _child(
    scenario_name: str, shards: int, seed: int | None, instruments: int | None
) -> dict[str, float]:
    import scenarios
    from engine.scenario import load

    scenario = load(scenarios.locate(scenario_name))
    if instruments is not None:
        scenario = scenario.restricted_to(i.symbol for i in scenario.instruments()[:instruments])
    started = time.perf_counter()
    figures = _one_process(scenario, seed) if shards == 0 else _sharded(scenario, shards, seed)
    figures["wall_s"] = time.perf_counter() - started
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def _one_process(scenario, seed: int | None) -> dict[str, float]:
    from actors.scenario_runner import run_scenario

    result = run_scenario(scenario, seed=seed, audit="one.audit.sqlite")
    result.journal.close()
    return {"instruments": len(scenario.instruments())}


def _sharded(scenario, shards: int, seed: int | None) -> dict[str, float]:
    from actors.shards import run_sharded

    started = time.perf_counter()
    result = run_sharded(scenario, shards, seed=seed, trails="sharded")
    total = time.perf_counter() - started
    over = result.overhead
    return {
        "cluster_stop_s": total - over.cluster_start_s - over.actor_start_s - result.wall_s,
        "instruments": len(result.instruments),
        "cluster_start_s": over.cluster_start_s,
        "actor_start_s": over.actor_start_s,
        "transfer_s": over.transfer_s,
        "slowest_shard_s": max(o.busy_s for o in result.shards),
        "slowest_shard_cpu_s": max(result.shards, key=lambda o: o.busy_s).cpu_s,
        "shard_peak_rss_mb": max(o.peak_rss_mb for o in result.shards),
        "result_mb": sum(len(pickle.dumps(o)) for o in result.shards) / 1e6,
    }


if __name__ == "__main__":
    name, count, seed, instruments = sys.argv[1:]
    figures = _child(name, int(count), int(seed) if seed else None, int(instruments or 0) or None)
    print(json.dumps(figures))
