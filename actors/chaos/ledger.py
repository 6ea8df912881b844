"""What a run did, read from its audit trail in one pass: client orders and their
reports, parents, children, venue orders, fills, crosses and faults. The invariants
(``actors.chaos.invariants``) are checked on this, never on the engine's internals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from engine import messages as m
from engine.audit.trail import AuditTrail
from engine.desk.desk import EXCESS_SOURCE

_TERMINAL_PARENT = {m.ParentState.COMPLETED, m.ParentState.CANCELED, m.ParentState.EXPIRED}

UNKNOWN_ORDER = "unknown_order"  # a cancel's answer from a venue holding nothing of the order

OrderKey = tuple[str, str]  # (source, client_order_id)


@dataclass(slots=True)
class VenueOrder:
    """One of our orders at a venue: what was placed and what became of it."""

    order_id: str
    venue: str
    parent_id: str
    child_id: str
    quantity: int
    filled: int = 0
    cancelled: int = 0
    rejected: bool = False

    @property
    def live(self) -> int:
        """Shares still open at the venue (0 once settled)."""
        return 0 if self.rejected else max(self.quantity - self.filled - self.cancelled, 0)


@dataclass(slots=True)
class Child:
    child_id: str
    parent_id: str
    quantity: int
    filled: int = 0  # Σ ChildOrderFilled
    done: int = 0  # ChildOrderDone records
    done_filled: int | None = None  # the first ChildOrderDone's filled
    rejected: int = 0  # ChildOrderRejected records


@dataclass(slots=True)
class Parent:
    parent_id: str
    venue_fills: int = 0  # Σ VenueOrderFilled of its venue orders
    parent_fills: int = 0  # Σ ParentOrderFilled
    client_fills: int = 0  # Σ market (non-internal) client TRADE reports naming it
    excess: int = 0  # Σ excess-account TRADE reports naming it
    excess_after_done: int = 0  # the part of it booked after the parent was done
    crossed: int = 0  # Σ internal client fills taken from its unfilled part
    client_shrinks: int = 0  # resizes and cancels after a client cancel or amend
    done_seq: int | None = None  # trail position of its first terminal state
    done_state: str = ""
    live_at_done: list[str] = field(default_factory=list)  # venue orders live then


@dataclass
class Ledger:
    submits: dict[OrderKey, list[m.ClientOrder]] = field(default_factory=dict)
    reports: dict[OrderKey, list[m.ExecutionReport]] = field(default_factory=dict)
    rejected: set[OrderKey] = field(default_factory=set)  # got a ClientOrderRejected
    rejects: int = 0  # ClientOrderRejected records
    exec_ids: set[str] = field(default_factory=set)  # of every execution report
    repeated_exec_ids: list[str] = field(default_factory=list)  # journaled again
    parents: dict[str, Parent] = field(default_factory=dict)
    children: dict[str, Child] = field(default_factory=dict)
    venue_orders: dict[str, VenueOrder] = field(default_factory=dict)
    venue_fill_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    parent_fill_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    internal: dict[int, int] = field(default_factory=dict)  # side → Σ internal fills
    crosses: int = 0  # Σ InternalCrossExecuted.quantity
    venue_status: dict[str, str] = field(default_factory=dict)  # the last status change
    escalations: list[str] = field(default_factory=list)
    failures: int = 0  # ActorFailed records
    records: int = 0  # records read

    def parent(self, parent_id: str) -> Parent:
        found = self.parents.get(parent_id)
        if found is None:
            found = self.parents[parent_id] = Parent(parent_id)
        return found

    # ------------------------------------------------------------------- reading

    @classmethod
    def of_trail(cls, trail: AuditTrail) -> Ledger:
        """The ledger of a whole trail (only the records it reads are decoded)."""
        return cls.of(trail.messages(*_HANDLERS))

    @classmethod
    def of(cls, messages: Iterable[m.Message]) -> Ledger:
        ledger = cls()
        for seq, msg in enumerate(messages, 1):
            ledger.records = seq
            ledger.read(seq, msg)
        return ledger

    def read(self, seq: int, msg: m.Message) -> None:
        handler = _HANDLERS.get(type(msg))
        if handler is not None:
            handler(self, seq, msg)

    def _submit(self, seq: int, msg: m.SubmitClientOrder) -> None:
        key = (msg.order.source, msg.order.client_order_id)
        self.submits.setdefault(key, []).append(msg.order)

    def _report(self, seq: int, msg: m.ExecutionReport) -> None:
        if msg.exec_id in self.exec_ids:
            self.repeated_exec_ids.append(msg.exec_id)
        self.exec_ids.add(msg.exec_id)
        if msg.source == EXCESS_SOURCE:
            parent = self.parent(msg.parent_id or msg.client_order_id)
            parent.excess += msg.last_qty
            if parent.done_seq is not None:
                parent.excess_after_done += msg.last_qty
            return
        self.reports.setdefault((msg.source, msg.client_order_id), []).append(msg)
        if msg.exec_type is not m.ExecType.TRADE:
            return
        if msg.internal:
            self.internal[int(msg.side)] = self.internal.get(int(msg.side), 0) + msg.last_qty
            if msg.parent_id is not None:
                self.parent(msg.parent_id).crossed += msg.last_qty
        elif msg.parent_id is not None:
            self.parent(msg.parent_id).client_fills += msg.last_qty

    def _rejected(self, seq: int, msg: m.ClientOrderRejected) -> None:
        self.rejected.add((msg.source, msg.client_order_id))
        self.rejects += 1

    def _cross(self, seq: int, msg: m.InternalCrossExecuted) -> None:
        self.crosses += msg.quantity

    def _resize(self, seq: int, msg: m.ResizeParentOrder | m.CancelParentOrder) -> None:
        if msg.reason.startswith("client "):
            self.parent(msg.parent_id).client_shrinks += 1

    def _parent_state(self, seq: int, msg: m.ParentStateChanged) -> None:
        parent = self.parent(msg.parent_id)
        if msg.state in _TERMINAL_PARENT and parent.done_seq is None:
            parent.done_seq, parent.done_state = seq, msg.state.value
            parent.live_at_done = [
                vo.order_id
                for vo in self.venue_orders.values()
                if vo.parent_id == msg.parent_id and vo.live
            ]

    def _parent_fill(self, seq: int, msg: m.ParentOrderFilled) -> None:
        self.parent(msg.parent_id).parent_fills += msg.quantity
        key = (msg.parent_id, msg.fill_id)
        self.parent_fill_ids[key] = self.parent_fill_ids.get(key, 0) + 1

    def _place_child(self, seq: int, msg: m.PlaceChildOrder) -> None:
        if msg.child_id not in self.children:
            self.children[msg.child_id] = Child(msg.child_id, msg.parent_id, msg.quantity)

    def _child_filled(self, seq: int, msg: m.ChildOrderFilled) -> None:
        child = self.children.get(msg.child_id)
        if child is not None:
            child.filled += msg.quantity

    def _child_done(self, seq: int, msg: m.ChildOrderDone) -> None:
        child = self.children.get(msg.child_id)
        if child is not None:
            child.done += 1
            if child.done_filled is None:
                child.done_filled = msg.filled

    def _child_rejected(self, seq: int, msg: m.ChildOrderRejected) -> None:
        child = self.children.get(msg.child_id)
        if child is not None:
            child.rejected += 1

    def _place_venue(self, seq: int, msg: m.PlaceVenueOrder) -> None:
        if msg.order_id not in self.venue_orders:
            self.venue_orders[msg.order_id] = VenueOrder(
                msg.order_id, msg.venue, msg.parent_id, msg.child_id, msg.quantity
            )

    def _venue_filled(self, seq: int, msg: m.VenueOrderFilled) -> None:
        key = (msg.venue, msg.fill_id)
        self.venue_fill_ids[key] = self.venue_fill_ids.get(key, 0) + 1
        vo = self.venue_orders.get(msg.order_id)
        if vo is not None:
            vo.filled += msg.quantity
            self.parent(vo.parent_id).venue_fills += msg.quantity

    def _venue_cancelled(self, seq: int, msg: m.VenueOrderCancelled) -> None:
        vo = self.venue_orders.get(msg.order_id)
        if vo is not None:
            vo.cancelled += msg.cancelled

    def _cancel_rejected(self, seq: int, msg: m.VenueCancelRejected) -> None:
        vo = self.venue_orders.get(msg.order_id)
        if vo is not None and msg.reason == UNKNOWN_ORDER:  # the venue holds none of it
            vo.cancelled = vo.quantity - vo.filled

    def _order_status(self, seq: int, msg: m.VenueOrderStatus) -> None:
        vo = self.venue_orders.get(msg.order_id)
        if vo is not None and msg.state != "live":  # the venue holds none of it (any more)
            # what it filled stays open here until its fills are in the trail
            vo.cancelled = vo.quantity - max(vo.filled, msg.filled)

    def _venue_rejected(self, seq: int, msg: m.VenueOrderRejected) -> None:
        vo = self.venue_orders.get(msg.order_id)
        if vo is not None:
            vo.rejected = True

    def _venue_replaced(self, seq: int, msg: m.VenueOrderReplaced) -> None:
        vo = self.venue_orders.get(msg.order_id)
        if vo is not None:  # the new total quantity; what it had filled stays filled
            vo.quantity = msg.quantity

    def _venue_status(self, seq: int, msg: m.VenueStatusChanged) -> None:
        self.venue_status[msg.venue] = msg.status.value

    def venue_condition(self, venue: str) -> str:
        """A venue's status at the end of the trail (dropped cancels change none)."""
        return self.venue_status.get(venue, "up")

    def _failed(self, seq: int, msg: m.ActorFailed) -> None:
        self.failures += 1

    def _escalated(self, seq: int, msg: m.SupervisorEscalated) -> None:
        self.escalations.append(f"{msg.name}: {msg.reason}")


_HANDLERS: dict[type[m.Message], Callable[[Ledger, int, Any], None]] = {
    m.SubmitClientOrder: Ledger._submit,
    m.ExecutionReport: Ledger._report,
    m.ClientOrderRejected: Ledger._rejected,
    m.InternalCrossExecuted: Ledger._cross,
    m.ResizeParentOrder: Ledger._resize,
    m.CancelParentOrder: Ledger._resize,
    m.ParentStateChanged: Ledger._parent_state,
    m.ParentOrderFilled: Ledger._parent_fill,
    m.PlaceChildOrder: Ledger._place_child,
    m.ChildOrderFilled: Ledger._child_filled,
    m.ChildOrderDone: Ledger._child_done,
    m.ChildOrderRejected: Ledger._child_rejected,
    m.PlaceVenueOrder: Ledger._place_venue,
    m.VenueOrderFilled: Ledger._venue_filled,
    m.VenueOrderCancelled: Ledger._venue_cancelled,
    m.VenueOrderRejected: Ledger._venue_rejected,
    m.VenueCancelRejected: Ledger._cancel_rejected,
    m.VenueOrderStatus: Ledger._order_status,
    m.VenueOrderReplaced: Ledger._venue_replaced,
    m.VenueStatusChanged: Ledger._venue_status,
    m.ActorFailed: Ledger._failed,
    m.SupervisorEscalated: Ledger._escalated,
}
