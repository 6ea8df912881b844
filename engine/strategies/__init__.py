"""Execution strategies: how much of a parent order should be done by when.

A ``Strategy`` answers the parent order (``engine.parent.order``):

- ``scheduled(now_ns, market_volume)``: the cumulative quantity wanted by now;
- ``behind_threshold(now_ns, market_volume, slack_ns)``: below this the parent is behind
  and goes aggressive;
- ``participation_cap()``: the strategy's own cap on participation (None: none);
- ``due_ns(quantity)``: the earliest time ``scheduled`` reaches ``quantity`` by time
  alone (None: never, or volume-driven), so a parent can sleep until it is asked for more;
- ``resized(quantity)``: the same strategy for a new total (joins, cancels).

``market_volume`` is the market's volume since the order started. One module per
algorithm; ``build_strategy`` picks one from a mandate. Design notes: ``docs/strategies.md``.
"""

from __future__ import annotations

from typing import Protocol

from engine.clock import MINUTE
from engine.config import SessionConfig
from engine.messages import Mandate, StrategyName
from engine.strategies.almgren_chriss import AlmgrenChriss, ParameterError
from engine.strategies.implementation_shortfall import URGENCY_RISK_AVERSION, ImpactModel, build_is
from engine.strategies.pov import PovStrategy
from engine.strategies.schedule import Schedule, ScheduledStrategy
from engine.strategies.twap import build_twap
from engine.strategies.vwap import VolumeProfile, build_vwap, default_profile, estimate_profile

__all__ = [
    "AlmgrenChriss",
    "ImpactModel",
    "ParameterError",
    "PovStrategy",
    "Schedule",
    "ScheduledStrategy",
    "Strategy",
    "VolumeProfile",
    "build_strategy",
    "default_profile",
    "estimate_profile",
]

DEFAULT_PERIOD_NS = 1 * MINUTE  # schedule granularity; targets interpolate inside a period
DEFAULT_POV_RATE = 0.10


class Strategy(Protocol):
    @property
    def name(self) -> StrategyName: ...

    @property
    def quantity(self) -> int: ...

    def scheduled(self, now_ns: int, market_volume: int) -> int: ...

    def behind_threshold(self, now_ns: int, market_volume: int, slack_ns: int) -> int: ...

    def due_ns(self, quantity: int) -> int | None: ...

    def participation_cap(self) -> float | None: ...

    def resized(self, quantity: int) -> Strategy: ...


def build_strategy(
    mandate: Mandate,
    quantity: int,
    start_ns: int,
    end_ns: int,
    lot: int = 1,
    session: SessionConfig | None = None,
    *,
    period_ns: int = DEFAULT_PERIOD_NS,
    profile: VolumeProfile | None = None,
    impact: ImpactModel | None = None,
) -> Strategy:
    """The strategy a mandate asks for, on the horizon [start_ns, end_ns]."""
    session = session or SessionConfig()
    name = mandate.strategy
    if name is StrategyName.TWAP:
        return build_twap(quantity, start_ns, end_ns, lot, period_ns)
    if name is StrategyName.VWAP:
        return build_vwap(
            quantity, start_ns, end_ns, lot, period_ns, session.open_ns, session.close_ns, profile
        )
    if name is StrategyName.POV:
        rate = mandate.pov_rate if mandate.pov_rate is not None else DEFAULT_POV_RATE
        return PovStrategy.with_band(quantity, rate, mandate.max_participation, lot)
    if name is StrategyName.IS:
        lam = mandate.risk_aversion
        if lam is None:
            lam = URGENCY_RISK_AVERSION[mandate.urgency]
        return build_is(quantity, start_ns, end_ns, lot, period_ns, session.length_ns, lam, impact)
    raise ValueError(f"unknown strategy {name!r}")
