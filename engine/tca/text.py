"""TCA results as terminal text, JSON and CSV.

The fill table prints *performance* vs benchmark (the column a desk reads: positive =
better than the benchmark). In JSON, ``bps`` is that same performance figure, so a desk
reads the same number in both; ``slippage_bps`` (positive = cost) sits next to it.

A run's report is read top down: each parent's summary first (``run_report_text``); the
per-fill table, thousands of lines on a day's VWAP, goes to a CSV file
(``write_fills_csv``, which ``smart-exec tca`` reads back) and to the terminal only on
request (``run_fills_text``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from engine.clock import MINUTE, SECOND
from engine.prices import PRICE_SCALE
from engine.tca.metrics import FillRow, FillTotal, ParentTCA, Shortfall, to_currency
from engine.tca.portfolio import (
    PORTFOLIO_HEADERS,
    PortfolioTCA,
    bucket_cells,
    portfolio_sections,
)

DAY_NS = 86_400 * SECOND

BPS_CONVENTION = (
    "bps = performance vs benchmark = -side*(price-benchmark)/benchmark*1e4, "
    "positive = better than the benchmark; slippage_bps = -bps, positive = cost"
)


def format_time(ts: int, utc_offset_hours: int = 0) -> str:
    """HH:MM:SS (time of day at ``utc_offset_hours``, UTC by default; ns below one day
    are a bare time of day), with milliseconds only when they are not zero."""
    if ts >= DAY_NS:
        ts += utc_offset_hours * 3_600 * SECOND
    within_day = ts % DAY_NS if ts >= DAY_NS else ts
    seconds, ns = divmod(within_day, SECOND)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S")
    return f"{text}.{ns // 1_000_000:03d}" if ns else text


def zone_label(utc_offset_hours: int) -> str:
    """The session's zone as its UTC offset, e.g. ``UTC-05:00``."""
    return f"UTC{utc_offset_hours:+03d}:00"


def format_local(ts: int, utc_offset_hours: int) -> str:
    """A session-local time with its offset, e.g. ``10:00:01.250-05:00``: the same clock
    time the reports print, readable on its own."""
    return f"{format_time(ts, utc_offset_hours)}{zone_label(utc_offset_hours)[3:]}"


def format_bps(value: float | None, places: int = 1) -> str:
    if value is None:
        return "-"
    rounded = round(value, places)
    return f"{rounded + 0.0:+.{places}f}"  # + 0.0: no "-0.0"


def format_money(value: Decimal | None, places: int = 3) -> str:
    return "-" if value is None else f"{value:.{places}f}"


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: set[int],
    total: Sequence[str] | None = None,
) -> str:
    """Aligned columns; ``right`` = indexes of right-aligned (numeric) columns."""
    every = [headers, *rows, *([total] if total else [])]
    widths = [max(len(r[i]) for r in every) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=False))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [line(headers), rule, *(line(r) for r in rows)]
    if total:
        out += [rule, line(total)]
    return "\n".join(out)


FILL_HEADERS = (
    "Child Order ID",
    "Time",
    "Venue",
    "Order Type",
    "Quantity",
    "Price ($)",
    "Benchmark ($)",
    "Performance (bps)",
)


def fill_table_cells(
    rows: Sequence[FillRow], total: FillTotal, places: int = 3, utc_offset_hours: int = 0
) -> tuple[list[list[str]], list[str]]:
    """The fill table's cells (text and HTML show the same): one row per fill and the
    quantity-weighted Total/Avg row."""
    body = [
        [
            r.fill.child_id,
            format_time(r.fill.ts, utc_offset_hours),
            r.fill.venue,
            r.fill.order_type,
            f"{r.fill.quantity:,}",
            format_money(to_currency(r.fill.price), places),
            format_money(to_currency(r.benchmark), places),
            format_bps(r.performance_bps),
        ]
        for r in rows
    ]
    total_row = [
        "Total/Avg",
        "",
        "",
        "",
        f"{total.quantity:,}",
        format_money(total.avg_price, places),
        format_money(total.benchmark, places),
        format_bps(total.performance_bps),
    ]
    return body, total_row


def fill_table_text(
    rows: Sequence[FillRow], total: FillTotal, places: int = 3, utc_offset_hours: int = 0
) -> str:
    """The fill table: one row per fill and a quantity-weighted Total/Avg row."""
    body, total_row = fill_table_cells(rows, total, places, utc_offset_hours)
    return _table(FILL_HEADERS, body, right={4, 5, 6, 7}, total=total_row)


def _decimal_str(value: Decimal) -> str:
    """Exact decimal text, trailing zeros trimmed (JSON numbers would go through float)."""
    return format(value.normalize(), "f")


def fill_table_json(rows: Sequence[FillRow], total: FillTotal) -> dict:
    """``{"rows": [...], "total": {...}, "convention": ...}``; prices are exact decimal
    strings, bps are numbers (see ``BPS_CONVENTION``)."""
    return {
        "convention": BPS_CONVENTION,
        "rows": [
            {
                "child_id": r.fill.child_id,
                "time": format_time(r.fill.ts),
                "venue": r.fill.venue,
                "order_type": r.fill.order_type,
                "side": "buy" if r.fill.side > 0 else "sell",
                "quantity": r.fill.quantity,
                "price": _decimal_str(to_currency(r.fill.price)),
                "benchmark": _decimal_str(to_currency(r.benchmark)),
                "bps": r.performance_bps,
                "slippage_bps": r.slippage_bps,
            }
            for r in rows
        ],
        "total": {
            "quantity": total.quantity,
            "avg_price": _decimal_str(total.avg_price),
            "benchmark": _decimal_str(total.benchmark),
            "bps": total.performance_bps,
            "slippage_bps": total.slippage_bps,
        },
    }


def _horizon(ns: int) -> str:
    if ns % MINUTE == 0:
        return f"+{ns // MINUTE}min"
    return f"+{ns / SECOND:g}s"


def _shortfall_lines(s: Shortfall) -> list[str]:
    money = s.as_currency()
    parts = [
        ("delay", s.delay),
        ("trading", s.trading),
        ("opportunity", s.opportunity),
        ("fees", s.fees),
        ("total", s.total),
    ]
    return [
        f"    {name:<12}{money[name]:>16.2f} $  {format_bps(s.bps(v), 2):>8} bps"
        for name, v in parts
    ]


def parent_summary_text(p: ParentTCA, utc_offset_hours: int = 0) -> str:
    """Per-parent block: slippages (positive = cost), IS, participation, markouts, venues."""
    side = "BUY" if p.side > 0 else "SELL"
    lines = [
        f"Parent {p.parent_id}  {side} {p.filled:,}/{p.target:,}  "
        f"{format_time(p.start_ns, utc_offset_hours)}-{format_time(p.end_ns, utc_offset_hours)}",
        f"  avg price {format_money(p.avg_price, 4)}  arrival {format_money(p.arrival_price, 4)}"
        f"  interval VWAP {format_money(p.interval_vwap, 4)}",
        f"  slippage (bps, + = cost): vs arrival {format_bps(p.arrival_slippage_bps, 2)}"
        f"  vs interval VWAP {format_bps(p.vwap_slippage_bps, 2)}",
    ]
    if p.shortfall is not None:
        lines.append("  implementation shortfall (+ = cost):")
        lines += _shortfall_lines(p.shortfall)
    part = "-" if p.participation is None else f"{p.participation:.1%}"
    marks = "  ".join(f"{_horizon(h)} {format_bps(v, 2)}" for h, v in p.markouts.items())
    lines.append(f"  participation {part}  internalised {p.internalised_quantity:,}")
    lines.append(f"  markouts (bps, - = adverse): {marks}")
    if p.venues:
        venue_rows = [
            [
                v.venue,
                f"{v.fills}",
                f"{v.quantity:,}",
                f"{v.share:.1%}",
                format_money(v.avg_price, 4),
                format_bps(v.arrival_slippage_bps, 2),
                format_money(to_currency(v.fees), 2),
            ]
            for v in p.venues
        ]
        table = _table(
            ("Venue", "Fills", "Quantity", "Share", "Avg Price", "vs Arrival (bps)", "Fees ($)"),
            venue_rows,
            {1, 2, 3, 4, 5, 6},
        )
        lines += ["  " + row for row in table.splitlines()]
    return "\n".join(lines)


def run_report_text(parents: Sequence[ParentTCA], utc_offset_hours: int = 0) -> str:
    """The terminal TCA: each parent's summary (its fills: ``run_fills_text``)."""
    return "\n\n".join(parent_summary_text(p, utc_offset_hours) for p in parents)


def portfolio_text(pt: PortfolioTCA) -> str:
    """The portfolio roll-up as aligned tables: the total, then by side, strategy, venue
    and instrument, each closed by the total."""
    right = set(range(1, len(PORTFOLIO_HEADERS)))
    total = bucket_cells(pt.total)
    out = [
        "Portfolio (cost in bps, notional-weighted over fills; + = cost)",
        _table(PORTFOLIO_HEADERS, [total], right),
    ]
    for title, rows in portfolio_sections(pt):
        out += ["", title, _table(PORTFOLIO_HEADERS, [bucket_cells(b) for b in rows], right, total)]
    return "\n".join(out)


def run_fills_text(parents: Sequence[ParentTCA], utc_offset_hours: int = 0) -> str:
    """Each parent's fill table, one row per fill and its Total/Avg row."""
    return "\n\n".join(
        f"Fills of {p.parent_id}\n"
        + fill_table_text(p.rows, p.total, utc_offset_hours=utc_offset_hours)
        for p in parents
        if p.rows and p.total is not None
    )


# ------------------------------------------------------------------------------- CSV

# The first eight are what ``smart-exec tca FILLS.csv`` reads back; the rest it ignores.
FILLS_CSV_COLUMNS = (
    "child_id",
    "time",
    "venue",
    "order_type",
    "side",
    "quantity",
    "price",
    "benchmark",
    "performance_bps",
    "parent_id",
    "liquidity",
    "fee",
    "fill_id",
    "ts_ns",
)


def csv_time(ts: int, utc_offset_hours: int = 0) -> str:
    """ISO 8601 with the session's offset (microseconds), so a spreadsheet and
    ``smart-exec tca`` read the same instant; a bare time of day stays one."""
    if ts < DAY_NS:
        return format_time(ts)
    zone = timezone(timedelta(hours=utc_offset_hours))
    seconds, ns = divmod(ts, SECOND)
    moment = datetime.fromtimestamp(seconds, zone).replace(microsecond=ns // 1_000)
    return moment.isoformat(timespec="microseconds")


def _price_text(units: int | Fraction) -> str:
    """Dollars on the price grid (6 decimals): a benchmark VWAP is rounded to it."""
    return f"{Decimal(round(units)) / PRICE_SCALE:.6f}"


def fills_csv_rows(parents: Sequence[ParentTCA], utc_offset_hours: int = 0) -> list[list[str]]:
    """The CSV's data rows (``FILLS_CSV_COLUMNS`` order), parents in turn, fills in time."""
    return [
        [
            r.fill.child_id,
            csv_time(r.fill.ts, utc_offset_hours),
            r.fill.venue,
            r.fill.order_type,
            "buy" if r.fill.side > 0 else "sell",
            str(r.fill.quantity),
            _price_text(r.fill.price),
            _price_text(r.benchmark),
            f"{r.performance_bps:.4f}",
            p.parent_id,
            r.fill.liquidity.value if r.fill.liquidity is not None else "",
            _price_text(r.fill.fee),
            r.fill.fill_id,
            str(r.fill.ts),
        ]
        for p in parents
        for r in p.rows
    ]


def write_fills_csv(
    parents: Sequence[ParentTCA], path: str | Path, utc_offset_hours: int = 0
) -> int:
    """Write every parent's fills to ``path``; returns the number of rows."""
    rows = fills_csv_rows(parents, utc_offset_hours)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(FILLS_CSV_COLUMNS)
        writer.writerows(rows)
    return len(rows)
