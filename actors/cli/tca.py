"""``smart-exec tca FILLS.csv [--json]``: the TCA table of fills from a CSV file.

Columns: ``child_id,time,venue,order_type,side,quantity,price,benchmark`` (extra columns
are ignored). ``time`` is ``HH:MM:SS[.ffffff]``, an ISO 8601 date-time (UTC if naive) or
integer ns; ``side`` is buy/sell (or B/S, +1/-1); prices are decimals.

Sign: the table's last column and ``bps`` in ``--json`` are *performance* vs benchmark,
−side·(price − benchmark)/benchmark·1e4, positive = better than the benchmark;
``slippage_bps`` in JSON is its negative (positive = cost).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from engine.clock import SECOND
from engine.messages import Side
from engine.prices import to_price
from engine.tca.metrics import Fill, fill_rows, fill_total
from engine.tca.text import BPS_CONVENTION, fill_table_json, fill_table_text

T = TypeVar("T")

COLUMNS = ("child_id", "time", "venue", "order_type", "side", "quantity", "price", "benchmark")
EXIT_BAD_INPUT = 2

_SIDES = {
    "buy": Side.BUY,
    "b": Side.BUY,
    "1": Side.BUY,
    "+1": Side.BUY,
    "sell": Side.SELL,
    "s": Side.SELL,
    "-1": Side.SELL,
}


class FillsCsvError(ValueError):
    """A CSV problem, located: ``line`` is the file line (the header is line 1)."""

    def __init__(self, path: str, line: int, column: str | None, problem: str) -> None:
        where = f"{path}: line {line}" + (f", column '{column}'" if column else "")
        super().__init__(f"{where}: {problem}")
        self.line, self.column = line, column


# ------------------------------------------------------------------------ field parsers


def parse_time(text: str) -> int:
    """ns: since midnight for a time of day, since the epoch for a date-time, or as given."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if "T" in text or "-" in text:
        dt = datetime.fromisoformat(text)
        dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        seconds = int(dt.timestamp())
        return seconds * SECOND + dt.microsecond * 1_000
    t = time.fromisoformat(text)
    return (t.hour * 3600 + t.minute * 60 + t.second) * SECOND + t.microsecond * 1_000


def parse_side(text: str) -> Side:
    try:
        return _SIDES[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a side (buy/sell)") from None


def parse_quantity(text: str) -> int:
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned.isdigit() or int(cleaned) <= 0:
        raise ValueError(f"{text!r} is not a positive whole number of shares")
    return int(cleaned)


_MAX_PRICE = to_price(Decimal(10) ** 9)  # $1bn a share: beyond it, a typo or garbage


def parse_price(text: str) -> int:
    try:
        units = to_price(Decimal(text.strip()))
    except (ArithmeticError, ValueError):  # InvalidOperation; Infinity/NaN overflow
        raise ValueError(f"{text!r} is not a decimal price (at most 6 decimals)") from None
    if units <= 0:
        raise ValueError(f"{text!r} is not a positive price")
    if units > _MAX_PRICE:
        raise ValueError(f"{text!r} is above the largest price accepted ({_MAX_PRICE // 10**6:,})")
    return units


def parse_text(text: str) -> str:
    if not text.strip():
        raise ValueError("is empty")
    return text.strip()


# ------------------------------------------------------------------------------ reading


def read_fills(path: str | Path) -> list[Fill]:
    """Parse a fills CSV; raises ``FillsCsvError`` naming the line and column."""
    name = str(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115
    except OSError as exc:
        raise FillsCsvError(name, 0, None, f"cannot read: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = [h.strip() for h in reader.fieldnames or []]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise FillsCsvError(
                    name,
                    1,
                    None,
                    f"missing column(s): {', '.join(missing)} (expected {','.join(COLUMNS)})",
                )
            reader.fieldnames = header
            fills = [_row_to_fill(name, reader.line_num, row) for row in reader]
        except UnicodeDecodeError as exc:
            raise FillsCsvError(
                name,
                reader.line_num + 1,
                None,
                f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            ) from None
        except csv.Error as exc:
            raise FillsCsvError(name, reader.line_num, None, f"not CSV: {exc}") from None
    if not fills:
        raise FillsCsvError(name, 2, None, "no fills")
    return fills


def _row_to_fill(path: str, line: int, row: dict[str, str | None]) -> Fill:
    """One CSV row as a fill; the first bad column, in ``COLUMNS`` order, is the error."""

    def value(column: str, parse: Callable[[str], T]) -> T:
        raw = row.get(column)
        if raw is None:
            raise FillsCsvError(path, line, column, "missing value (too few fields)")
        try:
            return parse(raw)
        except ValueError as exc:
            raise FillsCsvError(path, line, column, str(exc)) from None

    return Fill(
        child_id=value("child_id", parse_text),
        ts=value("time", parse_time),
        venue=value("venue", parse_text),
        order_type=value("order_type", parse_text),
        side=value("side", parse_side),
        quantity=value("quantity", parse_quantity),
        price=value("price", parse_price),
        benchmark=value("benchmark", parse_price),
    )


# ---------------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("fills", metavar="FILLS.csv", help="CSV with columns " + ",".join(COLUMNS))
    parser.add_argument(
        "--json",
        action="store_true",
        help="print JSON {rows, total}; bps = performance, + = better",
    )


def main(args: argparse.Namespace) -> int:
    try:
        fills = read_fills(args.fills)
    except FillsCsvError as exc:
        print(f"smart-exec tca: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    rows = fill_rows(fills)
    total = fill_total(rows)
    if args.json:
        print(json.dumps(fill_table_json(rows, total), indent=2))
    else:
        print(fill_table_text(rows, total))
        print(f"\n{BPS_CONVENTION}.")
    return 0
