"""TWAP: an even schedule over [start, end]."""

from __future__ import annotations

from engine.messages import StrategyName
from engine.strategies.schedule import Schedule, ScheduledStrategy, boundaries, periods_for


def twap_schedule(
    quantity: int, start_ns: int, end_ns: int, periods: int, lot: int = 1
) -> Schedule:
    fractions = [k / periods for k in range(periods + 1)]
    return Schedule.from_fractions(quantity, boundaries(start_ns, end_ns, periods), fractions, lot)


def build_twap(
    quantity: int, start_ns: int, end_ns: int, lot: int, period_ns: int
) -> ScheduledStrategy:
    periods = periods_for(start_ns, end_ns, period_ns)
    return ScheduledStrategy(
        StrategyName.TWAP, twap_schedule(quantity, start_ns, end_ns, periods, lot)
    )
