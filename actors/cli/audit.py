"""``smart-exec audit PATH``: query an audit trail (read-only), print it or export CSV.

Filters combine (AND): ``--client-order SRC:ID``, ``--parent P`` (also matches the other
side of an internal cross), ``--venue V``, ``--type T`` (repeatable or comma-separated),
``--since T``/``--until T`` (inclusive). Times are integer ns, an ISO 8601 date-time (UTC
if naive), or a time of day ``HH:MM[:SS]`` on the UTC day of the journal's first record.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, time

from engine.audit.journal import Journal, Record
from engine.clock import SECOND
from engine.messages import canonical
from engine.tca.text import DAY_NS, format_time

EXIT_BAD_INPUT = 2
CSV_COLUMNS = (
    "seq",
    "ts",
    "time",
    "type",
    "source",
    "client_order_id",
    "parent_id",
    "counter_parent_id",
    "child_id",
    "venue",
    "message",
)


class AuditArgumentError(ValueError):
    pass


def parse_when(text: str, day_start_ns: int) -> int:
    """ns from integer ns, an ISO date-time, or a time of day on ``day_start_ns``'s day."""
    text = text.strip()
    try:
        if text.lstrip("-").isdigit():
            return int(text)
        if "T" in text or text.count("-") >= 2:
            dt = datetime.fromisoformat(text)
            dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
            return int(dt.timestamp()) * SECOND + dt.microsecond * 1_000
        t = time.fromisoformat(text)
    except ValueError:
        raise AuditArgumentError(
            f"{text!r} is not a time (ns, ISO date-time or HH:MM[:SS])"
        ) from None
    of_day = (t.hour * 3600 + t.minute * 60 + t.second) * SECOND + t.microsecond * 1_000
    offset = t.utcoffset()  # "09:31-05:00": that clock time in that zone
    if offset is not None:
        of_day -= int(offset.total_seconds()) * SECOND
    return day_start_ns + of_day


def parse_client_order(text: str) -> tuple[str, str]:
    # Sources may contain ':' ("trader:jane"): the id is after the last one.
    source, sep, order_id = text.rpartition(":")
    if not sep or not source or not order_id:
        raise AuditArgumentError(f"--client-order {text!r}: expected SOURCE:ID")
    return source, order_id


def _first_day_start(journal: Journal) -> int:
    first = next(journal.query(), None)
    return 0 if first is None else first.ts - first.ts % DAY_NS


def select(journal: Journal, args: argparse.Namespace) -> Iterable[Record]:
    source = order_id = None
    if args.client_order:
        source, order_id = parse_client_order(args.client_order)
    types = [t.strip() for chunk in args.type or [] for t in chunk.split(",") if t.strip()]
    day = _first_day_start(journal) if args.since or args.until else 0
    return journal.query(
        source=source,
        client_order_id=order_id,
        parent_id=args.parent,
        venue=args.venue,
        types=types or None,
        since=parse_when(args.since, day) if args.since else None,
        until=parse_when(args.until, day) if args.until else None,
    )


def _csv_row(r: Record) -> list[object]:
    return [
        r.seq,
        r.ts,
        format_time(r.ts),
        r.type,
        r.source or "",
        r.client_order_id or "",
        r.parent_id or "",
        r.counter_parent_id or "",
        r.child_id or "",
        r.venue or "",
        canonical(r.message).decode(),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="audit trail (SQLite journal)")
    parser.add_argument("--client-order", metavar="SRC:ID", help="one client order")
    parser.add_argument("--parent", metavar="P", help="one parent order")
    parser.add_argument("--venue", metavar="V", help="one venue")
    parser.add_argument(
        "--type",
        metavar="T",
        action="append",
        help="message type, e.g. ChildOrderFilled (repeatable, comma list)",
    )
    parser.add_argument("--since", metavar="T", help="from this time (inclusive)")
    parser.add_argument("--until", metavar="T", help="up to this time (inclusive)")
    parser.add_argument("--csv", metavar="OUT", help="write the records to this CSV file")


def main(args: argparse.Namespace) -> int:
    try:
        journal = Journal(args.path, readonly=True)
    except FileNotFoundError as exc:
        print(f"smart-exec audit: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        records = select(journal, args)
        count = _export(records, args.csv) if args.csv else _print(records)
    except (AuditArgumentError, ValueError) as exc:
        print(f"smart-exec audit: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        raise  # the reader went away (``| head``): the CLI's main ends quietly
    except OSError as exc:  # the CSV cannot be written there
        print(f"smart-exec audit: cannot write {args.csv}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        journal.close()
    print(f"{count} record(s)" + (f" written to {args.csv}" if args.csv else ""), file=sys.stderr)
    return 0


def _print(records: Iterable[Record]) -> int:
    count = 0
    for r in records:
        print(f"{r.seq:>8}  {format_time(r.ts):<12}  {r.type:<22}  {canonical(r.message).decode()}")
        count += 1
    return count


def _export(records: Iterable[Record], out: str) -> int:
    count = 0
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in records:
            writer.writerow(_csv_row(r))
            count += 1
    return count
