"""Cancels a venue leaves unanswered: sent again with exponential backoff, and after a
bound the order is unsettled (journaled) and its venue suspect, until the venue answers."""

from __future__ import annotations

from itertools import pairwise

import msgspec
from test_router import DARK, LIT, VENUES, Driver, child, md

from engine.clock import MINUTE, SECOND
from engine.contract import JOURNAL
from engine.messages import (
    CancelChildOrder,
    CancelVenueOrder,
    ChildOrderDone,
    PlaceVenueOrder,
    RouteDecided,
    VenueOrderAccepted,
)
from engine.routing import recovery
from engine.routing.router import Router, RouterConfig

CONFIG = RouterConfig(sequential_timeout_ns=MINUTE)


def swallowed_cancel(config: RouterConfig = CONFIG) -> tuple[Driver, PlaceVenueOrder]:
    """A child resting at a venue, cancelled by its parent; the venue never answers."""
    d = Driver(config)
    d.feed(child())
    (order,) = d.placed()
    d.ack(order)
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    return d, order


def run_for(d: Driver, until_ns: int) -> None:
    while (wake := d.router.next_wake_ns()) is not None and wake <= until_ns:
        d.tick(wake - d.now)


def decisions(d: Driver, prefix: str) -> list[RouteDecided]:
    return [
        m
        for dest, m in d.out
        if dest == JOURNAL and isinstance(m, RouteDecided) and m.reason.startswith(prefix)
    ]


def test_an_unanswered_cancel_is_sent_again_with_exponential_backoff():
    d, order = swallowed_cancel()
    run_for(d, 20 * MINUTE)

    sent = [c.ts for c in d.cancels() if c.order_id == order.order_id]
    gaps = [b - a for a, b in pairwise(sent)]
    assert gaps[:6] == [SECOND, 2 * SECOND, 4 * SECOND, 8 * SECOND, 16 * SECOND, 32 * SECOND]
    assert max(gaps) == CONFIG.cancel_retry_max_ns  # capped: still asked, slowly
    assert len(sent) <= 12  # a flat 1 s retry sent 1,200 in these 20 minutes
    assert not d.to_parent(ChildOrderDone)  # its shares may still fill: the child is not done


def test_past_the_bound_the_order_is_unsettled_and_its_venue_suspect():
    d, order = swallowed_cancel()
    run_for(d, 30 * SECOND)
    assert not d.router.unsettled  # five sends, the fifth one not yet overdue

    run_for(d, 2 * MINUTE)
    (unsettled,) = decisions(d, "unsettled")
    assert order.order_id in unsettled.reason and "suspect" in unsettled.reason
    assert d.router.unsettled == {order.order_id: order.venue}
    assert d.router.suspect_venues == {order.venue}

    for v in LIT + DARK:  # fresh quotes: the best bid is joined, not at the suspect venue
        d.feed(msgspec.structs.replace(md(v), ts=d.now))
    d.feed(child(cid="C2"))
    (placed,) = [p for p in d.placed() if p.child_id == "C2"]
    assert placed.venue != order.venue


def test_a_late_answer_settles_the_order_and_clears_the_suspicion():
    d, order = swallowed_cancel()
    run_for(d, 2 * MINUTE)
    assert d.router.unsettled

    d.cancelled(order, order.quantity)

    (settled,) = decisions(d, "settled")
    assert order.order_id in settled.reason
    assert not d.router.unsettled and not d.router.suspect_venues
    (done,) = d.to_parent(ChildOrderDone)
    assert done.reason == "cancelled"
    assert d.router.next_wake_ns() is None  # nothing left to ask
    d.check()


def test_recovery_rebuilds_the_backoff_and_the_unsettled_order():
    d, order = swallowed_cancel()
    run_for(d, 2 * MINUTE)
    sends = len(d.cancels())
    # what the journal holds: the parent's commands, the router's output, the venue's ack
    journal = [
        *d.commands.values(),
        CancelChildOrder(parent_id="P1", child_id="C1"),
        *(m for _, m in d.out),
        VenueOrderAccepted(venue=order.venue, order_id=order.order_id, leaves=order.quantity),
    ]

    restarted = Router(VENUES, CONFIG)
    out = recovery.recover(restarted, recovery.fold(journal), d.now)

    assert restarted.unsettled == {order.order_id: order.venue}
    (reconcile,) = [m for _, m in out if isinstance(m, CancelVenueOrder)]
    assert reconcile.order_id == order.order_id
    # the backoff goes on from the journaled sends, not from a flat first retry
    wait = restarted.next_wake_ns()
    assert wait is not None
    assert wait - d.now == min(SECOND << sends, CONFIG.cancel_retry_max_ns)
