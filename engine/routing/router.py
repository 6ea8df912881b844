"""The smart order router, as a pure state machine its actor hosts
(``engine.contract.Hosted``).

    router = Router(venue_configs, RouterConfig(...))
    out = router.handle(msg, now_ns)      # -> [(destination, message)], in send order
    wake = router.next_wake_ns()          # -> int | None: call on_wake(wake) by then

Inputs: ``PlaceChildOrder`` / ``CancelChildOrder`` (from parents), ``VenueOrder*`` and
``VenueCancelRejected`` (from venues), ``MarketDataUpdated``, ``VenueStatusChanged``;
``on_wake`` (or a ``TimerFired`` of any key) fires every timer due at ``now_ns``.

Outputs (destination, message):
- venue commands (``PlaceVenueOrder``, ``CancelVenueOrder``) → the venue's name;
- child events (``ChildOrderAccepted/Rejected/Filled/Overfilled/Done``) → ``parent_id``;
- ``RouteDecided`` (every placement or cancel sweep, with reason and scorecard values) →
  ``JOURNAL``: a decision recorded, sent to no actor.

Guarantees: exactly one ``ChildOrderDone`` per accepted child, sent once no venue order of
it is live; Σ ``ChildOrderFilled.quantity`` ≤ child quantity; any share filled beyond it
(an over-allocation race, a fill after the child was done) is reported as
``ChildOrderOverfilled`` and counted, never hidden. Without ``overallocate`` the open
venue quantity never exceeds the child's remaining quantity, so no race can overfill.
Venue order ids are ``f"{child_id}-V{n}"``; messages carry ``msg_id=0, ts=now_ns``.

Memory stays bounded by the open children: once a child is done and every venue order
of it is final (rejected, or each share filled or taken off), its ``Child`` and venue
orders are dropped for a small ``FinishedChild``. A message about it afterwards is handled
as before: a redelivered command ignored, a clashing one refused, a stray fill reported
as excess (``late_fill``), a stray ack of a rejected order pulled unless fills have since
covered every share of it (nothing of it can be live then), anything else ignored.

After a restart: ``restore`` adopts children rebuilt from the journal, ``forward_fills``
reports venue fills the old instance heard but never reported, and ``reconcile`` asks
the venue to cancel every order that may still be live before routing anything (see
``engine.routing.recovery``).

The class is built in layers, one module each (``engine.routing.tables``,
``child_routing``, ``venue_input``, then this one): see ``docs/routing.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from engine.contract import JOURNAL, Outbox
from engine.messages import (
    VENUES_CLOSED,
    CancelChildOrder,
    CancelVenueOrder,
    MarketDataUpdated,
    Message,
    PlaceChildOrder,
    TimerFired,
    VenueCancelRejected,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueOrderStatus,
    VenueStatus,
    VenueStatusChanged,
)
from engine.routing.child_routing import _TIMER_ACTIONS
from engine.routing.config import RouterConfig
from engine.routing.orders import EXPIRED_AT_CLOSE, Child
from engine.routing.plan import Plan
from engine.routing.venue_input import VenueInput

__all__ = ["Router", "RouterConfig"]

_DOWN = VenueStatus.DOWN


class Router(VenueInput):
    """The smart order router (see the module docstring for its inputs, outputs and
    guarantees)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # children whose venue orders at venues not down were asked where they stand at
        # the close, before what is left of them is booked as expired there
        self._asked_at_close: set[str] = set()

    # ------------------------------------------------------------- the contract

    def handle(self, msg: Message, now_ns: int) -> Outbox:
        """Apply one input; return the messages to send, in order."""
        self._now = now_ns
        self._out = []
        handler = _DISPATCH.get(type(msg))
        if handler is not None:
            handler(self, msg)
        out, self._out = self._out, []
        return out

    def on_wake(self, now_ns: int) -> Outbox:
        """Fire every timer due at ``now_ns``."""
        self._now = now_ns
        self._out = []
        self._fire_due()
        out, self._out = self._out, []
        return out

    # next_wake_ns: ``RouterTables``

    def open_children(self) -> list[str]:
        return [cid for cid, c in self._children.items() if not c.done]

    @property
    def finished(self) -> int:
        """Children done and let go (only their ``FinishedChild`` is kept)."""
        return len(self._finished)

    def _timer_fired(self, _msg: TimerFired) -> None:
        self._fire_due()

    # ------------------------------------------------------- the session's end

    def _child_cancelled(self, msg: CancelChildOrder) -> None:
        if msg.reason == VENUES_CLOSED:
            self._venues_closed(msg.child_id)
        else:
            self._cancel_child(msg)

    def _venues_closed(self, child_id: str) -> None:
        """The session is over and the parent waits no longer: DAY orders died at their
        venue's close, so what is still live of the child is booked as expired there,
        unconfirmed (journaled as such), its venue suspect until it is back up, and the
        child is done. A venue that comes back up is asked about them once."""
        child = self._children.get(child_id)
        if child is None or child.done:
            return
        child.closing = child.closing or "expired"
        if child_id not in self._asked_at_close and self._ask_at_close(child):
            return  # booked when the answers are in, or at the latest a retry from now
        live = child.live_orders()
        for vo in live:
            leaves = max(vo.quantity - vo.filled - vo.cancelled, 0)
            vo.cancelled += leaves
            expired = VenueOrderCancelled(
                venue=vo.venue,
                order_id=vo.order_id,
                cancelled=leaves,
                reason=EXPIRED_AT_CLOSE,
                ts=self._now,
            )
            self._emit(JOURNAL, expired)
            self.unsettled.pop(vo.order_id, None)  # done by the close, not by an answer
            self._order_done(child, vo, progressed=False, reroute_now=False)
            self.unsettled[vo.order_id] = vo.venue  # suspect
            self.unconfirmed[vo.order_id] = (vo.venue, child.cmd.instrument)
        if live:
            venues = sorted({vo.venue for vo in live})
            reason = (
                f"venues closed: {len(live)} venue orders expired at the close, unconfirmed; "
                f"{', '.join(venues)} suspect until it is back up"
            )
            self._decided(child, Plan(reason=reason, considered=venues))
        self._maybe_finish(child)

    def _ask_at_close(self, child: Child) -> bool:
        """Before the close books a child's live venue orders as expired there, a venue
        that is not down is asked where each stands (once): its answer books the fills it
        sent that never arrived (a dropped message), and an order it says is over is
        settled as it says; what is still live one cancel retry later is booked expired.
        False if there is no one to ask."""
        cid = child.cmd.child_id
        asked = [
            vo
            for vo in child.live_orders()
            if self.scorecard.reported(vo.venue, child.cmd.instrument) is not _DOWN
        ]
        if not asked:
            return False
        self._asked_at_close.add(cid)
        for vo in asked:
            vo.status_asked = False  # an earlier question may have been lost
            self._ask_status(vo)
        self._set_timer(("closed", cid), self._now + self.config.cancel_retry_ns)
        venues = sorted({vo.venue for vo in asked})
        reason = (
            f"venues closed: ask {len(asked)} venue orders where they stand at "
            f"{', '.join(venues)} before booking what is left as expired at the close"
        )
        self._decided(child, Plan(reason=reason, considered=venues))
        return True

    def _venue_up(self, venue: str, instrument: str) -> None:
        super()._venue_up(venue, instrument)
        for oid in [o for o, at in self.unconfirmed.items() if at == (venue, instrument)]:
            del self.unconfirmed[oid]  # asked once: its answer is journaled as it comes
            self.unsettled.pop(oid, None)
            self._emit(venue, CancelVenueOrder(venue=venue, order_id=oid, ts=self._now))

    # ------------------------------------------------------------- recovery

    def restore(self, children: Iterable[Child]) -> None:
        """Adopt children rebuilt from the journal after a restart, in arrival order.
        Sends nothing: ``forward_fills`` and ``reconcile`` do."""
        for child in children:
            self._children[child.cmd.child_id] = child
            for order_id in child.orders:
                self._orders[order_id] = child
            if child.done:
                self._let_go(child)

    def restore_cancels(self, sends: Mapping[str, int]) -> None:
        """Adopt the journaled count of cancels sent per venue order (for the orders still
        live): the backoff goes on from there, and an order past the bound is unsettled
        again (its venue suspect), as the old instance had it."""
        for order_id, n in sends.items():
            found = self._venue_order(order_id)
            if found is None or not found[1].live:
                continue
            self._cancel_sends[order_id] = n
            if n >= self.config.cancel_escalate_after:
                self.unsettled[order_id] = found[1].venue

    def forward_fills(self, fills: Sequence[VenueOrderFilled], now_ns: int) -> Outbox:
        """Report venue fills the old instance journaled but never reported (it died
        while handling them). They are already in their venue order's ``filled`` and
        ``fill_ids``; the child's ``filled`` counts only what was reported."""
        self._now, self._out = now_ns, []
        for fill in fills:
            found = self._venue_order(fill.order_id)
            if found is not None:
                self._report_fill(found[0], found[1], fill)
            elif (gone := self._finished_order(fill.order_id)) is not None:
                self._report_late_fill(gone[0], fill.order_id, fill)  # already in its fills
        out, self._out = self._out, []
        return out

    def reconcile(self, now_ns: int) -> Outbox:
        """Before acting on any adopted child: cancel every venue order of it that may
        still be live. Cancel is the one question a venue answers about an order; its
        answer (cancelled, too late, unknown) settles the order, and only then is the
        remainder routed again. Children with nothing live move on at once."""
        self._now, self._out = now_ns, []
        for child in [c for c in self._children.values() if not c.done]:
            self._reconcile_child(child)
        out, self._out = self._out, []
        return out

    def _reconcile_child(self, child: Child) -> None:
        live = child.live_orders()
        for vo in live:
            vo.reconciling = True
            vo.too_late = False  # ask again: the answer now comes after every old message
            self._send_cancel(vo)  # even before an ack: the link keeps it behind the order
        if live:
            self._decided(
                child,
                Plan(
                    reason=f"reconcile after restart: cancel {len(live)} venue orders, "
                    "route the rest once they settle",
                    considered=sorted({vo.venue for vo in live}),
                ),
            )
        expire_at = child.cmd.expire_at
        if expire_at is not None and not child.closing:
            if expire_at <= self._now:
                self._close(child, "expired")
                return
            self._set_timer(("expire", child.cmd.child_id), expire_at)
        if child.filled >= child.quantity:
            self._close(child, "filled")
        elif not live:
            self._route(child)
        self._maybe_finish(child)


_DISPATCH: dict[type[Message], Callable[[Router, Any], None]] = {
    PlaceChildOrder: Router._place_child,
    CancelChildOrder: Router._child_cancelled,
    VenueOrderAccepted: Router._accepted,
    VenueOrderRejected: Router._rejected,
    VenueOrderFilled: Router._filled,
    VenueOrderCancelled: Router._cancelled,
    VenueCancelRejected: Router._cancel_rejected,
    VenueOrderStatus: Router._order_status,
    MarketDataUpdated: Router._market_data,
    VenueStatusChanged: Router._status_changed,
    TimerFired: Router._timer_fired,
}


def _closed_timer(router: Router, child_id: str) -> None:
    """The answers a closing child's venues were asked for had their time: book what is
    still live as expired at the close."""
    router._venues_closed(child_id)


_TIMER_ACTIONS["closed"] = _closed_timer  # type: ignore[assignment]
