"""The parent order state machine, driven by a tiny deterministic market harness."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clock import MINUTE, SECOND
from engine.market_view import MarketView
from engine.messages import (
    VENUES_CLOSED,
    CancelChildOrder,
    ChildOrderDone,
    ChildOrderFilled,
    ChildOrderRejected,
    ExpiryReason,
    Liquidity,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
    PlaceChildOrder,
    ScheduleRecalibrated,
    Side,
    StrategyName,
    Tactic,
    Urgency,
)
from engine.parent.order import TRANSITIONS, IllegalTransition, ParentConfig
from tests.engine.parent.parent_harness import (
    CENT,
    T0,
    Harness,
    make_parent,
    quote,
)

# ------------------------------------------------------------------ state machine


def test_transition_table_is_explicit_and_terminal_states_are_final():
    S = ParentState
    assert TRANSITIONS[S.PENDING] == {S.WORKING, S.CANCELED, S.EXPIRED}
    assert TRANSITIONS[S.WORKING] == {S.PAUSED, S.COMPLETED, S.CANCELED, S.EXPIRED}
    assert S.WORKING in TRANSITIONS[S.PAUSED]
    for terminal in (S.COMPLETED, S.CANCELED, S.EXPIRED):
        assert TRANSITIONS[terminal] == frozenset()


def test_illegal_transitions_raise():
    p = make_parent()
    m = MarketView("XYZ")
    quote(m, 100 * 1_000_000, 100 * 1_000_000 + CENT, 0)
    with pytest.raises(IllegalTransition):
        p.pause(T0)  # pending → paused
    with pytest.raises(IllegalTransition):
        p.resume(T0, m)  # pending → working by resume
    p.start(T0, m)
    with pytest.raises(IllegalTransition):
        p.start(T0, m)
    with pytest.raises(IllegalTransition):
        p.resume(T0, m)  # working → working
    (pull,) = p.cancel(T0)
    done = ChildOrderDone(parent_id=p.parent_id, child_id=pull.child_id, filled=0, cancelled=0)
    p.on_child_done(done, T0, m)
    assert p.state is ParentState.CANCELED and p.next_wake_ns is None
    with pytest.raises(IllegalTransition):
        p.pause(T0)
    assert p.cancel(T0) == []  # too late: a no-op
    assert p.resize(1, T0, m) == []
    assert p.on_timer(T0 + SECOND, m) == []


def test_a_cancelled_parent_reports_cancelled_once_its_children_are_done():
    p = make_parent()
    m = MarketView("XYZ")
    quote(m, 100 * 1_000_000, 100 * 1_000_000 + CENT, 0)
    p.start(T0, m)
    (child,) = p.open_children()
    out = p.cancel(T0)
    assert [type(x) for x in out] == [CancelChildOrder] and p.state is ParentState.WORKING
    assert p.on_timer(T0 + SECOND, m) == []  # it places nothing more while it waits
    fill = ChildOrderFilled(
        parent_id=p.parent_id,
        child_id=child.child_id,
        fill_id="F1",
        venue="LIT1",
        quantity=100,
        price=100 * 1_000_000,
        liquidity=Liquidity.MAKER,
        leaves=child.quantity - 100,
    )
    late = p.on_child_filled(fill, T0 + SECOND, m)
    assert [type(x) for x in late] == [ParentOrderFilled]  # the clients' fill, not excess
    done = ChildOrderDone(
        parent_id=p.parent_id, child_id=child.child_id, filled=100, cancelled=child.quantity - 100
    )
    (changed,) = p.on_child_done(done, T0 + 2 * SECOND, m)
    assert isinstance(changed, ParentStateChanged) and changed.state is ParentState.CANCELED
    assert changed.filled == 100 and changed.expiry_reason is None and p.next_wake_ns is None


def test_an_ending_parent_waits_for_the_venues_close_then_ends_unsettled():
    """A child the router cannot settle (its venue never answers) keeps the parent
    working until the close plus the settle wait; then the parent tells the router the
    venues are closed and ends once the child is done, unsettled, or one retry later."""
    for router_answers in (True, False):
        p = make_parent()
        m = MarketView("XYZ")
        quote(m, 100 * 1_000_000, 100 * 1_000_000 + CENT, 0)
        p.start(T0, m)
        (child,) = p.open_children()
        p.cancel(T0)
        deadline = p.session.close_ns + p.config.settle_wait_ns
        assert p.next_wake_ns == deadline
        assert p.on_timer(deadline - 1, m) == [] and p.state is ParentState.WORKING
        (closed,) = p.on_timer(deadline, m)
        assert isinstance(closed, CancelChildOrder) and closed.reason == VENUES_CLOSED
        assert closed.child_id == child.child_id and p.state is ParentState.WORKING
        if router_answers:
            done = ChildOrderDone(
                parent_id=p.parent_id, child_id=child.child_id, filled=0, cancelled=child.quantity
            )
            (changed,) = p.on_child_done(done, deadline + 1, m)
        else:
            assert p.next_wake_ns == deadline + p.config.settle_retry_ns
            (changed,) = p.on_timer(deadline + p.config.settle_retry_ns, m)
        assert isinstance(changed, ParentStateChanged) and changed.state is ParentState.CANCELED
        assert changed.expiry_reason is ExpiryReason.UNSETTLED_AT_VENUE
        assert "unsettled at venue" in changed.reason and p.next_wake_ns is None


def test_pending_until_start_then_working_with_a_passive_child():
    p = make_parent(start_ns=T0 + MINUTE)
    m = MarketView("XYZ")
    quote(m, 100 * 1_000_000, 100 * 1_000_000 + 2 * CENT, 0)
    assert p.start(T0, m) == [] and p.state is ParentState.PENDING
    assert p.next_wake_ns == T0 + MINUTE
    out = p.on_timer(T0 + MINUTE, m)
    assert isinstance(out[0], ParentStateChanged) and out[0].state is ParentState.WORKING
    recal, place = out[1], out[2]
    assert isinstance(recal, ScheduleRecalibrated) and recal.tactic is Tactic.PASSIVE
    assert isinstance(place, PlaceChildOrder) and place.child_id == "P1-C1"
    assert place.limit_price == 100 * 1_000_000  # join the bid
    assert place.quantity % 100 == 0 and place.quantity == recal.next_quantity
    # next decision: on the decision-interval grid, at the latest when the child goes stale
    cfg = ParentConfig()
    wake = p.next_wake_ns - (T0 + MINUTE)
    assert wake > 0 and wake % cfg.decision_interval_ns == 0 and wake <= cfg.passive_timeout_ns
    assert recal.next_at == p.next_wake_ns


def test_pause_pulls_children_and_resume_recalibrates():
    h = Harness(make_parent(), passive_fill=0)
    h.run(until=T0 + 20 * SECOND)
    p = h.parent
    assert p.open_children()
    out = p.pause(h.now, "operator")
    assert {m.child_id for m in out if isinstance(m, CancelChildOrder)} == {
        c.child_id for c in p.open_children()
    }
    assert out[-1].state is ParentState.PAUSED
    out = p.resume(h.now, h.market, "operator")
    assert out[0].state is ParentState.WORKING and isinstance(out[1], ScheduleRecalibrated)


def test_no_market_data_pauses_and_quotes_resume():
    h = Harness(make_parent(), passive_fill=0)
    h.run(until=T0 + 10 * SECOND)
    quote(h.market, None, None, 0)
    h.now += 10 * SECOND
    out = h.parent.on_timer(h.now, h.market)
    assert out[-1].state is ParentState.PAUSED and out[-1].reason == "no market data"
    h._refresh()
    h.now += 10 * SECOND
    out = h.parent.on_timer(h.now, h.market)
    assert out[0].state is ParentState.WORKING


# ------------------------------------------------------------------ recalibration


def test_starved_market_goes_aggressive_and_catches_up():
    h = Harness(make_parent(qty=10_000, minutes=30), passive_fill=0.0).run()
    recals = h.of(ScheduleRecalibrated)
    first_aggr = next(r for r in recals if r.tactic is Tactic.AGGRESSIVE)
    assert first_aggr.deviation < 0 and "behind" in first_aggr.reason
    assert all(r.tactic is not Tactic.AGGRESSIVE for r in recals if r.ts < first_aggr.ts)
    # every fill recalibrates, and the crossing children are priced at the far touch
    fills = h.of(ParentOrderFilled)
    fill_recals = [r for r in recals if r.reason.startswith("fill")]
    assert fills and len(fill_recals) == len(fills) - 1  # the last fill completes instead
    aggressive = [c for c in h.of(PlaceChildOrder) if c.tactic is Tactic.AGGRESSIVE]
    assert all(c.limit_price >= h.ask for c in aggressive)
    # the stale passive children were pulled and re-placed
    assert any("behind schedule" in c.reason or "stale" in c.reason for c in h.of(CancelChildOrder))
    # catch up: after the first crossing, the deviation never grows past the slack again
    late = [r for r in recals if r.ts > first_aggr.ts + MINUTE and r.reason.startswith("timer")]
    worst_after = min(r.deviation for r in late)
    assert worst_after > first_aggr.deviation - 1_000
    assert h.parent.state is ParentState.COMPLETED
    assert h.states()[-1] is ParentState.COMPLETED


def test_on_schedule_stays_passive_and_completes_by_end():
    h = Harness(make_parent(qty=6_000, minutes=30), passive_fill=1.0).run()
    places = h.of(PlaceChildOrder)
    # on schedule it joins the touch; a little ahead it rests in the dark at the mid
    assert places[0].tactic is Tactic.PASSIVE
    assert {c.tactic for c in places} >= {Tactic.PASSIVE, Tactic.MIDPOINT}
    resting = sum(c.quantity for c in places if c.tactic is not Tactic.AGGRESSIVE)
    assert resting >= 0.9 * 6_000
    assert h.parent.state is ParentState.COMPLETED
    assert h.of(ParentStateChanged)[-1].ts <= T0 + 30 * MINUTE


def test_ahead_of_schedule_rests_at_the_midpoint():
    p = make_parent(qty=10_000, urgency=Urgency.LOW)
    h = Harness(p, passive_fill=0.0)
    h.run(until=T0 + 1)
    place = h.of(PlaceChildOrder)[0]
    assert place.tactic is Tactic.MIDPOINT
    assert place.limit_price == h.bid + CENT  # mid, on tick, rounded to pay up for a buy


def test_must_complete_finishes_by_end_time_with_a_final_sweep():
    # passive never fills and the schedule is lenient until the end: the sweep must finish it
    p = make_parent(qty=5_000, minutes=10, strategy=StrategyName.TWAP)
    h = Harness(p, passive_fill=0.0)
    h.run()
    changed = h.of(ParentStateChanged)[-1]
    assert changed.state is ParentState.COMPLETED and changed.ts <= T0 + 10 * MINUTE
    assert changed.filled == 5_000


def test_best_effort_expires_reporting_leaves():
    # a buy limited below the offer can never cross; passive children starve
    limit = 100 * 1_000_000 + CENT
    p = make_parent(qty=5_000, minutes=10, must_complete=False, limit=limit)
    h = Harness(p, passive_fill=0.0).run()
    last = h.of(ParentStateChanged)[-1]
    assert last.state is ParentState.EXPIRED and last.ts == T0 + 10 * MINUTE
    assert last.filled < last.target and f"leaves {last.target - last.filled}" in last.reason
    assert all(c.limit_price <= limit for c in h.of(PlaceChildOrder))
    assert not h.parent.open_children() or all(c.cancel_requested for c in h.parent.open_children())


def test_must_complete_that_cannot_fill_expires_at_its_end_time():
    limit = 100 * 1_000_000 + CENT
    p = make_parent(qty=5_000, minutes=10, limit=limit)
    h = Harness(p, passive_fill=0.0).run()
    last = h.of(ParentStateChanged)[-1]
    assert last.state is ParentState.EXPIRED and last.expiry_reason is ExpiryReason.END_TIME
    assert last.ts == T0 + 10 * MINUTE  # no sweeping past the end
    assert max(m.ts for m in h.out) == last.ts
    assert "must-complete" in last.reason


def test_passive_children_that_sit_too_long_are_re_placed():
    # a slow order: its first child rests long before the schedule calls it behind
    h = Harness(make_parent(qty=1_000, minutes=60), passive_fill=0.0)
    h.run(until=T0 + 10 * MINUTE)
    first = h.of(PlaceChildOrder)[0]
    cancels = [c for c in h.of(CancelChildOrder) if "stale" in c.reason]
    assert cancels and cancels[0].child_id == first.child_id == "P1-C1"
    assert cancels[0].ts == first.ts + ParentConfig().passive_timeout_ns
    later = [c for c in h.of(PlaceChildOrder) if c.ts == cancels[0].ts]
    assert later, "re-placed on the cancel's done"


def test_max_participation_caps_child_sizes():
    p = make_parent(qty=50_000, minutes=30, max_participation=0.1, must_complete=False)
    h = Harness(p, passive_fill=1.0, market_rate=100)
    h.run()
    market_volume = h.background + h.ours
    assert h.ours <= 0.1 * market_volume
    assert any("max participation" in r.reason for r in h.of(ScheduleRecalibrated))
    last = h.of(ParentStateChanged)[-1]
    assert last.state is ParentState.EXPIRED
    assert last.expiry_reason is ExpiryReason.PARTICIPATION_CAP


def test_pov_stays_within_its_band():
    p = make_parent(
        qty=1_000_000, minutes=30, strategy=StrategyName.POV, pov_rate=0.1, must_complete=False
    )
    h = Harness(p, passive_fill=0.5, market_rate=200).run()
    participation = h.ours / (h.background + h.ours)
    assert 0.08 <= participation <= 0.12 + 1e-9


def test_max_open_children_and_no_over_allocation():
    h = Harness(make_parent(qty=3_000, minutes=5), passive_fill=0.0).run()
    assert h.invariant_checks > 50
    assert h.parent.filled == 3_000


def test_duplicate_fill_is_ignored_and_unknown_rejection_is_harmless():
    h = Harness(make_parent(), passive_fill=0.0)
    h.run(until=T0 + 1)
    place = h.of(PlaceChildOrder)[0]
    fill = ChildOrderFilled(
        parent_id="P1",
        child_id=place.child_id,
        fill_id="X1",
        venue="LIT1",
        quantity=100,
        price=place.limit_price,
        liquidity=Liquidity.MAKER,
    )
    first = h.parent.on_child_filled(fill, h.now, h.market)
    assert isinstance(first[0], ParentOrderFilled)
    assert isinstance(first[1], ScheduleRecalibrated)
    assert h.parent.on_child_filled(fill, h.now, h.market) == []
    assert h.parent.filled == 100
    rej = ChildOrderRejected(parent_id="P1", child_id="nope", reason="venue_down")
    assert h.parent.on_child_rejected(rej, h.now, h.market) == []


def test_rejected_child_is_released_and_replaced_on_the_next_timer():
    h = Harness(make_parent(), passive_fill=0.0)
    h.feed(h.parent.start(h.now, h.market))
    (child,) = h.of(PlaceChildOrder)
    assert h.parent.next_wake_ns > h.now + ParentConfig().decision_interval_ns  # nothing due
    rej = ChildOrderRejected(parent_id="P1", child_id=child.child_id, reason="venue_down")
    assert h.parent.on_child_rejected(rej, h.now, h.market) == []
    assert h.parent.open_qty == 0
    h.working.pop(child.child_id)
    # the freed quantity is due now: re-placed on the next decision-interval tick
    assert h.parent.next_wake_ns == h.now + ParentConfig().decision_interval_ns
    out = h.parent.on_timer(h.parent.next_wake_ns, h.market)
    assert any(isinstance(m, PlaceChildOrder) for m in out)


# ------------------------------------------------------------------------ resize


def test_resize_up_grows_the_schedule():
    h = Harness(make_parent(qty=10_000, minutes=30), passive_fill=0.0)
    h.run(until=T0 + 1)
    out = h.parent.resize(20_000, h.now, h.market, "join")
    assert h.parent.target == 20_000 and h.parent.strategy.quantity == 20_000
    recal = next(m for m in out if isinstance(m, ScheduleRecalibrated))
    assert "resized to 20000" in recal.reason


def test_resize_down_cancels_excess_children_newest_first():
    h = Harness(make_parent(qty=10_000, minutes=30), passive_fill=0.0)
    h.run(until=T0 + 1)
    p = h.parent
    open_before = p.open_qty
    assert open_before > 0
    out = p.resize(100, h.now, h.market, "client cancel")
    cancels = [m for m in out if isinstance(m, CancelChildOrder)]
    assert cancels and all("resized" in c.reason for c in cancels)
    assert p.state is ParentState.WORKING


def test_resize_below_filled_completes_with_target_equal_to_filled():
    h = Harness(make_parent(qty=10_000, minutes=30), passive_fill=1.0)
    h.run(until=T0 + 2 * MINUTE)
    p = h.parent
    filled = p.filled
    assert 0 < filled < 10_000
    out = p.resize(filled - 100, h.now, h.market)
    last = out[-1]
    assert last.state is ParentState.COMPLETED and last.target == filled == last.filled


def test_resize_to_zero_while_pending_cancels():
    p = make_parent(start_ns=T0 + MINUTE)
    m = MarketView("XYZ")
    p.start(T0, m)
    out = p.resize(0, T0, m)
    assert out[-1].state is ParentState.CANCELED


# ------------------------------------------------------------------- properties


@settings(max_examples=60)
@given(
    side=st.sampled_from([Side.BUY, Side.SELL]),
    bid_cents=st.integers(9_900, 10_100),
    spread_ticks=st.integers(1, 5),
    limit_offset=st.one_of(st.none(), st.integers(-6, 6)),
    limit_sub_tick=st.integers(0, 9_999),
    strategy=st.sampled_from(list(StrategyName)),
    urgency=st.sampled_from(list(Urgency)),
    must_complete=st.booleans(),
    passive_fill=st.sampled_from([0.0, 0.3, 1.0]),
    qty_lots=st.integers(1, 80),
)
def test_children_never_breach_the_limit_and_are_on_tick(
    side,
    bid_cents,
    spread_ticks,
    limit_offset,
    limit_sub_tick,
    strategy,
    urgency,
    must_complete,
    passive_fill,
    qty_lots,
):
    bid = bid_cents * CENT
    limit = None
    if limit_offset is not None:  # around the touch, sometimes off tick
        limit = bid + limit_offset * CENT + (limit_sub_tick if limit_sub_tick < 5_000 else 0)
    p = make_parent(
        qty=qty_lots * 100,
        side=side,
        limit=limit,
        minutes=5,
        strategy=strategy,
        urgency=urgency,
        must_complete=must_complete,
        pov_rate=0.2,
    )
    h = Harness(
        p, bid=bid, spread=spread_ticks * CENT, passive_fill=passive_fill, market_rate=100
    ).run()
    for c in h.of(PlaceChildOrder):
        assert c.limit_price is not None and c.limit_price % CENT == 0
        assert c.quantity > 0
        if limit is not None:
            assert (limit - c.limit_price) * side >= 0, (c, limit)
    assert h.parent.is_terminal
    assert h.parent.filled <= h.parent.target
    child_ids = sorted(int(c.child_id.split("-C")[1]) for c in h.of(PlaceChildOrder))
    assert child_ids == list(range(1, len(child_ids) + 1))  # deterministic, no gaps
