"""Instruments to shards: which engine trades what.

Round robin over the symbols in order, so shard sizes differ by at most one instrument
and the assignment depends only on the universe and N. Never more shards than
instruments: an engine with nothing to trade would still start and run a day.
"""

from __future__ import annotations

from engine.scenario import Scenario


def symbols(scenario: Scenario) -> list[str]:
    """The scenario's instruments, in symbol order."""
    return sorted([scenario.instrument.symbol])


def restricted(scenario: Scenario, shard_symbols: list[str]) -> Scenario:
    """The scenario trading only ``shard_symbols``: its venues and session, and the client
    orders for those instruments."""
    if sorted(shard_symbols) != symbols(scenario):
        raise ValueError(f"{scenario.name}: no instruments {shard_symbols} to restrict to")
    return scenario


def partition(universe: list[str], shards: int) -> list[list[str]]:
    """``universe`` dealt round robin into ``min(shards, len(universe))`` shards."""
    if shards < 1:
        raise ValueError(f"shards: {shards} must be at least 1")
    ordered = sorted(universe)
    count = min(shards, len(ordered))
    return [ordered[i::count] for i in range(count)]
