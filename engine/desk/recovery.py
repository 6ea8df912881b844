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

``rebuild`` walks these records in journal order. The desk's own records are in the
order it decided them (one actor's records keep its send order), so its reports carry
each client order's state as the old instance left it. What no report says:

- **limit and mandate** of an order: from the command each answer pairs with. Commands
  on one client order are answered one by one, in order (one answer each: NEW, REPLACED,
  CANCELED or a reject), so the i-th command is answered by the i-th answer. A command
  journaled but never answered (the old instance died on it) is handed to the new one.
- **parent membership**: a window close puts every queued order of a key with open
  quantity into the parent of that key (``ParentOrderCreated``, or a resize with reason
  ``join of …``), so the fold keeps the queue (orders acknowledged, re-keyed by an amend,
  or put back by a completed parent) and assigns it at those records.
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

Counters (exec ids, parent ids, cross ids) continue after the largest journaled one,
so no id repeats. One desk per journal is assumed (the engine runs one).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field

from engine.desk.client_orders import ClientOrderState
from engine.desk.desk import EXCESS_SOURCE, Key, OrderDesk, Parent
from engine.messages import (
    AmendClientOrder,
    CancelClientOrder,
    CancelParentOrder,
    ClientOrderRejected,
    ExecType,
    ExecutionReport,
    InternalCrossExecuted,
    Message,
    OrdStatus,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
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
)

_OPEN = (OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED)
_ANSWERS = (ExecType.NEW, ExecType.REPLACED, ExecType.CANCELED)
_DEFERRED = (ParentState.EXPIRED, ParentState.CANCELED)
_JOIN = "join of "

ClientCommand = SubmitClientOrder | AmendClientOrder | CancelClientOrder
ParentEvent = ParentOrderFilled | ParentStateChanged


@dataclass(slots=True)
class Recovered:
    """What the rebuilt desk still has to do, in order, before it acts on new input."""

    inbox: list[ParentEvent] = field(default_factory=list)  # parents' messages to apply
    unanswered: list[ClientCommand] = field(default_factory=list)  # client commands
    queued: int = 0  # client orders put back in the aggregation window
    allocated_fills: int = 0  # fills the old instance had allocated


def _number(ident: str, prefix: str) -> int:
    tail = ident[len(prefix) :] if ident.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else 0


def _key(o: ClientOrderState) -> Key:
    return (o.instrument, o.side, o.limit, o.mandate)


def _allocated_prefixes(records: list[Message]) -> dict[str, int]:
    """Parent id → how many of its fills (in its send order) the old desk allocated."""
    reported: dict[str, int] = {}
    fills: dict[str, list[int]] = {}
    seen: set[tuple[str, str]] = set()
    for msg in records:
        if isinstance(msg, ExecutionReport):
            if msg.exec_type is ExecType.TRADE and not msg.internal and msg.parent_id:
                reported[msg.parent_id] = reported.get(msg.parent_id, 0) + msg.last_qty
        elif isinstance(msg, ParentOrderFilled):
            if (msg.parent_id, msg.fill_id) not in seen:
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


def rebuild(desk: OrderDesk, records: Iterable[Message]) -> Recovered:
    """Put a fresh ``desk`` in the state the journal describes; return what is left to
    apply (see the module docstring). Touches the desk's internals the way its own
    methods do; sends nothing."""
    records = [m for m in records if isinstance(m, RECORD_TYPES)]
    prefixes = _allocated_prefixes(records)
    cfg = desk.config
    rec = Recovered()
    commands: dict[tuple[str, str], deque[tuple[int, ClientCommand]]] = {}
    queue: dict[ClientOrderState, int] = {}  # waiting for a window, value: since (ns)
    completed: set[str] = set()
    ended: set[str] = set()  # terminal parents (later state changes are ignored)
    fills_applied: dict[str, int] = {}
    blocked: set[str] = set()
    deferred: list[tuple[int, ParentStateChanged]] = []
    inbox: list[tuple[int, ParentEvent]] = []
    exec_n = parent_n = cross_n = 0

    def join(parent: Parent, ts: int) -> list[ClientOrderState]:
        live = [o for o in queue if o.leaves and _key(o) == parent.key]
        if parent.parent_id in completed:
            return live  # the desk puts them back when it handles the completion
        for o in live:
            o.parent_id = parent.parent_id
            del queue[o]
        return live

    for i, msg in enumerate(records):
        if isinstance(msg, (SubmitClientOrder, AmendClientOrder, CancelClientOrder)):
            key = (
                (msg.order.source, msg.order.client_order_id)
                if isinstance(msg, SubmitClientOrder)
                else (msg.source, msg.client_order_id)
            )
            commands.setdefault(key, deque()).append((i, msg))
        elif isinstance(msg, ExecutionReport):
            exec_n = max(exec_n, _number(msg.exec_id, cfg.exec_id_prefix))
            if msg.source == EXCESS_SOURCE:
                parent = desk._parents.get(msg.parent_id or "")
                if parent is not None:
                    parent.excess_qty, parent.excess_notional = msg.order_qty, msg.cum_notional
                continue
            _apply_report(desk, msg, commands, queue)
        elif isinstance(msg, ClientOrderRejected):
            pending = commands.get((msg.source, msg.client_order_id))
            if pending:
                pending.popleft()
        elif isinstance(msg, ParentOrderCreated):
            parent_n = max(parent_n, _number(msg.parent_id, cfg.parent_id_prefix))
            key: Key = (msg.instrument, msg.side, msg.limit_price, msg.mandate)  # type: ignore[no-redef]
            parent = Parent(msg.parent_id, key, [], msg.quantity)  # type: ignore[arg-type]
            desk._parents[msg.parent_id] = parent
            desk._working[key] = parent  # type: ignore[index]
            desk._working_by_instrument.setdefault(msg.instrument, {})[msg.parent_id] = parent
            parent.members = join(parent, msg.ts)
        elif isinstance(msg, ResizeParentOrder):
            parent = desk._parents.get(msg.parent_id)
            if parent is not None:
                parent.target = msg.quantity
                if msg.reason.startswith(_JOIN):
                    parent.members.extend(
                        o for o in join(parent, msg.ts) if o.parent_id == parent.parent_id
                    )
        elif isinstance(msg, CancelParentOrder):
            parent = desk._parents.get(msg.parent_id)
            if parent is not None:
                desk._retire(parent)
        elif isinstance(msg, InternalCrossExecuted):
            cross_n = max(cross_n, _number(msg.cross_id, cfg.cross_id_prefix))
        elif isinstance(msg, ParentOrderFilled):
            pid = msg.parent_id
            if (pid, msg.fill_id) in desk._seen_fills:
                continue
            done = fills_applied.get(pid, 0)
            if pid in blocked or done >= prefixes.get(pid, 0):
                blocked.add(pid)
                inbox.append((i, msg))
                continue
            fills_applied[pid] = done + 1
            desk._seen_fills.add((pid, msg.fill_id))
            rec.allocated_fills += 1
            parent = desk._parents.get(pid)
            if parent is not None:
                parent.filled += msg.quantity
                parent.filled_notional += msg.quantity * msg.price
        elif isinstance(msg, ParentStateChanged):
            pid = msg.parent_id
            parent = desk._parents.get(pid)
            if pid in blocked:
                inbox.append((i, msg))
            elif parent is None or pid in ended:
                continue
            elif msg.state in _DEFERRED:
                ended.add(pid)
                desk._retire(parent)  # no joins any more; its members expire afterwards
                deferred.append((i, msg))
            elif msg.state is ParentState.COMPLETED:
                parent.state = msg.state
                completed.add(pid)
                ended.add(pid)
                desk._retire(parent)
                for o in parent.members:
                    if o.parent_id == pid and o.leaves:
                        o.parent_id = None
                        queue.setdefault(o, msg.ts)
                parent.members = []
            else:
                parent.state = msg.state

    for parent in desk._parents.values():
        if parent.parent_id in completed:
            parent.open = 0
            continue
        members = parent.open_members()
        parent.open = sum(o.leaves for o in members)
    if queue:
        opened = min(queue.values())
        for o in queue:
            if o.leaves and o.is_open:
                desk._enqueue(o, opened)
                rec.queued += 1
    desk._exec_ids.count = max(desk._exec_ids.count, exec_n)
    desk._parent_count = max(desk._parent_count, parent_n)
    desk._cross_count = max(desk._cross_count, cross_n)
    rec.inbox = [m for _, m in sorted(inbox + deferred, key=lambda e: e[0])]  # type: ignore[misc]
    left = sorted((i, c) for pending in commands.values() for i, c in pending)
    rec.unanswered = [c for _, c in left]
    return rec


def _apply_report(
    desk: OrderDesk,
    r: ExecutionReport,
    commands: dict[tuple[str, str], deque[tuple[int, ClientCommand]]],
    queue: dict[ClientOrderState, int],
) -> None:
    key = (r.source, r.client_order_id)
    cause = None
    if r.exec_type in _ANSWERS:
        pending = commands.get(key)
        cause = pending.popleft()[1] if pending else None
    by_id = desk._orders.setdefault(r.source, {})
    state = by_id.get(r.client_order_id)
    if r.exec_type is ExecType.NEW:
        if not isinstance(cause, SubmitClientOrder):
            raise ValueError(f"journal: no submit answered by {r.exec_id}")
        order = cause.order
        if desk.intake.check_new(order, r.ts) is not None:  # as the desk did on arrival
            order = desk.intake.normalize(order)
        state = by_id[r.client_order_id] = ClientOrderState.of(order, r.ts)
        queue[state] = r.ts
        return
    if state is None:
        return  # a report about an order this desk never acknowledged: nothing to rebuild
    relimit = False
    if r.exec_type is ExecType.REPLACED:
        state.qty = r.order_qty
        if (
            isinstance(cause, AmendClientOrder)
            and cause.limit_price is not None
            and cause.limit_price != state.limit
        ):
            state.limit, relimit = cause.limit_price, True
    state.cum_qty, state.cum_notional = r.cum_qty, r.cum_notional
    state.status = r.ord_status
    state.leaves = r.leaves_qty if r.ord_status in _OPEN else 0
    if state in queue:
        if not state.leaves:
            del queue[state]
        elif relimit:  # another bucket: to the back of the queue
            del queue[state]
            queue[state] = r.ts
    elif r.exec_type is ExecType.REPLACED and r.parent_id is None and state.leaves:
        # a new limit took it out of its parent: off the member list too, as the desk does
        # (amended back to that limit, it rejoins the parent and must be listed once)
        parent = desk._parents.get(state.parent_id or "")
        if parent is not None:
            with suppress(ValueError):
                parent.members.remove(state)
        state.parent_id = None
        queue[state] = r.ts
