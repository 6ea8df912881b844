"""ExecutionReport (35=8) bodies from the engine's per-client-order reports.

Every report carries 37, 17, 150, 39, 54, 55, 38, 151, 14, 6 and 60. Fills (150=F) add
32/31/30/29. LastMkt (30) is the venue's name; an internal cross between two client orders
is ``LastMkt=XOFF`` (off-exchange, ISO 10383) with ``LastCapacity=2`` (cross as agent);
venue fills are ``LastCapacity=1`` (agent). LeavesQty is 0 once the order is done.
"""

from __future__ import annotations

from decimal import Decimal

from engine.fix import tags as T
from engine.fix.codec import Field, FixMessage
from engine.fix.times import utc_timestamp
from engine.messages import ExecType, ExecutionReport, OrdStatus, Side
from engine.prices import PRICE_SCALE, to_decimal

EXEC_TYPES = {
    ExecType.NEW: "0",
    ExecType.TRADE: "F",
    ExecType.CANCELED: "4",
    ExecType.REPLACED: "5",
    ExecType.REJECTED: "8",
    ExecType.EXPIRED: "C",
    ExecType.PENDING_CANCEL: "6",
    ExecType.PENDING_REPLACE: "E",
}
# a pending cancel or replace is also the order's status until the engine's answer
PENDING_STATUSES = {ExecType.PENDING_CANCEL: "6", ExecType.PENDING_REPLACE: "E"}
# reports that name the request's ClOrdID and the order's OrigClOrdID
REQUEST_ANSWERS = (
    ExecType.CANCELED,
    ExecType.REPLACED,
    ExecType.PENDING_CANCEL,
    ExecType.PENDING_REPLACE,
)
ORD_STATUSES = {
    OrdStatus.NEW: "0",
    OrdStatus.PARTIALLY_FILLED: "1",
    OrdStatus.FILLED: "2",
    OrdStatus.CANCELED: "4",
    OrdStatus.REJECTED: "8",
    OrdStatus.EXPIRED: "C",
}
DONE = frozenset({"2", "4", "8", "C"})
INTERNAL_MARKET = "XOFF"


def price_text(units: int) -> str:
    """Exact decimal text of a fixed-point price (no exponent, no trailing zeros)."""
    text = f"{to_decimal(units):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def average_text(notional: int, quantity: int) -> str:
    if quantity == 0:
        return "0"
    avg = (Decimal(notional) / (Decimal(quantity) * PRICE_SCALE)).quantize(Decimal("1e-9"))
    text = f"{avg:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class OrderIds:
    """What a report needs beyond the engine's: the FIX identifiers of one client order."""

    __slots__ = ("cl_ord_id", "order_id", "orig_cl_ord_id", "side", "symbol")

    def __init__(self, order_id: str, cl_ord_id: str, side: str, symbol: str) -> None:
        self.order_id = order_id
        self.cl_ord_id = cl_ord_id
        self.orig_cl_ord_id: str | None = None
        self.side = side
        self.symbol = symbol


def execution_report(ids: OrderIds, report: ExecutionReport, exec_id: str) -> list[Field]:
    status = PENDING_STATUSES.get(report.exec_type) or ORD_STATUSES[report.ord_status]
    leaves = 0 if status in DONE else report.leaves_qty
    body: list[Field] = [
        (T.ORDER_ID, ids.order_id),
        (T.CL_ORD_ID, ids.cl_ord_id),
    ]
    if ids.orig_cl_ord_id is not None and report.exec_type in REQUEST_ANSWERS:
        body.append((T.ORIG_CL_ORD_ID, ids.orig_cl_ord_id))
    body += [
        (T.EXEC_ID, exec_id),
        (T.EXEC_TYPE, EXEC_TYPES[report.exec_type]),
        (T.ORD_STATUS, status),
        (T.ACCOUNT, report.account),
        (T.SYMBOL, ids.symbol),
        (T.SIDE, ids.side),
        (T.ORDER_QTY, report.order_qty),
        (T.LEAVES_QTY, leaves),
        (T.CUM_QTY, report.cum_qty),
        (T.AVG_PX, average_text(report.cum_notional, report.cum_qty)),
        (T.TRANSACT_TIME, utc_timestamp(report.ts)),
    ]
    if report.exec_type is ExecType.TRADE:
        body += [
            (T.LAST_QTY, report.last_qty),
            (T.LAST_PX, price_text(report.last_price)),
            (T.LAST_MKT, INTERNAL_MARKET if report.internal else (report.venue or "")),
            (T.LAST_CAPACITY, "2" if report.internal else "1"),
        ]
    if report.text:
        body.append((T.TEXT, report.text))
    return [(tag, value) for tag, value in body if value != ""]


def rejected_order(
    ids: OrderIds, exec_id: str, quantity: str, text: str, reason: int, now_ns: int
) -> list[Field]:
    """An order refused before it was ever working: 150=8 39=8 with 103 and 58."""
    return [
        (T.ORDER_ID, ids.order_id),
        (T.CL_ORD_ID, ids.cl_ord_id),
        (T.EXEC_ID, exec_id),
        (T.EXEC_TYPE, "8"),
        (T.ORD_STATUS, "8"),
        (T.ORD_REJ_REASON, reason),
        (T.SYMBOL, ids.symbol or "?"),
        (T.SIDE, ids.side or "1"),
        (T.ORDER_QTY, quantity or "0"),
        (T.LEAVES_QTY, 0),
        (T.CUM_QTY, 0),
        (T.AVG_PX, "0"),
        (T.TRANSACT_TIME, utc_timestamp(now_ns)),
        (T.TEXT, text),
    ]


def side_code(side: Side) -> str:
    return "1" if side is Side.BUY else "2"


_NOT_IN_A_STATUS = frozenset({T.EXEC_ID, T.EXEC_TYPE, T.TRANSACT_TIME, T.TEXT, T.ORIG_CL_ORD_ID})
_LAST_FILL = frozenset({T.LAST_QTY, T.LAST_PX, T.LAST_MKT, T.LAST_CAPACITY})


def order_status(
    last: list[Field] | None, request: FixMessage, exec_id: str, now_ns: int
) -> list[Field]:
    """The answer to an OrderStatusRequest (35=H): 150=I with the order's state as last
    reported (``last``), or, for an order the session does not have, 39=8 with 58."""
    if last is None:
        body: list[Field] = [
            (T.ORDER_ID, request.get(T.ORDER_ID) or "NONE"),
            (T.CL_ORD_ID, request.get(T.CL_ORD_ID) or ""),
            (T.EXEC_ID, exec_id),
            (T.EXEC_TYPE, "I"),
            (T.ORD_STATUS, "8"),
            (T.SYMBOL, request.get(T.SYMBOL) or "?"),
            (T.SIDE, request.get(T.SIDE) or "1"),
            (T.LEAVES_QTY, 0),
            (T.CUM_QTY, 0),
            (T.AVG_PX, "0"),
            (T.TEXT, "unknown order"),
        ]
    else:
        kept = [(t, v) for t, v in last if t not in _NOT_IN_A_STATUS and t not in _LAST_FILL]
        body = [*kept[:2], (T.EXEC_ID, exec_id), (T.EXEC_TYPE, "I"), *kept[2:]]
    body.append((T.TRANSACT_TIME, utc_timestamp(now_ns)))
    request_id = request.get(T.ORD_STATUS_REQ_ID)
    return body if request_id is None else [*body, (T.ORD_STATUS_REQ_ID, request_id)]
