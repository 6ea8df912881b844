"""Client cancels and amends (FIX cancel and cancel/replace requests).

A cancel or amend of an order waiting for the window, of a parent member whose parent
keeps other open members, or one that only grows the order, takes effect at once:
CANCELED or REPLACED, and the parent resizes (``ResizeParentOrder``). A cancel, a
reduction or a new limit of a parent's last open member cancels the parent instead,
whose children may still be live at venues: their late fills are still this order's.
So it is pending (``PENDING_CANCEL`` or ``PENDING_REPLACE``) until the parent has
settled its venue orders and ended; then the cancel takes effect on what is left
unfilled, or the amend with its quantity raised to what has filled by then, its open
part waiting for the next window like a new order (a new parent). A cancel
or amend of an order pending cancel or replace is rejected, as FIX rejects a replace
of an order pending cancel (``OrdCxlRejReason`` 3), except a cancel of a pending
replace, which turns it into a cancel.

``ClientChanges`` is the part of ``OrderDesk`` that does it (a mixin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.contract import Outbox
from engine.desk.client_orders import ClientOrderState, ExecIds
from engine.desk.intake import Intake, Rejection, RejectReason
from engine.desk.parents import Parent, ParentBook
from engine.desk.window import AggregationWindow
from engine.messages import CancelParentOrder, ExecType, ParentStateChanged

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

    def _lookup(
        self, source: str, client_order_id: str, account: str | None
    ) -> ClientOrderState | Rejection:
        raise NotImplementedError

    def _shrunk(self, parent: Parent, now_ns: int, reason: str) -> list[tuple[str, Message]]:
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
        if parent is not None and self._last_open(parent, state):
            self._pending_amends.pop(state, None)  # a cancel of a pending replace: a cancel
            who = f"client cancel {source}/{client_order_id}"
            return self._pending(parent, state, ExecType.PENDING_CANCEL, now_ns, who)
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

    def _pending(
        self, parent: Parent, state: ClientOrderState, kind: ExecType, now_ns: int, why: str
    ) -> Outbox:
        """``state`` waits for ``parent`` to settle and end (a ``kind`` report now)."""
        out: Outbox = [(self.reports, state.report(kind, self._exec_ids.next(), now_ns))]
        if state.cancel_pending:
            return out  # the parent is cancelling already
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
            if shrinks and self._last_open(parent, state):
                self._pending_amends[state] = (new_qty, new_limit)
                who = f"client amend {source}/{client_order_id}"
                return self._pending(parent, state, ExecType.PENDING_REPLACE, now_ns, who)
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
            amend = self._pending_amends.pop(o, None)
            if amend is None:
                o.cancel()
                kind = ExecType.CANCELED
            else:
                qty, limit = amend
                o.replace(max(qty, o.cum_qty), limit)  # what filled meanwhile stays filled
                if o.leaves:
                    self._window.enqueue(o, now_ns)  # a new limit: the next window
                kind = ExecType.REPLACED
            report = o.report(kind, self._exec_ids.next(), now_ns, reason=why)
            out.append((self.reports, report))
        return out, rest
