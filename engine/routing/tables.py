"""What the router holds, and the bookkeeping every part of it shares.

The router is built in layers, each a module: this one (its tables: children, venue
orders, timers, markets; emitting; finishing a child and letting it go), then
``engine.routing.child_routing`` (parent commands, routing, cancels, timers), then
``engine.routing.venue_input`` (venue events, market data, status), then
``engine.routing.router`` (the public face: the hosted contract and recovery).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence

from engine.config import VenueConfig
from engine.contract import JOURNAL, Outbox
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import ChildOrderDone, Message, RouteDecided
from engine.routing.config import DEFAULT_CONFIG, RouterConfig
from engine.routing.orders import Child, FinishedChild, VenueOrder, fill_key, order_number
from engine.routing.placement import Planner
from engine.routing.plan import Plan, VenueInfo
from engine.routing.scorecard import Scorecard


class RouterTables:
    """The router's state and the bookkeeping every layer shares (the constructor of
    ``Router``)."""

    def __init__(
        self,
        venues: Sequence[VenueConfig],
        config: RouterConfig = DEFAULT_CONFIG,
        scorecard: Scorecard | None = None,
        instruments: Mapping[str, Instrument] | None = None,
    ) -> None:
        self.config = config
        self.scorecard = scorecard if scorecard is not None else Scorecard()
        self.instruments = dict(instruments or {})
        self.venues = {
            v.name: VenueInfo(
                name=v.name,
                kind=v.kind,
                maker_fee=v.maker_fee,
                taker_fee=v.taker_fee,
                instruments=frozenset(v.instruments),
            )
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
        # (kind, child or venue order id) → the number of its live arming. The heap holds
        # (due, arming number, key): equal due times fire in the order they were armed,
        # never by id (ids count parents across every instrument of the engine, so their
        # order depends on what else the engine trades; the arming order of one
        # instrument's timers does not)
        self._timers: dict[tuple[str, str], int] = {}
        self._armed = 0
        self._cancel_sends: dict[str, int] = {}  # venue order id → cancels sent, unsettled
        # venue order id → its venue: cancels unanswered past the bound, state unknown
        self.unsettled: dict[str, str] = {}
        # venue order id → (its venue, its instrument): booked as expired at the close,
        # unconfirmed (its child let go: the instrument is kept here)
        self.unconfirmed: dict[str, tuple[str, str]] = {}
        self._heap: list[tuple[int, int, tuple[str, str]]] = []  # lazy: stale entries skipped
        self._out: Outbox = []
        self._now = 0

    def next_wake_ns(self) -> int | None:
        """When the router next needs ``on_wake``; None if never."""
        heap, timers = self._heap, self._timers
        while heap and timers.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    @property
    def suspect_venues(self) -> frozenset[str]:
        """Venues holding an order of ours in an unknown state (cancels unanswered)."""
        return frozenset(self.unsettled.values())

    def suspects(self, instrument: str) -> frozenset[str]:
        """Venues holding an order of ``instrument`` in an unknown state: a venue's book of
        one instrument not answering says nothing of its books of the others (and an
        instrument's routing must not move with what happens to another's orders)."""
        found = set()
        for oid, venue in self.unsettled.items():
            child = self._orders.get(oid)
            if child is not None:
                if child.cmd.instrument == instrument:
                    found.add(venue)
            elif self.unconfirmed.get(oid, ("", ""))[1] == instrument:
                found.add(venue)
        return frozenset(found)

    def market(self, instrument: str) -> MarketView:
        view = self._markets.get(instrument)
        if view is None:
            view = self._markets[instrument] = MarketView(instrument)
        return view

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
            JOURNAL,
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

    def _set_timer(self, key: tuple[str, str], due: int) -> None:
        self._armed += 1
        self._timers[key] = self._armed
        heapq.heappush(self._heap, (due, self._armed, key))
        if len(self._heap) > 2 * len(self._timers) + 64:
            # mostly stale (timers dropped or re-armed before due): keep the live ones;
            # the firing order is (due, arming) either way
            timers = self._timers
            self._heap = [e for e in self._heap if timers.get(e[2]) == e[1]]
            heapq.heapify(self._heap)

    # ------------------------------------------------------------- lookups

    def child_of(self, order_id: str) -> Child | None:
        """The open child a venue order belongs to (None: unknown, or let go)."""
        return self._orders.get(order_id)

    def _venue_order(self, order_id: str) -> tuple[Child, VenueOrder] | None:
        child = self._orders.get(order_id)
        return (child, child.orders[order_id]) if child is not None else None

    def _finished_order(self, order_id: str) -> tuple[FinishedChild, int] | None:
        """(finished child, order number) for a venue order of a child let go."""
        child_id, n = order_number(order_id)
        gone = self._finished.get(child_id)
        return (gone, n) if gone is not None and 0 < n <= gone.orders else None

    # ------------------------------------------------------------- finishing

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
        rejected: dict[int, int] = {}  # venue order n rejected → shares it may still have
        fills: list[int] = []
        for oid, vo in child.orders.items():
            if not vo.final:
                return  # given up as unknown, it may yet turn up: keep it to handle that
            n = order_number(oid)[1]
            if vo.rejected and not vo.settled:
                rejected[n] = vo.quantity - vo.filled - vo.cancelled - vo.unaccounted
            fills.extend(fill_key(n, f) for f in vo.fill_ids)
        cmd = child.cmd
        cid = cmd.child_id
        self._finished[cid] = FinishedChild(
            parent_id=cmd.parent_id,
            cmd_hash=hash(cmd),
            filled=child.filled,
            orders=child.seq,
            rejected=rejected or None,
            fills=tuple(fills),
        )
        del self._children[cid]
        for oid in child.orders:
            del self._orders[oid]
            self._timers.pop(("timeout", oid), None)
            self._timers.pop(("cancel", oid), None)
            self._cancel_sends.pop(oid, None)
        self._timers.pop(("expire", cid), None)
        self._timers.pop(("retry", cid), None)
        self._waiting.pop(cid, None)


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
