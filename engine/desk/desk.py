"""The order desk: client orders in, parents out, parent fills back to clients.

``OrderDesk`` is the pure core the aggregator actor wraps. It
- validates client orders (``engine.desk.intake``) and acknowledges them;
- groups compatible orders arriving within an aggregation window into one parent
  (``ParentOrderCreated``), or joins them to a working compatible parent
  (``ResizeParentOrder`` with the new total target);
- nets opposing orders in the same instrument at the lit mid before anything goes to
  market (``InternalCrossExecuted`` and internal fills to both sides); a working parent's
  unfilled quantity can be crossed too, and the parent then shrinks;
- allocates every parent fill pro rata to the parent's client orders by open quantity
  (``engine.desk.allocation``); anything beyond their open quantity (a router over-fill race)
  is booked to the parent's excess account and reported, never given to a client.

Compatible = same instrument, side, limit price (or both market) and an equal
``Mandate`` (strategy, urgency, horizon, participation, routing): a parent has one
mandate, so orders with different horizons or participation caps never share one.

Every method returns the messages to send, in a deterministic order, stamped
``msg_id=0`` and ``ts=now_ns`` (the runtime assigns msg ids).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from itertools import compress

import msgspec

from engine.clock import MS
from engine.desk.allocation import allocate
from engine.desk.client_orders import INTERNAL_VENUE, ClientOrderState, ExecIds
from engine.desk.intake import Intake, Rejection, RejectReason
from engine.instruments import Instrument
from engine.messages import (
    CancelParentOrder,
    ClientOrder,
    ExecType,
    ExecutionReport,
    InternalCrossExecuted,
    Mandate,
    Message,
    OrdStatus,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
    ResizeParentOrder,
    Side,
    StrategyName,
)

EXCESS_SOURCE = "EXCESS"  # synthetic client of excess-account execution reports
EXCESS_REASON = "excess"

# (instrument, side, limit price or None, mandate): orders with one key share a parent
Key = tuple[str, int, int | None, Mandate]
# Key with the mandate object's id instead: clients share mandate objects, and the id
# hashes cheaply (a ``Mandate`` hashes all its fields). Equal mandates may have several.
WindowKey = tuple[str, int, int | None, int]

# Enum member access costs ~0.3 µs on Python 3.11: the hot path reads these constants.
_NEW = OrdStatus.NEW
_PARTIAL, _FILLED = OrdStatus.PARTIALLY_FILLED, OrdStatus.FILLED
_EXEC_NEW, _EXEC_TRADE = ExecType.NEW, ExecType.TRADE
_Side = Side
_State = ClientOrderState
_Report = ExecutionReport

_TERMINAL_PARENT = frozenset({ParentState.COMPLETED, ParentState.CANCELED, ParentState.EXPIRED})


class DeskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    window_ns: int = 50 * MS  # 0: no batching, every order goes out at once
    net: bool = True  # cross opposing client orders internally at the lit mid
    exec_id_prefix: str = "E"
    parent_id_prefix: str = "P"
    cross_id_prefix: str = "X"


class Parent:
    """The desk's view of a parent: its members and how much of it is still open.

    While working, ``target == filled + open`` as last sent to the parent actor, and
    ``open`` is Σ leaves of the members whose ``parent_id`` is this one's. Members refer
    to their parent by id only (no cycle: ``ClientOrderState`` is untracked by the GC).
    """

    __slots__ = (
        "excess_notional",
        "excess_qty",
        "filled",
        "filled_notional",
        "key",
        "members",
        "open",
        "parent_id",
        "state",
        "target",
    )

    def __init__(self, parent_id: str, key: Key, members: list[ClientOrderState], qty: int) -> None:
        self.parent_id = parent_id
        self.key = key
        self.target = qty
        self.filled = 0
        self.filled_notional = 0
        self.open = qty
        self.members = members
        self.state = ParentState.PENDING
        self.excess_qty = 0
        self.excess_notional = 0

    @property
    def instrument(self) -> str:
        return self.key[0]

    @property
    def side(self) -> int:
        return self.key[1]

    @property
    def limit(self) -> int | None:
        return self.key[2]

    @property
    def mandate(self) -> Mandate:
        return self.key[3]

    def open_members(self) -> list[ClientOrderState]:
        """Members still open in this parent, in arrival order; drops the others for good."""
        return self.open_members_leaves()[0]

    def open_members_leaves(self) -> tuple[list[ClientOrderState], list[int]]:
        """``open_members()`` and their open quantities, from one Python-level walk of the
        members (the rest in C): a cross walks thousands of working members per window."""
        pid = self.parent_id
        members = self.members
        leaves = [m.leaves if m.parent_id == pid else 0 for m in members]
        live = self.members = list(compress(members, leaves))
        return live, list(filter(None, leaves))


class OrderDesk:
    def __init__(
        self,
        instruments: Mapping[str, Instrument] | Iterable[Instrument],
        config: DeskConfig = DeskConfig(),
        strategies: Iterable[StrategyName] = tuple(StrategyName),
        intake: Intake | None = None,
    ) -> None:
        self.intake = intake or Intake(instruments, strategies)
        self.config = config
        self._exec_ids = ExecIds(config.exec_id_prefix)
        self._orders: dict[str, dict[str, ClientOrderState]] = {}  # source → id → order
        # the window's queue: instrument → key → orders (arrival order); and the same
        # queues by ``WindowKey`` (no hashing of the mandate per order), whose mandates
        # are held until the window closes
        self._pending: dict[str, dict[Key, dict[ClientOrderState, None]]] = {}
        self._pending_buckets: dict[WindowKey, dict[ClientOrderState, None]] = {}
        self._pending_mandates: list[Mandate] = []
        self._window_ns = config.window_ns
        self._window_opened_ns: int | None = None
        self._parents: dict[str, Parent] = {}
        self._working: dict[Key, Parent] = {}
        self._working_by_instrument: dict[str, dict[str, Parent]] = {}
        self._mids: dict[str, int] = {}
        self._seen_fills: set[tuple[str, str]] = set()
        self._parent_count = 0
        self._cross_count = 0

    # ------------------------------------------------------------------ queries

    def order(self, source: str, client_order_id: str) -> ClientOrderState | None:
        return self._orders.get(source, {}).get(client_order_id)

    def parent(self, parent_id: str) -> Parent | None:
        return self._parents.get(parent_id)

    @property
    def parents(self) -> Mapping[str, Parent]:
        return self._parents

    def orders(self) -> Iterable[ClientOrderState]:
        for by_id in self._orders.values():
            yield from by_id.values()

    def excess(self) -> dict[str, tuple[int, int]]:
        """Excess account: parent id → (quantity, notional) filled beyond its clients."""
        return {
            pid: (p.excess_qty, p.excess_notional)
            for pid, p in self._parents.items()
            if p.excess_qty
        }

    def window_deadline(self) -> int | None:
        """When ``close_window`` is due (the actor sets a timer), or None if nothing waits."""
        if self._window_opened_ns is None:
            return None
        return self._window_opened_ns + self.config.window_ns

    def set_mid(self, instrument: str, mid: int | None) -> None:
        """The lit mid used as the internal cross price (None: unknown, no crossing)."""
        if mid is None:
            self._mids.pop(instrument, None)
        else:
            self._mids[instrument] = mid

    # ----------------------------------------------------------------- client side

    def submit(self, order: ClientOrder, now_ns: int) -> list[Message]:
        """Accept (``ExecutionReport`` NEW) or reject (``ClientOrderRejected``) an order.
        Accepted orders wait for the window; with ``window_ns == 0`` the window closes at
        once and its messages follow the acknowledgement."""
        intake = self.intake
        rejection = intake.check_new(order, now_ns)
        if rejection is not None:  # normalize only off the hot path: canonical is common
            canonical = intake.normalize(order)
            if canonical is not order:
                order = canonical
                rejection = intake.check_new(order, now_ns)
        source = order.source
        client_order_id = order.client_order_id
        if rejection is not None:
            return [rejection.message(source, client_order_id, now_ns)]
        by_id = self._orders.get(source)
        if by_id is None:
            by_id = self._orders[source] = {}
        # Hot path (10^6 orders): ``ClientOrderState.of``, ``_enqueue``, ``ExecIds.next``
        # and ``new_report`` inlined; each call saved is ~0.1 µs.
        qty = order.quantity
        limit = order.limit_price
        instrument = order.instrument
        side = order.side
        mandate = order.mandate
        account = order.account
        state = _State(
            source,
            account,
            client_order_id,
            instrument,
            side,
            mandate,
            qty,
            limit,
            qty,
            limit,
            qty,
            now_ns,
        )
        # one probe of the (large) id table both checks for a duplicate and records
        if by_id.setdefault(client_order_id, state) is not state:
            rejection = Rejection.of(RejectReason.DUPLICATE_CLIENT_ORDER_ID, client_order_id)
            return [rejection.message(source, client_order_id, now_ns)]
        window_key = (instrument, side, limit, id(mandate))
        bucket = self._pending_buckets.get(window_key)
        if bucket is None:
            bucket = self._new_bucket(window_key, mandate, now_ns)
        bucket[state] = None
        ids = self._exec_ids
        count = ids.count = ids.count + 1
        if count // 1000 == ids.thousands:  # ``ids.next()``: from the thousand's ids
            exec_id = ids.block[count % 1000]
        else:
            exec_id = ids.at(count)
        # positional, in ``ExecutionReport``'s field order (source … leaves_qty): ~0.2 µs
        # instead of ~0.3 µs with keywords (msgspec matches keyword names one by one)
        report = _Report(
            source,
            account,
            client_order_id,
            exec_id,
            _EXEC_NEW,
            _NEW,
            instrument,
            side,
            qty,
            0,
            qty,
            ts=now_ns,
        )
        if self._window_ns:
            return [report]
        out: list[Message] = [report]
        out.extend(self.close_window(now_ns))
        return out

    def cancel(
        self, source: str, client_order_id: str, now_ns: int, account: str | None = None
    ) -> list[Message]:
        """Cancel the client's unfilled part: CANCELED report, and the parent shrinks."""
        state, rejection = self._lookup(source, client_order_id, account)
        if state is None:
            return [rejection.message(source, client_order_id, now_ns)]  # type: ignore[union-attr]
        parent = None if state.parent_id is None else self._parents[state.parent_id]
        released = state.leaves
        if parent is None:
            self._dequeue(state)
        state.cancel()
        out: list[Message] = [state.report(ExecType.CANCELED, self._exec_ids.next(), now_ns)]
        if parent is not None:
            parent.open -= released
            out.append(self._shrunk(parent, now_ns, f"client cancel {source}/{client_order_id}"))
        return out

    def amend(
        self,
        source: str,
        client_order_id: str,
        now_ns: int,
        quantity: int | None = None,
        limit_price: int | None = None,
        account: str | None = None,
    ) -> list[Message]:
        """New total quantity and/or limit price: REPLACED report; the parent resizes.

        A new limit price makes the order incompatible with its parent, so its open part
        leaves the parent and waits for the next window like a new order."""
        state, rejection = self._lookup(source, client_order_id, account)
        if state is None:
            return [rejection.message(source, client_order_id, now_ns)]  # type: ignore[union-attr]
        instrument = self.intake.instruments[state.instrument]
        rejection = self.intake.check_amend(instrument, quantity, limit_price, state.cum_qty)
        if rejection is not None:
            return [rejection.message(source, client_order_id, now_ns)]
        new_qty = state.qty if quantity is None else quantity
        new_limit = state.limit if limit_price is None else limit_price
        parent = None if state.parent_id is None else self._parents[state.parent_id]
        old_leaves = state.leaves
        out: list[Message] = []
        if parent is None:
            if new_limit != state.limit or new_qty == state.cum_qty:
                self._dequeue(state)  # another bucket, or done: leaves the queue
                state.replace(new_qty, new_limit)
                if state.leaves:
                    self._enqueue(state, now_ns)
            else:
                state.replace(new_qty, new_limit)  # keeps its place in the queue
        elif new_limit != state.limit:
            parent.open -= old_leaves
            state.parent_id = None
            # off the member list too: amended back to this limit, it may rejoin this
            # parent, and listed twice it would be allocated twice
            with suppress(ValueError):  # not listed: nothing to drop
                parent.members.remove(state)
            state.replace(new_qty, new_limit)
            if state.leaves:
                self._enqueue(state, now_ns)
            out.append(self._shrunk(parent, now_ns, f"client amend {source}/{client_order_id}"))
        else:
            state.replace(new_qty, new_limit)
            parent.open += state.leaves - old_leaves
            out.append(self._shrunk(parent, now_ns, f"client amend {source}/{client_order_id}"))
        out.insert(0, state.report(ExecType.REPLACED, self._exec_ids.next(), now_ns))
        return out

    # ---------------------------------------------------------------- the window

    def close_window(self, now_ns: int) -> list[Message]:
        """Net, then group what arrived in the window: one parent per compatible group
        (``ParentOrderCreated``), or a join of a working parent (``ResizeParentOrder``)."""
        pending, self._pending = self._pending, {}
        self._pending_buckets = {}
        self._pending_mandates = []
        self._window_opened_ns = None
        out: list[Message] = []
        for instrument, buckets in pending.items():
            if self.config.net:
                out.extend(self._net(instrument, buckets, now_ns))
            for key, orders in buckets.items():
                leaves = [o.leaves for o in orders]
                qty = sum(leaves)
                if qty:  # the orders still open after netting
                    live = list(compress(orders, leaves))
                    out.append(self._join_or_create(key, live, qty, now_ns))
        return out

    def _enqueue(self, state: ClientOrderState, now_ns: int) -> None:
        mandate = state.mandate
        window_key = (state.instrument, state.side, state.limit, id(mandate))
        bucket = self._pending_buckets.get(window_key)
        if bucket is None:
            bucket = self._new_bucket(window_key, mandate, now_ns)
        bucket[state] = None

    def _new_bucket(
        self, window_key: WindowKey, mandate: Mandate, now_ns: int
    ) -> dict[ClientOrderState, None]:
        """The window's queue for orders with this mandate object (the queue of an equal
        mandate's orders, if any: one queue per ``Key``); the window opens if it was
        closed."""
        instrument, side, limit, _ = window_key
        key = (instrument, side, limit, mandate)
        buckets = self._pending.get(instrument)
        if buckets is None:
            buckets = self._pending[instrument] = {}
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = {}
        self._pending_buckets[window_key] = bucket
        self._pending_mandates.append(mandate)  # alive, so its id is not reused meanwhile
        if self._window_opened_ns is None:
            self._window_opened_ns = now_ns
        return bucket

    def _dequeue(self, state: ClientOrderState) -> None:
        window_key = (state.instrument, state.side, state.limit, id(state.mandate))
        self._pending_buckets[window_key].pop(state)

    def _join_or_create(
        self, key: Key, live: list[ClientOrderState], qty: int, now_ns: int
    ) -> Message:
        """``live``: open orders with ``key``, ``qty`` their open quantity."""
        parent = self._working.get(key)
        if parent is not None:
            pid = parent.parent_id
            for o in live:
                o.parent_id = pid
            parent.members.extend(live)
            parent.open += qty
            parent.target = parent.filled + parent.open
            return ResizeParentOrder(
                ts=now_ns,
                parent_id=parent.parent_id,
                quantity=parent.target,
                reason=f"join of {len(live)} client orders",
            )
        self._parent_count += 1
        parent = Parent(f"{self.config.parent_id_prefix}{self._parent_count}", key, live, qty)
        pid = parent.parent_id
        for o in live:
            o.parent_id = pid
        self._parents[parent.parent_id] = parent
        self._working[key] = parent
        self._working_by_instrument.setdefault(key[0], {})[parent.parent_id] = parent
        instrument, side, limit, mandate = key
        return ParentOrderCreated(
            ts=now_ns,
            parent_id=parent.parent_id,
            instrument=instrument,
            side=Side(side),
            quantity=qty,
            limit_price=limit,
            mandate=mandate,
            arrival_mid=self._mids.get(instrument),
        )

    def _shrunk(self, parent: Parent, now_ns: int, reason: str) -> Message:
        """The message after a parent's open quantity changed on the client side: a resize,
        or a cancel once nothing is left open (late fills then go to the excess account)."""
        if parent.open == 0 and parent.state not in _TERMINAL_PARENT:
            self._retire(parent)
            return CancelParentOrder(ts=now_ns, parent_id=parent.parent_id, reason=reason)
        parent.target = parent.filled + parent.open
        return ResizeParentOrder(
            ts=now_ns, parent_id=parent.parent_id, quantity=parent.target, reason=reason
        )

    def _retire(self, parent: Parent) -> None:
        """No more joins: the next compatible orders get a new parent."""
        if self._working.get(parent.key) is parent:
            del self._working[parent.key]
        self._working_by_instrument[parent.instrument].pop(parent.parent_id, None)

    # -------------------------------------------------------------------- netting

    def net_working(self, instrument: str, now_ns: int) -> list[Message]:
        """Cross opposing working parents of ``instrument`` (their unfilled parts) at the
        lit mid. Interest that could not cross when its window closed (no mid yet, not
        started, a limit away from the mid) would otherwise stay in the market on both
        sides until another order in the instrument arrives. The desk actor calls this on
        market data; it is cheap when there is nothing to cross. An open window is left
        to its close, which nets the working parents too."""
        if not self.config.net or instrument in self._pending:
            return []
        mid = self._mids.get(instrument)
        working = self._working_by_instrument.get(instrument)
        if mid is None or not working:
            return []
        sides = set()
        for parent in working.values():
            if parent.open and _crossable(parent.key, mid, now_ns):
                sides.add(parent.side)
        return self._net(instrument, {}, now_ns) if len(sides) == 2 else []

    def _net(
        self, instrument: str, buckets: dict[Key, dict[ClientOrderState, None]], now_ns: int
    ) -> list[Message]:
        """Cross opposing interest at the lit mid. New orders cross first (they have not
        gone to market), then the unfilled part of working parents. On each side the
        crossed quantity is split pro rata by open quantity (``allocate``)."""
        mid = self._mids.get(instrument)
        if mid is None:
            return []
        new: dict[int, list[ClientOrderState]] = {1: [], -1: []}
        parents: dict[int, list[Parent]] = {1: [], -1: []}
        for key, orders in buckets.items():
            if _crossable(key, mid, now_ns):
                new[key[1]] += orders  # queued orders are open (cancel and fill dequeue)
        for parent in self._working_by_instrument.get(instrument, {}).values():
            if parent.open and _crossable(parent.key, mid, now_ns):
                parents[parent.side].append(parent)
        # both sides written out: a dict comprehension is one more function call
        new_leaves = {1: [o.leaves for o in new[1]], -1: [o.leaves for o in new[-1]]}
        new_qty = {1: sum(new_leaves[1]), -1: sum(new_leaves[-1])}
        working_qty = {
            1: sum([p.open for p in parents[1]]),
            -1: sum([p.open for p in parents[-1]]),
        }
        quantity = min(new_qty[1] + working_qty[1], new_qty[-1] + working_qty[-1])
        if not quantity:
            return []
        self._cross_count += 1
        cross_id = f"{self.config.cross_id_prefix}{self._cross_count}"
        text = f"internal cross {cross_id}"
        lot = self.intake.instruments[instrument].lot
        out: list[Message] = []  # the cross's record goes first, once the parents are known
        crossed_parents: dict[int, list[str]] = {1: [], -1: []}
        for side in (1, -1):
            from_new = min(quantity, new_qty[side])
            if from_new:
                qtys = allocate(from_new, new_leaves[side], lot)
                out.extend(self._fill(new[side], qtys, mid, INTERNAL_VENUE, True, text, now_ns))
            from_working = quantity - from_new
            if not from_working:
                continue  # working parents untouched: no need to walk their members
            # one walk of the members: each parent's open part shrinks by what its members
            # were allocated (``open`` is Σ their leaves)
            members: list[ClientOrderState] = []
            leaves: list[int] = []
            counts = []
            for parent in parents[side]:
                ms, ls = parent.open_members_leaves()
                members += ms
                leaves += ls
                counts.append(len(ms))
            qtys = allocate(from_working, leaves, lot)
            out.extend(self._fill(members, qtys, mid, INTERNAL_VENUE, True, text, now_ns))
            at = 0
            for parent, n in zip(parents[side], counts, strict=True):
                crossed = sum(qtys[at : at + n])
                at += n
                if crossed:
                    parent.open -= crossed
                    crossed_parents[side].append(parent.parent_id)
                    out.append(self._shrunk(parent, now_ns, text))
        # the record names a side's working parent when one, and only one, crossed (its
        # members' internal fills, which carry its id, say how much)
        buys, sells = crossed_parents[1], crossed_parents[-1]
        out.insert(
            0,
            InternalCrossExecuted(
                ts=now_ns,
                cross_id=cross_id,
                instrument=instrument,
                quantity=quantity,
                price=mid,
                buy_parent_id=buys[0] if len(buys) == 1 else None,
                sell_parent_id=sells[0] if len(sells) == 1 else None,
            ),
        )
        return out

    def _fill(
        self,
        orders: list[ClientOrderState],
        qtys: list[int],
        price: int,
        venue: str,
        internal: bool,
        text: str,
        now_ns: int,
    ) -> list[Message]:
        """Fill each order its allocated quantity (0: not this time) and return its TRADE
        report: what ``ClientOrderState.fill`` then ``fill_report`` do, inlined for the hot
        path, each report built with its fields positionally (~0.2 µs: no keyword to match
        by name; ``replace`` on a template with 14 keywords cost more, and a 19-keyword
        constructor call ~1.3 µs)."""
        if len(orders) != len(qtys):
            raise ValueError(f"{len(qtys)} quantities for {len(orders)} orders")
        out: list[Message] = []
        append = out.append
        # only the orders allocated something (skipped in C: most get 0 in a big split)
        exec_ids = self._exec_ids.take(len(qtys) - qtys.count(0))
        filled = zip(compress(orders, qtys), filter(None, qtys), exec_ids)
        try:
            for o, q, exec_id in filled:
                leaves = o.leaves - q
                if q < 0 or leaves < 0:
                    raise ValueError(f"fill of {q} with {o.leaves} open")
                o.leaves = leaves
                cum_qty = o.cum_qty
                if cum_qty:
                    cum_qty = o.cum_qty = cum_qty + q
                    cum_notional = o.cum_notional = o.cum_notional + q * price
                else:  # a first fill is its own total (no notional yet): no new ints
                    # to make and free (0 + q makes one for q >= 257)
                    cum_qty = o.cum_qty = q
                    cum_notional = o.cum_notional = q * price
                status = o.status = _PARTIAL if leaves else _FILLED
                # ``ExecutionReport``'s fields in declaration order (source … text)
                append(
                    _Report(
                        o.source,
                        o.account,
                        o.client_order_id,
                        exec_id,
                        _EXEC_TRADE,
                        status,
                        o.instrument,
                        o.side,
                        o.qty,
                        cum_qty,
                        leaves,
                        cum_notional,
                        q,
                        price,
                        o.parent_id,
                        internal,
                        venue,
                        None,
                        text,
                        ts=now_ns,
                    )
                )
        except BaseException:
            self._exec_ids.count -= len(exec_ids) - len(out)  # only the ids used are used
            raise
        return out

    # ------------------------------------------------------------- parent side

    def on_parent_fill(self, fill: ParentOrderFilled) -> list[Message]:
        """Allocate a market fill pro rata to the parent's open client orders (TRADE
        reports); the part beyond their open quantity goes to the excess account (a TRADE
        report for the synthetic client ``EXCESS``). Duplicate fill ids are ignored."""
        now_ns = fill.ts
        fill_key = (fill.parent_id, fill.fill_id)
        if fill_key in self._seen_fills:
            return []
        self._seen_fills.add(fill_key)
        parent = self._parents.get(fill.parent_id)
        if parent is None:
            return [self._orphan_fill_report(fill, now_ns)]
        parent.filled += fill.quantity
        parent.filled_notional += fill.quantity * fill.price
        members, leaves = parent.open_members_leaves()
        lot = self.intake.instruments[parent.instrument].lot
        allocated = min(fill.quantity, parent.open)
        allocated -= allocated % lot  # an odd-lot remainder cannot go to a client in lots
        qtys = allocate(allocated, leaves, lot)
        out = self._fill(members, qtys, fill.price, fill.venue, False, "", now_ns)
        parent.open -= allocated
        excess = fill.quantity - allocated
        if excess:
            parent.excess_qty += excess
            parent.excess_notional += excess * fill.price
            out.append(self._excess_report(parent, excess, fill, now_ns))
        return out

    def on_parent_state(self, change: ParentStateChanged) -> list[Message]:
        """Track the parent's lifecycle. Expired or cancelled: its open client orders are
        done for day (EXPIRED reports, ``leaves_qty`` = unfilled quantity). Completed with
        client quantity still open (a join raced the completion): those orders wait for
        the next window and get a new parent."""
        now_ns = change.ts
        parent = self._parents.get(change.parent_id)
        if parent is None or parent.state in _TERMINAL_PARENT:
            return []
        parent.state = change.state
        if change.state not in _TERMINAL_PARENT:
            return []
        self._retire(parent)
        members = parent.open_members()
        parent.open = 0
        parent.members = []
        out: list[Message] = []
        for o in members:
            o.parent_id = None
            if change.state is ParentState.COMPLETED:
                self._enqueue(o, now_ns)
                continue
            unfilled = o.expire()
            out.append(
                o.report(
                    ExecType.EXPIRED,
                    self._exec_ids.next(),
                    now_ns,
                    leaves_qty=unfilled,
                    reason=change.state.value,
                    text=f"done for day, {unfilled} unfilled: {change.reason}".rstrip(": "),
                )
            )
        return out

    # ----------------------------------------------------------------- helpers

    def _lookup(
        self, source: str, client_order_id: str, account: str | None
    ) -> tuple[ClientOrderState | None, Rejection | None]:
        state = self._orders.get(source, {}).get(client_order_id)
        if state is None:
            # the id under another source: someone else's order (rare path, few sources)
            foreign = any(
                client_order_id in by_id for s, by_id in self._orders.items() if s != source
            )
            reason = RejectReason.FOREIGN_ORDER if foreign else RejectReason.UNKNOWN_ORDER
            return None, Rejection.of(reason, client_order_id)
        if account is not None and account != state.account:
            return None, Rejection.of(RejectReason.FOREIGN_ORDER, f"account {account!r}")
        if not state.is_open:
            return None, Rejection.of(RejectReason.ORDER_DONE, state.status.value)
        return state, None

    def _excess_report(
        self, parent: Parent, quantity: int, fill: ParentOrderFilled, now_ns: int
    ) -> ExecutionReport:
        return ExecutionReport(
            ts=now_ns,
            source=EXCESS_SOURCE,
            account=EXCESS_SOURCE,
            client_order_id=parent.parent_id,
            exec_id=self._exec_ids.next(),
            exec_type=ExecType.TRADE,
            ord_status=OrdStatus.FILLED,
            instrument=parent.instrument,
            side=Side(parent.side),
            order_qty=parent.excess_qty,
            cum_qty=parent.excess_qty,
            leaves_qty=0,
            cum_notional=parent.excess_notional,
            last_qty=quantity,
            last_price=fill.price,
            parent_id=parent.parent_id,
            venue=fill.venue,
            reason=EXCESS_REASON,
            text=f"filled beyond the clients' open quantity (fill {fill.fill_id})",
        )

    def _orphan_fill_report(self, fill: ParentOrderFilled, now_ns: int) -> ExecutionReport:
        """A fill for a parent this desk never created: all of it is excess."""
        return ExecutionReport(
            ts=now_ns,
            source=EXCESS_SOURCE,
            account=EXCESS_SOURCE,
            client_order_id=fill.parent_id,
            exec_id=self._exec_ids.next(),
            exec_type=ExecType.TRADE,
            ord_status=OrdStatus.FILLED,
            instrument="",
            side=Side.BUY,
            order_qty=fill.quantity,
            cum_qty=fill.quantity,
            leaves_qty=0,
            cum_notional=fill.quantity * fill.price,
            last_qty=fill.quantity,
            last_price=fill.price,
            parent_id=fill.parent_id,
            venue=fill.venue,
            reason="unknown_parent",
            text="fill for an unknown parent",
        )


def _crossable(key: Key, mid: int, now_ns: int) -> bool:
    """May interest with this key trade at ``mid`` now? (limit admits it, started, not
    ended: an order put back in the queue after its end must not be filled)"""
    _, side, limit, mandate = key
    if limit is not None and (mid - limit) * side > 0:
        return False
    if mandate.end_ns is not None and mandate.end_ns <= now_ns:
        return False
    return mandate.start_ns is None or mandate.start_ns <= now_ns
