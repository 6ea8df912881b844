"""``smart-exec serve --fix-port PORT --sessions SESSIONS.toml [--scenario SCENARIO]``.

The engine in live mode (wall clock, today's session) on the scenario's simulated venues
(``brief_vwap``'s by default), with a FIX 4.4 acceptor for the sessions SESSIONS.toml
allows, bound to 127.0.0.1 unless told otherwise. Prints ``listening on HOST:PORT`` once it
accepts connections. SIGINT or SIGTERM stops it: no new connections, working FIX orders
cancelled (``--on-stop cancel``) or left, every session logged out, the trail flushed.
Started again on the trail a previous serve left (killed or stopped), it restarts that
engine: its orders go on (``Engine.restart``, docs/fix.md).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import zoneinfo
from datetime import datetime
from pathlib import Path
from types import FrameType

import scenarios
from actors.api import Engine, MarketConfig
from actors.fix import FixAcceptor
from actors.fix.drop_copy import AllocationsFile
from actors.runtime.live import DEFAULT_ZONE, session_from_now, session_today
from engine.audit.journal import Journal
from engine.config import SessionConfig
from engine.fix.config import load_sessions
from engine.scenario import Scenario, ScenarioError, load
from engine.tca.from_trail import tca_from_journal
from engine.tca.text import write_fills_csv

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fix-port", type=int, required=True, metavar="PORT", help="0: any")
    parser.add_argument(
        "--sessions",
        required=True,
        metavar="SESSIONS.toml",
        help=("the sessions allowed to connect (CompIDs, password, heartbeat, role, tags)"),
    )
    parser.add_argument(
        "--scenario",
        default="brief_vwap",
        help=(
            "the market (instrument, venues, session hours) from this scenario file or shipped "
            "name; its orders are not sent (default brief_vwap)"
        ),
    )
    parser.add_argument("--host", help="address to bind (default: SESSIONS.toml's, 127.0.0.1)")
    parser.add_argument("--store-dir", help="FIX sequence stores (default: SESSIONS.toml's)")
    parser.add_argument(
        "--audit",
        help=(
            "SQLite audit trail (default: audit-DATE.sqlite in the FIX store directory, or in "
            "memory without one); one a previous serve left is resumed, orders and all"
        ),
    )
    parser.add_argument(
        "--allocations-csv",
        metavar="PATH",
        help="write each allocation (a client order's fill) to PATH as it is reported",
    )
    parser.add_argument(
        "--fills-csv",
        metavar="PATH",
        help="at stop, write the venue fills to PATH (the run command's fills CSV)",
    )
    parser.add_argument("--zone", default=DEFAULT_ZONE, help="the session's time zone (IANA)")
    parser.add_argument(
        "--session-hours",
        type=float,
        metavar="H",
        help=("a session that opens now and lasts H hours, instead of today's market hours"),
    )
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
    parser.add_argument(
        "--cpu",
        type=int,
        metavar="N",
        help="run the engine's threads and the FIX I/O thread on CPU N (lower latency)",
    )
    parser.add_argument(
        "--on-stop",
        choices=("leave", "cancel"),
        default="leave",
        help=("working FIX orders at shutdown: cancel them, or leave them (default)"),
    )


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_sessions(args.sessions)
        scenario = load(scenarios.locate(args.scenario))
    except (ScenarioError, ValueError, OSError) as exc:
        print(f"smart-exec serve: error: {exc}", file=sys.stderr)
        return 2
    store_dir = args.store_dir or settings.store_dir
    try:
        audit = args.audit or _default_trail(store_dir, args.zone)
        resumed = _holds_a_run(audit)
        engine = (
            Engine.restart(audit, cpu=args.cpu) if resumed else _new_engine(scenario, args, audit)
        )
    except (ValueError, OSError) as exc:
        print(f"smart-exec serve: error: {exc}", file=sys.stderr)
        return 2
    if resumed:
        print(f"resumed the run in {audit}: its market, session and orders", file=sys.stderr)
    try:
        acceptor = FixAcceptor(
            engine,
            settings,
            port=args.fix_port,
            host=args.host,
            store_dir=store_dir,
            resumed=resumed,
        )
    except (OSError, RuntimeError) as exc:
        engine.close()
        print(f"smart-exec serve: error: {exc}", file=sys.stderr)
        return 2
    return _serve(engine, acceptor, args, audit)


def _new_engine(scenario: Scenario, args: argparse.Namespace, audit: str) -> Engine:
    seed = scenario.seed if args.seed is None else args.seed
    return Engine(_market(scenario, args), live=True, seed=seed, audit=audit, cpu=args.cpu)


def _default_trail(store_dir: str | None, zone: str) -> str:
    """One trail per day beside the FIX stores, so a restart finds the day's orders."""
    if store_dir is None:
        return ":memory:"
    today = datetime.now(zoneinfo.ZoneInfo(zone)).date()
    Path(store_dir).mkdir(parents=True, exist_ok=True)
    return str(Path(store_dir) / f"audit-{today:%Y-%m-%d}.sqlite")


def _holds_a_run(audit: str) -> bool:
    """A trail a previous serve wrote: its engine is restarted on it (``Engine.restart``)."""
    if audit == ":memory:" or not Path(audit).exists():
        return False
    with contextlib.closing(Journal(audit, readonly=True)) as trail:
        return len(trail) > 0


def _market(scenario: Scenario, args: argparse.Namespace) -> MarketConfig:
    instrument, _, venues = scenario.market()
    return MarketConfig(instrument=instrument, venues=venues, session=_session(scenario, args))


def _session(scenario: Scenario, args: argparse.Namespace) -> SessionConfig:
    if args.session_hours is not None:
        return session_from_now(args.session_hours)
    return session_today(scenario.session.open, scenario.session.close, args.zone)


def _session_line(engine: Engine, zone: str) -> str:
    """The session in the zone's wall-clock time, and whether orders can be taken now."""
    tz = zoneinfo.ZoneInfo(zone)
    session = engine.market.session
    opens, closes = (
        datetime.fromtimestamp(ns / 1e9, tz) for ns in (session.open_ns, session.close_ns)
    )
    state = "open"
    if engine.now >= session.close_ns:
        state = "closed: orders are rejected end_in_past; --session-hours H opens one now"
    elif engine.now < session.open_ns:
        state = "not open yet"
    return f"session {opens:%Y-%m-%d %H:%M}-{closes:%H:%M} {zone} ({state})"


def _serve(engine: Engine, acceptor: FixAcceptor, args: argparse.Namespace, audit: str) -> int:
    """Serve until stopped, with the post-trade files asked for: the allocations as they
    come, the venue fills (from the trail, with their benchmarks) once stopped."""
    offset = _utc_offset_hours(args.zone)
    try:
        allocations = (
            AllocationsFile(engine, args.allocations_csv, offset) if args.allocations_csv else None
        )
    except OSError as exc:
        acceptor.close()
        engine.close()
        print(f"smart-exec serve: error: --allocations-csv: {exc}", file=sys.stderr)
        return 2
    try:
        return _serve_until_stopped(engine, acceptor, args)
    finally:
        if allocations:
            allocations.close()
            print(f"allocations: {allocations.rows:,} rows in {allocations.path}", file=sys.stderr)
        if args.fills_csv:
            _write_fills(engine, audit, args.fills_csv, offset)


def _write_fills(engine: Engine, audit: str, path: str, offset: int) -> None:
    """The run command's fills CSV, from the trail (closed with the engine if a file)."""
    with contextlib.ExitStack() as stack:
        trail = engine.journal
        if audit != ":memory:":
            trail = stack.enter_context(contextlib.closing(Journal(audit, readonly=True)))
        if trail is None:
            return
        rows = write_fills_csv(tca_from_journal(trail).parents, path, offset)
    print(f"fills: {rows:,} rows in {path}", file=sys.stderr)


def _utc_offset_hours(zone: str) -> int:
    offset = datetime.now(zoneinfo.ZoneInfo(zone)).utcoffset()
    return 0 if offset is None else int(offset.total_seconds()) // 3_600


def _serve_until_stopped(engine: Engine, acceptor: FixAcceptor, args: argparse.Namespace) -> int:
    stopped_by: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped_by.append(signum)
        engine.stop()

    main_thread = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS} if main_thread else {}
    try:
        print(_session_line(engine, args.zone), file=sys.stderr)
        host, port = acceptor.address
        print(f"listening on {host}:{port}", flush=True)
        engine.serve_forever()
    finally:
        if args.on_stop == "cancel":
            acceptor.cancel_working_orders()
        acceptor.close()
        engine.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    halt = engine.runtime._halt
    if halt is not None:
        print(f"smart-exec serve: the engine halted: {halt}", file=sys.stderr)
        return 1
    name = signal.Signals(stopped_by[0]).name if stopped_by else "stop"
    print(
        f"smart-exec serve: stopped ({name}); sessions logged out, trail flushed", file=sys.stderr
    )
    return 0
