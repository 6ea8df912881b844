"""Client cancels and amends (FIX cancel and cancel/replace requests).

A cancel or amend of an order waiting for the window, or one that only grows the order,
takes effect at once: CANCELED or REPLACED (and a parent member's parent grows). One
that shrinks what a parent carries — a cancel, a reduction or a new limit — may race the
parent's children still live at venues: their fills are still this order's, so it is
pending (``PENDING_CANCEL`` or ``PENDING_REPLACE``) until they settle. Of a member whose
parent keeps other open members, the parent shrinks at once (``ResizeParentOrder`` with
a ``settle`` number) and the member's open part only takes the fills beyond the other
members' open quantity, until the parent answers that no child exceeds its new
remaining quantity (``ParentResizeSettled``) or ends. Of a parent's last open member,
the parent is cancelled, and the change waits for it to settle its venue orders and
end. Then the cancel takes effect on what is left unfilled, or the amend with its
quantity raised to what has filled by then, its open part waiting for the next window
like a new order. A cancel or amend of an order pending cancel or replace is rejected,
as FIX rejects a replace of an order pending cancel (``OrdCxlRejReason`` 3), except a
cancel of a pending replace, which turns it into a cancel.

``ClientChanges`` is the part of ``OrderDesk`` that does it (a mixin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.contract import Outbox
from engine.desk.client_orders import ClientOrderState, ExecIds
from engine.desk.intake import Intake, Rejection, RejectReason
from engine.desk.parents import Parent, ParentBook
from engine.desk.window import AggregationWindow
from engine.messages import (
    CancelParentOrder,
    ExecType,
    ExecutionReport,
    ParentResizeSettled,
    ParentStateChanged,
)

if TYPE_CHECKING:
    from engine.messages import Message

SETTLED = "settled"  # the reason of a report that ends a pending cancel or replace

Amend = tuple[int, int | None]  # (quantity, limit price) asked for


class ClientChanges:
    intake: Intake
    reports: str
    _exec_ids: ExecIds
    _window: AggregationWindow
    _parents: ParentBook
    _pending_amends: dict[ClientOrderState, Amend]
    _pending_settle: dict[ClientOrderState, int]  # member → the settle number it waits on

    def _lookup(
        self, source: str, client_order_id: str, account: str | None
    ) -> ClientOrderState | Rejection:
        raise NotImplementedError

    def _shrunk(
        self, parent: Parent, now_ns: int, reason: str, settle: int = 0
    ) -> list[tuple[str, Message]]:
        raise NotImplementedError

    def _rejected(
        self, rejection: Rejection, source: str, client_order_id: str, now_ns: int
    ) -> Outbox:
        raise NotImplementedError

    # ---------------------------------------------------------------- cancel

    def cancel(
        self, source: str, client_order_id: str, now_ns: int, account: str | None = None
    ) -> Outbox:
        """Cancel the client's unfilled part: CANCELED report, and the parent shrinks; or
        pending while the parent it would leave empty settles (module docstring)."""
        state = self._lookup(source, client_order_id, account)
        if isinstance(state, Rejection):
            return self._rejected(state, source, client_order_id, now_ns)
        if state.cancel_pending and state not in self._pending_amends:
            why = Rejection.of(RejectReason.PENDING_CANCEL, client_order_id)
            return self._rejected(why, source, client_order_id, now_ns)
        parent = None if state.parent_id is None else self._parents[state.parent_id]
        if parent is not None and (self._last_open(parent, state) or state.cancel_pending):
            self._pending_amends.pop(state, None)  # a cancel of a pending replace: a cancel
            who = f"client cancel {source}/{client_order_id}"
            return self._pending(parent, state, ExecType.PENDING_CANCEL, now_ns, who)
        if parent is not None:
            who = f"client cancel {source}/{client_order_id}"
            return self._member_pending(parent, state, ExecType.PENDING_CANCEL, now_ns, who)
        released = state.leaves
        if parent is None:
            self._window.dequeue(state)
        state.cancel()
        out: Outbox = [
            (self.reports, state.report(ExecType.CANCELED, self._exec_ids.next(), now_ns))
        ]
        if parent is not None:
            parent.open -= released
            out += self._shrunk(parent, now_ns, f"client cancel {source}/{client_order_id}")
        return out

    @staticmethod
    def _last_open(parent: Parent, state: ClientOrderState) -> bool:
        """``state`` is the parent's last open member not already pending."""
        return all(m is state or m.cancel_pending for m in parent.open_members())

    def _member_pending(
        self, parent: Parent, state: ClientOrderState, kind: ExecType, now_ns: int, why: str
    ) -> Outbox:
        """``state``'s open part leaves ``parent``'s target now (the parent shrinks and
        trims its children) but stays to take what they fill beyond the other members'
        open quantity, until the parent answers the resize's settle number."""
        out: Outbox = [(self.reports, state.report(kind, self._exec_ids.next(), now_ns))]
        state.cancel_pending = True
        parent.settles += 1
        self._pending_settle[state] = parent.settles
        parent.open -= state.leaves
        parent.pending += state.leaves
        return out + self._shrunk(parent, now_ns, why, settle=parent.settles)

    def _pending(
        self, parent: Parent, state: ClientOrderState, kind: ExecType, now_ns: int, why: str
    ) -> Outbox:
        """``state`` waits for ``parent`` to settle and end (a ``kind`` report now)."""
        out: Outbox = [(self.reports, state.report(kind, self._exec_ids.next(), now_ns))]
        if state.cancel_pending:
            return out  # the parent is cancelling already, or shrank for it
        state.cancel_pending = True
        self._parents.retire(parent)  # no joins and no crosses while it settles
        parent.held = 0  # the parent cancels everything: nothing is given back
        pid = parent.parent_id
        out.append((pid, CancelParentOrder(ts=now_ns, parent_id=pid, reason=why)))
        return out

    # ----------------------------------------------------------------- amend

    def amend(
        self,
        source: str,
        client_order_id: str,
        now_ns: int,
        quantity: int | None = None,
        limit_price: int | None = None,
        account: str | None = None,
    ) -> Outbox:
        """New total quantity and/or limit price: REPLACED report; the parent resizes.

        A new limit price makes the order incompatible with its parent, so its open part
        leaves the parent and waits for the next window like a new order. An amend that
        would leave the parent with nothing open is pending (module docstring)."""
        state = self._lookup(source, client_order_id, account)
        if not isinstance(state, Rejection) and state.cancel_pending:
            state = Rejection.of(RejectReason.PENDING_CANCEL, client_order_id)
        if isinstance(state, Rejection):
            return self._rejected(state, source, client_order_id, now_ns)
        instrument = self.intake.instruments[state.instrument]
        rejection = self.intake.check_amend(instrument, quantity, limit_price, state.cum_qty)
        if rejection is not None:
            return self._rejected(rejection, source, client_order_id, now_ns)
        new_qty = state.qty if quantity is None else quantity
        new_limit = state.limit if limit_price is None else limit_price
        if state.parent_id is None:
            self._amend_queued(state, new_qty, new_limit, now_ns)
            out: Outbox = []
        else:
            parent = self._parents[state.parent_id]
            shrinks = new_limit != state.limit or new_qty < state.qty
            if shrinks:
                self._pending_amends[state] = (new_qty, new_limit)
                who = f"client amend {source}/{client_order_id}"
                if self._last_open(parent, state):
                    return self._pending(parent, state, ExecType.PENDING_REPLACE, now_ns, who)
                kind = ExecType.PENDING_REPLACE
                return self._member_pending(parent, state, kind, now_ns, who)
            out = self._amend_carried(parent, state, new_qty, new_limit, now_ns)
        report = state.report(ExecType.REPLACED, self._exec_ids.next(), now_ns)
        out.insert(0, (self.reports, report))
        return out

    def _amend_queued(
        self, state: ClientOrderState, qty: int, limit: int | None, now_ns: int
    ) -> None:
        """Amend an order waiting for the window (a new limit: another queue)."""
        if limit != state.limit or qty == state.cum_qty:
            self._window.dequeue(state)  # another bucket, or done: leaves the queue
            state.replace(qty, limit)
            if state.leaves:
                self._window.enqueue(state, now_ns)
        else:
            state.replace(qty, limit)  # keeps its place in the queue

    def _amend_carried(
        self, parent: Parent, state: ClientOrderState, qty: int, limit: int | None, now_ns: int
    ) -> Outbox:
        """Amend an order ``parent`` carries: the parent's resize (or cancel)."""
        reason = f"client amend {state.source}/{state.client_order_id}"
        old_leaves = state.leaves
        if limit != state.limit:
            parent.open -= old_leaves
            parent.leave(state)
            state.replace(qty, limit)
            if state.leaves:
                self._window.enqueue(state, now_ns)
        else:
            state.replace(qty, limit)
            parent.open += state.leaves - old_leaves
        return self._shrunk(parent, now_ns, reason)

    # ------------------------------------------------------ a shrink settled

    def on_resize_settled(self, msg: ParentResizeSettled) -> Outbox:
        """The members' changes that waited for the parent's shrinks up to ``msg.settle``
        take effect (their reports); each leaves the parent."""
        parent = self._parents.get(msg.parent_id)
        if parent is None or parent.is_done:
            return []
        pid = parent.parent_id
        waiting = [
            o for o, n in self._pending_settle.items() if o.parent_id == pid and n <= msg.settle
        ]
        out: Outbox = []
        for o in waiting:
            del self._pending_settle[o]
            o.cancel_pending = False
            parent.pending -= o.leaves
            amend = self._pending_amends.pop(o, None)
            parent.leave(o)
            if not o.is_open:
                continue  # filled meanwhile: its last report said so
            out.append((self.reports, self._settle_one(o, amend, msg.ts, SETTLED)))
        return out

    def _settle_one(
        self, o: ClientOrderState, amend: Amend | None, now_ns: int, why: str
    ) -> ExecutionReport:
        """A pending cancel or replace of ``o`` (out of its parent) takes effect."""
        if amend is None:
            o.cancel()
            kind = ExecType.CANCELED
        else:
            qty, limit = amend
            o.replace(max(qty, o.cum_qty), limit)  # what filled meanwhile stays filled
            if o.leaves:
                self._window.enqueue(o, now_ns)  # the next window, as a new order
            kind = ExecType.REPLACED
        return o.report(kind, self._exec_ids.next(), now_ns, reason=why)

    # ------------------------------------------------------ the parent ended

    def _settle_pending(
        self, members: list[ClientOrderState], change: ParentStateChanged
    ) -> tuple[Outbox, list[ClientOrderState]]:
        """The pending cancels and replaces of an ended parent's open ``members`` take
        effect (their reports), and the members that were not pending."""
        out: Outbox = []
        rest: list[ClientOrderState] = []
        now_ns = change.ts
        why = change.expiry_reason or SETTLED  # not an answer to a client command
        for o in members:
            if not o.cancel_pending:
                rest.append(o)
                continue
            o.cancel_pending = False
            self._pending_settle.pop(o, None)
            amend = self._pending_amends.pop(o, None)
            out.append((self.reports, self._settle_one(o, amend, now_ns, why)))
        return out, rest
