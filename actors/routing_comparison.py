"""One engine run's own figures under one routing logic (``measure``), for tests that
compare logics on a single run. The multi-seed comparison against the baseline, with the
market's drift taken out, is ``actors.comparison``.

Every figure comes from the run's execution reports and audit trail.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from actors.comparison import LOGICS, Logic, with_logic
from actors.scenario_runner import ScenarioResult
from engine import messages as m
from engine.clock import SECOND


@dataclass(frozen=True)
class Cell:
    """One (market, logic) run."""

    market: str
    logic: str
    cost_bps: float | None  # filled shares vs the lit mid at each client order's arrival, fees
    fill_rate: float  # client shares filled / ordered
    complete: bool
    time_to_complete_s: float | None  # first child placed → last fill; None if incomplete
    overfills: int  # ChildOrderOverfilled records
    excess_qty: int  # shares booked to the excess account
    clients_overfilled: int  # client orders filled beyond their quantity (must be 0)
    children: int
    venue_orders: int


def measure(market: str, logic: Logic, result: ScenarioResult) -> Cell:
    journal = result.journal
    cost = result.cost
    complete = cost.ordered > 0 and cost.quantity == cost.ordered
    return Cell(
        market=market,
        logic=logic.name,
        cost_bps=None if cost.cost_bps is None else round(cost.cost_bps, 3),
        fill_rate=round(cost.fill_rate, 6),
        complete=complete,
        time_to_complete_s=_time_to_complete(journal) if complete else None,
        overfills=sum(1 for _ in journal.messages(m.ChildOrderOverfilled)),
        excess_qty=sum(q for q, _ in result.excess.values()),
        clients_overfilled=_clients_overfilled(result),
        children=sum(1 for _ in journal.messages(m.PlaceChildOrder)),
        venue_orders=sum(1 for _ in journal.messages(m.PlaceVenueOrder)),
    )


def _time_to_complete(journal) -> float | None:
    first = min((c.ts for c in journal.messages(m.PlaceChildOrder)), default=None)
    last = max((f.ts for f in journal.messages(m.ChildOrderFilled)), default=None)
    if first is None or last is None:
        return None  # e.g. everything crossed internally: no child ever went out
    return round((last - first) / SECOND, 3)


def _clients_overfilled(result: ScenarioResult) -> int:
    """Client orders whose allocated fills exceed their quantity (the excess account is
    not a client and is excluded: that is where an overfill must go)."""
    ordered = {
        (o.source, o.client_order_id): o.quantity for _, o in result.scenario.client_orders()
    }
    filled: Counter[tuple[str, str]] = Counter()
    for r in result.fills:
        if r.source != "EXCESS":
            filled[(r.source, r.client_order_id)] += r.last_qty
    return sum(1 for key, qty in filled.items() if qty > ordered.get(key, 0))


__all__ = ["LOGICS", "Cell", "Logic", "measure", "with_logic"]
