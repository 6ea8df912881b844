"""A scenario's instruments partitioned across N shards, each a whole engine in a Ray
actor; the shards' outcomes merged into one result.

    result = run_sharded(load("scenarios/portfolio_rebalance.toml"), shards=2)
    print(result.digest)   # the same for any number of shards, and in one engine

Only the scenario (its client orders) goes in and the outcome comes out: nothing crosses
between shards while they run. A shard that dies (its process killed, its actor killed)
fails the run with ``ShardFailed`` naming its instruments; the other shards still finish
and their trails are complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from actors.api import Report
from actors.scenario_runner import ExecutionCost
from actors.shards.cluster import ShardError, connect, disconnect, ray_module
from actors.shards.digest import run_digest
from actors.shards.partition import assign
from actors.shards.shard import Shard, ShardOutcome
from engine.messages import ExecType, ExecutionReport
from engine.scenario import Scenario
from engine.tca.metrics import ParentTCA


class ShardFailed(ShardError):
    """Shards that did not finish, by index: their instruments and why. ``finished``
    holds the other shards' outcomes (their trails are complete)."""

    def __init__(self, failed: dict[int, tuple[list[str], str]], finished: list[ShardOutcome]):
        self.failed, self.finished = failed, finished
        lines = [
            f"shard {i + 1} ({', '.join(syms)}) failed: {cause}"
            for i, (syms, cause) in sorted(failed.items())
        ]
        affected = sorted(s for syms, _ in failed.values() for s in syms)
        kept = ", ".join(o.trail for o in finished) or "none"
        super().__init__(
            f"instruments not run to the end: {', '.join(affected)}; "
            + "; ".join(lines)
            + f"; the other shards finished, their trails: {kept}"
        )


@dataclass
class Overhead:
    """Wall seconds a sharded run spends on top of the shards' own work."""

    cluster_start_s: float  # starting (or joining) the Ray cluster
    actor_start_s: float  # until every shard's actor answered
    transfer_s: float  # after the slowest shard's day: results back to the driver


@dataclass
class ShardedResult:
    scenario: Scenario
    seed: int
    shards: list[ShardOutcome]  # in shard order
    wall_s: float  # from the first shard started to the last result received
    overhead: Overhead

    @property
    def instruments(self) -> dict[str, str]:
        """Symbol → sub-trail digest, over every shard."""
        return {s: d for o in self.shards for s, d in o.instruments.items()}

    @property
    def digest(self) -> str:
        return run_digest(self.instruments)

    @property
    def reports(self) -> list[Report]:
        """Every shard's reports, by time (then instrument: shards share no instrument)."""
        tagged = [
            (r.ts, getattr(r, "instrument", ""), o.index, n, r)
            for o in self.shards
            for n, r in enumerate(o.reports)
        ]
        return [t[-1] for t in sorted(tagged, key=lambda t: t[:4])]

    @property
    def fills(self) -> list[ExecutionReport]:
        return [
            r
            for r in self.reports
            if isinstance(r, ExecutionReport) and r.exec_type is ExecType.TRADE
        ]

    @property
    def parents(self) -> list[ParentTCA]:
        """Every shard's parents' TCA. Each engine numbers its parents from P1, so with
        more than one shard a parent id names its shard too: ``S2-P1`` is shard 2's P1."""
        if len(self.shards) == 1:
            return list(self.shards[0].parents)
        return [
            replace(p, parent_id=f"S{o.index + 1}-{p.parent_id}")
            for o in self.shards
            for p in o.parents
        ]

    @property
    def cost(self) -> ExecutionCost:
        total = ExecutionCost()
        for o in self.shards:
            for name in ("quantity", "ordered", "signed_cost", "fees", "base"):
                setattr(total, name, getattr(total, name) + getattr(o.cost, name))
        return total

    @property
    def client_orders(self) -> int:
        return sum(o.client_orders for o in self.shards)

    @property
    def rejected(self) -> int:
        return sum(o.rejected for o in self.shards)


def trail_paths(prefix: str | Path, count: int) -> list[str]:
    """``PREFIX.shard1of2.audit.sqlite``, …: absolute (a worker's directory is its own)."""
    base = Path(prefix).absolute()
    return [f"{base}.shard{i + 1}of{count}.audit.sqlite" for i in range(count)]


class ShardedRun:
    """A sharded run in steps: ``start`` the shards, then ``result``. Between the two,
    ``actors`` are the shards' Ray actors (what a fault-injection test kills)."""

    def __init__(
        self, scenario: Scenario, shards: int, *, seed: int | None = None, trails: str | Path
    ) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.assignment = assign(scenario, shards)
        self.trails = trail_paths(trails, len(self.assignment))
        self.actors: list[Any] = []
        self._pending: dict[Any, int] = {}
        self._started = 0.0
        self.actor_start_s = 0.0

    def start(self) -> None:
        ray = ray_module()
        began = time.perf_counter()
        cpus = ray.available_resources().get("CPU", 1.0)
        remote = ray.remote(Shard).options(num_cpus=min(1.0, cpus / len(self.assignment)))
        self.actors = [
            remote.remote(i, syms, trail)
            for i, (syms, trail) in enumerate(zip(self.assignment, self.trails, strict=True))
        ]
        ray.get([a.ready.remote() for a in self.actors])
        self._started = time.perf_counter()
        self.actor_start_s = self._started - began
        self._pending = {
            a.run.remote(self.scenario, self.seed): i for i, a in enumerate(self.actors)
        }

    def result(self, cluster_start_s: float = 0.0) -> ShardedResult:
        """Every shard's outcome; ``ShardFailed`` if any shard did not finish."""
        ray = ray_module()
        finished: list[ShardOutcome] = []
        failed: dict[int, tuple[list[str], str]] = {}
        pending = list(self._pending)
        while pending:
            # waits of a second at most: Ctrl-C reaches Python between them
            done, pending = ray.wait(pending, num_returns=1, timeout=1.0)
            if not done:
                continue
            index = self._pending[done[0]]
            try:
                finished.append(ray.get(done[0]))
            except ray.exceptions.RayError as exc:
                failed[index] = (self.assignment[index], _cause(exc))
        ended = time.perf_counter()
        for actor in self.actors:
            ray.kill(actor)
        finished.sort(key=lambda o: o.index)
        if failed:
            raise ShardFailed(failed, finished)
        slowest = max(o.busy_s for o in finished)
        return ShardedResult(
            scenario=self.scenario,
            seed=self.seed,
            shards=finished,
            wall_s=ended - self._started,
            overhead=Overhead(
                cluster_start_s=cluster_start_s,
                actor_start_s=self.actor_start_s,
                transfer_s=max(0.0, ended - self._started - slowest),
            ),
        )


def run_sharded(
    scenario: Scenario,
    shards: int,
    *,
    seed: int | None = None,
    trails: str | Path | None = None,
    address: str | None = None,
    num_cpus: int | None = None,
) -> ShardedResult:
    """Run ``scenario`` on ``shards`` engines. A process already connected to Ray runs
    them there; otherwise ``address`` joins a running cluster (left running) or, without
    it, a local cluster is started and shut down after. ``trails``: the shards' trail
    path prefix (default ``NAME.seedN``)."""
    seed = scenario.seed if seed is None else seed
    run = ShardedRun(scenario, shards, seed=seed, trails=trails or f"{scenario.name}.seed{seed}")
    began = time.perf_counter()
    connected = connect(address, num_cpus)
    cluster_start_s = time.perf_counter() - began
    try:
        run.start()
        return run.result(cluster_start_s)
    finally:
        if connected:
            disconnect()


def _cause(exc: Exception) -> str:
    """The first line of a Ray error: what happened, without the remote traceback."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
