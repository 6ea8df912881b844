"""Rebuild an ``OrderDesk`` from the audit trail after its actor restarts (event sourcing).

The desk's state is a function of what it said and what it was told, each message
journaled once, by its sender (client commands by the desk, on receipt):

- told by clients: ``SubmitClientOrder``, ``AmendClientOrder``, ``CancelClientOrder``;
- said by the desk: ``ExecutionReport`` (every client order's cum qty, leaves, notional
  and status after each change, and its parent when it has one), ``ClientOrderRejected``,
  ``ParentOrderCreated`` / ``ResizeParentOrder`` / ``CancelParentOrder``,
  ``InternalCrossExecuted``;
- told by parents (journaled by them when sent): ``ParentOrderFilled``,
  ``ParentStateChanged``.

``rebuild`` walks these records in journal order and feeds them to a fresh desk through
its public ``restore_*`` methods (and ``on_parent_state`` for a parent's progress). The desk's own records are in the
order it decided them (one actor's records keep its send order), so its reports carry
each client order's state as the old instance left it. What no report says:

- **limit and mandate** of an order: from the command each answer pairs with. Commands
  on one client order are answered one by one, in order (one answer each: NEW, REPLACED,
  CANCELED or a reject), so the i-th command is answered by the i-th answer. A command
  journaled but never answered (the old instance died on it) is handed to the new one.
- **parent membership**: a window close puts every queued order of a key with open
  quantity into the parent of that key (``ParentOrderCreated``, or a resize with reason
  ``join of …``), so the fold keeps the queue (orders acknowledged, re-keyed by an amend,
  or put back by a completed parent) and assigns it at those records; what is left is
  put back in the desk's window, opened when the earliest of them was queued (new
  orders held back at a close while opposing parents release were queued again then:
  the request, reason ``HOLD_REASON``, says when).
- **which parent fills were allocated**: a parent's messages reach the desk in the order
  it sent them (links are FIFO), so the old instance allocated a prefix of each parent's
  fills; every allocated fill produced reports (client trades, excess) worth exactly its
  quantity under that parent, so the prefix is the longest one whose quantity the reports
  cover. From a parent's first unallocated fill on, its messages (fills and state
  changes) are applied afterwards, in order, by the rebuilt desk (``Recovered.inbox``):
  they were dropped with the crash or are still in flight, and a later delivery is a
  duplicate (fill ids; a terminal parent ignores state changes).

Terminal states: ``COMPLETED`` puts the parent's open members back in the queue where it
is journaled (a parent's record precedes whatever the desk did about it); ``EXPIRED`` and
``CANCELED`` are replayed through ``OrderDesk.on_parent_state`` after the rebuild, which
expires (with reports) only the members the old instance had not expired yet.

Releases for internal crosses: a request (``ReleaseParentQuantity``) is outstanding until
its answer (``ParentQuantityReleased``) is journaled; the answer's target is the parent's
from then on, and what a working parent holds for a cross is its open quantity beyond
that target (``Parent.recount_open``). An answer the old instance never handled is taken
as handled: the held quantity crosses or goes back at the next market data.

Counters (exec ids, parent ids, cross ids) continue after the largest journaled one,
so no id repeats. One desk per journal is assumed (the engine runs one).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.desk.client_orders import ClientOrderState
from engine.desk.desk import EXCESS_SOURCE, OrderDesk
from engine.desk.netting import HOLD_REASON, RELEASE_RETRY_NS
from engine.desk.parents import Parent, id_number, key_of
from engine.messages import (
    AmendClientOrder,
    CancelClientOrder,
    CancelParentOrder,
    ClientOrderRejected,
    ExecType,
    ExecutionReport,
    InternalCrossExecuted,
    Message,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentQuantityReleased,
    ParentResizeSettled,
    ParentState,
    ParentStateChanged,
    ReleaseParentQuantity,
    ResizeParentOrder,
    SubmitClientOrder,
)

RECORD_TYPES: tuple[type[Message], ...] = (
    SubmitClientOrder,
    AmendClientOrder,
    CancelClientOrder,
    ExecutionReport,
    ClientOrderRejected,
    ParentOrderCreated,
    ResizeParentOrder,
    CancelParentOrder,
    InternalCrossExecuted,
    ParentOrderFilled,
    ParentStateChanged,
    ReleaseParentQuantity,
    ParentQuantityReleased,
    ParentResizeSettled,
)

_ANSWERS = (
    ExecType.NEW,
    ExecType.REPLACED,
    ExecType.CANCELED,
    ExecType.ORDER_STATUS,
    ExecType.PENDING_CANCEL,
    ExecType.PENDING_REPLACE,
)
_SETTLING = (ExecType.CANCELED, ExecType.REPLACED)
_DEFERRED = (ParentState.EXPIRED, ParentState.CANCELED)
_JOIN = "join of "

ClientCommand = SubmitClientOrder | AmendClientOrder | CancelClientOrder
ParentEvent = ParentOrderFilled | ParentStateChanged | ParentResizeSettled


@dataclass(slots=True)
class Recovered:
    """What the rebuilt desk still has to do, in order, before it acts on new input."""

    inbox: list[ParentEvent] = field(default_factory=list)  # parents' messages to apply
    unanswered: list[ClientCommand] = field(default_factory=list)  # client commands
    queued: int = 0  # client orders put back in the aggregation window
    allocated_fills: int = 0  # fills the old instance had allocated


def rebuild(desk: OrderDesk, records: Iterable[Message]) -> Recovered:
    """Put a fresh ``desk`` in the state the journal describes; return what is left to
    apply (see the module docstring). Sends nothing."""
    fold = _Fold(desk, [m for m in records if isinstance(m, RECORD_TYPES)])
    return fold.run()


def _allocated_prefixes(records: list[Message]) -> dict[str, int]:
    """Parent id → how many of its fills (in its send order) the old desk allocated."""
    reported: dict[str, int] = {}
    fills: dict[str, list[int]] = {}
    seen: set[tuple[str, str]] = set()
    for msg in records:
        if isinstance(msg, ExecutionReport):
            if msg.exec_type is ExecType.TRADE and not msg.internal and msg.parent_id:
                reported[msg.parent_id] = reported.get(msg.parent_id, 0) + msg.last_qty
        elif isinstance(msg, ParentOrderFilled) and (msg.parent_id, msg.fill_id) not in seen:
            seen.add((msg.parent_id, msg.fill_id))
            fills.setdefault(msg.parent_id, []).append(msg.quantity)
    out: dict[str, int] = {}
    for pid, qtys in fills.items():
        budget, k = reported.get(pid, 0), 0
        for q in qtys:
            if q > budget:
                break
            budget -= q
            k += 1
        out[pid] = k
    return out


class _Fold:
    """One walk of the desk's records, in journal order (``rebuild``)."""

    def __init__(self, desk: OrderDesk, records: list[Message]) -> None:
        self.desk = desk
        self.records = records
        self.prefixes = _allocated_prefixes(records)
        self.recovered = Recovered()
        # client order → its commands not answered yet, with their journal positions
        self.commands: dict[tuple[str, str], deque[tuple[int, ClientCommand]]] = {}
        self.queue: dict[ClientOrderState, int] = {}  # waiting for a window: since (ns)
        self.completed: set[str] = set()
        self.ended: set[str] = set()  # terminal parents (later state changes are ignored)
        self.fills_applied: dict[str, int] = {}
        self.blocked: set[str] = set()  # parents whose later messages go to the inbox
        self.inbox: list[ParentEvent] = []  # in journal order
        self.exec_count = self.cross_count = 0
        self.released: dict[str, dict[int, int]] = {}  # parent → release id → quantity
        self.position = 0

    def run(self) -> Recovered:
        for position, msg in enumerate(self.records):
            self.position = position
            self._apply(msg)
        desk, rec = self.desk, self.recovered
        waiting = desk.waiting_settle()
        for parent in desk.parents.values():
            parent.recount_open(waiting)
        if self.queue:
            opened = min(self.queue.values())
            for o in self.queue:
                if o.leaves and o.is_open:
                    desk.requeue(o, opened)
                    rec.queued += 1
        desk.continue_ids(self.exec_count, self.cross_count)
        rec.inbox = self.inbox
        left = sorted((i, c) for pending in self.commands.values() for i, c in pending)
        rec.unanswered = [c for _, c in left]
        return rec

    def _apply(self, msg: Message) -> None:
        match msg:
            case SubmitClientOrder() | AmendClientOrder() | CancelClientOrder():
                self._command(msg)
            case ExecutionReport():
                self._report(msg)
            case ClientOrderRejected():
                self._answered(msg.source, msg.client_order_id)
            case ParentOrderCreated():
                self._join(self.desk.restore_parent(msg))
            case ResizeParentOrder():
                self._resized(msg)
            case CancelParentOrder():
                self._canceled(msg)
            case InternalCrossExecuted():
                number = id_number(msg.cross_id, self.desk.config.cross_id_prefix)
                self.cross_count = max(self.cross_count, number)
            case ParentOrderFilled():
                self._parent_fill(msg)
            case ParentStateChanged():
                self._parent_state(msg)
            case ReleaseParentQuantity():
                self._asked(msg)
            case ParentQuantityReleased():
                self._released(msg)
            case ParentResizeSettled():
                # handled or not, applied again after the rebuild: what it settled was
                # reported (those members wait no more), what it did not is settled then
                self.inbox.append(msg)

    # ------------------------------------------------------------- client side

    def _command(self, msg: ClientCommand) -> None:
        if isinstance(msg, SubmitClientOrder):
            key = (msg.order.source, msg.order.client_order_id)
        else:
            key = (msg.source, msg.client_order_id)
        self.commands.setdefault(key, deque()).append((self.position, msg))

    def _answered(self, source: str, client_order_id: str) -> ClientCommand | None:
        """The oldest unanswered command on this client order, now answered."""
        pending = self.commands.get((source, client_order_id))
        return pending.popleft()[1] if pending else None

    def _report(self, r: ExecutionReport) -> None:
        number = id_number(r.exec_id, self.desk.config.exec_id_prefix)
        self.exec_count = max(self.exec_count, number)
        if r.source == EXCESS_SOURCE:
            parent = self.desk.parent(r.parent_id or "")
            if parent is not None:
                parent.restore_excess(r.order_qty, r.cum_notional)
            return
        # a pending cancel or replace taking effect: its parent's doing, no command's
        settled = r.exec_type in _SETTLING and r.reason is not None
        answers = r.exec_type in _ANSWERS and not settled
        cause = self._answered(r.source, r.client_order_id) if answers else None
        if r.exec_type is ExecType.NEW:
            if not isinstance(cause, SubmitClientOrder):
                raise ValueError(f"journal: no submit answered by {r.exec_id}")
            self.queue[self.desk.restore_order(cause.order, r.ts)] = r.ts
            return
        state = self.desk.order(r.source, r.client_order_id)
        if state is None:
            return  # a report about an order this desk never acknowledged: nothing to rebuild
        amend = cause if isinstance(cause, AmendClientOrder) else None
        replaced = r.exec_type is ExecType.REPLACED
        limit = amend.limit_price if replaced and amend else None
        if r.exec_type is ExecType.PENDING_REPLACE and amend is not None:
            self.desk.pend_amend(state, amend.quantity, amend.limit_price)
        elif replaced and settled:
            limit = self.desk.settle_amend(state)
        if settled:
            self.desk.settled(state)
        carried_by = state.parent_id  # restore forgets it when a pending change settles
        relimit = state.restore(r, limit)
        if state in self.queue:
            if not state.leaves:
                del self.queue[state]
            elif relimit:  # another bucket: to the back of the queue
                del self.queue[state]
                self.queue[state] = r.ts
        elif r.exec_type is ExecType.REPLACED and r.parent_id is None and state.leaves:
            # a new limit took it out of its parent, as the desk does
            parent = self.desk.parent(carried_by or "")
            if parent is not None:
                parent.leave(state)
            state.parent_id = None
            self.queue[state] = r.ts
        elif settled and carried_by is not None:  # a member's cancel: out of its parent
            parent = self.desk.parent(carried_by)
            if parent is not None:
                parent.leave(state)

    # ------------------------------------------------------------- parent side

    def _join(self, parent: Parent) -> None:
        """The queued open orders with ``parent``'s key join it (a window close)."""
        if parent.parent_id in self.completed:
            return  # the desk put them back when it handled the completion
        live = [o for o in self.queue if o.leaves and key_of(o) == parent.key]
        parent.join(live)
        for o in live:
            del self.queue[o]

    def _resized(self, msg: ResizeParentOrder) -> None:
        parent = self.desk.parent(msg.parent_id)
        if parent is not None:
            # less what was released after the resize's last answer (journaled before it)
            released = self.released.get(msg.parent_id, {})
            after = [q for rid, q in released.items() if rid > msg.after_release]
            parent.target = msg.quantity - sum(after)
            if msg.reason.startswith(_JOIN):
                self._join(parent)
            if msg.settle:  # the member whose pending change it is (reported just before)
                parent.settles = max(parent.settles, msg.settle)
                waiting = self.desk.waiting_settle()
                for o in parent.open_members():
                    if o.cancel_pending and o not in waiting:
                        self.desk.await_settle(o, msg.settle)

    def _asked(self, msg: ReleaseParentQuantity) -> None:
        parent = self.desk.parent(msg.parent_id)
        if parent is None:
            return
        parent.asking = msg.release_id
        parent.releases = max(parent.releases, msg.release_id)
        if msg.reason == HOLD_REASON:  # the new orders facing it wait from now
            for o in self.queue:
                if o.instrument == parent.instrument and o.side == -parent.side:
                    self.queue[o] = msg.ts

    def _released(self, msg: ParentQuantityReleased) -> None:
        """The answer counts as handled: the target it reports is the parent's, and what
        it gave back is held (derived in ``recount_open``); a redelivery is ignored and
        the next market data settles the instrument."""
        parent = self.desk.parent(msg.parent_id)
        if parent is not None and parent.asking == msg.release_id:
            parent.asking = None
            parent.answered = msg.release_id
            parent.target -= msg.quantity
            parent.ask_after_ns = msg.ts + RELEASE_RETRY_NS
            self.released.setdefault(msg.parent_id, {})[msg.release_id] = msg.quantity

    def _canceled(self, msg: CancelParentOrder) -> None:
        parent = self.desk.parent(msg.parent_id)
        if parent is not None:
            self.desk.retire(parent)

    def _parent_fill(self, msg: ParentOrderFilled) -> None:
        pid = msg.parent_id
        if self.desk.fill_seen(pid, msg.fill_id):
            return
        done = self.fills_applied.get(pid, 0)
        if pid in self.blocked or done >= self.prefixes.get(pid, 0):
            self.blocked.add(pid)  # this one and everything after it from the parent
            self.inbox.append(msg)
            return
        self.fills_applied[pid] = done + 1
        self.desk.restore_fill(msg)
        self.recovered.allocated_fills += 1

    def _parent_state(self, msg: ParentStateChanged) -> None:
        pid = msg.parent_id
        parent = self.desk.parent(pid)
        if pid in self.blocked:
            self.inbox.append(msg)
        elif parent is None or pid in self.ended:
            return
        elif msg.state in _DEFERRED:
            # no joins any more; its members expire (with reports) when it is replayed
            self.ended.add(pid)
            self.desk.retire(parent)
            self.inbox.append(msg)
        elif msg.state is ParentState.COMPLETED:
            self.completed.add(pid)
            self.ended.add(pid)
            self.desk.retire(parent)
            for o in parent.finish(msg.state):
                self.queue.setdefault(o, msg.ts)
        else:
            self.desk.on_parent_state(msg)
