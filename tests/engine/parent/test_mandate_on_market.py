"""The mandate's hard constraints on the simulated market, judged from the audit trail: a
POV order that the market cannot fill stays within its max participation to the end and
expires at its end time, with the reason in the client's execution report."""

from __future__ import annotations

from typing import TypeVar

import msgspec

from actors.scenario_runner import run_scenario
from engine.audit.journal import Journal
from engine.clock import MINUTE, SECOND
from engine.messages import (
    ExecType,
    ExecutionReport,
    ExpiryReason,
    Message,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
    PlaceChildOrder,
    PlaceVenueOrder,
    StrategyName,
)
from engine.parent.config import ParentConfig
from engine.scenario import load
from tests.actors.test_strategies_on_market import STARVED, _cumulative, _Tape

CAP = 0.10
RELAY_INTERVAL_NS = 5 * SECOND  # the router's default market data relay interval
QUANTITY = 30_000  # far more than 5 % of the market trades in 30 minutes

M = TypeVar("M", bound=Message)


def _of(journal: Journal, kind: type[M]) -> list[M]:
    return [m for m in journal.messages(kind) if isinstance(m, kind)]


def _starved_pov() -> Journal:
    """scenarios/strategies_starved.toml (a 10-minute outage of its only lit venue) with a
    POV 5 % buy of 30,000 shares capped at 10 % participation, must complete."""
    scenario = load(STARVED)
    mandate = msgspec.structs.replace(
        scenario.mandate, strategy=StrategyName.POV, pov_rate=0.05, max_participation=CAP
    )
    orders = [msgspec.structs.replace(o, quantity=QUANTITY) for o in scenario.orders]
    scenario = msgspec.structs.replace(scenario, mandate=mandate, orders=orders)
    return run_scenario(scenario).journal


def test_starved_pov_expires_at_its_end_within_max_participation():
    journal = _starved_pov()
    (parent,) = _of(journal, ParentOrderCreated)
    start, end = parent.mandate.start_ns, parent.mandate.end_ns
    assert start is not None and end is not None

    final = _of(journal, ParentStateChanged)[-1]
    assert final.state is ParentState.EXPIRED and final.ts == end
    assert final.expiry_reason is ExpiryReason.PARTICIPATION_CAP
    assert 0 < final.filled < QUANTITY
    (report,) = [r for r in _of(journal, ExecutionReport) if r.exec_type is ExecType.EXPIRED]
    assert report.reason == "participation_cap"
    assert report.leaves_qty == QUANTITY - final.filled

    # Nothing after the end: no child, no venue order, no fill.
    fills = _of(journal, ParentOrderFilled)
    acts = [*_of(journal, PlaceChildOrder), *_of(journal, PlaceVenueOrder), *fills]
    assert max(a.ts for a in acts) <= end

    # Within the cap over the order's life, and over its last minute, where the
    # must-complete order used to sweep 58-76 % of the market's volume. The parent's
    # window reaches back to its last decision a minute or more ago, and the volume it
    # read then came through the router's relay, up to one relay interval old: so it
    # spans at most a minute, one decision interval and one relay interval of the tape.
    tape = _Tape(journal)
    assert final.filled <= CAP * (tape.volume_at(end) - tape.volume_at(start))
    last_minute = _cumulative(fills, end) - _cumulative(fills, end - MINUTE)
    config = ParentConfig()
    span = config.participation_window_ns + config.decision_interval_ns + RELAY_INTERVAL_NS
    market = tape.volume_at(end) - tape.volume_at(end - span)
    assert last_minute <= CAP * market, (last_minute, market)
