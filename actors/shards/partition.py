"""Instruments to shards: which engine trades what.

Round robin over the symbols in order, so shard sizes differ by at most one instrument
and the assignment depends only on the universe and N. Never more shards than
instruments: an engine with nothing to trade would still start and run a day.
"""

from __future__ import annotations

from engine.scenario import Scenario


def symbols(scenario: Scenario) -> list[str]:
    """The scenario's instruments, in symbol order."""
    return sorted(i.symbol for i in scenario.instruments())


def restricted(scenario: Scenario, shard_symbols: list[str]) -> Scenario:
    """The scenario trading only ``shard_symbols`` (the whole scenario if that is all of
    them: a one-instrument scenario keeps its own form, and so its trail)."""
    if sorted(shard_symbols) == symbols(scenario):
        return scenario
    return scenario.restricted_to(shard_symbols)


def partition(universe: list[str], shards: int) -> list[list[str]]:
    """``universe`` dealt round robin into ``min(shards, len(universe))`` shards."""
    if shards < 1:
        raise ValueError(f"shards: {shards} must be at least 1")
    ordered = sorted(universe)
    count = min(shards, len(ordered))
    return [ordered[i::count] for i in range(count)]
