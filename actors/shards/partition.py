"""Instruments to shards: which engine trades what.

Balanced by daily volume: an instrument's day costs about in proportion to its volume
(the venues' background flow and our own children scale with it; on the portfolio
scenario round robin put 55 % of the volume on one of two shards, and its day took 54 %
of the one-engine day). Largest first onto the shard with the least volume so far, ties
to the lower symbol and shard, so the assignment depends only on the universe and N.
Never more shards than instruments: an engine with nothing to trade would still start
and run a day.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

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


def partition(
    universe: list[str], shards: int, weights: Mapping[str, int] | None = None
) -> list[list[str]]:
    """``universe`` into ``min(shards, len(universe))`` shards, each in symbol order:
    balanced by ``weights`` (largest first onto the lightest shard), or without them
    dealt round robin."""
    if shards < 1:
        raise ValueError(f"shards: {shards} must be at least 1")
    ordered = sorted(universe)
    count = min(shards, len(ordered))
    if weights is None:
        return [ordered[i::count] for i in range(count)]
    loads = [(0, i) for i in range(count)]  # (weight so far, shard): a heap
    out: list[list[str]] = [[] for _ in range(count)]
    for symbol in sorted(ordered, key=lambda s: (-weights[s], s)):
        load, i = heapq.heappop(loads)
        out[i].append(symbol)
        heapq.heappush(loads, (load + weights[symbol], i))
    return [sorted(shard) for shard in out]


def assign(scenario: Scenario, shards: int) -> list[list[str]]:
    """The scenario's instruments to ``shards`` shards, balanced by daily volume (dealt
    round robin if an instrument's volume is not set)."""
    volumes = {i.symbol: i.daily_volume for i in scenario.instruments()}
    known = {s: v for s, v in volumes.items() if v}
    if len(known) < len(volumes):  # a volume left to the default: round robin
        return partition(symbols(scenario), shards)
    return partition(symbols(scenario), shards, known)
