"""``smart-exec audit PATH``: query an audit trail (read-only), print it or export CSV.

Filters combine (AND): ``--client-order SRC:ID``, ``--parent P`` (also matches the other
side of an internal cross), ``--venue V``, ``--type T`` (repeatable or comma-separated),
``--since T``/``--until T`` (inclusive).

Times follow the session's zone, as ``run`` and its reports do: printed session-local with
the offset (``10:00:01.250-05:00``); read as integer ns, an ISO 8601 date-time or a time of
day ``HH:MM[:SS]`` on the session date (the local date of the trail's first record), in
the session's zone unless an offset or ``Z`` is written. The zone is the trail's own:
the session of the scenario a ``smart-exec run`` keeps in it (or a ``session_zone`` run
info); ``--utc-offset H`` overrides it, and a trail that says none (an engine embedded in
Python) is read in the default session's (New York in winter, UTC-05:00). The zone used,
and where it comes from, is printed on stderr.

Opening the trail verifies its hash chain: a damaged trail is refused with the first bad
seq (status 2) unless ``--salvage``, which reads the records before it, with a warning.
A trail whose writer never closed it (a killed run, or one still running) is read up to
its last commit, and said to be incomplete. ``--digest`` prints its audit digest instead
of the records.
"""

from __future__ import annotations

import argparse
import csv
import sys
import warnings
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone

from engine.audit.journal import Journal, Record, TrailDamaged
from engine.clock import HOUR
from engine.messages import canonical
from engine.scenario import SessionSpec
from engine.tca.text import DAY_NS, format_local, zone_label

EXIT_BAD_INPUT = 2
DEFAULT_UTC_OFFSET = SessionSpec().utc_offset_hours
SESSION_ZONE = "session_zone"  # run info: the session's UTC offset in hours
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
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


def parse_when(text: str, session_date: date, utc_offset_hours: int) -> int:
    """ns from integer ns, an ISO date-time, or a time of day on ``session_date``; without
    an offset (or ``Z``) the clock time is the session's, ``utc_offset_hours`` from UTC."""
    text = text.strip()
    zone = timezone(timedelta(hours=utc_offset_hours))
    try:
        if text.lstrip("-").isdigit():
            return int(text)
        if "T" in text or text.count("-") >= 2:
            dt = datetime.fromisoformat(text)
        else:
            dt = datetime.combine(session_date, time.fromisoformat(text))
    except ValueError:
        raise AuditArgumentError(
            f"{text!r} is not a time (ns, ISO date-time or HH:MM[:SS], optional offset or Z)"
        ) from None
    dt = dt if dt.tzinfo else dt.replace(tzinfo=zone)
    return (dt - EPOCH) // timedelta(microseconds=1) * 1_000


def parse_client_order(text: str) -> tuple[str, str]:
    # Sources may contain ':' ("trader:jane"): the id is after the last one.
    source, sep, order_id = text.rpartition(":")
    if not sep or not source or not order_id:
        raise AuditArgumentError(f"--client-order {text!r}: expected SOURCE:ID")
    return source, order_id


def session_date(journal: Journal, utc_offset_hours: int) -> date:
    """The local date of the trail's first record (1970-01-01 for an empty trail)."""
    first = next(journal.query(), None)
    local_ns = 0 if first is None else first.ts + utc_offset_hours * HOUR
    return date(1970, 1, 1) + timedelta(days=local_ns // DAY_NS)


def select(journal: Journal, args: argparse.Namespace, offset: int) -> Iterable[Record]:
    """The records the filters pick, times read ``offset`` hours from UTC."""
    source = order_id = None
    if args.client_order:
        source, order_id = parse_client_order(args.client_order)
    types = [t.strip() for chunk in args.type or [] for t in chunk.split(",") if t.strip()]
    day = session_date(journal, offset) if args.since or args.until else date(1970, 1, 1)
    return journal.query(
        source=source,
        client_order_id=order_id,
        parent_id=args.parent,
        venue=args.venue,
        types=types or None,
        since=parse_when(args.since, day, offset) if args.since else None,
        until=parse_when(args.until, day, offset) if args.until else None,
    )


def trail_zone(journal: Journal) -> int | None:
    """The session's UTC offset in hours as the trail keeps it: its ``session_zone``, or
    the session of the scenario ``smart-exec run`` kept in it; None if it says none."""
    zone = journal.run_info(SESSION_ZONE, int)
    if zone is not None:
        return int(zone)
    from actors.cli.run import SCENARIO_RUN, ScenarioRun  # here: ``run`` imports the engine

    try:
        run = journal.run_info(SCENARIO_RUN, ScenarioRun)
    except (ValueError, TypeError):  # a scenario this version no longer reads
        return None
    return None if run is None else run.scenario.session.utc_offset_hours


def session_zone(args: argparse.Namespace, journal: Journal) -> tuple[int, str]:
    """The offset to print and read times in, and where it comes from."""
    if args.utc_offset is not None:
        return int(args.utc_offset), "--utc-offset"
    zone = trail_zone(journal)
    if zone is not None:
        return zone, "the trail's session"
    return DEFAULT_UTC_OFFSET, (
        "the trail records no zone: the default session's; --utc-offset H for another"
    )


def zone_note(offset: int, where: str) -> str:
    return f"times session-local, {zone_label(offset)} ({where})"


def _csv_row(r: Record, utc_offset_hours: int) -> list[object]:
    return [
        r.seq,
        r.ts,
        format_local(r.ts, utc_offset_hours),
        r.type,
        r.source or "",
        r.client_order_id or "",
        r.parent_id or "",
        r.counter_parent_id or "",
        r.child_id or "",
        r.venue or "",
        canonical(r.message).decode(),
    ]


def _hours(text: str) -> int:
    try:
        hours = int(text)
    except ValueError:
        hours = 99
    if not -12 <= hours <= 14:
        raise argparse.ArgumentTypeError(f"{text!r} is not a UTC offset in hours (-12..14)")
    return hours


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
    parser.add_argument(
        "--utc-offset",
        metavar="H",
        type=_hours,
        help=f"the session's UTC offset in hours (default {DEFAULT_UTC_OFFSET:+d})",
    )
    parser.add_argument("--csv", metavar="OUT", help="write the records to this CSV file")
    parser.add_argument(
        "--digest", action="store_true", help="print the trail's audit digest, not its records"
    )
    parser.add_argument(
        "--salvage",
        action="store_true",
        help="read a damaged trail up to its first bad record (with a warning)",
    )


def open_trail(path: str, salvage: bool) -> Journal:
    """The trail at ``path``, verified (read-only); a salvaged one's warning on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        journal = Journal(path, readonly=True, salvage=salvage)
    for warning in caught:
        print(f"smart-exec audit: warning: {warning.message}", file=sys.stderr)
    if not journal.closed_cleanly:
        print(
            f"incomplete: interrupted run (its writer never closed the trail; "
            f"{len(journal):,} records up to its last commit)",
            file=sys.stderr,
        )
    return journal


def main(args: argparse.Namespace) -> int:
    try:
        journal = open_trail(args.path, args.salvage)
    except TrailDamaged as exc:
        salvage = "" if exc.seq is None else "; --salvage reads the records before it"
        print(f"smart-exec audit: {exc}{salvage}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except FileNotFoundError as exc:
        print(f"smart-exec audit: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.digest:
        print(f"audit-digest: {journal.digest()}")
        journal.close()
        return 0
    offset, where = session_zone(args, journal)
    print(zone_note(offset, where), file=sys.stderr)
    try:
        records = select(journal, args, offset)
        count = _export(records, args.csv, offset) if args.csv else _print(records, offset)
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


def _print(records: Iterable[Record], utc_offset_hours: int) -> int:
    count = 0
    for r in records:
        when = format_local(r.ts, utc_offset_hours)
        print(f"{r.seq:>8}  {when:<18}  {r.type:<22}  {canonical(r.message).decode()}")
        count += 1
    return count


def _export(records: Iterable[Record], out: str, utc_offset_hours: int) -> int:
    count = 0
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for r in records:
            writer.writerow(_csv_row(r, utc_offset_hours))
            count += 1
    return count
