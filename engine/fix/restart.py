"""What a restarted gateway knows of its orders: the ExecutionReports it sent, read back
from each session's store.

The engine behind a restarted gateway starts empty, so an order that was still working
when the process died is no longer worked. Its client is told so, with an unsolicited
cancel (150=4 39=4) that keeps its CumQty and AvgPx, instead of an order it believes open
forever; its ClOrdIDs stay taken, so a duplicate is still refused after the restart.
"""

from __future__ import annotations

from engine.fix import tags as T
from engine.fix.codec import Field, FixMessage, decode
from engine.fix.reports import DONE
from engine.fix.store import MemoryStore
from engine.fix.times import utc_timestamp

RESTART_TEXT = "the gateway restarted: the order is no longer worked"


class StoredOrder:
    """The last report of one OrderID, and every ClOrdID it went by."""

    __slots__ = ("cl_ord_ids", "last")

    def __init__(self, last: FixMessage) -> None:
        self.last = last
        self.cl_ord_ids: set[str] = set()

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
        for tag in (T.CL_ORD_ID, T.ORIG_CL_ORD_ID):
            value = msg.get(tag)
            if value:
                order.cl_ord_ids.add(value)
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
