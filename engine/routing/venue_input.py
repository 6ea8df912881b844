"""The router's venue side: venue order events, market data and venue status (see
``engine.routing.tables`` for the layers)."""

from __future__ import annotations

from engine.config import VenueConfig
from engine.messages import (
    CancelVenueOrder,
    ChildOrderFilled,
    ChildOrderOverfilled,
    MarketDataUpdated,
    VenueCancelRejected,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueOrderStatus,
    VenueOrderStatusRequest,
    VenueStatus,
    VenueStatusChanged,
)
from engine.routing.child_routing import ChildRouting
from engine.routing.orders import (
    Child,
    FinishedChild,
    VenueOrder,
    VenueOrderState,
    fill_key,
    order_number,
)
from engine.routing.plan import Plan, VenueInfo

POST_ONLY_WOULD_CROSS = "post_only_would_cross"  # the venue refused to let a post-only take
DUPLICATE_ORDER_ID = "duplicate_order_id"  # a copy of an order the venue has: not its end


class VenueInput(ChildRouting):
    """What the router does with what venues tell it: order events, market data, status."""

    # ----------------------------------------------------------- venue orders

    def _accepted(self, msg: VenueOrderAccepted) -> None:
        found = self._venue_order(msg.order_id)
        if found is None:
            if (gone := self._finished_order(msg.order_id)) is not None:
                self.scorecard.record(msg, self._now)
                finished, n = gone
                if finished.rejected and n in finished.rejected:  # as below: venue has it
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
        if found is None or not found[1].live or msg.reason == DUPLICATE_ORDER_ID:
            # ids are unique per order, so the venue refused a copy (a link redelivered
            # the order): the original stands and its own answer comes on its own
            return
        self.scorecard.record(msg, self._now)
        child, vo = found
        vo.rejected = True
        if msg.reason == POST_ONLY_WOULD_CROSS:
            self._post_only_refused(child, vo)
            return
        if msg.reason != "venue_down":  # a down venue is avoided through its status
            child.avoid.add(vo.venue)
        child.last_reject = f"{vo.venue}:{msg.reason}"
        self._order_done(child, vo, progressed=False, reroute_now=True)

    def _post_only_refused(self, child: Child, vo: VenueOrder) -> None:
        """The venue's book moved through our price since the quote we priced from: the
        venue did right, our view of it was stale. That quote is set aside until the
        venue's next update, and the child is routed again at once (elsewhere, or it
        waits for market data)."""
        self.market(child.cmd.instrument).outdate(vo.venue)
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
        if vo.live and msg.leaves + vo.filled + vo.cancelled < vo.quantity:
            self._ask_status(vo)  # the venue has filled more than we heard of
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
        self._settle_rejected(finished, n, msg.quantity)
        self._report_late_fill(finished, msg.order_id, msg)

    @staticmethod
    def _settle_rejected(finished: FinishedChild, n: int, shares: int) -> None:
        """Count a late fill of rejected venue order n against its shares: once every
        share is filled or taken off, nothing of it can be live, and a later ack (older
        than the fills, links reorder) is not pulled, as for a child still held."""
        rejected = finished.rejected
        if rejected is None or n not in rejected:
            return
        rejected[n] -= shares
        if rejected[n] <= 0:
            del rejected[n]
            if not rejected:
                finished.rejected = None

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
                # the venue filled the rest: those fills are in flight, or lost on the way
                self._ask_status(vo)
                return
            self._settle_reconciled(child, vo, "cancelled")
        # our own timeout moves on at once; an IOC remainder waits unless the fill moved us
        ours = vo.state is VenueOrderState.PENDING_CANCEL or self.planner.untried(child)
        self._order_done(child, vo, progressed=vo.filled > 0, reroute_now=ours)

    def _cancelled_done(self, child: Child, vo: VenueOrder, msg: VenueOrderCancelled) -> None:
        """The venue took shares off an order the router is done with. Only an order not
        final can still be settled by that: one given up as unknown, which the venue had
        after all (it was pulled on its late ack, or cancelled by the venue itself). Its
        shares are counted, so once every share is filled or taken off the order is
        final and its done child is let go (else the child would be held for good)."""
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
            vo.too_late = True  # done at the venue: its fills are in flight, or lost
            self._timers.pop(("cancel", vo.order_id), None)
            if not vo.settled:
                self._ask_status(vo)
        elif msg.reason == "unknown_order" and (
            # the venue never had it (or forgot it): nothing can fill any more — unless the
            # order itself may still be in flight, then keep waiting for its ack
            vo.state is not VenueOrderState.PENDING_NEW
            or self._now - vo.placed_ns >= self.config.cancel_retry_ns
        ):
            self._order_done(child, vo, progressed=vo.filled > 0, reroute_now=True)
        # "venue_down" and others: the cancel timer sends it again (and so does venue up)

    def _ask_status(self, vo: VenueOrder) -> None:
        """The venue has done more with the order than we heard of: ask it where the
        order stands (once at a time); its answer lists every fill it sent."""
        if vo.status_asked:
            return
        vo.status_asked = True
        self._emit(
            vo.venue,
            VenueOrderStatusRequest(venue=vo.venue, order_id=vo.order_id, ts=self._now),
        )

    def _escalate_if_unanswered(self, child: Child, vo: VenueOrder) -> None:
        """A cancel went unanswered: besides sending it again, ask where the order
        stands (the venue may be dropping cancels, or its answers may be lost)."""
        super()._escalate_if_unanswered(child, vo)
        vo.status_asked = False  # ask again: an earlier question may have been lost too
        self._ask_status(vo)

    def _order_status(self, msg: VenueOrderStatus) -> None:
        """The venue's fills of the order, each booked unless already heard (by fill id,
        so a fill merely delayed is not booked twice when it turns up): what a lost
        message took away is booked at the venue's own price, liquidity and fee. An
        order the venue says is over is then over here too."""
        found = self._venue_order(msg.order_id)
        if found is not None:
            found[1].status_asked = False
        for fill in msg.fills:
            self._filled(fill)
        found = self._venue_order(msg.order_id)
        if found is not None and found[1].live and msg.state != "live":
            self._over_at_venue(found[0], found[1], msg.state)

    def _over_at_venue(self, child: Child, vo: VenueOrder, state: str) -> None:
        """Done at the venue with every fill booked: the shares left were taken off (their
        cancel may be lost or still on its way). Unknown there: nothing can fill, unless
        the order itself may still be in flight (as for an ``unknown_order`` reject)."""
        if state == "unknown" and (
            vo.state is VenueOrderState.PENDING_NEW
            and self._now - vo.placed_ns < self.config.cancel_retry_ns
        ):
            return
        vo.cancelled += max(vo.quantity - vo.filled - vo.cancelled, 0)
        self._order_done(child, vo, progressed=vo.filled > 0, reroute_now=True)

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

    # ---------------------------------------------------- market and status

    def _market_data(self, msg: MarketDataUpdated) -> None:
        before = self.scorecard.reported(msg.venue, msg.instrument)
        self.market(msg.instrument).update(msg)
        self.scorecard.record(msg, self._now)
        if msg.venue not in self.venues:  # discovered from market data: default fees
            self.venues[msg.venue] = VenueInfo(
                name=msg.venue,
                kind=msg.kind,
                maker_fee=_DEFAULT.maker_fee,
                taker_fee=_DEFAULT.taker_fee,
            )
            self.venues = dict(sorted(self.venues.items()))
            self.planner.venues = self.venues
        mid = self.market(msg.instrument).mid()
        if mid is not None:
            self.scorecard.mark(msg.instrument, mid, self._now)
        self._status_moved(msg.venue, before, msg.status, msg.instrument)

    def _status_changed(self, msg: VenueStatusChanged) -> None:
        """A venue's book says its status: it concerns that book's instrument alone (a
        status without an instrument concerns every instrument routed there)."""
        venue, card = msg.venue, self.scorecard
        if msg.instrument is not None:
            instruments = [msg.instrument]
        else:
            known = {c.cmd.instrument for c in self._children.values()}
            instruments = sorted(known.union(self.instruments, card.instruments_at(venue)))
        before = [card.reported(venue, i) for i in instruments]
        card.record(msg, self._now)
        for instrument, was in zip(instruments, before, strict=True):
            self._status_moved(venue, was, msg.status, instrument)

    def _status_moved(
        self, venue: str, before: VenueStatus, after: VenueStatus, instrument: str
    ) -> None:
        """``venue``'s status for ``instrument`` moved (or was said again)."""
        if after is VenueStatus.DOWN and before is not VenueStatus.DOWN:
            self._venue_down(venue, instrument)
        if after is not VenueStatus.DOWN and before is VenueStatus.DOWN:
            self._venue_up(venue, instrument)
        # waiting children get another chance on any news for their instrument
        for child in list(self._waiting.values()):
            if child.done or child.closing:
                self._waiting.pop(child.cmd.child_id, None)
            elif child.cmd.instrument == instrument:
                self._route(child)

    def _venue_down(self, venue: str, instrument: str) -> None:
        """Pull everything of ``instrument`` from a venue that went down for it (mid-sweep
        too)."""
        for child in [c for c in self._children.values() if not c.done]:
            if child.cmd.instrument != instrument:
                continue
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

    def _venue_up(self, venue: str, instrument: str) -> None:
        """Cancels the down venue could not take are sent again."""
        for child in [c for c in self._children.values() if not c.done]:
            if child.cmd.instrument != instrument:
                continue
            for vo in child.live_orders():
                if (
                    vo.venue == venue
                    and vo.state is VenueOrderState.PENDING_CANCEL
                    and not vo.too_late
                ):
                    self._send_cancel(vo)


_DEFAULT = VenueConfig(name="_")  # the fees of a venue known only from its market data
