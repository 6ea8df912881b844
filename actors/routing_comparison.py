"""Routing logics side by side on the same seeded scenarios.

    table = compare_routing(seed=7)           # every shipped comparison market × logic
    print(format_table(table))

Each cell is one full run of the real actors on simulated venues: the scenario's mandate
is re-pointed at one routing logic (and, for the fourth column, parallel routing with
over-allocation on), everything else (market, client orders, seed) stays the same, so the
columns differ only in how the router sends child orders. Every figure is computed from
that run's execution reports and audit trail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import msgspec

import scenarios
from actors.scenario_runner import ScenarioResult, run_scenario
from engine import messages as m
from engine.clock import SECOND
from engine.messages import RoutingLogic
from engine.scenario import Scenario, load

MARKETS: tuple[tuple[str, str], ...] = (  # (market, shipped scenario)
    ("lit-only", "routing_lit_only"),
    ("dark-heavy", "routing_dark_heavy"),
    ("thin", "routing_thin"),
)


@dataclass(frozen=True)
class Logic:
    """One column: a routing logic and whether the router may over-allocate."""

    name: str
    routing: RoutingLogic
    overallocate: bool = False


LOGICS: tuple[Logic, ...] = (
    Logic("sequential", RoutingLogic.SEQUENTIAL),
    Logic("parallel", RoutingLogic.PARALLEL),
    Logic("liquidity_seeking", RoutingLogic.LIQUIDITY_SEEKING),
    Logic("parallel+overalloc", RoutingLogic.PARALLEL, overallocate=True),
)


@dataclass(frozen=True)
class Cell:
    """One (market, logic) run."""

    market: str
    logic: str
    cost_bps: float | None  # vs the lit mid at each client order's arrival, fees included
    fill_rate: float  # client shares filled / ordered
    complete: bool
    time_to_complete_s: float | None  # first child placed → last fill; None if incomplete
    overfills: int  # ChildOrderOverfilled records
    excess_qty: int  # shares booked to the excess account
    clients_overfilled: int  # client orders filled beyond their quantity (must be 0)
    children: int
    venue_orders: int


def with_logic(scenario: Scenario, logic: Logic) -> Scenario:
    """The same scenario with every mandate routed by ``logic``."""

    def route(mandate):
        return None if mandate is None else msgspec.structs.replace(mandate, routing=logic.routing)

    return msgspec.structs.replace(
        scenario,
        mandate=route(scenario.mandate),
        orders=[msgspec.structs.replace(o, mandate=route(o.mandate)) for o in scenario.orders],
        streams=[msgspec.structs.replace(s, mandate=route(s.mandate)) for s in scenario.streams],
        router=msgspec.structs.replace(scenario.router, overallocate=logic.overallocate),
    )


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


def compare_routing(
    seed: int | None = None,
    markets: Sequence[tuple[str, str | Path | Scenario]] | None = None,
    logics: Sequence[Logic] = LOGICS,
) -> list[Cell]:
    """Run every (market, logic) pair on the same seed (default: each scenario's own)."""
    cells = []
    for market, source in markets or [(n, scenarios.path(f)) for n, f in MARKETS]:
        scenario = source if isinstance(source, Scenario) else load(source)
        for logic in logics:
            result = run_scenario(with_logic(scenario, logic), seed=seed)
            cells.append(measure(market, logic, result))
            result.journal.close()
    return cells


# --------------------------------------------------------------------------- output


def to_json(cells: Sequence[Cell]) -> list[dict]:
    return [asdict(c) for c in cells]


def format_table(cells: Sequence[Cell]) -> str:
    header = (
        "market",
        "logic",
        "cost bps",
        "fill rate",
        "complete in",
        "overfills",
        "excess qty",
        "children",
        "venue orders",
    )
    rows = [header] + [
        (
            c.market,
            c.logic,
            "-" if c.cost_bps is None else f"{c.cost_bps:+.2f}",
            f"{c.fill_rate:.1%}",
            "-" if c.time_to_complete_s is None else f"{c.time_to_complete_s:.1f}s",
            str(c.overfills),
            str(c.excess_qty),
            str(c.children),
            str(c.venue_orders),
        )
        for c in cells
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            v.ljust(w) if i < 2 else v.rjust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


__all__ = [
    "LOGICS",
    "MARKETS",
    "Cell",
    "Logic",
    "compare_routing",
    "format_table",
    "measure",
    "to_json",
    "with_logic",
]
