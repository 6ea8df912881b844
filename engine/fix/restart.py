"""What a restarted gateway knows of its orders: the ExecutionReports it sent, read back
from each session's store, and the engine's own reports from its audit trail.

When the engine was restarted on its trail (``Engine.restart``), the orders it was
working go on: each stored order is matched to its engine order (its first ClOrdID), and
the reports the trail holds that never reached the session (the process died between
the engine's commit and the gateway's) are sent now, so CumQty and AvgPx go on from what
the client last heard. When the engine starts empty instead, an order that was still
working is no longer worked: its client is told so, with an unsolicited cancel
(150=4 39=4) that keeps its CumQty and AvgPx. Either way its ClOrdIDs stay taken, so a
duplicate is still refused after the restart.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.fix import tags as T
from engine.fix.codec import Field, FixMessage, decode
from engine.fix.reports import DONE
from engine.fix.store import MemoryStore
from engine.fix.times import utc_timestamp
from engine.messages import ExecutionReport, Message

RESTART_TEXT = "the gateway restarted: the order is no longer worked"

EngineOrders = dict[tuple[str, str], list[ExecutionReport]]  # (source, client order id)


class StoredOrder:
    """The reports one OrderID went out in: the last, every ClOrdID, every ExecID."""

    __slots__ = ("cl_ord_ids", "exec_ids", "first_cl_ord_id", "last")

    def __init__(self, first: FixMessage) -> None:
        self.last = first
        self.first_cl_ord_id = first.get(T.CL_ORD_ID) or ""  # the engine's id for it
        self.cl_ord_ids: set[str] = set()
        self.exec_ids: set[str] = set()  # without the incarnation: the engine's exec ids

    @property
    def working(self) -> bool:
        return self.last.get(T.ORD_STATUS) not in DONE


def stored_orders(store: MemoryStore) -> dict[str, StoredOrder]:
    """By OrderID, from the ExecutionReports in ``store`` (in sequence order)."""
    orders: dict[str, StoredOrder] = {}
    for _, raw in store.messages(1, 0):
        msg = decode(raw)
        if msg.msg_type != T.EXECUTION_REPORT:
            continue
        order_id = msg.get(T.ORDER_ID) or ""
        order = orders.setdefault(order_id, StoredOrder(msg))
        order.last = msg
        order.exec_ids.add((msg.get(T.EXEC_ID) or "").partition("-")[2])
        for tag in (T.CL_ORD_ID, T.ORIG_CL_ORD_ID):
            value = msg.get(tag)
            if value:
                order.cl_ord_ids.add(value)
    return orders


def engine_orders(reports: Iterable[Message]) -> EngineOrders:
    """The engine's reports from its trail, by client order, in order."""
    orders: EngineOrders = {}
    for report in reports:
        if isinstance(report, ExecutionReport):
            key = (report.source, report.client_order_id)
            orders.setdefault(key, []).append(report)
    return orders


def no_longer_worked(order: StoredOrder, exec_id: str, now_ns: int) -> list[Field]:
    """The unsolicited cancel of an order a restart left behind."""
    last = order.last
    keep = (T.ORDER_ID, T.CL_ORD_ID, T.ACCOUNT, T.SYMBOL, T.SIDE, T.ORDER_QTY, T.CUM_QTY)
    body: list[Field] = [(tag, last.get(tag) or "") for tag in keep]
    body += [
        (T.EXEC_ID, exec_id),
        (T.EXEC_TYPE, "4"),
        (T.ORD_STATUS, "4"),
        (T.LEAVES_QTY, 0),
        (T.AVG_PX, last.get(T.AVG_PX) or "0"),
        (T.TRANSACT_TIME, utc_timestamp(now_ns)),
        (T.TEXT, RESTART_TEXT),
    ]
    return [(tag, value) for tag, value in body if value != ""]
