"""The order desk: client orders in, parents out, parent fills back to clients.

``OrderDesk`` is the engine object the desk actor hosts (``engine.contract.Hosted``). It
- validates client orders (``engine.desk.intake``) and acknowledges them;
- groups compatible orders arriving within an aggregation window
  (``engine.desk.window``) into one parent (``ParentOrderCreated``), or joins them to a
  working compatible parent (``ResizeParentOrder`` with the new total target);
- nets opposing orders in the same instrument at the lit mid before anything goes to
  market (``engine.desk.netting``);
- allocates every parent fill pro rata to the parent's client orders by open quantity
  (``engine.desk.allocation``); anything beyond their open quantity (a router over-fill
  race) is booked to the parent's excess account (``engine.desk.excess``).

Every method returns its outbox: messages stamped ``msg_id=0`` and ``ts=now_ns`` (the
runtime assigns ids), in a deterministic order, each with its destination: reports and
rejects to ``reports``, resizes and cancels to the parent (its actor is named by its id),
a new parent to ``NEW_PARENT`` and an internal cross to ``JOURNAL`` only.

After a restart the desk is rebuilt from the audit trail through the ``restore_*``
methods (``engine.desk.recovery``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import compress
from typing import Final

import msgspec

from engine.clock import MS
from engine.contract import Outbox
from engine.desk.allocation import allocate
from engine.desk.changes import Amend, ClientChanges
from engine.desk.client_orders import ClientOrderState, ExecIds, trade_report
from engine.desk.excess import EXCESS_REASON, EXCESS_SOURCE, excess_report, orphan_fill_report
from engine.desk.intake import Intake, Rejection, RejectReason
from engine.desk.netting import Netting
from engine.desk.parents import TERMINAL_PARENT, Key, Parent, ParentBook
from engine.desk.window import AggregationWindow
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    AmendClientOrder,
    CancelClientOrder,
    CancelParentOrder,
    ClientOrder,
    ExecType,
    ExecutionReport,
    MarketDataUpdated,
    Message,
    OrdStatus,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentQuantityReleased,
    ParentResizeSettled,
    ParentState,
    ParentStateChanged,
    ResizeParentOrder,
    Side,
    StrategyName,
    SubmitClientOrder,
)

__all__ = [
    "EXCESS_REASON",
    "EXCESS_SOURCE",
    "NEW_PARENT",
    "REPORTS",
    "DeskConfig",
    "Key",
    "OrderDesk",
    "Parent",
]

REPORTS: Final = "reports"
"""Where execution reports and rejects go, unless the desk is told another name."""
NEW_PARENT: Final = "@new-parent"
"""Destination of a ``ParentOrderCreated``: journaled, then the host starts the parent's
actor (named by its id) with that record."""

# The hot path reads enum members and classes from module constants.
_NEW, _PARTIAL, _FILLED = OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED, OrdStatus.FILLED
_EXEC_NEW = ExecType.NEW
_State = ClientOrderState
_Report = ExecutionReport


class DeskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    window_ns: int = 50 * MS  # 0: no batching, every order goes out at once
    net: bool = True  # cross opposing client orders internally at the lit mid
    exec_id_prefix: str = "E"
    parent_id_prefix: str = "P"
    cross_id_prefix: str = "X"


DEFAULT_CONFIG = DeskConfig()


class OrderDesk(ClientChanges, Netting):
    def __init__(
        self,
        instruments: Mapping[str, Instrument] | Iterable[Instrument],
        config: DeskConfig = DEFAULT_CONFIG,
        strategies: Iterable[StrategyName] = tuple(StrategyName),
        intake: Intake | None = None,
        reports: str = REPORTS,
    ) -> None:
        self.intake = intake or Intake(instruments, strategies)
        self.config = config
        self.reports = reports
        self._exec_ids = ExecIds(config.exec_id_prefix)
        self._orders: dict[str, dict[str, ClientOrderState]] = {}  # source → id → order
        self._window = AggregationWindow(config.window_ns)
        self._parents = ParentBook(config.parent_id_prefix)
        self._markets = {symbol: MarketView(symbol) for symbol in self.intake.instruments}
        self._mids: dict[str, int] = {}
        self._seen_fills: set[tuple[str, str]] = set()
        self._cross_count = 0
        self._pending_amends: dict[ClientOrderState, Amend] = {}  # until their parent ends
        self._pending_settle: dict[ClientOrderState, int] = {}  # until a shrink settles

    # ------------------------------------------------------------ hosted contract

    def handle(self, msg: Message, now_ns: int) -> Outbox:
        match msg:
            case MarketDataUpdated():
                return self.on_market_data(msg, now_ns)
            case SubmitClientOrder():
                return self.submit(msg.order, now_ns)
            case CancelClientOrder():
                return self.cancel(msg.source, msg.client_order_id, now_ns)
            case AmendClientOrder():
                return self.amend(
                    msg.source, msg.client_order_id, now_ns, msg.quantity, msg.limit_price
                )
            case ParentOrderFilled():
                return self.on_parent_fill(msg)
            case ParentStateChanged():
                return self.on_parent_state(msg)
            case ParentQuantityReleased():
                return self.on_parent_released(msg, now_ns)
            case ParentResizeSettled():
                return self.on_resize_settled(msg)
        return []

    def on_wake(self, now_ns: int) -> Outbox:
        return self.close_window(now_ns, due_only=True)

    def next_wake_ns(self) -> int | None:
        return self._window.deadline()

    # ------------------------------------------------------------------ queries

    def order(self, source: str, client_order_id: str) -> ClientOrderState | None:
        return self._orders.get(source, {}).get(client_order_id)

    def parent(self, parent_id: str) -> Parent | None:
        return self._parents.get(parent_id)

    @property
    def parents(self) -> Mapping[str, Parent]:
        return self._parents.by_id

    def orders(self) -> Iterable[ClientOrderState]:
        for by_id in self._orders.values():
            yield from by_id.values()

    def excess(self) -> dict[str, tuple[int, int]]:
        """Excess account: parent id → (quantity, notional) filled beyond its clients."""
        return {
            pid: (p.excess_qty, p.excess_notional)
            for pid, p in self._parents.by_id.items()
            if p.excess_qty
        }

    def window_deadline(self) -> int | None:
        """When ``close_window`` is due, or None if nothing waits."""
        return self._window.deadline()

    @property
    def exec_count(self) -> int:
        """Execution ids made so far (the last one's number)."""
        return self._exec_ids.count

    @property
    def cross_count(self) -> int:
        return self._cross_count

    def fill_seen(self, parent_id: str, fill_id: str) -> bool:
        """Has this parent fill been allocated (or restored as allocated)?"""
        return (parent_id, fill_id) in self._seen_fills

    # -------------------------------------------------------------- market data

    def on_market_data(self, update: MarketDataUpdated, now_ns: int) -> Outbox:
        """A venue's market data: the lit mid moves, and working parents may now cross."""
        view = self._markets.get(update.instrument)
        if view is None:
            return []
        view.update(update)
        self.set_mid(update.instrument, view.mid())
        return self.net_working(update.instrument, now_ns)

    def set_mid(self, instrument: str, mid: int | None) -> None:
        """The lit mid used as the internal cross price (None: unknown, no crossing)."""
        if mid is None:
            self._mids.pop(instrument, None)
        else:
            self._mids[instrument] = mid

    # ----------------------------------------------------------------- client side

    def submit(self, order: ClientOrder, now_ns: int) -> Outbox:
        """Accept (``ExecutionReport`` NEW) or reject (``ClientOrderRejected``) an order.
        Accepted orders wait for the window; with ``window_ns == 0`` the window closes at
        once and its messages follow the acknowledgement."""
        rejection = self.intake.check_new(order, now_ns)
        if rejection is not None:
            order, rejection = self._checked_canonical(order, rejection, now_ns)
            if rejection is not None:
                return self._rejected(rejection, order.source, order.client_order_id, now_ns)
        source, client_order_id = order.source, order.client_order_id
        by_id = self._orders.get(source)
        if by_id is None:
            by_id = self._orders[source] = {}
        # Hot path (10^6 orders): ``ClientOrderState.of`` (its test checks they agree),
        # ``AggregationWindow.enqueue`` and ``ExecIds.next`` inlined.
        qty, limit = order.quantity, order.limit_price
        instrument, side, mandate = order.instrument, order.side, order.mandate
        account = order.account
        state = _State(
            source, account, client_order_id, instrument, side, mandate, qty, limit, qty, limit,
            qty, now_ns,
        )  # fmt: skip
        # one probe of the (large) id table both checks for a duplicate and records
        held = by_id.setdefault(client_order_id, state)
        if held is not state:
            return self._submitted_again(held, order, now_ns)
        window = self._window
        window_key = (instrument, side, limit, id(mandate))
        bucket = window.buckets.get(window_key)
        if bucket is None:
            bucket = window.bucket(window_key, mandate, now_ns)
        bucket[state] = None
        ids = self._exec_ids
        count = ids.count = ids.count + 1
        exec_id = ids.block[count % 1000] if count // 1000 == ids.thousands else ids.at(count)
        report = _Report(
            source=source,
            account=account,
            client_order_id=client_order_id,
            exec_id=exec_id,
            exec_type=_EXEC_NEW,
            ord_status=_NEW,
            instrument=instrument,
            side=side,
            order_qty=qty,
            cum_qty=0,
            leaves_qty=qty,
            ts=now_ns,
        )
        if window.length_ns:
            return [(self.reports, report)]
        out: Outbox = [(self.reports, report)]
        out += self.close_window(now_ns)
        return out

    def _submitted_again(self, held: ClientOrderState, order: ClientOrder, now_ns: int) -> Outbox:
        """An id this source has used already. The same order again (a client retrying
        after a timeout or a restart) is answered with its current state (an
        ``ORDER_STATUS`` report) and nothing else happens: no second order. Another
        order under the same id is refused."""
        if held.order != order:
            rejection = Rejection.of(
                RejectReason.DUPLICATE_ID_DIFFERENT_CONTENT, order.client_order_id
            )
            return self._rejected(rejection, order.source, order.client_order_id, now_ns)
        exec_id = self._exec_ids.next()
        return [(self.reports, held.report(ExecType.ORDER_STATUS, exec_id, now_ns))]

    def _checked_canonical(
        self, order: ClientOrder, rejection: Rejection, now_ns: int
    ) -> tuple[ClientOrder, Rejection | None]:
        """``order`` was refused as given: its canonical form, checked (normalized only
        off the hot path: canonical is the common case)."""
        canonical = self.intake.normalize(order)
        if canonical is order:
            return order, rejection
        return canonical, self.intake.check_new(canonical, now_ns)

    def _rejected(
        self, rejection: Rejection, source: str, client_order_id: str, now_ns: int
    ) -> Outbox:
        return [(self.reports, rejection.message(source, client_order_id, now_ns))]

    # ---------------------------------------------------------------- the window

    def close_window(self, now_ns: int, due_only: bool = False) -> Outbox:
        """Net, then group what arrived in the windows (``due_only``: the instruments'
        windows due by ``now_ns``, as the desk's timer closes them): one parent per
        compatible group (``ParentOrderCreated``), or a join of a working parent
        (``ResizeParentOrder``)."""
        out: Outbox = []
        for instrument, queues in self._window.take(now_ns if due_only else None).items():
            if self.config.net:
                out += self._net(instrument, queues, now_ns)
                out += self.hold_for_release(instrument, queues, now_ns)
            for key, orders in queues.items():
                leaves = [o.leaves for o in orders]
                qty = sum(leaves)
                if qty:  # the orders still open after netting
                    live = list(compress(orders, leaves))
                    out.append(self._join_or_create(key, live, qty, now_ns))
            out += self.ask_release(instrument, now_ns)  # working parents that could cross
        return out

    def _join_or_create(
        self, key: Key, live: list[ClientOrderState], qty: int, now_ns: int
    ) -> tuple[str, Message]:
        """``live``: open orders with ``key``, ``qty`` their open quantity."""
        parent = self._parents.working(key)
        if parent is not None:
            parent.join(live)
            parent.open += qty
            parent.target = parent.filled + parent.open - parent.held
            resize = ResizeParentOrder(
                ts=now_ns,
                parent_id=parent.parent_id,
                quantity=parent.target,
                reason=f"join of {len(live)} client orders",
                after_release=parent.answered,
            )
            return parent.parent_id, resize
        parent = self._parents.create(key, live, qty)
        instrument, side, limit, mandate = key
        created = ParentOrderCreated(
            ts=now_ns,
            parent_id=parent.parent_id,
            instrument=instrument,
            side=Side(side),
            quantity=qty,
            limit_price=limit,
            mandate=mandate,
            arrival_mid=self._mids.get(instrument),
        )
        return NEW_PARENT, created

    def _shrunk(self, parent: Parent, now_ns: int, reason: str, settle: int = 0) -> Outbox:
        """The message after a parent's open quantity changed on the client side: a resize,
        or a cancel once nothing is left open (late fills then go to the excess account).
        The resize names the last release answered: the parent takes off what it
        released after it, so a release in flight is not undone."""
        pid = parent.parent_id
        if parent.open == 0 and not parent.is_done:
            self._parents.retire(parent)
            return [(pid, CancelParentOrder(ts=now_ns, parent_id=pid, reason=reason))]
        parent.held = min(parent.held, parent.open)
        parent.target = parent.filled + parent.open - parent.held
        resize = ResizeParentOrder(
            ts=now_ns,
            parent_id=pid,
            quantity=parent.target,
            reason=reason,
            after_release=parent.answered,
            settle=settle,
        )
        return [(pid, resize)]

    def _carried(self, parent: Parent) -> tuple[list[ClientOrderState], list[int]]:
        """The members ``parent.open`` counts and their open quantities: its open members
        but those whose cancel or amend waits for a shrink to settle."""
        members, leaves = parent.open_members_leaves()
        if not parent.pending:
            return members, leaves
        kept = [o not in self._pending_settle for o in members]
        return list(compress(members, kept)), list(compress(leaves, kept))

    # ------------------------------------------------------------- parent side

    def _fill(
        self,
        orders: list[ClientOrderState],
        qtys: list[int],
        price: int,
        venue: str,
        internal: bool,
        text: str,
        now_ns: int,
    ) -> Outbox:
        """Fill each order its allocated quantity (0: not this time) and return its TRADE
        report: ``ClientOrderState``'s fill, inlined for the hot path."""
        if len(orders) != len(qtys):
            raise ValueError(f"{len(qtys)} quantities for {len(orders)} orders")
        out: Outbox = []
        append, reports = out.append, self.reports
        # only the orders allocated something (skipped in C: most get 0 in a big split)
        exec_ids = self._exec_ids.take(len(qtys) - qtys.count(0))
        try:
            for o, q, exec_id in zip(
                compress(orders, qtys), filter(None, qtys), exec_ids, strict=True
            ):
                leaves = o.leaves - q
                if q < 0 or leaves < 0:
                    raise ValueError(f"fill of {q} with {o.leaves} open")
                o.leaves = leaves
                if o.cum_qty:
                    o.cum_qty += q
                    o.cum_notional += q * price
                else:  # a first fill is its own total: no new ints to make (0 + q)
                    o.cum_qty = q
                    o.cum_notional = q * price
                o.status = _PARTIAL if leaves else _FILLED
                append((reports, trade_report(o, exec_id, q, price, venue, internal, text, now_ns)))
        except BaseException:
            self._exec_ids.count -= len(exec_ids) - len(out)  # only the ids used are used
            raise
        return out

    def on_parent_fill(self, fill: ParentOrderFilled) -> Outbox:
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
            return [(self.reports, orphan_fill_report(fill, self._exec_ids.next(), now_ns))]
        parent.add_fill(fill.quantity, fill.price)
        members, leaves = parent.open_members_leaves()
        waiting: list[ClientOrderState] = []
        waiting_leaves: list[int] = []
        if parent.pending:  # members whose cancel/amend waits: only what others cannot take
            flags = [o in self._pending_settle for o in members]
            waiting, waiting_leaves = list(compress(members, flags)), list(compress(leaves, flags))
            kept = [not f for f in flags]
            members, leaves = list(compress(members, kept)), list(compress(leaves, kept))
        lot = self.intake.instruments[parent.instrument].lot
        allocated = min(fill.quantity, parent.open)
        allocated -= allocated % lot  # an odd-lot remainder cannot go to a client in lots
        qtys = allocate(allocated, leaves, lot)
        out = self._fill(members, qtys, fill.price, fill.venue, False, "", now_ns)
        parent.open -= allocated
        parent.held = min(parent.held, parent.open)  # held is part of what is open
        excess = fill.quantity - allocated
        if waiting and excess:
            late = min(excess, parent.pending)
            late -= late % lot
            if late:
                qtys = allocate(late, waiting_leaves, lot)
                out += self._fill(waiting, qtys, fill.price, fill.venue, False, "", now_ns)
                parent.pending -= late
                excess -= late
        if excess:
            parent.add_excess(excess, fill.price)
            report = excess_report(parent, excess, fill, self._exec_ids.next(), now_ns)
            out.append((self.reports, report))
        return out

    def on_parent_state(self, change: ParentStateChanged) -> Outbox:
        """Track the parent's lifecycle. Expired or cancelled: its open client orders are
        done for day (EXPIRED reports, ``leaves_qty`` = unfilled quantity). Completed with
        client quantity still open (a join raced the completion): those orders wait for
        the next window and get a new parent."""
        now_ns = change.ts
        parent = self._parents.get(change.parent_id)
        if parent is None or parent.is_done:
            return []
        if change.state not in TERMINAL_PARENT:
            parent.state = change.state
            return []
        self._parents.retire(parent)
        unanswered = parent.asking is not None
        out, members = self._settle_pending(parent.finish(change.state), change)
        if unanswered:  # the answer the others' held quantity waits for will not come
            out += self.net_working(parent.instrument, now_ns)
        if change.state is ParentState.COMPLETED:
            for o in members:
                self._window.enqueue(o, now_ns)
            return out
        for o in members:
            unfilled = o.expire()
            text = f"done for day, {unfilled} unfilled: {change.reason}".rstrip(": ")
            report = o.report(
                ExecType.EXPIRED,
                self._exec_ids.next(),
                now_ns,
                leaves_qty=unfilled,
                reason=change.expiry_reason or change.state.value,
                text=text,
            )
            out.append((self.reports, report))
        return out

    # ----------------------------------------------------------------- recovery

    def restore_order(self, order: ClientOrder, arrival_ns: int) -> ClientOrderState:
        """An order the desk acknowledged (in the form it took it), open and in no
        queue; its later reports say the rest (``ClientOrderState.restore``)."""
        if self.intake.check_new(order, arrival_ns) is not None:  # as ``submit`` did
            order = self.intake.normalize(order)
        state = ClientOrderState.of(order, arrival_ns)
        self._orders.setdefault(order.source, {})[order.client_order_id] = state
        return state

    def restore_parent(self, created: ParentOrderCreated) -> Parent:
        """A parent as created (working, no members yet); later ids continue after it."""
        return self._parents.restore(created)

    def retire(self, parent: Parent) -> None:
        """No more joins to ``parent`` (canceled, or ended)."""
        self._parents.retire(parent)

    def restore_fill(self, fill: ParentOrderFilled) -> None:
        """A parent fill allocated before (its reports say to whom): counted, and a
        later delivery of it is a duplicate."""
        self._seen_fills.add((fill.parent_id, fill.fill_id))
        parent = self._parents.get(fill.parent_id)
        if parent is not None:
            parent.add_fill(fill.quantity, fill.price)

    def pend_amend(self, state: ClientOrderState, quantity: int | None, limit: int | None) -> None:
        """An amend answered PENDING_REPLACE: it takes effect when the parent ends."""
        new_limit = state.limit if limit is None else limit
        self._pending_amends[state] = (state.qty if quantity is None else quantity, new_limit)

    def settle_amend(self, state: ClientOrderState) -> int | None:
        """A pending amend took effect (its REPLACED report): the limit it set."""
        amend = self._pending_amends.pop(state, None)
        return None if amend is None else amend[1]

    def await_settle(self, state: ClientOrderState, settle: int) -> None:
        """A member's pending cancel or amend waits for its parent's shrink ``settle``."""
        self._pending_settle[state] = settle

    def settled(self, state: ClientOrderState) -> None:
        """A member's pending change took effect (its report with a reason)."""
        self._pending_settle.pop(state, None)

    def waiting_settle(self) -> Mapping[ClientOrderState, int]:
        """Members whose pending cancel or amend waits for a shrink to settle."""
        return self._pending_settle

    def requeue(self, state: ClientOrderState, since_ns: int) -> None:
        """Put an open order back in the window (opened at ``since_ns`` if it was closed)."""
        self._window.enqueue(state, since_ns)

    def continue_ids(self, exec_count: int, cross_count: int) -> None:
        """Later execution and cross ids come after these numbers."""
        self._exec_ids.count = max(self._exec_ids.count, exec_count)
        self._cross_count = max(self._cross_count, cross_count)

    # ----------------------------------------------------------------- helpers

    def _lookup(
        self, source: str, client_order_id: str, account: str | None
    ) -> ClientOrderState | Rejection:
        """The open order a client's cancel or amend is about, or why there is none."""
        state = self._orders.get(source, {}).get(client_order_id)
        if state is None:
            # the id under another source: someone else's order (rare path, few sources)
            foreign = any(
                client_order_id in by_id for s, by_id in self._orders.items() if s != source
            )
            reason = RejectReason.FOREIGN_ORDER if foreign else RejectReason.UNKNOWN_ORDER
            return Rejection.of(reason, client_order_id)
        if account is not None and account != state.account:
            return Rejection.of(RejectReason.FOREIGN_ORDER, f"account {account!r}")
        if not state.is_open:
            return Rejection.of(RejectReason.ORDER_DONE, state.status.value)
        return state
