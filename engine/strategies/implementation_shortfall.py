"""Implementation Shortfall: the Almgren–Chriss optimal trajectory on the order's horizon.

The horizon is measured in trading days (session lengths), the paper's time unit, so the
Table 1 impact parameters keep their meaning. Risk aversion λ comes from the mandate, or
from its urgency: a higher λ front-loads the trajectory (λ → 0 is TWAP).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.messages import StrategyName, Urgency
from engine.strategies.almgren_chriss import AlmgrenChriss
from engine.strategies.schedule import Schedule, ScheduledStrategy, boundaries, periods_for

# λ per urgency for the default impact model (κ ≈ 0.6, 1.9, 6 /day).
URGENCY_RISK_AVERSION = {Urgency.LOW: 1e-6, Urgency.MEDIUM: 1e-5, Urgency.HIGH: 1e-4}


@dataclass(frozen=True, slots=True)
class ImpactModel:
    """Almgren–Chriss market parameters in the paper's units (default: its Table 1)."""

    sigma: float = 0.95  # $/share/day^½
    eta: float = 2.5e-6  # $/share per share/day
    gamma: float = 2.5e-7  # $/share per share
    epsilon: float = 0.0625  # $/share


def is_model(
    quantity: int, days: float, periods: int, risk_aversion: float, impact: ImpactModel
) -> AlmgrenChriss:
    return AlmgrenChriss(
        shares=float(max(quantity, 1)),
        horizon=days,
        periods=periods,
        sigma=impact.sigma,
        eta=impact.eta,
        gamma=impact.gamma,
        epsilon=impact.epsilon,
        risk_aversion=risk_aversion,
    )


def is_schedule(
    quantity: int,
    start_ns: int,
    end_ns: int,
    periods: int,
    day_ns: int,
    risk_aversion: float,
    lot: int = 1,
    impact: ImpactModel | None = None,
) -> Schedule:
    days = (end_ns - start_ns) / day_ns
    model = is_model(quantity, days, periods, risk_aversion, impact or ImpactModel())
    times = boundaries(start_ns, end_ns, periods)
    return Schedule.from_fractions(quantity, times, model.completed_fractions(), lot)


def build_is(
    quantity: int,
    start_ns: int,
    end_ns: int,
    lot: int,
    period_ns: int,
    day_ns: int,
    risk_aversion: float,
    impact: ImpactModel | None = None,
) -> ScheduledStrategy:
    periods = periods_for(start_ns, end_ns, period_ns)
    schedule = is_schedule(quantity, start_ns, end_ns, periods, day_ns, risk_aversion, lot, impact)
    return ScheduledStrategy(StrategyName.IS, schedule)
