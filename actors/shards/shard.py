"""One shard: a whole engine (desk, parents, router, venues, its own audit trail) on
its share of the instruments.

``Shard`` is a plain class; the cluster hosts it as a Ray actor (``cluster.py``), so the
fill → recalibrate → cancel loop runs inside one process. What crosses back is coarse:
the reports, the TCA, the figures and the trail's digests, once, at the end of the day.
"""

from __future__ import annotations

import resource
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from actors.api import Report, new_trail
from actors.scenario_runner import ExecutionCost, run_scenario
from actors.shards.digest import InstrumentDigests
from actors.shards.partition import restricted
from engine.scenario import Scenario
from engine.tca.metrics import ParentTCA

SCENARIO_RUN = "scenario"  # the trail's run info as ``smart-exec run`` keeps it: resumable


@dataclass
class ShardOutcome:
    """What a finished shard sends back."""

    index: int
    symbols: list[str]
    trail: str  # the shard's audit trail, on ``host``
    host: str
    audit_digest: str  # over the shard's whole trail
    instruments: dict[str, str]  # symbol → sub-trail digest
    reports: list[Report]
    parents: list[ParentTCA]  # each parent's TCA (the market tape stays with the trail)
    cost: ExecutionCost
    wall_s: float  # the simulated day
    busy_s: float  # the whole call: building the engine, the day, TCA, digests
    cpu_s: float  # the CPU that call took (below busy_s when the shard waited for a core)
    peak_rss_mb: float  # the shard's process, at its peak
    stats: dict[str, int]
    client_orders: int
    rejected: int
    records: int
    excess: dict[str, tuple[int, int]] = field(default_factory=dict)

    # Crossing to the driver, the reports travel as one msgpack buffer: pickling tens of
    # thousands of structs one by one took ~15 µs each to load, most of the time between
    # the slowest shard's end and the merged result.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["reports"] = _REPORTS_ENCODER.encode(self.reports)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state["reports"] = _REPORTS_DECODER.decode(state["reports"])
        self.__dict__.update(state)


_REPORTS_ENCODER = msgspec.msgpack.Encoder()
_REPORTS_DECODER = msgspec.msgpack.Decoder(list[Report])


class Shard:
    """Runs a scenario restricted to ``symbols`` with its own trail at ``trail``."""

    def __init__(self, index: int, symbols: list[str], trail: str) -> None:
        self.index, self.symbols, self.trail = index, symbols, trail

    def ready(self) -> str:
        """The host this shard runs on (a cheap call: the actor has started)."""
        return socket.gethostname()

    def run(self, scenario: Scenario, seed: int) -> ShardOutcome:
        began, began_cpu = time.perf_counter(), time.process_time()
        mine = restricted(scenario, self.symbols)
        for stale in (self.trail, f"{self.trail}-wal", f"{self.trail}-shm"):
            Path(stale).unlink(missing_ok=True)
        journal = new_trail(self.trail)
        try:
            journal.set_run_info(SCENARIO_RUN, {"scenario": mine, "seed": seed})
        except BaseException:
            journal.close()
            raise
        subtrails = InstrumentDigests()
        journal.tap(subtrails.add)  # hashed as written: the trail is not read back
        result = run_scenario(mine, seed=seed, audit=journal)
        try:
            digests = subtrails.digests()
            records = len(journal)
        finally:
            journal.close()
        return ShardOutcome(
            index=self.index,
            symbols=self.symbols,
            trail=self.trail,
            host=socket.gethostname(),
            audit_digest=result.digest,
            instruments=digests,
            reports=result.reports,
            parents=result.tca.parents,
            cost=result.cost,
            wall_s=result.wall_s,
            busy_s=time.perf_counter() - began,
            cpu_s=time.process_time() - began_cpu,
            peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            stats=result.stats,
            client_orders=result.client_orders,
            rejected=result.rejected,
            records=records,
            excess=result.excess,
        )
