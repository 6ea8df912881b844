"""The mandate's hard constraints on a parent order, on the tests' tiny market.

Max participation (engine/parent/participation.py): own filled / market volume, the
market volume being the tape since the order began, own fills included. The cap holds

- over the order's life, at every instant: filled + open ≤ rate × volume (an open child
  counts as filled, it may fill at any moment), so filled ≤ rate × volume a fortiori;
- over the trailing window, at every decision that places a child: filled since the
  last decision at least ``participation_window_ns`` ago, plus open, ≤ rate × the
  volume since then (the order's start while it is younger).

The must-complete final sweep is held to both. Minimum child size: every child is at
least ``min_child_qty`` except the final remainder (all that is not yet allocated).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.clock import MINUTE, SECOND
from engine.instruments import Instrument
from engine.messages import (
    ExpiryReason,
    Mandate,
    ParentOrderCreated,
    ParentState,
    ParentStateChanged,
    PlaceChildOrder,
    ScheduleRecalibrated,
    Side,
    StrategyName,
)
from engine.parent.order import ParentConfig, ParentOrder
from tests.engine.parent.parent_harness import SESSION, T0, Harness

ROUND_LOT = ParentConfig().min_child_qty
ODD_LOTS = Instrument(symbol="XYZ", tick=10_000, lot=1, ref_price=100 * 1_000_000)


def make_parent(qty: int, minutes: int = 30, config: ParentConfig | None = None, **mandate):
    order = ParentOrderCreated(
        parent_id="P1",
        instrument="XYZ",
        side=Side.BUY,
        quantity=qty,
        limit_price=None,
        mandate=Mandate(end_ns=T0 + minutes * MINUTE, **mandate),
    )
    return ParentOrder(order, ODD_LOTS, SESSION, config or ParentConfig())


class MandateHarness(Harness):
    """The harness on a bursty market (``rates``: shares per second, one per wake, in
    turn), checking the mandate on every decision and every message."""

    def __init__(self, parent: ParentOrder, rates: list[int], cap: float | None, **kw):
        super().__init__(parent, market_rate=rates[0], **kw)
        self.rates, self.cap = rates, cap
        self.window_ns = parent.config.participation_window_ns
        self.minimum = max(parent.config.min_child_qty, parent.instrument.lot)
        self.samples = [(T0, 0, 0)]  # (ts, market volume, filled) at each decision
        self.windows_checked = 0

    def run(self, until=None):
        self.feed(self.parent.start(self.now, self.market))
        wake = 0
        while self.parent.next_wake_ns is not None:
            wake += 1
            self.market_rate = self.rates[wake % len(self.rates)]
            nxt = self.parent.next_wake_ns
            self.background += self.market_rate * (nxt - self.now) // SECOND
            self.now = nxt
            self._refresh()
            self.feed(self.parent.on_timer(self.now, self.market))
            self.fill_passive()
        return self

    def feed(self, msgs):
        """``msgs`` as the parent decided them: its state is the decision's."""
        for m in msgs:
            if isinstance(m, ScheduleRecalibrated):
                self.samples.append((m.ts, self.market.volume(), m.filled))
            elif isinstance(m, PlaceChildOrder):
                self.check_child(m)
        super().feed(msgs)

    def check_child(self, child: PlaceChildOrder) -> None:
        p = self.parent
        room_before = p.target - p.filled - (p.open_qty - child.quantity)
        assert child.quantity >= self.minimum or child.quantity == room_before, child
        if self.cap is None:
            return
        base_ts, base_volume, base_filled = max(
            s for s in self.samples if s[0] <= max(T0, child.ts - self.window_ns)
        )
        in_window = p.filled - base_filled + p.open_qty
        assert in_window <= self.cap * (self.market.volume() - base_volume), (child, base_ts)
        self.windows_checked += 1

    def check_invariants(self):
        super().check_invariants()
        p = self.parent
        if self.cap is not None:
            assert p.filled + p.open_qty <= self.cap * self.market.volume() or p.is_terminal
            assert p.filled <= self.cap * self.market.volume()
        assert self.now <= p.end_ns


@given(
    strategy=st.sampled_from(
        [StrategyName.TWAP, StrategyName.VWAP, StrategyName.POV, StrategyName.IS]
    ),
    must_complete=st.booleans(),
    cap=st.sampled_from([0.03, 0.1, 0.25]),
    pov_rate=st.sampled_from([0.05, 0.1, 0.2]),
    qty=st.integers(1, 30_000),
    rates=st.lists(st.integers(0, 400), min_size=1, max_size=8),
    passive_fill=st.sampled_from([0.0, 0.3, 1.0]),
)
def test_max_participation_is_never_exceeded(
    strategy, must_complete, cap, pov_rate, qty, rates, passive_fill
):
    p = make_parent(
        qty,
        minutes=10,
        strategy=strategy,
        must_complete=must_complete,
        max_participation=cap,
        pov_rate=pov_rate,
    )
    h = MandateHarness(p, rates, cap, passive_fill=passive_fill).run()
    assert p.is_terminal and p.filled <= cap * h.market.volume()
    last = h.of(ParentStateChanged)[-1]
    assert last.ts <= p.end_ns and max(m.ts for m in h.out) <= p.end_ns
    if last.state is ParentState.EXPIRED:
        assert last.expiry_reason in (ExpiryReason.END_TIME, ExpiryReason.PARTICIPATION_CAP)
    if h.of(PlaceChildOrder):
        assert h.windows_checked == len(h.of(PlaceChildOrder))


def test_a_must_complete_order_the_cap_holds_back_expires_at_its_end_with_the_reason():
    # 20,000 shares at 10 % of a market trading 100 shares a second: 6,000 in 10 minutes
    p = make_parent(20_000, minutes=10, max_participation=0.1)
    h = MandateHarness(p, [100], 0.1, passive_fill=0.5).run()
    last = h.of(ParentStateChanged)[-1]
    assert last.state is ParentState.EXPIRED and last.ts == p.end_ns
    assert last.expiry_reason is ExpiryReason.PARTICIPATION_CAP
    assert 0 < last.filled <= 0.1 * h.market.volume() < 20_000
    # the final sweep wanted the leaves and was held to the cap
    sweep_at = p.end_ns - ParentConfig().sweep_lead_ns
    sweeps = [r.reason for r in h.of(ScheduleRecalibrated) if r.ts >= sweep_at]
    assert sweeps and all("final sweep" in r and "max participation" in r for r in sweeps)


def test_an_order_that_runs_out_of_time_expires_at_its_end_with_the_reason():
    # no cap, nothing ever fills passively and the market cannot be crossed
    p = make_parent(5_000, minutes=10, must_complete=False)
    h = MandateHarness(p, [100], None, passive_fill=0.0, cross=False).run()
    last = h.of(ParentStateChanged)[-1]
    assert last.state is ParentState.EXPIRED and last.ts == p.end_ns
    assert last.expiry_reason is ExpiryReason.END_TIME


# --------------------------------------------------------------------- child sizes


def children(qty: int, config: ParentConfig | None = None, minutes: int = 30) -> list[int]:
    """Child sizes of a TWAP that completes (the harness checks on every child that it is
    at least the minimum or all that is left to allocate). A passive child fills in round
    hundreds, so one of 150 fills 100 and its last 50 are re-placed once it goes stale."""
    p = make_parent(qty, minutes=minutes, config=config, strategy=StrategyName.TWAP)
    h = MandateHarness(p, [100], None, passive_fill=1.0).run()
    assert p.state is ParentState.COMPLETED and p.filled == qty
    return [c.quantity for c in h.of(PlaceChildOrder)]


def test_a_round_lot_order_is_one_child():
    assert children(ROUND_LOT) == [ROUND_LOT]


def test_an_order_below_the_minimum_is_one_child():
    assert children(37) == [37]


def test_children_are_at_least_a_round_lot_and_the_last_takes_the_odd_remainder():
    sizes = children(1_050)
    assert ROUND_LOT == 100
    assert sizes[:10] == [100] * 9 + [150]  # not ten of 100 and one of 50
    assert sizes[10:] == [50]  # the re-placed leaves of the last child


def test_the_minimum_child_size_is_configurable():
    assert children(5_030, ParentConfig(min_child_qty=500))[:10] == [500] * 9 + [530]
    one_lot = children(300, ParentConfig(min_child_qty=0), minutes=5)  # 0: one lot
    assert len(one_lot) > 30 and min(one_lot) < 10
