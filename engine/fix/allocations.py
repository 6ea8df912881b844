"""Allocations as CSV for post-trade systems: one row per fill of a client order (its
share of a parent's venue fill, or an internal cross), as the engine reported it.

Clearing and compliance read this beside the venue fills CSV (``engine.tca.text``,
``FILLS_CSV_COLUMNS``, one row per child fill with its benchmark): the venue side says
what traded where, this side whose it is. Times as in the fills CSV (ISO 8601 with the
session's offset, and ``ts_ns``); prices in dollars on the 6-decimal grid. An internal
cross is ``venue = XOFF`` with ``internal = true`` (the FIX drop copy's convention).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import TypeGuard

from engine.fix.reports import INTERNAL_MARKET, average_text
from engine.messages import ExecType, ExecutionReport, Message, Side
from engine.prices import PRICE_SCALE
from engine.tca.text import csv_time

ALLOCATIONS_CSV_COLUMNS = (
    "time",
    "source",
    "account",
    "client_order_id",
    "instrument",
    "side",
    "quantity",
    "price",
    "venue",
    "internal",
    "parent_id",
    "exec_id",
    "order_qty",
    "cum_qty",
    "leaves_qty",
    "avg_price",
    "ts_ns",
)


def is_allocation(msg: Message) -> TypeGuard[ExecutionReport]:
    return isinstance(msg, ExecutionReport) and msg.exec_type is ExecType.TRADE


def allocation_row(report: ExecutionReport, utc_offset_hours: int = 0) -> list[str]:
    """One fill of a client order, in ``ALLOCATIONS_CSV_COLUMNS`` order."""
    return [
        csv_time(report.ts, utc_offset_hours),
        report.source,
        report.account,
        report.client_order_id,
        report.instrument,
        "buy" if report.side is Side.BUY else "sell",
        str(report.last_qty),
        f"{Decimal(report.last_price) / PRICE_SCALE:.6f}",
        INTERNAL_MARKET if report.internal else (report.venue or ""),
        "true" if report.internal else "false",
        report.parent_id or "",
        report.exec_id,
        str(report.order_qty),
        str(report.cum_qty),
        str(report.leaves_qty),
        average_text(report.cum_notional, report.cum_qty),
        str(report.ts),
    ]


def write_allocations_csv(
    messages: Iterable[Message], path: str | Path, utc_offset_hours: int = 0
) -> int:
    """Every allocation among ``messages`` (e.g. an audit trail's) to ``path``; the rows."""
    rows = [allocation_row(m, utc_offset_hours) for m in messages if is_allocation(m)]
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(ALLOCATIONS_CSV_COLUMNS)
        writer.writerows(rows)
    return len(rows)
