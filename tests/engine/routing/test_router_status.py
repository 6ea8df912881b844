"""The router asks a venue where an order stands when its own view is in doubt, and books
the fills it never heard of from the answer; a copy of an order refused as a duplicate
does not end the original."""

from __future__ import annotations

from test_router import ASK, Driver, child

from engine.messages import (
    VENUES_CLOSED,
    CancelChildOrder,
    ChildOrderDone,
    ChildOrderFilled,
    Liquidity,
    VenueCancelRejected,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueOrderStatus,
    VenueOrderStatusRequest,
)
from engine.routing.config import DEFAULT_CONFIG
from engine.routing.orders import EXPIRED_AT_CLOSE


def venue_fill(o, qty, leaves, fid, price=ASK):
    return VenueOrderFilled(
        venue=o.venue,
        order_id=o.order_id,
        fill_id=fid,
        quantity=qty,
        price=price,
        liquidity=Liquidity.MAKER,
        fee=10 * qty,
        leaves=leaves,
    )


def asked(d, out=None):
    return [m for _, m in (d.out if out is None else out) if isinstance(m, VenueOrderStatusRequest)]


def status(o, *fills, state="done"):
    filled = sum(f.quantity for f in fills)
    return VenueOrderStatus(
        venue=o.venue, order_id=o.order_id, state=state, filled=filled, fills=fills
    )


def test_the_last_fill_lost_is_booked_from_the_venues_status_after_too_late():
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    first, lost = venue_fill(o, 100, 200, "F1"), venue_fill(o, 200, 0, "F2", ASK - 10_000)
    d.feed(first)
    d.fills[o.child_id] += 300  # what the venue filled: both fills
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    out = d.feed(VenueCancelRejected(venue=o.venue, order_id=o.order_id, reason="too_late"))
    assert [r.order_id for r in asked(d, out)] == [o.order_id]
    assert not d.to_parent(ChildOrderDone)
    d.feed(status(o, first, lost))
    booked = d.to_parent(ChildOrderFilled)
    assert [(f.fill_id, f.quantity, f.price, f.fee) for f in booked] == [
        ("F1", 100, ASK, 1_000),
        ("F2", 200, ASK - 10_000, 2_000),  # the venue's own price and fee
    ]
    (done,) = d.to_parent(ChildOrderDone)
    assert done.filled == 300
    d.feed(lost)  # the lost fill turns up after all: a redelivery, not booked again
    assert len(d.to_parent(ChildOrderFilled)) == 2
    d.check()


def test_a_gap_in_the_venues_leaves_asks_for_the_status_once():
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    lost = venue_fill(o, 100, 200, "F1")
    d.fills[o.child_id] += 300
    out = d.feed(venue_fill(o, 100, 100, "F2"))  # leaves 100: 200 filled, 100 heard of
    assert len(asked(d, out)) == 1
    assert not asked(d, d.feed(venue_fill(o, 100, 0, "F3")))  # one question at a time
    d.feed(status(o, lost, venue_fill(o, 100, 100, "F2"), venue_fill(o, 100, 0, "F3")))
    assert sum(f.quantity for f in d.to_parent(ChildOrderFilled)) == 300
    (done,) = d.to_parent(ChildOrderDone)
    assert (done.filled, done.cancelled) == (300, 0)
    d.check()


def test_a_cancel_short_of_the_leaves_asks_for_the_status():
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    out = d.cancelled(o, 100)  # 200 filled at the venue, never heard of
    assert len(asked(d, out)) == 1
    lost = venue_fill(o, 200, 100, "F1")
    d.fills[o.child_id] += 200
    d.feed(status(o, lost))
    (done,) = d.to_parent(ChildOrderDone)
    assert (done.filled, done.cancelled) == (200, 100)
    d.check()


def test_no_status_is_asked_when_nothing_is_in_doubt():
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    d.fill(o, 100, 200)
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    d.cancelled(o, 200)
    assert not asked(d)
    d.check()


def test_a_duplicate_id_reject_does_not_end_the_live_order():
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    copy = VenueOrderRejected(venue=o.venue, order_id=o.order_id, reason="duplicate_order_id")
    assert not d.placed(d.feed(copy))  # nothing re-routed: the order still works
    d.fill(o, 300, 0)
    (done,) = d.to_parent(ChildOrderDone)
    assert (done.filled, done.reason) == (300, "filled")
    d.check()


def test_a_duplicate_id_reject_before_the_ack_leaves_the_order_pending():
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.feed(VenueOrderRejected(venue=o.venue, order_id=o.order_id, reason="duplicate_order_id"))
    d.ack(o)
    d.fill(o, 300, 0)
    assert [m.filled for m in d.to_parent(ChildOrderDone)] == [300]
    d.check()


def test_an_unanswered_cancel_asks_for_the_status_and_a_done_answer_ends_the_order():
    """The venue drops cancels, and the fill that ended the order was lost: the order
    status settles it, where cancels alone never would."""
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))  # never answered
    assert not asked(d)
    d.tick(d.router.next_wake_ns() - d.now)  # the cancel timer: sent again, and asked
    assert [r.order_id for r in asked(d)] == [o.order_id]
    lost = venue_fill(o, 300, 0, "F1")
    d.fills[o.child_id] += 300
    d.feed(status(o, lost))
    (done,) = d.to_parent(ChildOrderDone)
    assert (done.filled, done.cancelled) == (300, 0)
    d.check()


def test_a_done_answer_without_missing_fills_takes_the_rest_off():
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    d.fill(o, 100, 200)
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    d.tick(d.router.next_wake_ns() - d.now)
    d.feed(status(o, venue_fill(o, 100, 200, f"{o.order_id}-F200")))  # its cancel was lost
    (done,) = d.to_parent(ChildOrderDone)
    assert (done.filled, done.cancelled) == (100, 200)
    d.cancelled(o, 200)  # the venue's own word turns up late: nothing more happens
    assert len(d.to_parent(ChildOrderDone)) == 1
    d.check()


def test_at_the_close_a_venue_that_is_up_is_asked_before_its_orders_are_booked_expired():
    """Chaos seed 2850: a fill was dropped on its way, the cancels found the venue down,
    and by the close's settle wait the venue was up again (its up not seen as one: the
    router's view had gone back up before). The router asks where the order stands
    before booking it expired at the close, and books the lost fill from the answer:
    the parent hears of every share the venue filled, none goes to the excess account."""
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    d.fill(o, 100, 200)
    lost = venue_fill(o, 200, 0, "F2")  # dropped by the link
    d.fills[o.child_id] += 200
    out = d.feed(CancelChildOrder(parent_id="P1", child_id="C1", reason=VENUES_CLOSED))
    assert [r.order_id for r in asked(d, out)] == [o.order_id]
    assert not d.to_parent(ChildOrderDone)  # not booked expired yet
    d.feed(status(o, venue_fill(o, 100, 200, f"{o.order_id}-F200"), lost))
    assert sum(f.quantity for f in d.to_parent(ChildOrderFilled)) == 300
    (done,) = d.to_parent(ChildOrderDone)
    assert (done.filled, done.cancelled) == (300, 0)
    d.tick(DEFAULT_CONFIG.cancel_retry_ns)  # its timer finds the child done
    assert not [m for _, m in d.out if isinstance(m, VenueOrderCancelled)]
    d.check()


def test_at_the_close_an_order_its_venue_does_not_answer_for_is_booked_expired_a_retry_later():
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1", reason=VENUES_CLOSED))
    assert not d.to_parent(ChildOrderDone)
    d.tick(DEFAULT_CONFIG.cancel_retry_ns)
    (expired,) = [m for _, m in d.out if isinstance(m, VenueOrderCancelled)]
    assert (expired.reason, expired.cancelled) == (EXPIRED_AT_CLOSE, 300)
    (done,) = d.to_parent(ChildOrderDone)
    assert (done.filled, done.cancelled) == (0, 300)
