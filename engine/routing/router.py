"""The smart order router, as a pure state machine the router actor wraps.

    router = Router(venue_configs, RouterConfig(...))
    out = router.handle(msg, now_ns)      # -> list[(destination, message)]
    wake = router.next_wake_ns()          # -> int | None: deliver TimerFired by then

Inputs: ``PlaceChildOrder`` / ``CancelChildOrder`` (from parents), ``VenueOrder*`` and
``VenueCancelRejected`` (from venues), ``MarketDataUpdated``, ``VenueStatusChanged`` and
``TimerFired`` (any key: the router fires every timer due at ``now_ns``).

Outputs (destination, message):
- venue commands (``PlaceVenueOrder``, ``CancelVenueOrder``) → the venue's name;
- child events (``ChildOrderAccepted/Rejected/Filled/Overfilled/Done``) → ``parent_id``;
- ``RouteDecided`` (every placement or cancel sweep, with reason and scorecard values) →
  ``config.decisions_to`` (default "journal").

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
as excess (``late_fill``), a stray ack of a rejected order pulled, anything else ignored.

After a restart: ``restore`` adopts children rebuilt from the journal, ``forward_fills``
reports venue fills the old instance heard but never reported, and ``reconcile`` asks
the venue to cancel every order that may still be live before routing anything (see
``engine.routing.recovery``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence

from engine.config import VenueConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    CancelChildOrder,
    CancelVenueOrder,
    ChildOrderAccepted,
    ChildOrderDone,
    ChildOrderFilled,
    ChildOrderOverfilled,
    ChildOrderRejected,
    MarketDataUpdated,
    Message,
    PlaceChildOrder,
    PlaceVenueOrder,
    RouteDecided,
    RoutingLogic,
    Side,
    TimeInForce,
    TimerFired,
    VenueCancelRejected,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueStatus,
    VenueStatusChanged,
)
from engine.routing.orders import (
    Child,
    FinishedChild,
    VenueOrder,
    VenueOrderState,
    fill_key,
    order_number,
)
from engine.routing.placement import Plan, Planner, RouterConfig, VenueInfo
from engine.routing.scorecard import Scorecard

Out = list[tuple[str, Message]]

__all__ = ["Router", "RouterConfig"]


class Router:
    def __init__(
        self,
        venues: Sequence[VenueConfig],
        config: RouterConfig = RouterConfig(),
        scorecard: Scorecard | None = None,
        instruments: Mapping[str, Instrument] | None = None,
    ) -> None:
        self.config = config
        self.scorecard = scorecard if scorecard is not None else Scorecard()
        self.instruments = dict(instruments or {})
        self.venues = {
            v.name: VenueInfo(v.name, v.kind, v.maker_fee, v.taker_fee)
            for v in sorted(venues, key=lambda v: v.name)
        }
        self.planner = Planner(config, self.venues, self.scorecard)
        self._children: dict[str, Child] = {}  # not yet finished, in arrival order
        self._finished: dict[str, FinishedChild] = {}  # done, every venue order final
        self.children = ChildTable(self._children, self._finished)
        self.decisions = 0  # RouteDecided emitted
        self.overfills = 0  # ChildOrderOverfilled emitted
        self.overfilled_shares = 0
        self.unaccounted_shares = 0  # reconciled after a restart: fills lost with the crash
        self._orders: dict[str, Child] = {}  # venue order id → its child
        self._waiting: dict[str, Child] = {}  # children with nowhere to route, in arrival order
        self._markets: dict[str, MarketView] = {}
        # (kind, child or venue order id) → due ns; the heap orders equal due times by key
        self._timers: dict[tuple[str, str], int] = {}
        self._heap: list[tuple[int, tuple[str, str]]] = []  # lazy: stale entries skipped
        self._out: Out = []
        self._now = 0

    # ------------------------------------------------------------- public API

    def handle(self, msg: Message, now_ns: int) -> Out:
        """Apply one input; return the messages to send, in order."""
        self._now = now_ns
        self._out = []
        handler = _DISPATCH.get(type(msg))
        if handler is not None:
            handler(self, msg)
        out, self._out = self._out, []
        return out

    def on_time(self, now_ns: int) -> Out:
        """Fire every timer due at ``now_ns`` (what a ``TimerFired`` delivery does)."""
        return self.handle(TimerFired(key="router", ts=now_ns), now_ns)

    def next_wake_ns(self) -> int | None:
        """When the router next needs ``on_time`` / a ``TimerFired``; None if never."""
        while self._heap and self._timers.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def market(self, instrument: str) -> MarketView:
        view = self._markets.get(instrument)
        if view is None:
            view = self._markets[instrument] = MarketView(instrument)
        return view

    def open_children(self) -> list[str]:
        return [cid for cid, c in self._children.items() if not c.done]

    @property
    def finished(self) -> int:
        """Children done and let go (only their ``FinishedChild`` is kept)."""
        return len(self._finished)

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

    def forward_fills(self, fills: Sequence[VenueOrderFilled], now_ns: int) -> Out:
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

    def reconcile(self, now_ns: int) -> Out:
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

    def _settle_reconciled(self, child: Child, vo: VenueOrder, answer: str) -> None:
        """The venue's terminal answer to a reconciling order. Links are FIFO, so every
        fill the venue sent before it has arrived by now: shares still missing traded
        (or were taken off) in messages the crash dropped. They cannot be asked for again
        (no venue replays them), so they are counted and written to the audit trail,
        never silently re-filled or reported with a made-up price."""
        lost = vo.quantity - vo.filled - vo.cancelled
        if lost <= 0:
            return
        vo.unaccounted = lost
        self.unaccounted_shares += lost
        self._decided(
            child,
            Plan(
                reason=f"reconcile {vo.order_id} at {vo.venue}: venue answered {answer}; "
                f"{lost} shares unaccounted for (lost with the restart)",
                considered=[vo.venue],
            ),
        )

    # ------------------------------------------------------------- emitting

    def _emit(self, dest: str, msg: Message) -> None:
        self._out.append((dest, msg))

    def _decided(self, child: Child, plan: Plan) -> None:
        """Journal a decision with its reason and scorecard values: the planner's, or for
        a decision made without it (cancel, keep, wait, give up) the values the venues it
        concerns had at that moment (every venue's if it names none)."""
        self.decisions += 1
        scorecard = plan.extra or self.scorecard.summaries(
            plan.considered or list(self.venues), child.cmd.instrument
        )
        self._emit(
            self.config.decisions_to,
            RouteDecided(
                parent_id=child.cmd.parent_id,
                child_id=child.cmd.child_id,
                logic=child.cmd.routing,
                placements=[p.placement for p in plan.placements],
                reason=plan.reason,
                scorecard=scorecard,
                ts=self._now,
            ),
        )

    # ---------------------------------------------------------------- timers

    def _set_timer(self, key: tuple[str, str], due: int) -> None:
        self._timers[key] = due
        heapq.heappush(self._heap, (due, key))
        if len(self._heap) > 2 * len(self._timers) + 64:
            # mostly stale (timers dropped before due): rebuild from the live ones; the
            # firing order is (due, key) either way
            self._heap = [(d, k) for k, d in self._timers.items()]
            heapq.heapify(self._heap)

    def _timer_fired(self, _msg: TimerFired) -> None:
        while (due := self.next_wake_ns()) is not None and due <= self._now:
            _, key = heapq.heappop(self._heap)
            del self._timers[key]
            _TIMER_ACTIONS[key[0]](self, key[1])

    def _timeout(self, order_id: str) -> None:
        child = self._orders[order_id]
        vo = child.orders[order_id]
        if not vo.live or child.closing:
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
        self._cancel(vo, "timeout")
        self._decided(
            child,
            Plan(
                reason=f"cancel {order_id} at {vo.venue}: resting timeout, re-route the rest",
                considered=[vo.venue],
            ),
        )

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
            self._send_cancel(vo)
        elif vo.pulling and not vo.final:
            self._send_pull(vo)

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
        plan = self.planner.plan(
            child, self.market(child.cmd.instrument), unrouted, self._lot(child.cmd.instrument)
        )
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

    def _send(self, child: Child, placement, timeout_ns: int | None) -> None:
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
        self._set_timer(("cancel", vo.order_id), self._now + self.config.cancel_retry_ns)

    def _send_pull(self, vo: VenueOrder) -> None:
        """Cancel an order given up as unknown that the venue has after all. It stays done
        (its child counted it out), so the venue's answer is handled apart from live
        orders' (``_cancelled`` / ``_cancel_rejected``); until it comes, sent again."""
        self._emit(vo.venue, CancelVenueOrder(venue=vo.venue, order_id=vo.order_id, ts=self._now))
        self._set_timer(("cancel", vo.order_id), self._now + self.config.cancel_retry_ns)

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

    def _maybe_finish(self, child: Child) -> None:
        if child.done or child.has_live():
            return
        if child.filled >= child.quantity:
            reason = "filled"
        elif child.closing:
            reason = child.closing
        else:
            return
        child.done = True
        cid = child.cmd.child_id
        self._timers.pop(("expire", cid), None)
        self._timers.pop(("retry", cid), None)
        self._emit(
            child.cmd.parent_id,
            ChildOrderDone(
                parent_id=child.cmd.parent_id,
                child_id=cid,
                filled=child.filled,
                cancelled=child.remaining,
                reason=reason,
                ts=self._now,
            ),
        )
        self._let_go(child)

    def _let_go(self, child: Child) -> None:
        """Drop a done child whose venue orders are all final for a ``FinishedChild``.
        Callers may still hold ``child``: only the tables forget it."""
        rejected = 0  # bit n: venue order n was rejected
        fills: list[int] = []
        for oid, vo in child.orders.items():
            if not vo.final:
                return  # given up as unknown, it may yet turn up: keep it to handle that
            n = order_number(oid)[1]
            if vo.rejected:
                rejected |= 1 << n
            fills.extend(fill_key(n, f) for f in vo.fill_ids)
        cmd = child.cmd
        cid = cmd.child_id
        self._finished[cid] = FinishedChild(
            parent_id=cmd.parent_id,
            cmd_hash=hash(cmd),
            filled=child.filled,
            orders=child.seq,
            rejected=rejected,
            fills=tuple(fills),
        )
        del self._children[cid]
        for oid in child.orders:
            del self._orders[oid]
            self._timers.pop(("timeout", oid), None)
            self._timers.pop(("cancel", oid), None)
        self._timers.pop(("expire", cid), None)
        self._timers.pop(("retry", cid), None)
        self._waiting.pop(cid, None)

    # ----------------------------------------------------------- venue input

    def _venue_order(self, order_id: str) -> tuple[Child, VenueOrder] | None:
        child = self._orders.get(order_id)
        return (child, child.orders[order_id]) if child is not None else None

    def _finished_order(self, order_id: str) -> tuple[FinishedChild, int] | None:
        """(finished child, order number) for a venue order of a child let go."""
        child_id, n = order_number(order_id)
        gone = self._finished.get(child_id)
        return (gone, n) if gone is not None and 0 < n <= gone.orders else None

    def _accepted(self, msg: VenueOrderAccepted) -> None:
        found = self._venue_order(msg.order_id)
        if found is None:
            if (gone := self._finished_order(msg.order_id)) is not None:
                self.scorecard.record(msg, self._now)
                if gone[0].rejected >> gone[1] & 1:  # as below: venue has it after all
                    self._emit(
                        msg.venue,
                        CancelVenueOrder(venue=msg.venue, order_id=msg.order_id, ts=self._now),
                    )
            return
        self.scorecard.record(msg, self._now)
        child, vo = found
        if vo.state is VenueOrderState.PENDING_NEW:
            vo.state = VenueOrderState.OPEN
            if vo.cancel_wanted:
                self._send_cancel(vo)
        elif not vo.live and not vo.settled:
            if vo.rejected:  # refused, yet acked: pull it, as for a child let go (below)
                self._emit(
                    vo.venue, CancelVenueOrder(venue=vo.venue, order_id=vo.order_id, ts=self._now)
                )
            elif not vo.pulling:
                # we gave it up as unknown, yet the venue has it: pull it (any fill is
                # excess), recorded and retried like any cancel until the venue answers
                vo.pulling = True
                self._send_pull(vo)
                self._decided(
                    child,
                    Plan(
                        reason=f"cancel {vo.order_id} at {vo.venue}: given up as unknown, "
                        "yet the venue acked it; pull it (any fill is excess)",
                        considered=[vo.venue],
                    ),
                )

    def _rejected(self, msg: VenueOrderRejected) -> None:
        found = self._venue_order(msg.order_id)
        if found is None or not found[1].live:
            return
        self.scorecard.record(msg, self._now)
        child, vo = found
        if msg.reason != "venue_down":  # a down venue is avoided through its status
            child.avoid.add(vo.venue)
        child.last_reject = f"{vo.venue}:{msg.reason}"
        vo.rejected = True
        self._order_done(child, vo, progressed=False, reroute_now=True)

    def _filled(self, msg: VenueOrderFilled) -> None:
        found = self._venue_order(msg.order_id)
        if found is None:
            self._filled_finished(msg)
            return
        if msg.fill_id in found[1].fill_ids:
            return  # a redelivered fill
        self.scorecard.record(msg, self._now)
        child, vo = found
        was_done = child.done
        vo.fill_ids.add(msg.fill_id)
        vo.filled += msg.quantity
        self._report_fill(child, vo, msg)
        if vo.live and vo.settled:
            self._order_done(child, vo, progressed=True, reroute_now=True)
        elif child.filled >= child.quantity:
            self._close(child, "filled")  # target met: cancel the rest (parallel sweep)
        if vo.pulling and vo.final:
            self._timers.pop(("cancel", vo.order_id), None)
        if was_done:
            self._let_go(child)  # the fill may have settled an order given up as unknown

    def _filled_finished(self, msg: VenueOrderFilled) -> None:
        """A fill for a child let go: excess, exactly as for a done child (never hidden),
        unless it is a redelivery. A fill for an order that was never ours is ignored."""
        gone = self._finished_order(msg.order_id)
        if gone is None:
            return
        finished, n = gone
        key = fill_key(n, msg.fill_id)
        if key in finished.fills:
            return
        self.scorecard.record(msg, self._now)
        finished.fills += (key,)
        self._report_late_fill(finished, msg.order_id, msg)

    def _report_late_fill(
        self, finished: FinishedChild, order_id: str, msg: VenueOrderFilled
    ) -> None:
        """``_report_fill`` for a done child: every share is excess."""
        if not msg.quantity:
            return
        self.overfills += 1
        self.overfilled_shares += msg.quantity
        self._emit(
            finished.parent_id,
            ChildOrderOverfilled(
                parent_id=finished.parent_id,
                child_id=order_number(order_id)[0],
                fill_id=msg.fill_id,
                venue=msg.venue,
                quantity=msg.quantity,
                price=msg.price,
                liquidity=msg.liquidity,
                fee=msg.fee,
                reason="late_fill",
                ts=self._now,
            ),
        )

    def _report_fill(self, child: Child, vo: VenueOrder, msg: VenueOrderFilled) -> None:
        cmd = child.cmd
        inside = 0 if child.done else min(msg.quantity, child.remaining)
        excess = msg.quantity - inside
        fee_inside = msg.fee * inside // msg.quantity if msg.quantity else 0
        if inside:
            child.filled += inside
            self._emit(
                cmd.parent_id,
                ChildOrderFilled(
                    parent_id=cmd.parent_id,
                    child_id=cmd.child_id,
                    fill_id=msg.fill_id,
                    venue=vo.venue,
                    quantity=inside,
                    price=msg.price,
                    liquidity=msg.liquidity,
                    fee=fee_inside,
                    leaves=child.remaining,
                    ts=self._now,
                ),
            )
        if excess:
            child.excess += excess
            self.overfills += 1
            self.overfilled_shares += excess
            self._emit(
                cmd.parent_id,
                ChildOrderOverfilled(
                    parent_id=cmd.parent_id,
                    child_id=cmd.child_id,
                    fill_id=msg.fill_id,
                    venue=vo.venue,
                    quantity=excess,
                    price=msg.price,
                    liquidity=msg.liquidity,
                    fee=msg.fee - fee_inside,
                    reason="late_fill" if child.done else "overallocation",
                    ts=self._now,
                ),
            )

    def _cancelled(self, msg: VenueOrderCancelled) -> None:
        found = self._venue_order(msg.order_id)
        if found is None:
            return
        if not found[1].live:
            self._cancelled_done(found[0], found[1], msg)
            return
        self.scorecard.record(msg, self._now)
        child, vo = found
        vo.cancelled += msg.cancelled
        if not vo.settled:
            if not vo.reconciling:
                return  # the venue filled the rest: those fills are still in flight
            self._settle_reconciled(child, vo, "cancelled")
        # our own timeout moves on at once; an IOC remainder waits unless the fill moved us
        ours = vo.state is VenueOrderState.PENDING_CANCEL or self.planner.untried(child)
        self._order_done(child, vo, progressed=vo.filled > 0, reroute_now=ours)

    def _cancelled_done(self, child: Child, vo: VenueOrder, msg: VenueOrderCancelled) -> None:
        """The venue took shares off an order the router is done with. Only an order not
        final can still be settled by that: one given up as unknown, which the venue had
        after all (it was pulled on its late ack, or cancelled by the venue itself). Its
        shares are counted, so once every share is filled or taken off the order is
        final and its done child is let go (before, the answer was dropped and the child
        was held for good)."""
        if vo.final:
            return  # its last word was said already
        self.scorecard.record(msg, self._now)
        vo.cancelled += msg.cancelled
        self._timers.pop(("cancel", vo.order_id), None)  # the pull is answered
        if vo.final and child.done:
            self._let_go(child)

    def _cancel_rejected(self, msg: VenueCancelRejected) -> None:
        found = self._venue_order(msg.order_id)
        if found is None:
            return
        if not found[1].live:
            vo = found[1]
            if vo.pulling and msg.reason in ("too_late", "unknown_order"):
                # the pull is answered: done at the venue (its fills are on their way), or
                # not known there after all; either way nothing to ask again
                self._timers.pop(("cancel", vo.order_id), None)
            return
        self.scorecard.record(msg, self._now)
        child, vo = found
        if msg.reason == "too_late" and vo.reconciling:
            self._settle_reconciled(child, vo, "too_late")
            self._order_done(child, vo, progressed=vo.filled > 0, reroute_now=True)
        elif msg.reason == "too_late":
            vo.too_late = True  # done at the venue: its fills are in flight, wait for them
            self._timers.pop(("cancel", vo.order_id), None)
        elif msg.reason == "unknown_order":
            # the venue never had it (or forgot it): nothing can fill any more — unless the
            # order itself may still be in flight, then keep waiting for its ack
            if vo.state is not VenueOrderState.PENDING_NEW or (
                self._now - vo.placed_ns >= self.config.cancel_retry_ns
            ):
                self._order_done(child, vo, progressed=vo.filled > 0, reroute_now=True)
        # "venue_down" and others: the cancel timer sends it again (and so does venue up)

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

    # ---------------------------------------------------- market and status

    def _market_data(self, msg: MarketDataUpdated) -> None:
        before = self.scorecard.reported(msg.venue)
        self.market(msg.instrument).update(msg)
        self.scorecard.record(msg, self._now)
        if msg.venue not in self.venues:  # discovered from market data: default fees
            self.venues[msg.venue] = VenueInfo(msg.venue, msg.kind, *_DEFAULT_FEES)
            self.venues = dict(sorted(self.venues.items()))
            self.planner.venues = self.venues
        mid = self.market(msg.instrument).mid()
        if mid is not None:
            self.scorecard.mark(msg.instrument, mid, self._now)
        self._status_moved(msg.venue, before, msg.status, msg.instrument)

    def _status_changed(self, msg: VenueStatusChanged) -> None:
        before = self.scorecard.reported(msg.venue)
        self.scorecard.record(msg, self._now)
        self._status_moved(msg.venue, before, msg.status, None)

    def _status_moved(
        self, venue: str, before: VenueStatus, after: VenueStatus, instrument: str | None
    ) -> None:
        if after is VenueStatus.DOWN and before is not VenueStatus.DOWN:
            self._venue_down(venue)
        if after is not VenueStatus.DOWN and before is VenueStatus.DOWN:
            self._venue_up(venue)
        # waiting children get another chance on any news for their instrument
        for child in list(self._waiting.values()):
            if child.done or child.closing:
                self._waiting.pop(child.cmd.child_id, None)
            elif instrument is None or child.cmd.instrument == instrument:
                self._route(child)

    def _venue_down(self, venue: str) -> None:
        """Pull everything from a venue that went down (mid-sweep too)."""
        for child in [c for c in self._children.values() if not c.done]:
            stranded = [vo for vo in child.live_orders() if vo.venue == venue]
            for vo in stranded:
                self._cancel(vo, "venue_down")
            if stranded:
                self._decided(
                    child,
                    Plan(
                        reason=f"cancel {len(stranded)} at {venue}: venue down", considered=[venue]
                    ),
                )
                if self.config.overallocate:
                    self._route(child)  # re-route the stranded shares now: excess if both fill

    def _venue_up(self, venue: str) -> None:
        """Cancels the down venue could not take are sent again."""
        for child in [c for c in self._children.values() if not c.done]:
            for vo in child.live_orders():
                if (
                    vo.venue == venue
                    and vo.state is VenueOrderState.PENDING_CANCEL
                    and not vo.too_late
                ):
                    self._send_cancel(vo)


class ChildTable(Mapping[str, "Child | FinishedChild"]):
    """``router.children``: iterates (and counts) the children the router still holds,
    i.e. every one not finished, in arrival order. A finished child it let go still
    resolves by id, to its ``FinishedChild`` (``done``, ``filled``), so a caller holding
    an id can ask how it ended; ``Router.finished`` counts them."""

    __slots__ = ("_finished", "_held")

    def __init__(self, held: dict[str, Child], finished: dict[str, FinishedChild]) -> None:
        self._held = held
        self._finished = finished

    def __getitem__(self, child_id: str) -> Child | FinishedChild:
        child = self._held.get(child_id)
        return child if child is not None else self._finished[child_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._held)

    def __len__(self) -> int:
        return len(self._held)


_DEFAULT_FEES = (VenueConfig(name="_").maker_fee, VenueConfig(name="_").taker_fee)

_DISPATCH = {
    PlaceChildOrder: Router._place_child,
    CancelChildOrder: Router._cancel_child,
    VenueOrderAccepted: Router._accepted,
    VenueOrderRejected: Router._rejected,
    VenueOrderFilled: Router._filled,
    VenueOrderCancelled: Router._cancelled,
    VenueCancelRejected: Router._cancel_rejected,
    MarketDataUpdated: Router._market_data,
    VenueStatusChanged: Router._status_changed,
    TimerFired: Router._timer_fired,
}

_TIMER_ACTIONS = {
    "timeout": Router._timeout,
    "cancel": Router._cancel_again,
    "expire": Router._expire,
    "retry": Router._retry,
}
