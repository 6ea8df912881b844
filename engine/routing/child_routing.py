"""The router's child side: parent commands, routing a child's remainder, cancels,
winding a child down, and the timers that move it on (see ``engine.routing.tables``
for the layers)."""

from __future__ import annotations

import heapq

from engine.messages import (
    CancelChildOrder,
    CancelVenueOrder,
    ChildOrderAccepted,
    ChildOrderDone,
    ChildOrderRejected,
    PlaceChildOrder,
    PlaceVenueOrder,
    RoutingLogic,
    Side,
    TimeInForce,
    VenueKind,
    VenuePlacement,
    VenueStatus,
)
from engine.routing.orders import Child, VenueOrder, VenueOrderState
from engine.routing.plan import Plan
from engine.routing.planner_core import DEFAULT_TICK as _DEFAULT_TICK
from engine.routing.tables import RouterTables


class ChildRouting(RouterTables):
    """What the router does for a child: accept or refuse it, route its remainder, cancel
    and wind it down, and move it on when its timers fire."""

    # ---------------------------------------------------------------- timers

    def _fire_due(self) -> None:
        """Fire every timer due by now, in (due, arming) order."""
        while (due := self.next_wake_ns()) is not None and due <= self._now:
            _, _, key = heapq.heappop(self._heap)
            del self._timers[key]
            _TIMER_ACTIONS[key[0]](self, key[1])

    def _timeout(self, order_id: str) -> None:
        child = self._orders[order_id]
        vo = child.orders[order_id]
        if not vo.live or child.closing:
            return
        if self._keeps_its_place(child, vo):
            # A resting order still at its venue's touch keeps its queue place (a move
            # would join the back of another queue); left behind, it moves on.
            self._set_timer(("timeout", order_id), self._now + self.config.sequential_timeout_ns)
            return
        if self._behind_at_limit(child, vo):
            # Moving it could only re-place the same price, still behind the touch, at the
            # back of another venue's queue: it keeps its place here, and is looked at
            # again after another timeout (the market may come back to it).
            self._set_timer(("timeout", order_id), self._now + self.config.sequential_timeout_ns)
            if not vo.kept:  # record the decision once, not at every look
                vo.kept = True
                self._decided(
                    child,
                    Plan(
                        reason=f"keep {order_id} at {vo.venue}: resting at the child's limit "
                        "behind the touch, a move would only lose queue priority",
                        considered=[vo.venue],
                    ),
                )
            return
        if self._own_touch(child, vo) is not None and vo.venue in child.tried:
            # left behind by the market, not failed by its venue: still first in line
            child.tried.remove(vo.venue)
        self._cancel(vo, "timeout")
        self._decided(
            child,
            Plan(
                reason=f"cancel {order_id} at {vo.venue}: resting timeout, re-route the rest",
                considered=[vo.venue],
            ),
        )

    def _keeps_its_place(self, child: Child, vo: VenueOrder) -> bool:
        """A lit order of a sequential or parallel child resting at the best bid (offer)
        its venue shows."""
        touch = self._own_touch(child, vo)
        if touch is None or vo.price is None:
            return False
        return vo.price >= touch if child.cmd.side is Side.BUY else vo.price <= touch

    def _own_touch(self, child: Child, vo: VenueOrder) -> int | None:
        """The best bid (offer) its own venue shows for a resting lit order of a sequential
        or parallel child (liquidity seeking sizes its lit orders on its own horizon)."""
        if (
            child.cmd.routing is RoutingLogic.LIQUIDITY_SEEKING
            or vo.state is not VenueOrderState.OPEN
            or self.venues[vo.venue].kind is not VenueKind.LIT
        ):
            return None
        own = self.market(child.cmd.instrument).venues.get(vo.venue)
        levels = (own.bids if child.cmd.side is Side.BUY else own.asks) if own else []
        return levels[0].price if levels else None

    def _behind_at_limit(self, child: Child, vo: VenueOrder) -> bool:
        """A lit limit order acked at the child's limit price while the NBBO touch on its
        side is strictly better: every venue would get that same capped price (the
        planner never prices beyond the limit), so no re-route can improve on it."""
        limit = child.cmd.limit_price
        if (
            limit is None
            or vo.price != limit
            or vo.state is not VenueOrderState.OPEN
            or self.venues[vo.venue].kind is not VenueKind.LIT
        ):
            return False
        market = self.market(child.cmd.instrument)
        if child.cmd.side is Side.BUY:
            touch = market.best_bid()
            return touch is not None and touch > limit
        touch = market.best_ask()
        return touch is not None and touch < limit

    def _cancel_again(self, order_id: str) -> None:
        child = self._orders[order_id]
        vo = child.orders[order_id]
        if vo.live and not vo.too_late:
            self._escalate_if_unanswered(child, vo)
            self._send_cancel(vo)
        elif vo.pulling and not vo.final:
            self._send_pull(vo)

    def _escalate_if_unanswered(self, child: Child, vo: VenueOrder) -> None:
        """Past the bound of unanswered cancels the order's state is unknown: it may rest
        and fill at the venue, or be gone. Journaled as unsettled, its venue suspect; it
        stays live (its child, and so its parent, not done) and is still asked, slowly."""
        sends = self._cancel_sends.get(vo.order_id, 0)
        if sends < self.config.cancel_escalate_after or vo.order_id in self.unsettled:
            return
        self.unsettled[vo.order_id] = vo.venue
        self._decided(
            child,
            Plan(
                reason=f"unsettled {vo.order_id} at {vo.venue}: {sends} cancels unanswered, "
                f"state unknown ({vo.leaves} shares may still fill); {vo.venue} suspect",
                considered=[vo.venue],
            ),
        )

    def _settled(self, child: Child, vo: VenueOrder) -> None:
        """The venue answered for an order given up as unsettled: journal it."""
        self._cancel_sends.pop(vo.order_id, None)
        if self.unsettled.pop(vo.order_id, None) is None:
            return
        self._decided(
            child,
            Plan(
                reason=f"settled {vo.order_id} at {vo.venue}: the venue answered, "
                f"{vo.filled} filled, {vo.cancelled} cancelled",
                considered=[vo.venue],
            ),
        )

    def _cancel_backoff(self, order_id: str) -> int:
        """Count a cancel sent for ``order_id``; the wait before sending it again doubles
        with every send, up to the cap."""
        sends = self._cancel_sends.get(order_id, 0) + 1
        self._cancel_sends[order_id] = sends
        cfg = self.config
        return min(cfg.cancel_retry_ns << min(sends - 1, 32), cfg.cancel_retry_max_ns)

    def _expire(self, child_id: str) -> None:
        self._close(self._children[child_id], "expired")

    def _retry(self, child_id: str) -> None:
        self._route(self._children[child_id])

    # ---------------------------------------------------------- parent input

    def _place_child(self, cmd: PlaceChildOrder) -> None:
        clash = self._clashes(cmd)
        if clash is not None:  # a known child id: a redelivery is ignored, a clash refused
            if clash:
                self._emit(
                    cmd.parent_id,
                    ChildOrderRejected(
                        parent_id=cmd.parent_id,
                        child_id=cmd.child_id,
                        reason="duplicate_child_id",
                        ts=self._now,
                    ),
                )
            return
        child = self._children[cmd.child_id] = Child(cmd=cmd, accepted_ns=self._now)
        problem = self._invalid(cmd)
        if problem:
            child.done = True
            self._emit(
                cmd.parent_id,
                ChildOrderRejected(
                    parent_id=cmd.parent_id, child_id=cmd.child_id, reason=problem, ts=self._now
                ),
            )
            self._emit(
                cmd.parent_id,
                ChildOrderDone(
                    parent_id=cmd.parent_id,
                    child_id=cmd.child_id,
                    filled=0,
                    cancelled=max(cmd.quantity, 0),
                    reason=f"rejected:{problem}",
                    ts=self._now,
                ),
            )
            self._let_go(child)
            return
        self._emit(
            cmd.parent_id,
            ChildOrderAccepted(parent_id=cmd.parent_id, child_id=cmd.child_id, ts=self._now),
        )
        if cmd.expire_at is not None:
            if cmd.expire_at <= self._now:
                self._close(child, "expired")
                return
            self._set_timer(("expire", cmd.child_id), cmd.expire_at)
        self._route(child)

    def _clashes(self, cmd: PlaceChildOrder) -> bool | None:
        """None for a new child id, else whether ``cmd`` differs from the one it came with."""
        known = self._children.get(cmd.child_id)
        if known is not None:
            return known.cmd != cmd
        gone = self._finished.get(cmd.child_id)
        return None if gone is None else gone.cmd_hash != hash(cmd)

    def _invalid(self, cmd: PlaceChildOrder) -> str:
        if cmd.quantity <= 0:
            return "bad_quantity"
        if cmd.quantity % self._lot(cmd.instrument):
            return "off_lot"
        if not self.venues:
            return "no_venues"
        return ""

    def _lot(self, instrument: str) -> int:
        inst = self.instruments.get(instrument)
        return inst.lot if inst else 1

    def _cancel_child(self, msg: CancelChildOrder) -> None:
        child = self._children.get(msg.child_id)
        if child is not None and not child.done:
            self._close(child, "cancelled")

    # ---------------------------------------------------------------- routing

    def _unrouted(self, child: Child) -> int:
        """Quantity to send now. Without over-allocation every live share counts, so open
        quantity never exceeds the remainder; with it, shares stuck at a down venue don't."""
        if not self.config.overallocate:
            return child.remaining - child.at_risk()
        skip = frozenset(
            v
            for v in self.venues
            if self.scorecard.status(v, child.cmd.instrument) is VenueStatus.DOWN
        )
        return child.remaining - child.at_risk(skip)

    def _route(self, child: Child) -> None:
        if child.done or child.closing:
            return
        unrouted = self._unrouted(child)
        if unrouted <= 0:
            return
        plan = self._plan(child, unrouted)
        if plan.give_up:
            self._decided(child, plan)
            self._close(child, "rejected")
            return
        if plan.wait:
            if not child.waiting:  # record the decision to wait once, not every retry
                self._decided(child, plan)
            child.waiting = True
            self._waiting[child.cmd.child_id] = child
            return
        child.waiting = False
        self._waiting.pop(child.cmd.child_id, None)
        for p in plan.placements:
            self._send(child, p.placement, p.timeout_ns)
        self._decided(child, plan)

    def _plan(self, child: Child, unrouted: int) -> Plan:
        """The planner's plan for ``unrouted`` shares. Suspect venues (an order there in
        an unknown state) are avoided like venues that rejected the child, while some
        other venue is left to route to."""
        inst = self.instruments.get(child.cmd.instrument)
        suspects = (
            self.suspects(child.cmd.instrument) - child.avoid if self.unsettled else frozenset()
        )
        if suspects and not set(self.venues) - child.avoid - suspects:
            suspects = frozenset()
        child.avoid |= suspects
        try:
            return self.planner.plan(
                child,
                self.market(child.cmd.instrument),
                unrouted,
                inst.lot if inst else 1,
                tick=inst.tick if inst else _DEFAULT_TICK,
                now_ns=self._now,
            )
        finally:
            child.avoid -= suspects

    def _send(self, child: Child, placement: VenuePlacement, timeout_ns: int | None) -> None:
        cmd = child.cmd
        oid = child.next_order_id()
        vo = VenueOrder(
            order_id=oid,
            child_id=cmd.child_id,
            venue=placement.venue,
            quantity=placement.quantity,
            order_type=placement.order_type,
            price=placement.price,
            tif=placement.tif,
            placed_ns=self._now,
        )
        child.orders[oid] = vo
        self._orders[oid] = child
        order = PlaceVenueOrder(
            venue=placement.venue,
            order_id=oid,
            parent_id=cmd.parent_id,
            child_id=cmd.child_id,
            instrument=cmd.instrument,
            side=cmd.side,
            quantity=placement.quantity,
            order_type=placement.order_type,
            price=placement.price,
            tif=placement.tif,
            post_only=placement.post_only,
            ts=self._now,
        )
        self.scorecard.record(order, self._now)
        self._emit(placement.venue, order)
        if timeout_ns is not None:
            self._set_timer(("timeout", oid), self._now + timeout_ns)

    # ---------------------------------------------------------------- cancels

    def _cancel(self, vo: VenueOrder, why: str) -> None:
        """Ask the venue to cancel; held until the ack if the order is not acked yet."""
        if not vo.live or vo.state is VenueOrderState.PENDING_CANCEL:
            return
        if vo.state is VenueOrderState.PENDING_NEW:
            vo.cancel_wanted = True
            # if the ack never comes, send the cancel anyway after cancel_retry_ns
            self._set_timer(("cancel", vo.order_id), self._now + self.config.cancel_retry_ns)
            return
        self._send_cancel(vo)

    def _send_cancel(self, vo: VenueOrder) -> None:
        vo.state = VenueOrderState.PENDING_CANCEL
        self._emit(vo.venue, CancelVenueOrder(venue=vo.venue, order_id=vo.order_id, ts=self._now))
        self._set_timer(("cancel", vo.order_id), self._now + self._cancel_backoff(vo.order_id))

    def _send_pull(self, vo: VenueOrder) -> None:
        """Cancel an order given up as unknown that the venue has after all. It stays done
        (its child counted it out), so the venue's answer is handled apart from live
        orders' (``_cancelled`` / ``_cancel_rejected``); until it comes, sent again."""
        self._emit(vo.venue, CancelVenueOrder(venue=vo.venue, order_id=vo.order_id, ts=self._now))
        self._set_timer(("cancel", vo.order_id), self._now + self._cancel_backoff(vo.order_id))

    def _close(self, child: Child, reason: str) -> None:
        """Wind the child down: cancel everything live, finish once all is terminal."""
        if child.done or child.closing:
            return
        child.closing = reason
        self._timers.pop(("retry", child.cmd.child_id), None)
        live = child.live_orders()
        for vo in live:
            self._cancel(vo, reason)
        if live:
            self._decided(
                child,
                Plan(
                    reason=f"cancel {len(live)} venue orders: child {reason}",
                    considered=sorted({vo.venue for vo in live}),
                ),
            )
        self._maybe_finish(child)

    def _order_done(
        self, child: Child, vo: VenueOrder, progressed: bool, reroute_now: bool
    ) -> None:
        vo.state = VenueOrderState.DONE
        if vo.filled:
            child.missed_takes = 0
        elif vo.tif is TimeInForce.IOC:
            child.missed_takes += 1
        self._timers.pop(("timeout", vo.order_id), None)
        self._timers.pop(("cancel", vo.order_id), None)
        self._settled(child, vo)
        if child.closing or child.done:
            self._maybe_finish(child)
            return
        if child.filled >= child.quantity:
            self._close(child, "filled")
            return
        if child.cmd.routing is not RoutingLogic.SEQUENTIAL and child.has_live():
            pass  # a sweep round re-routes its remainder once all its orders are settled
        elif progressed or reroute_now:
            self._route(child)
        elif self._unrouted(child) > 0 and ("retry", child.cmd.child_id) not in self._timers:
            # a round that filled nothing (e.g. an IOC into an empty book): pause, not spin
            self._set_timer(("retry", child.cmd.child_id), self._now + self.config.retry_delay_ns)
        self._maybe_finish(child)


_TIMER_ACTIONS = {
    "timeout": ChildRouting._timeout,
    "cancel": ChildRouting._cancel_again,
    "expire": ChildRouting._expire,
    "retry": ChildRouting._retry,
}
