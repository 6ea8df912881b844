"""The excess account: parent fills beyond the open quantity of its client orders (a
router over-fill race, or a fill for a parent this desk never created) are booked there
and reported as TRADE reports of the synthetic client ``EXCESS``, never given to a client.
"""

from __future__ import annotations

from engine.desk.parents import Parent
from engine.messages import ExecType, ExecutionReport, OrdStatus, ParentOrderFilled, Side

EXCESS_SOURCE = "EXCESS"  # synthetic client of excess-account execution reports
EXCESS_REASON = "excess"


def excess_report(
    parent: Parent, quantity: int, fill: ParentOrderFilled, exec_id: str, now_ns: int
) -> ExecutionReport:
    """``quantity`` of ``fill`` went to ``parent``'s excess account (already booked)."""
    return ExecutionReport(
        ts=now_ns,
        source=EXCESS_SOURCE,
        account=EXCESS_SOURCE,
        client_order_id=parent.parent_id,
        exec_id=exec_id,
        exec_type=ExecType.TRADE,
        ord_status=OrdStatus.FILLED,
        instrument=parent.instrument,
        side=Side(parent.side),
        order_qty=parent.excess_qty,
        cum_qty=parent.excess_qty,
        leaves_qty=0,
        cum_notional=parent.excess_notional,
        last_qty=quantity,
        last_price=fill.price,
        parent_id=parent.parent_id,
        venue=fill.venue,
        reason=EXCESS_REASON,
        text=f"filled beyond the clients' open quantity (fill {fill.fill_id})",
    )


def orphan_fill_report(fill: ParentOrderFilled, exec_id: str, now_ns: int) -> ExecutionReport:
    """A fill for a parent this desk never created: all of it is excess."""
    return ExecutionReport(
        ts=now_ns,
        source=EXCESS_SOURCE,
        account=EXCESS_SOURCE,
        client_order_id=fill.parent_id,
        exec_id=exec_id,
        exec_type=ExecType.TRADE,
        ord_status=OrdStatus.FILLED,
        instrument="",
        side=Side.BUY,
        order_qty=fill.quantity,
        cum_qty=fill.quantity,
        leaves_qty=0,
        cum_notional=fill.quantity * fill.price,
        last_qty=fill.quantity,
        last_price=fill.price,
        parent_id=fill.parent_id,
        venue=fill.venue,
        reason="unknown_parent",
        text="fill for an unknown parent",
    )
