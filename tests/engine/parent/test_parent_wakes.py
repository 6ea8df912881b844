"""A time-driven parent sleeps until a decision can act, and decides exactly as one that
wakes every interval."""

from __future__ import annotations

import pytest

from engine.clock import MINUTE, SECOND
from engine.messages import (
    BookLevel,
    Mandate,
    MarketDataUpdated,
    ParentOrderCreated,
    ParentState,
    ScheduleRecalibrated,
    Side,
    StrategyName,
    Tactic,
    Urgency,
    VenueKind,
    VenueStatus,
)
from engine.parent.order import ParentConfig, ParentOrder
from tests.engine.parent.parent_harness import SESSION, T0, XYZ, Harness

# ------------------------------------------------------------------ sleeping between decisions


class PollingParent(ParentOrder):
    """The parent as it was: decides every interval, whether or not anything is due."""

    def _polls(self) -> bool:
        return True


def _drive(parent, fill_every=20 * SECOND, outage=(12 * MINUTE, 13 * MINUTE + 3 * SECOND)):
    """A market on its own clock, whatever the parent's wakes: every ``fill_every`` the
    oldest resting child fills half its leaves (a lot at least); aggressive children fill
    at once (the Harness); quotes vanish over ``outage`` (relative to T0)."""
    h = Harness(parent, passive_fill=0.0)
    h.feed(parent.start(h.now, h.market))
    events = [T0 + outage[0], T0 + outage[1]]
    tick = T0
    while parent.next_wake_ns is not None:
        nxt = min([parent.next_wake_ns, tick + fill_every] + [e for e in events if e > h.now])
        h.background += h.market_rate * (nxt - h.now) // SECOND
        h.now = nxt
        if T0 + outage[0] <= h.now < T0 + outage[1]:
            md = MarketDataUpdated(
                venue="LIT1",
                instrument="XYZ",
                kind=VenueKind.LIT,
                status=VenueStatus.UP,
                bids=[],
                asks=[],
                volume=h.background + h.ours,
            )
        else:
            md = MarketDataUpdated(
                venue="LIT1",
                instrument="XYZ",
                kind=VenueKind.LIT,
                status=VenueStatus.UP,
                bids=[BookLevel(h.bid, 1_000)],
                asks=[BookLevel(h.ask, 1_000)],
                volume=h.background + h.ours,
            )
        h.market.update(md)
        if h.now in events:
            parent.on_market_data(md, h.now, h.market)
        if h.now == parent.next_wake_ns:
            h.feed(parent.on_timer(h.now, h.market))
        if h.now == tick + fill_every:
            tick = h.now
            resting = [p for p in h.working.values() if p.tactic is not Tactic.AGGRESSIVE]
            if resting and h.market.best_bid() is not None:
                place = resting[0]
                qty = min(h.leaves[place.child_id], max(100, h.leaves[place.child_id] // 200 * 100))
                h.fill(place, qty, place.limit_price)
    return h


def _actions(h):
    def key(m):
        return (
            type(m).__name__,
            m.ts,
            getattr(m, "child_id", None),
            getattr(m, "quantity", None),
            getattr(m, "limit_price", None),
            getattr(m, "tactic", None),
            getattr(m, "state", None),
        )

    return [key(m) for m in h.out if not isinstance(m, ScheduleRecalibrated)]


@pytest.mark.parametrize(
    "mandate",
    [
        {"strategy": StrategyName.TWAP},
        {"strategy": StrategyName.TWAP, "urgency": Urgency.HIGH},
        {"strategy": StrategyName.TWAP, "urgency": Urgency.LOW, "must_complete": False},
        {"strategy": StrategyName.VWAP},
        {"strategy": StrategyName.IS, "urgency": Urgency.HIGH},
        {"strategy": StrategyName.IS, "side": Side.SELL},
    ],
)
@pytest.mark.parametrize("min_child_qty", [0, 300])
def test_sleeping_until_something_is_due_decides_exactly_as_deciding_every_interval(
    mandate, min_child_qty
):
    """A time-driven parent wakes only when a decision can act (a child due, a resting
    child to pull when behind, a child going stale, the sweep, the end): the same children,
    cancels and states at the same times as a parent deciding every interval, with far
    fewer (always audited) recalibrations."""
    config = ParentConfig(min_child_qty=min_child_qty)
    runs = []
    fields = dict(mandate)
    side = fields.pop("side", Side.BUY)
    for cls in (PollingParent, ParentOrder):
        order = ParentOrderCreated(
            parent_id="P1",
            instrument="XYZ",
            side=side,
            quantity=20_000,
            limit_price=None,
            mandate=Mandate(end_ns=T0 + 30 * MINUTE, **fields),
        )
        runs.append(_drive(cls(order, XYZ, SESSION, config)))
    polling, sleeping = runs
    assert _actions(sleeping) == _actions(polling)
    assert sleeping.parent.state is polling.parent.state
    assert ParentState.PAUSED in polling.states()  # the outage was seen by both

    def timer_decisions(h):
        return sum(r.reason.startswith("timer") for r in h.of(ScheduleRecalibrated))

    assert timer_decisions(sleeping) < 0.5 * timer_decisions(polling)
    # every wake that decided still wrote its recalibration
    assert all(r.next_at > r.ts for r in sleeping.of(ScheduleRecalibrated))
