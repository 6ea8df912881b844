"""``smart-exec serve --fix-port PORT --sessions SESSIONS.toml [--scenario SCENARIO]``.

The engine in live mode (wall clock, today's session) on the scenario's simulated venues
(``brief_vwap``'s by default), with a FIX 4.4 acceptor for the sessions SESSIONS.toml
allows, bound to 127.0.0.1 unless told otherwise. Prints ``listening on HOST:PORT`` once it
accepts connections. SIGINT or SIGTERM stops it: no new connections, working FIX orders
cancelled (``--on-stop cancel``) or left, every session logged out, the trail flushed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import zoneinfo
from datetime import datetime
from types import FrameType

import scenarios
from actors.api import Engine, MarketConfig
from actors.fix import FixAcceptor
from actors.runtime.live import DEFAULT_ZONE, session_from_now, session_today
from engine.config import SessionConfig
from engine.fix.config import load_sessions
from engine.scenario import Scenario, ScenarioError, load

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
    parser.add_argument("--audit", default=":memory:", help="SQLite audit trail to write")
    parser.add_argument("--zone", default=DEFAULT_ZONE, help="the session's time zone (IANA)")
    parser.add_argument(
        "--session-hours",
        type=float,
        metavar="H",
        help=("a session that opens now and lasts H hours, instead of today's market hours"),
    )
    parser.add_argument("--seed", type=int, help="override the scenario's seed")
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
    engine = Engine(
        _market(scenario, args),
        live=True,
        seed=scenario.seed if args.seed is None else args.seed,
        audit=args.audit,
    )
    try:
        acceptor = FixAcceptor(
            engine,
            settings,
            port=args.fix_port,
            host=args.host,
            store_dir=args.store_dir or settings.store_dir,
        )
    except (OSError, RuntimeError) as exc:
        engine.close()
        print(f"smart-exec serve: error: {exc}", file=sys.stderr)
        return 2
    return _serve(engine, acceptor, args)


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


def _serve(engine: Engine, acceptor: FixAcceptor, args: argparse.Namespace) -> int:
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
