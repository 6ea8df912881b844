"""The FIX application layer, sans I/O: application messages in, engine commands and FIX
replies out; engine reports in, ExecutionReports out to the order's session and to every
drop-copy session.

A session's SenderCompID is the engine's ``source`` for its orders, and every lookup goes
through the session's own ClOrdIDs: a session sees, cancels and amends only its orders.
An order keeps the engine's id (its first ClOrdID) across cancel/replace chains, and an
OrderID (37) that never changes. ExecIDs and OrderIDs start with the gateway's
incarnation, one higher at each start, so they never repeat across restarts.
"""

from __future__ import annotations

from collections.abc import Iterable
from copy import copy
from typing import NamedTuple

from engine.fix import tags as T
from engine.fix.codec import Field, FixMessage
from engine.fix.config import Role
from engine.fix.orders import OrderProblem, limit_price, new_order
from engine.fix.reports import (
    DONE,
    OrderIds,
    execution_report,
    order_status,
    rejected_order,
    side_code,
)
from engine.fix.restart import EngineOrders, StoredOrder, no_longer_worked, stored_orders
from engine.fix.session import Session
from engine.fix.times import utc_timestamp
from engine.messages import (
    AmendClientOrder,
    CancelClientOrder,
    ClientOrderRejected,
    ExecType,
    ExecutionReport,
    SubmitClientOrder,
)

Command = SubmitClientOrder | CancelClientOrder | AmendClientOrder

# OrdRejReason (103) for the engine's reject reasons; 99 (other) for the rest
ORD_REJ_REASONS = {
    "unknown_instrument": 1,
    "quantity_too_large": 3,
    "duplicate_client_order_id": 6,
    "bad_quantity": 13,
    "quantity_off_lot": 13,
    "unknown_order": 5,
}
NOT_AUTHORIZED, UNSUPPORTED_TYPE, CONDITIONALLY_REQUIRED = 6, 3, 5  # BusinessRejectReason
TOO_LATE, UNKNOWN_ORDER, ALREADY_PENDING, DUPLICATE_CL_ORD_ID, OTHER = 0, 1, 3, 6, 99


class Outbound(NamedTuple):
    session: Session
    msg_type: str
    body: list[Field]


class Pending(NamedTuple):
    cl_ord_id: str
    orig_cl_ord_id: str
    response_to: str  # CxlRejResponseTo (434): 1 cancel, 2 replace


class FixOrder:
    __slots__ = (
        "acked",
        "cum_qty",
        "engine_id",
        "ids",
        "last",
        "pending",
        "quantity",
        "session",
        "status",
    )

    def __init__(self, session: Session, engine_id: str, ids: OrderIds, quantity: str) -> None:
        self.session = session
        self.engine_id = engine_id
        self.ids = ids
        self.quantity = quantity
        self.status = "A"  # pending new, until the engine answers
        self.acked = False
        self.cum_qty = 0  # as last reported
        self.pending: Pending | None = None
        self.last: list[Field] = [  # its state as last reported (OrderStatusRequest)
            (T.ORDER_ID, ids.order_id),
            (T.CL_ORD_ID, ids.cl_ord_id),
            (T.ORD_STATUS, "A"),
            (T.SYMBOL, ids.symbol),
            (T.SIDE, ids.side),
            (T.ORDER_QTY, quantity),
            (T.LEAVES_QTY, quantity),
            (T.CUM_QTY, 0),
            (T.AVG_PX, "0"),
        ]

    @property
    def done(self) -> bool:
        return self.status in DONE


class Gateway:
    def __init__(self, sessions: Iterable[Session], incarnation: int) -> None:
        self._drop_copies = [s for s in sessions if s.settings.role is Role.DROP_COPY]
        self._incarnation = incarnation
        self._orders: dict[tuple[str, str], FixOrder] = {}  # (source, any ClOrdID used)
        self._by_engine: dict[tuple[str, str], FixOrder] = {}  # (source, engine id)
        self._count = 0
        self._caught_up: set[str] = set()  # engine exec ids sent from the trail

    # ------------------------------------------------------------ from clients

    def on_message(
        self, session: Session, msg: FixMessage, now_ns: int
    ) -> tuple[list[Command], list[Outbound]]:
        kind = msg.msg_type
        handler = _HANDLERS.get(kind)
        if handler is None:
            why = f"MsgType {kind!r} is not supported"
            return [], [_business_reject(session, msg, UNSUPPORTED_TYPE, why)]
        if session.settings.role is Role.DROP_COPY:
            why = "a drop-copy session cannot enter or change orders"
            return [], [_business_reject(session, msg, NOT_AUTHORIZED, why)]
        return handler(self, session, msg, now_ns)

    def _new_order(
        self, session: Session, msg: FixMessage, now_ns: int
    ) -> tuple[list[Command], list[Outbound]]:
        source, cl_ord_id = session.settings.sender_comp_id, msg.get(T.CL_ORD_ID) or ""
        ids = OrderIds("NONE", cl_ord_id, msg.get(T.SIDE) or "", msg.get(T.SYMBOL) or "")
        quantity = msg.get(T.ORDER_QTY) or ""
        if (source, cl_ord_id) in self._orders:
            text = "duplicate ClOrdID: the original order is unchanged"
            body = rejected_order(ids, self._exec_id(), quantity, text, 6, now_ns)
            return [], [Outbound(session, T.EXECUTION_REPORT, body)]
        order = new_order(msg, session.settings, engine_id=cl_ord_id)
        if isinstance(order, OrderProblem) and order.missing_tag:
            return [], [_business_reject(session, msg, CONDITIONALLY_REQUIRED, order.text)]
        ids.order_id = self._order_id()
        state = FixOrder(session, cl_ord_id, ids, quantity)
        self._orders[(source, cl_ord_id)] = state
        if isinstance(order, OrderProblem):
            state.status = "8"
            state.last = body = rejected_order(
                ids, self._exec_id(), quantity, order.text, order.ord_rej_reason, now_ns
            )
            return [], [Outbound(session, T.EXECUTION_REPORT, body)]
        self._by_engine[(source, cl_ord_id)] = state
        return [SubmitClientOrder(order=order, ts=now_ns)], []

    def _status(
        self, session: Session, msg: FixMessage, now_ns: int
    ) -> tuple[list[Command], list[Outbound]]:
        """OrderStatusRequest: the order's state as last reported, from the gateway."""
        order = self._orders.get((session.settings.sender_comp_id, msg.get(T.CL_ORD_ID) or ""))
        body = order_status(None if order is None else order.last, msg, self._exec_id(), now_ns)
        return [], [Outbound(session, T.EXECUTION_REPORT, body)]

    def _cancel(
        self, session: Session, msg: FixMessage, now_ns: int
    ) -> tuple[list[Command], list[Outbound]]:
        order = self._pending_change(session, msg, "1", now_ns)
        if isinstance(order, Outbound):
            return [], [order]
        source = session.settings.sender_comp_id
        return [CancelClientOrder(source=source, client_order_id=order.engine_id, ts=now_ns)], []

    def _replace(
        self, session: Session, msg: FixMessage, now_ns: int
    ) -> tuple[list[Command], list[Outbound]]:
        order = self._pending_change(session, msg, "2", now_ns)
        if isinstance(order, Outbound):
            return [], [order]
        price = limit_price(msg)
        if isinstance(price, OrderProblem):
            order.pending = None  # refused here: nothing went to the engine
            return [], [self._cancel_reject(session, order, msg, "2", OTHER, price.text, now_ns)]
        quantity = msg.get(T.ORDER_QTY)
        amend = AmendClientOrder(
            source=session.settings.sender_comp_id,
            client_order_id=order.engine_id,
            # down to what is filled at most: a new quantity at or below it ends the order
            quantity=None if quantity is None else max(int(quantity), order.cum_qty),
            limit_price=price,
            ts=now_ns,
        )
        return [amend], []

    def _pending_change(
        self, session: Session, msg: FixMessage, response_to: str, now_ns: int
    ) -> FixOrder | Outbound:
        """The order a cancel or replace names, now pending; or the OrderCancelReject."""
        source = session.settings.sender_comp_id
        orig, new = msg.get(T.ORIG_CL_ORD_ID) or "", msg.get(T.CL_ORD_ID) or ""
        order = self._orders.get((source, orig))
        if order is None:
            why = "unknown order"
            return self._cancel_reject(session, None, msg, response_to, UNKNOWN_ORDER, why, now_ns)
        problem = _change_problem(order, msg, (source, new) in self._orders)
        if problem is not None:
            code, why = problem
            return self._cancel_reject(session, order, msg, response_to, code, why, now_ns)
        order.pending = Pending(new, orig, response_to)
        self._orders[(source, new)] = order
        return order

    def _cancel_reject(
        self,
        session: Session,
        order: FixOrder | None,
        msg: FixMessage,
        response_to: str,
        reason: int,
        text: str,
        now_ns: int,
    ) -> Outbound:
        body: list[Field] = [
            (T.ORDER_ID, "NONE" if order is None else order.ids.order_id),
            (T.CL_ORD_ID, msg.get(T.CL_ORD_ID) or ""),
            (T.ORIG_CL_ORD_ID, msg.get(T.ORIG_CL_ORD_ID) or ""),
            (T.ORD_STATUS, "8" if order is None or order.status == "A" else order.status),
            (T.CXL_REJ_RESPONSE_TO, response_to),
            (T.CXL_REJ_REASON, reason),
            (T.TRANSACT_TIME, utc_timestamp(now_ns)),
            (T.TEXT, text),
        ]
        return Outbound(session, T.ORDER_CANCEL_REJECT, body)

    def restore(
        self, session: Session, now_ns: int, engine: EngineOrders | None = None
    ) -> list[Outbound]:
        """After a restart: the session's orders from the reports in its store
        (``engine.fix.restart``). ``engine``: the restarted engine's orders from its
        trail (taken from it): they go on, and the session gets the reports it missed;
        None (the engine started empty): those still working are reported cancelled.
        Every ClOrdID they used stays taken."""
        out: list[Outbound] = []
        source = session.settings.sender_comp_id
        for order_id, stored in stored_orders(session.store).items():
            if order_id == "NONE":  # duplicate ClOrdIDs refused: taken by their orders
                continue
            key = (source, stored.first_cl_ord_id)
            reports = None if engine is None else engine.pop(key, None)
            state = self._restored(session, order_id, stored, resumed=reports is not None)
            if reports is not None:
                out += self._catch_up(state, reports, stored.exec_ids)
            elif stored.working:
                state.last = body = no_longer_worked(stored, self._exec_id(), now_ns)
                out += [Outbound(session, T.EXECUTION_REPORT, body), *self._copies(body)]
        for (src, cl_ord_id), reports in (engine or {}).items():
            if src == source:  # acknowledged by the engine, never heard of by the session
                first = reports[0]
                ids = OrderIds(self._order_id(), cl_ord_id, side_code(first.side), first.instrument)
                state = FixOrder(session, cl_ord_id, ids, str(first.order_qty))
                self._orders[(source, cl_ord_id)] = self._by_engine[(source, cl_ord_id)] = state
                out += self._catch_up(state, reports, set())
        return out

    def _restored(
        self, session: Session, order_id: str, stored: StoredOrder, resumed: bool
    ) -> FixOrder:
        last, source = stored.last, session.settings.sender_comp_id
        ids = OrderIds(
            order_id, last.get(T.CL_ORD_ID) or "", last.get(T.SIDE) or "", last.get(T.SYMBOL) or ""
        )
        engine_id = stored.first_cl_ord_id if resumed else f"restored:{order_id}"
        state = FixOrder(session, engine_id, ids, last.get(T.ORDER_QTY) or "")
        state.status = last.get(T.ORD_STATUS) or "4"
        if stored.working and not resumed:
            state.status = "4"
        state.acked = True
        state.cum_qty = int(last.get(T.CUM_QTY) or 0)
        state.last = [(t, v) for t, v in last.fields if t not in T.HEADER and t != T.CHECKSUM]
        for cl_ord_id in stored.cl_ord_ids:
            self._orders[(source, cl_ord_id)] = state
        if resumed:
            self._by_engine[(source, engine_id)] = state
        return state

    def _catch_up(
        self, order: FixOrder, reports: list[ExecutionReport], sent: set[str]
    ) -> list[Outbound]:
        """The engine's reports on ``order`` the session has not had, in order; the
        engine's subscription may deliver them again: they go out once."""
        out: list[Outbound] = []
        for report in reports:
            if report.exec_id not in sent:
                self._caught_up.add(report.exec_id)
                out += self._report(order, report)
        return out

    # ------------------------------------------------------------- from engine

    def on_report(
        self, report: ExecutionReport | ClientOrderRejected, now_ns: int
    ) -> list[Outbound]:
        order = self._by_engine.get((report.source, report.client_order_id))
        if isinstance(report, ClientOrderRejected):
            return [] if order is None else self._engine_reject(order, report, now_ns)
        if self._caught_up and report.exec_id in self._caught_up:
            return []  # sent from the trail at the restart
        if order is None:  # an order from the API or a scenario: drop copies only
            ids = OrderIds(
                f"{self._incarnation}-{report.source}/{report.client_order_id}",
                report.client_order_id,
                side_code(report.side),
                report.instrument,
            )
            return self._copies(execution_report(ids, report, self._engine_exec_id(report)))
        return self._report(order, report)

    def _report(self, order: FixOrder, report: ExecutionReport) -> list[Outbound]:
        ids = order.ids
        if report.exec_type in _PENDING and order.pending:
            # 150=6/E names the request; the order keeps its ids until the engine's answer
            ids = copy(order.ids)
            ids.orig_cl_ord_id = order.pending.orig_cl_ord_id
            ids.cl_ord_id = order.pending.cl_ord_id
        if report.exec_type in (ExecType.CANCELED, ExecType.REPLACED) and order.pending:
            order.ids.orig_cl_ord_id = order.pending.orig_cl_ord_id
            order.ids.cl_ord_id = order.pending.cl_ord_id
            order.pending = None
        order.acked = True
        order.cum_qty = report.cum_qty
        order.last = body = execution_report(ids, report, self._engine_exec_id(report))
        order.status = str(dict(body)[T.ORD_STATUS])
        return [Outbound(order.session, T.EXECUTION_REPORT, body), *self._copies(body)]

    def _engine_reject(
        self, order: FixOrder, report: ClientOrderRejected, now_ns: int
    ) -> list[Outbound]:
        text = f"{report.reason}: {report.text}"
        if order.status == "A":  # the engine answers a new order before a cancel of it
            order.status = "8"
            code = ORD_REJ_REASONS.get(report.reason, OTHER)
            order.last = body = rejected_order(
                order.ids, self._exec_id(), order.quantity, text, code, now_ns
            )
            return [Outbound(order.session, T.EXECUTION_REPORT, body), *self._copies(body)]
        pending = order.pending
        if pending is None:
            return []
        order.pending = None
        reason = TOO_LATE if report.reason in ("order_done", "unknown_order") else OTHER
        fields = _as_message(pending)
        reply = self._cancel_reject(
            order.session, order, fields, pending.response_to, reason, text, now_ns
        )
        return [reply]

    def working_orders(self) -> list[CancelClientOrder]:
        """A cancel for each FIX order still working (a shutdown that cancels them)."""
        return [
            CancelClientOrder(source=source, client_order_id=engine_id)
            for (source, engine_id), o in self._by_engine.items()
            if o.acked and not o.done
        ]

    # ---------------------------------------------------------------- helpers

    def _copies(self, body: list[Field]) -> list[Outbound]:
        return [Outbound(s, T.EXECUTION_REPORT, body) for s in self._drop_copies]

    def _order_id(self) -> str:
        self._count += 1
        return f"{self._incarnation}-O{self._count}"

    def _exec_id(self) -> str:
        self._count += 1
        return f"{self._incarnation}-G{self._count}"

    def _engine_exec_id(self, report: ExecutionReport) -> str:
        return f"{self._incarnation}-{report.exec_id}"


def _change_problem(order: FixOrder, msg: FixMessage, duplicate: bool) -> tuple[int, str] | None:
    if duplicate:
        return DUPLICATE_CL_ORD_ID, "duplicate ClOrdID"
    if order.done:
        return TOO_LATE, "too late: the order is done"
    if order.pending is not None:
        return ALREADY_PENDING, "a cancel or replace is already pending"
    if msg.get(T.SIDE) != order.ids.side or msg.get(T.SYMBOL) != order.ids.symbol:
        return OTHER, "Side and Symbol must be the order's"
    return None


def _as_message(pending: Pending) -> FixMessage:
    return FixMessage(
        [
            (T.CL_ORD_ID, pending.cl_ord_id),
            (T.ORIG_CL_ORD_ID, pending.orig_cl_ord_id),
        ]
    )


def _business_reject(session: Session, msg: FixMessage, reason: int, text: str) -> Outbound:
    body: list[Field] = [
        (T.REF_SEQ_NUM, msg.get(T.SEQ) or 0),
        (T.REF_MSG_TYPE, msg.msg_type),
    ]
    ref_id = msg.get(T.CL_ORD_ID)
    if ref_id:
        body.append((T.BUSINESS_REJECT_REF_ID, ref_id))
    body += [(T.BUSINESS_REJECT_REASON, reason), (T.TEXT, text)]
    return Outbound(session, T.BUSINESS_MESSAGE_REJECT, body)


_PENDING = (ExecType.PENDING_CANCEL, ExecType.PENDING_REPLACE)

_HANDLERS = {
    T.NEW_ORDER_SINGLE: Gateway._new_order,
    T.ORDER_CANCEL_REQUEST: Gateway._cancel,
    T.ORDER_CANCEL_REPLACE: Gateway._replace,
    T.ORDER_STATUS_REQUEST: Gateway._status,
}
