"""Rebuild a ``Router`` from the audit trail after its actor restarts (event sourcing).

The router's state is a function of what it was told and what it said, and the journal
holds both, each message journaled once, by its sender:

- told by parents (journaled by them when sent): ``PlaceChildOrder``, ``CancelChildOrder``;
- said by the router (journaled when sent): ``PlaceVenueOrder``, ``CancelVenueOrder``,
  ``ChildOrderAccepted/Rejected/Filled/Overfilled/Done``; and ``SubscribeMarketData``;
- told by venues (journaled by the venue when it *sends* them): ``VenueOrderAccepted/
  Rejected/Filled/Cancelled/Replaced``, ``VenueCancelRejected``.

So the journal knows every command a parent sent and every event a venue sent, even
one the crash dropped: the one the router died on, the rest of its inbox (the runtime
dead-letters them) and those still in flight at the restart. Recovery applies all of
them: a venue order's fills and cancels are what the venue said, fills the old instance
never reported are reported now, exactly once. The restarted actor ignores a later
delivery of an event recovery already applied (``RouterHistory.venue_event_ids``: the
router is idempotent on message ids). In simulation the runtime writes a wave's records
before the supervisor restarts anyone, so nothing a venue sent before the restart is
missing.

Venue orders the journal still shows live are then reconciled by cancel before the
router acts (``Router.reconcile``): the venue's terminal answer settles each of them.
Shares that answer leaves unexplained can only come from messages genuinely lost (not
journaled: e.g. a venue that itself crashed); they are counted as unaccounted
(``Router.unaccounted_shares``), written to the audit trail, and the child's remainder
is routed again. Every child thus still reaches exactly one ``ChildOrderDone``.

The fold does not rely on the order of records from different actors (the simulated
runtime writes a wave's records sorted by actor id): it keeps sets and sums, and only
orders records one actor journaled (a parent's commands, the router's venue orders).
One router per journal is assumed (the engine runs one): router records carry no
router name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.audit.trail import AuditTrail
from engine.clock import MINUTE
from engine.contract import Outbox
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
    ScorecardSaved,
    SubscribeMarketData,
    Tactic,
    TimeInForce,
    UnsubscribeMarketData,
    VenueCancelRejected,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueOrderReplaced,
    VenueStatusChanged,
)
from engine.routing.orders import Child, LiquidityPhase, VenueOrder, VenueOrderState
from engine.routing.router import Router
from engine.routing.scorecard import Scorecard

# What recovery reads: the journal query can fetch exactly these types.
RECORD_TYPES: tuple[type[Message], ...] = (
    PlaceChildOrder,
    CancelChildOrder,
    ChildOrderAccepted,
    ChildOrderRejected,
    ChildOrderFilled,
    ChildOrderOverfilled,
    ChildOrderDone,
    PlaceVenueOrder,
    CancelVenueOrder,
    VenueOrderAccepted,
    VenueOrderRejected,
    VenueOrderFilled,
    VenueOrderCancelled,
    VenueCancelRejected,
    VenueOrderReplaced,
    SubscribeMarketData,
    UnsubscribeMarketData,
)
_VENUE_EVENTS = (
    VenueOrderAccepted,
    VenueOrderRejected,
    VenueOrderFilled,
    VenueOrderCancelled,
    VenueCancelRejected,
    VenueOrderReplaced,
)


@dataclass(slots=True)
class RouterHistory:
    """Everything the journal says about the router, folded into maps and sets."""

    commands: dict[str, PlaceChildOrder] = field(default_factory=dict)  # child id → cmd
    cancels: dict[str, CancelChildOrder] = field(default_factory=dict)  # first per child
    accepted: dict[str, int] = field(default_factory=dict)  # child id → accepted at (ns)
    finished: set[str] = field(default_factory=set)  # ChildOrderDone, or ChildOrderRejected
    # child id → {fill key: shares}, as reported in ChildOrderFilled / ChildOrderOverfilled
    reported: dict[str, dict[str, int]] = field(default_factory=dict)
    excess: dict[str, dict[str, int]] = field(default_factory=dict)
    placed: dict[str, PlaceVenueOrder] = field(default_factory=dict)  # order id → order
    cancel_sends: dict[str, int] = field(default_factory=dict)  # order id → cancels sent
    venue_accepted: set[str] = field(default_factory=set)
    venue_rejected: dict[str, VenueOrderRejected] = field(default_factory=dict)
    venue_fills: dict[str, dict[str, VenueOrderFilled]] = field(default_factory=dict)
    venue_cancelled: dict[str, dict[int, int]] = field(default_factory=dict)  # by msg id
    # (subscriber, instrument) in subscription order; None: every instrument
    subscribers: list[tuple[str, str | None]] = field(default_factory=list)
    unsubscribed: list[str] = field(default_factory=list)  # gone for good
    # msg ids of every venue event journaled: applied here, so a delivery after the
    # restart (the event was in flight) is a redelivery
    venue_event_ids: set[int] = field(default_factory=set)


def fold(messages: Iterable[Message]) -> RouterHistory:
    """Fold the router's journal records (other records are skipped)."""
    h = RouterHistory()
    for msg in messages:
        if isinstance(msg, _VENUE_EVENTS):
            h.venue_event_ids.add(msg.msg_id)
        handler = _FOLD.get(type(msg))
        if handler is not None:
            handler(h, msg)
    return h


def _fill_key(venue: str, fill_id: str) -> str:
    # Venue fill ids are unique per venue session only (a restarted venue counts again),
    # hence keyed per child and venue.
    return f"{venue}|{fill_id}"


def _fold_command(h: RouterHistory, msg: PlaceChildOrder) -> None:
    h.commands.setdefault(msg.child_id, msg)  # a clashing duplicate was refused


def _fold_cancel(h: RouterHistory, msg: CancelChildOrder) -> None:
    h.cancels.setdefault(msg.child_id, msg)


def _fold_accepted(h: RouterHistory, msg: ChildOrderAccepted) -> None:
    h.accepted.setdefault(msg.child_id, msg.ts)


def _fold_rejected(h: RouterHistory, msg: ChildOrderRejected) -> None:
    if msg.reason != "duplicate_child_id":  # refusing a clash leaves the original alone
        h.finished.add(msg.child_id)


def _fold_done(h: RouterHistory, msg: ChildOrderDone) -> None:
    h.finished.add(msg.child_id)


def _fold_reported(h: RouterHistory, msg: ChildOrderFilled) -> None:
    h.reported.setdefault(msg.child_id, {})[_fill_key(msg.venue, msg.fill_id)] = msg.quantity


def _fold_excess(h: RouterHistory, msg: ChildOrderOverfilled) -> None:
    h.excess.setdefault(msg.child_id, {})[_fill_key(msg.venue, msg.fill_id)] = msg.quantity


def _fold_placed(h: RouterHistory, msg: PlaceVenueOrder) -> None:
    h.placed.setdefault(msg.order_id, msg)


def _fold_venue_cancel(h: RouterHistory, msg: CancelVenueOrder) -> None:
    h.cancel_sends[msg.order_id] = h.cancel_sends.get(msg.order_id, 0) + 1


def _fold_venue_accepted(h: RouterHistory, msg: VenueOrderAccepted) -> None:
    h.venue_accepted.add(msg.order_id)


def _fold_venue_rejected(h: RouterHistory, msg: VenueOrderRejected) -> None:
    h.venue_rejected.setdefault(msg.order_id, msg)


def _fold_venue_fill(h: RouterHistory, msg: VenueOrderFilled) -> None:
    h.venue_fills.setdefault(msg.order_id, {}).setdefault(msg.fill_id, msg)


def _fold_venue_cancelled(h: RouterHistory, msg: VenueOrderCancelled) -> None:
    h.venue_cancelled.setdefault(msg.order_id, {})[msg.msg_id] = msg.cancelled


def _fold_subscribe(h: RouterHistory, msg: SubscribeMarketData) -> None:
    if (msg.subscriber, msg.instrument) not in h.subscribers:
        h.subscribers.append((msg.subscriber, msg.instrument))


def _fold_unsubscribe(h: RouterHistory, msg: UnsubscribeMarketData) -> None:
    if msg.subscriber not in h.unsubscribed:
        h.unsubscribed.append(msg.subscriber)


_FOLD: dict[type[Message], Callable[[RouterHistory, Any], None]] = {
    PlaceChildOrder: _fold_command,
    CancelChildOrder: _fold_cancel,
    ChildOrderAccepted: _fold_accepted,
    ChildOrderRejected: _fold_rejected,
    ChildOrderDone: _fold_done,
    ChildOrderFilled: _fold_reported,
    ChildOrderOverfilled: _fold_excess,
    PlaceVenueOrder: _fold_placed,
    CancelVenueOrder: _fold_venue_cancel,
    VenueOrderAccepted: _fold_venue_accepted,
    VenueOrderRejected: _fold_venue_rejected,
    VenueOrderFilled: _fold_venue_fill,
    VenueOrderCancelled: _fold_venue_cancelled,
    SubscribeMarketData: _fold_subscribe,
    UnsubscribeMarketData: _fold_unsubscribe,
    # no VenueCancelRejected / VenueOrderReplaced: reconcile asks every unsettled order
    # again anyway, and the router sends no replaces
}


# ----------------------------------------------------------------- rebuilding children


def rebuild_children(h: RouterHistory, now_ns: int) -> list[Child]:
    """The children the old instance accepted, in arrival order, as the journal left
    them. A child it never answered is not here: ``recover`` hands its command to the
    router as new input."""
    by_child: dict[str, list[PlaceVenueOrder]] = {}
    for order in h.placed.values():  # one pass, not one scan per child
        by_child.setdefault(order.child_id, []).append(order)
    return [
        _child(h, cmd, by_child.get(cid, []), now_ns)
        for cid, cmd in h.commands.items()
        if cid in h.accepted or cid in h.finished
    ]


def _child(
    h: RouterHistory, cmd: PlaceChildOrder, placed: list[PlaceVenueOrder], now_ns: int
) -> Child:
    cid = cmd.child_id
    child = Child(cmd=cmd, accepted_ns=h.accepted.get(cid, cmd.ts))
    child.filled = sum(h.reported.get(cid, {}).values())
    child.excess = sum(h.excess.get(cid, {}).values())
    child.done = cid in h.finished
    for order in placed:
        child.orders[order.order_id] = _venue_order(h, order, child.done)
        child.seq = max(child.seq, _order_number(order.order_id))
    _restore_routing_memory(h, child)
    if not child.done:
        child.closing = _closing(h, cmd, now_ns)
    return child


def _venue_order(h: RouterHistory, order: PlaceVenueOrder, child_done: bool) -> VenueOrder:
    fills = h.venue_fills.get(order.order_id, {})
    vo = VenueOrder(
        order_id=order.order_id,
        child_id=order.child_id,
        venue=order.venue,
        quantity=order.quantity,
        order_type=order.order_type,
        price=order.price,
        tif=order.tif,
        placed_ns=order.ts,
        filled=sum(f.quantity for f in fills.values()),
        cancelled=sum(h.venue_cancelled.get(order.order_id, {}).values()),
        fill_ids=set(fills),
    )
    vo.rejected = order.order_id in h.venue_rejected  # final: the router lets it go
    # Live unless the journal proves it over; a done child has nothing live by the
    # router's own rule (it gave up unknown orders). What is live gets reconciled.
    if child_done or vo.rejected or vo.settled:
        vo.state = VenueOrderState.DONE
    elif order.order_id in h.venue_accepted:
        vo.state = VenueOrderState.OPEN
    return vo


def _restore_routing_memory(h: RouterHistory, child: Child) -> None:
    """What the planner remembers per child: venues that rejected it, the IOC misses in
    a row, the liquidity phase. The sequential cycle (``tried``) starts afresh."""
    for vo in child.orders.values():
        rejected = h.venue_rejected.get(vo.order_id)
        if rejected is not None:
            if rejected.reason != "venue_down":
                child.avoid.add(vo.venue)
            child.last_reject = f"{vo.venue}:{rejected.reason}"
        if vo.live:
            continue
        if vo.filled:
            child.missed_takes = 0
        elif vo.tif is TimeInForce.IOC:
            child.missed_takes += 1
    if child.orders and child.cmd.tactic is not Tactic.MIDPOINT:
        child.phase = LiquidityPhase.LIT  # its one dark probe is behind it


def _closing(h: RouterHistory, cmd: PlaceChildOrder, now_ns: int) -> str | None:
    if cmd.child_id in h.cancels:
        return "cancelled"
    if cmd.expire_at is not None and cmd.expire_at <= now_ns:
        return "expired"
    return None


def _order_number(order_id: str) -> int:
    _, _, tail = order_id.rpartition("-V")
    return int(tail) if tail.isdigit() else 0


def unforwarded_fills(h: RouterHistory) -> list[VenueOrderFilled]:
    """Venue fills the journal holds but the old instance never reported to the parent
    (it died handling them, they were dropped with its inbox, or they are still in
    flight): reported now, exactly once, in the order they were journaled."""
    out = []
    for order_id, fills in h.venue_fills.items():
        order = h.placed.get(order_id)
        if order is None:
            continue  # not ours
        for fill in fills.values():
            key = _fill_key(order.venue, fill.fill_id)
            if key not in h.reported.get(order.child_id, {}) and key not in h.excess.get(
                order.child_id, {}
            ):
                out.append(fill)
    return out


# ------------------------------------------------------------------------- recovery


def recover(router: Router, h: RouterHistory, now_ns: int) -> Outbox:
    """Rebuild ``router`` (fresh, with its restored scorecard) from ``h``, then reconcile
    before acting. Finished children whose venue orders are all final are let go at once
    (``Router.restore``), as the old instance had. Returns what to send, in order:

    1. venue fills journaled but never reported, so the parent hears of every one;
    2. a cancel for every venue order that may still be live (the reconcile);
    3. routing for children with nothing live; children ready to finish finish;
    4. commands the old instance never answered (dropped with the crash, or still in
       flight: the later delivery is then ignored as a redelivery), then their cancels.
    """
    router.restore(rebuild_children(h, now_ns))
    router.restore_cancels(h.cancel_sends)
    out = router.forward_fills(unforwarded_fills(h), now_ns)
    out += router.reconcile(now_ns)
    for cid, cmd in h.commands.items():
        if cid in h.accepted or cid in h.finished:
            continue
        out += router.handle(cmd, now_ns)
        cancel = h.cancels.get(cid)
        if cancel is not None:
            out += router.handle(cancel, now_ns)
    return out


# ------------------------------------------------------------------------ the scorecard

# What the scorecard replay reads besides ``RECORD_TYPES``: the market data the router
# journaled as it received it, and the venues' status changes.
SCORECARD_TAPE: tuple[type[Message], ...] = (MarketDataUpdated, VenueStatusChanged)
_FROM_VENUES = (
    VenueOrderAccepted,
    VenueOrderRejected,
    VenueOrderFilled,
    VenueOrderCancelled,
    VenueCancelRejected,
    VenueOrderReplaced,
    MarketDataUpdated,
    VenueStatusChanged,
)  # _VENUE_EVENTS and SCORECARD_TAPE, spelt out for the type checker
_Replayed = (
    PlaceVenueOrder
    | VenueOrderAccepted
    | VenueOrderRejected
    | VenueOrderFilled
    | VenueOrderCancelled
    | VenueCancelRejected
    | VenueOrderReplaced
    | MarketDataUpdated
    | VenueStatusChanged
)


def replay_scorecard(
    card: Scorecard,
    records: Iterable[Message],
    *,
    own_after: int | None,
    delay_ns: Mapping[str, int] | None = None,
) -> int:
    """Bring a scorecard restored from the router's last save (``ScorecardSaved``) up to
    what the router had learnt when it crashed, and after: feed it, through ``record`` /
    ``mark`` as the live router does, every journaled message the save does not reflect.

    - the router's own ``PlaceVenueOrder`` with a msg id above ``own_after`` (the save's
      msg id: the router stamps both, in order; None: every one);
    - each venue book's order events, market data and status changes with a msg id above
      the save's ``card.applied[book]`` (a book's messages reach the router in the order
      it sent them; a book the save has no entry for, or an order event of an order the
      save does not hold open, which changes nothing in it: every one). That includes events the
      old instance never handled (in flight, or dropped with its inbox): recovery applies
      them to the children too, and the restarted actor ignores their later delivery.

    ``records`` is in journal order and should include the market data before the save
    for a while (a minute is plenty): those only rebuild each instrument's book, whose
    mid settles the markouts as the live router's did. Messages are fed in the order the
    router would have received them: an order at its time, a venue's message at its
    time plus the link delay ``delay_ns[venue]`` (the router's time of receipt is not
    journaled, so times derived from it, ack latency and time to first fill, are
    estimates for the replayed events; counts, fills, fees and open orders are exact).
    Returns how many messages were replayed."""
    applied = card.applied
    delay = delay_ns or {}
    views: dict[str, MarketView] = {}
    replay: list[tuple[int, int, _Replayed]] = []
    for n, msg in enumerate(records):
        if isinstance(msg, PlaceVenueOrder):
            if own_after is None or msg.msg_id > own_after:
                replay.append((msg.ts, n, msg))
        elif isinstance(msg, _FROM_VENUES):
            book = card.book_of(msg)
            last = None if book is None else applied.get(book)
            if last is None or msg.msg_id > last:
                replay.append((msg.ts + delay.get(msg.venue, 0), n, msg))
            elif isinstance(msg, MarketDataUpdated):  # in the save: only the book
                _view(views, msg.instrument).update(msg)
    replay.sort(key=lambda entry: (entry[0], entry[1]))
    for now, _, msg in replay:
        book = None if isinstance(msg, PlaceVenueOrder) else card.book_of(msg)  # as the node
        card.record(msg, now)
        if isinstance(msg, MarketDataUpdated):  # as Router._market_data
            view = _view(views, msg.instrument)
            view.update(msg)
            mid = view.mid()
            if mid is not None:
                card.mark(msg.instrument, mid, now)
        if book is not None and msg.msg_id > applied.get(book, -1):
            applied[book] = msg.msg_id
    return len(replay)


def _view(views: dict[str, MarketView], instrument: str) -> MarketView:
    view = views.get(instrument)
    if view is None:
        view = views[instrument] = MarketView(instrument)
    return view


# ---------------------------------------------------------------------- from the trail

# The market data read before a restored save: enough to rebuild the books the replayed
# markouts are marked on (venues publish every few seconds).
TAPE_BEFORE_SAVE_NS = MINUTE


def journal_records(
    trail: AuditTrail, types: tuple[type[Message], ...] = RECORD_TYPES, since: int | None = None
) -> list[tuple[int, Message]]:
    """(position, message) of the trail's records of ``types`` (``ts >= since``), in
    order: only the types asked for, not the whole market data tape."""
    names = [t.__name__ for t in types]
    return [(record.seq, record.message) for record in trail.query(types=names, since=since)]


def replay_scorecard_from(
    trail: AuditTrail,
    card: Scorecard,
    records: list[tuple[int, Message]],
    *,
    saved: ScorecardSaved | None,
    delay_ns: Mapping[str, int],
) -> int:
    """``replay_scorecard`` on ``card`` (restored from ``saved``; None: blank) of the
    router's ``records`` and the market data tape, merged in journal order. The tape is
    read from ``TAPE_BEFORE_SAVE_NS`` before the save (all of it without one)."""
    since = None if saved is None else saved.ts - TAPE_BEFORE_SAVE_NS
    tape = journal_records(trail, SCORECARD_TAPE, since)
    merged = sorted([*records, *tape], key=lambda entry: entry[0])
    return replay_scorecard(
        card,
        (msg for _, msg in merged),
        own_after=None if saved is None else saved.msg_id,
        delay_ns=delay_ns,
    )
