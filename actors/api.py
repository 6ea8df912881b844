"""The embedded API: one object that starts an engine and takes client orders.

    from actors import Engine, MarketConfig
    from engine.messages import ClientOrder, Side

    engine = Engine(MarketConfig(...), seed=7, audit="run.sqlite")
    engine.on_report(print)                       # per-client-order execution reports
    engine.submit(ClientOrder(source="OMS", account="A1", client_order_id="c1",
                              instrument="XYZ", side=Side.BUY, quantity=500))
    engine.run()                                  # simulated: until the session is over
    engine.close()                                # flush the audit trail, stop every actor

Simulated by default (virtual time, simulated venues, deterministic from the seed);
``live=True`` runs the same actors on the wall clock, for today's session in New York
unless ``MarketConfig.session`` says otherwise (``actors.runtime.live.session_today``);
``serve_forever()`` blocks until ``stop()``. ``Engine.resume(path)`` builds a simulated
engine stopped part-way again from its trail (``docs/audit.md``).

Supervision tree: ``engine`` (one-for-one) → ``venues`` (one per venue), ``router``,
``desk`` and ``parents`` (one transient actor per parent order).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

import msgspec

from actors.desk_actor import REPORTS, DeskActor
from actors.logs import log_failure
from actors.router_actor import RouterActor, ScorecardSource
from actors.runtime import EXTERNAL, LiveRuntime, Runtime, RuntimeHalted, SimRuntime
from actors.runtime.live import session_today
from actors.simulated_market import start_books, start_market
from actors.supervisor import ChildSpec, Supervisor
from engine.audit.journal import Journal
from engine.clock import MINUTE, SECOND
from engine.config import SessionConfig, VenueConfig
from engine.desk.desk import DeskConfig
from engine.desk.intake import INT64_MAX
from engine.instruments import Instrument
from engine.messages import (
    AmendClientOrder,
    CancelClientOrder,
    ClientOrder,
    ClientOrderRejected,
    ExecutionReport,
    FaultKind,
    InjectActorFailure,
    InjectVenueFault,
    Message,
    SubmitClientOrder,
)
from engine.parent.order import ParentConfig
from engine.routing.router import RouterConfig

DESK = "desk"
ROUTER = "router"

Report = ExecutionReport | ClientOrderRejected


class MarketConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What the engine trades and where: one ``instrument`` (a venue actor per venue,
    named after it) or many ``instruments`` (a venue actor per venue and instrument it
    trades, ``"venue:SYMBOL"``, each book on a random stream of its own); the session;
    the venues (``VenueConfig.instruments``: the symbols each trades, empty: all)."""

    instrument: Instrument | None = None
    venues: list[VenueConfig]
    session: SessionConfig = SessionConfig()
    instruments: list[Instrument] = []
    # many instruments: the books' periodic feeds to each other (arbitrage, impact) at
    # most once per this interval (None: every publication)
    peer_md_interval_ns: int | None = None

    def __post_init__(self) -> None:
        if (self.instrument is None) == (not self.instruments):
            raise ValueError("MarketConfig: give instrument= (one) or instruments= (many)")
        symbols = [i.symbol for i in self.traded()]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"MarketConfig: duplicate instruments in {symbols}")

    @property
    def many(self) -> bool:
        """The many-instrument form: one book (venue actor) per venue and instrument."""
        return self.instrument is None

    def traded(self) -> list[Instrument]:
        """Every instrument of the market, in the order given."""
        return [self.instrument] if self.instrument is not None else list(self.instruments)

    def tradable(self) -> list[Instrument]:
        """The instruments at least one venue trades (the desk refuses the others)."""
        return [i for i in self.traded() if any(v.trades(i.symbol) for v in self.venues)]


def new_trail(path: str) -> Journal:
    """The audit trail of a new run at ``path``; one that already holds a run is refused
    (recovery, TCA and the digest read a trail whole: two runs in one would mix)."""
    journal = Journal(path)
    try:
        refuse_a_used_trail(journal)
    except ValueError:
        journal.close()
        raise
    return journal


def refuse_a_used_trail(journal: Journal) -> None:
    """Raise ``ValueError`` if ``journal`` already holds records: one run per audit trail,
    whether the engine opens it from a path or is handed it open."""
    held = len(journal)
    if held:
        raise ValueError(
            f"audit trail {journal.path!r} already holds {held:,} records of another run: "
            "one run per audit trail; give a new path or an empty Journal "
            "(scorecard= starts from a previous run's)"
        )


def _fresh_trail(audit: str | Journal | None) -> Journal | None:
    if audit is None:
        return None
    if isinstance(audit, Journal):
        refuse_a_used_trail(audit)  # the caller's journal: refused but left open
        return audit
    return new_trail(str(audit))


class EngineSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What builds an engine, kept in its audit trail (``run_info("engine")``) so that
    ``Engine.resume`` can build the same one again."""

    market: MarketConfig
    seed: int
    router: RouterConfig
    desk: DeskConfig
    parent: ParentConfig
    max_restarts: int
    restart_window_ns: int
    relay_interval_ns: int | None = None


ENGINE_SPEC = "engine"  # its key in the trail's run info

_DEFAULT_ROUTER = RouterConfig()
_DEFAULT_DESK = DeskConfig()
_DEFAULT_PARENT = ParentConfig()


class Engine:
    """An engine and its supervision tree; the module docstring shows its use."""

    def __init__(
        self,
        market: MarketConfig,
        *,
        seed: int = 0,
        audit: str | Journal | None = ":memory:",
        router: RouterConfig = _DEFAULT_ROUTER,
        desk: DeskConfig = _DEFAULT_DESK,
        parent: ParentConfig = _DEFAULT_PARENT,
        live: bool = False,
        cpu: int | None = None,  # live: every engine thread on this CPU (see LiveRuntime)
        threaded: bool = False,
        max_restarts: int = 3,
        restart_window_ns: int = 5 * SECOND,
        scorecard: ScorecardSource = None,
        relay_interval_ns: int | None = None,
    ) -> None:
        """``relay_interval_ns``: each parent gets at most one market data update per
        venue and instrument in this interval (None: the router's default)."""
        if cpu is not None and not live:
            raise ValueError("cpu pins the live runtime's threads: it needs live=True")
        if live and market.session == SessionConfig():  # the default day is in the past
            market = msgspec.structs.replace(market, session=session_today())
        self.market = market
        self.seed = seed
        self.journal = _fresh_trail(audit)
        self._owns_journal_file = isinstance(audit, str) and audit != ":memory:"
        if self.journal is not None:
            spec = EngineSpec(
                market=market,
                seed=seed,
                router=router,
                desk=desk,
                parent=parent,
                max_restarts=max_restarts,
                restart_window_ns=restart_window_ns,
                relay_interval_ns=relay_interval_ns,
            )
            self.journal.set_run_info(ENGINE_SPEC, spec)
        self.reports: list[Report] = []
        self._subscribers: list[Callable[[Report], None]] = []
        self.subscriber_errors = 0  # exceptions raised by report callbacks (logged, skipped)
        self.runtime: Runtime = self._new_runtime(live=live, cpu=cpu, threaded=threaded)
        self.runtime.on_message(REPORTS, self._on_report)
        # Actors get their ids in start order and the simulation orders deliveries by
        # them: the order below is part of what makes a seed's run reproducible.
        self.supervisor = Supervisor(
            self.runtime, "engine", max_restarts=max_restarts, window_ns=restart_window_ns
        )
        venues = self._sub_supervisor("venues", max_restarts, restart_window_ns)
        self.parents = self._sub_supervisor("parents", max_restarts, restart_window_ns)
        self._books: dict[str, list[str]] = {}  # many instruments: each venue's book actors
        self.venue_names = self._start_venues(venues)
        self._start_router(router, scorecard, relay_interval_ns)
        self._start_desk(desk, parent)
        self._parent_prefix = desk.parent_id_prefix  # the desk names its parents P1, P2, ...
        self._closed = False

    @classmethod
    def resume(
        cls, trail: str, *, threaded: bool = False, scorecard: ScorecardSource = None
    ) -> Engine:
        """The engine that wrote ``trail`` (a simulated run killed or interrupted before
        its end), built again from the trail, in replay: send it the run's inputs again,
        as and when the first run did (``submit``, faults, ``run_until``), and it
        reproduces the trail record for record (``ReplayMismatch`` names the first seq
        that differs), venues included; past the trail's end it writes on, so the trail
        ends as an uninterrupted run's would. Reports already in the trail go to
        ``reports`` but not to subscribers again (``replaying``); ``scorecard``: the
        previous run's the first run started from, if any (not kept in the trail)."""
        journal = Journal(str(trail), resume=True)
        try:
            spec = journal.run_info(ENGINE_SPEC, EngineSpec)
            if spec is None:
                raise ValueError(f"audit trail {trail!r} does not say which engine wrote it")
            engine = cls(
                spec.market,
                seed=spec.seed,
                audit=journal,
                router=spec.router,
                desk=spec.desk,
                parent=spec.parent,
                threaded=threaded,
                max_restarts=spec.max_restarts,
                restart_window_ns=spec.restart_window_ns,
                scorecard=scorecard,
                relay_interval_ns=spec.relay_interval_ns,
            )
        except BaseException:
            journal.close()
            raise
        engine._owns_journal_file = True
        return engine

    @property
    def replaying(self) -> bool:
        """True while a resumed engine is still reproducing its trail (``resume``)."""
        return self.journal is not None and self.journal.replaying

    def _new_runtime(self, *, live: bool, cpu: int | None, threaded: bool) -> Runtime:
        if live:
            return LiveRuntime(seed=self.seed, journal=self.journal, cpu=cpu)
        return SimRuntime(
            seed=self.seed,
            start_ns=self.market.session.open_ns - MINUTE,
            journal=self.journal,
            threaded=threaded,
        )

    def _sub_supervisor(self, name: str, max_restarts: int, window_ns: int) -> Supervisor:
        return Supervisor(
            self.runtime,
            name,
            max_restarts=max_restarts,
            window_ns=window_ns,
            parent=self.supervisor,
        )

    def _start_venues(self, supervisor: Supervisor) -> list[str]:
        """The venue actors (one instrument), or the book actors (many); the names faults
        and crashes may name: a venue's go to each of its books, a book's to it alone."""
        market = self.market
        if market.instrument is not None:
            return start_market(
                self.runtime,
                supervisor,
                market.instrument,
                market.session,
                market.venues,
                clients=[ROUTER],
            )
        books = start_books(
            self.runtime,
            supervisor,
            market.instruments,
            market.session,
            market.venues,
            [ROUTER],
            market.peer_md_interval_ns,
        )
        for venue in market.venues:
            self._books[venue.name] = [b for b in books if b.startswith(f"{venue.name}:")]
        return [*self._books, *books]

    def _start_router(
        self, config: RouterConfig, scorecard: ScorecardSource, relay_interval_ns: int | None
    ) -> None:
        kwargs: dict[str, object] = {
            "venues": self.market.venues,
            "instruments": self.market.traded(),
            "books": self.market.many,
            "config": config,
            "scorecard": scorecard,  # a previous run's journal/path/Scorecard: start from it
        }
        if relay_interval_ns is not None:
            kwargs["relay_interval_ns"] = relay_interval_ns
        self.supervisor.start_child(ChildSpec(ROUTER, RouterActor, kwargs))

    def _start_desk(self, config: DeskConfig, parent: ParentConfig) -> None:
        kwargs = {
            "instruments": self.market.tradable(),
            "session": self.market.session,
            "parents": self.parents,
            "config": config,
            "parent_config": parent,
            "router": ROUTER,
        }
        self.supervisor.start_child(ChildSpec(DESK, DeskActor, kwargs))

    # ------------------------------------------------------------------ clients

    def submit(self, order: ClientOrder, at_ns: int | None = None) -> None:
        """Submit a client order now (or at ``at_ns`` of simulated time). The answer comes
        as an ``ExecutionReport`` (new) or a ``ClientOrderRejected`` with a reason.
        Anything but a ``ClientOrder`` is the caller's bug: ``TypeError`` here and now."""
        if not isinstance(order, ClientOrder):
            raise TypeError(f"submit takes a ClientOrder, not {type(order).__name__}")
        self._send(SubmitClientOrder(order=order), at_ns)

    def cancel(self, source: str, client_order_id: str, at_ns: int | None = None) -> None:
        self._send(CancelClientOrder(source=source, client_order_id=client_order_id), at_ns)

    def amend(
        self,
        source: str,
        client_order_id: str,
        *,
        quantity: int | None = None,
        limit_price: int | None = None,
        at_ns: int | None = None,
    ) -> None:
        self._send(
            AmendClientOrder(
                source=source,
                client_order_id=client_order_id,
                quantity=quantity,
                limit_price=limit_price,
            ),
            at_ns,
        )

    def on_report(
        self,
        callback: Callable[[Report], None],
        source: str | None = None,
        client_order_id: str | None = None,
    ) -> None:
        """Call ``callback`` with execution reports and rejects, in order: every one, or
        only a source's, or only one client order's (``source`` and ``client_order_id``).
        A report comes only once its record is committed to the audit trail, so a
        process killed at any point has every report it delivered in its trail (the
        trail's ``synchronous`` level says against what: see ``docs/audit.md``).

        A callback that raises is the subscriber's bug, not the engine's: the exception is
        logged and counted (``subscriber_errors``), the other callbacks still get the
        report, and the engine goes on working its orders."""
        if source is None and client_order_id is None:
            self._subscribers.append(callback)
            return

        def matching(report: Report) -> bool:
            return (source is None or report.source == source) and (
                client_order_id is None or report.client_order_id == client_order_id
            )

        self._subscribers.append(lambda report: callback(report) if matching(report) else None)

    def inject_fault(
        self,
        venue: str,
        fault: FaultKind | str,
        at_ns: int | None = None,
        duration_ns: int | None = None,
    ) -> None:
        """Fault injection: one of ``FaultKind`` (``down``, ``up``, ``degrade``,
        ``reject_orders``, ``drop_cancels``) at one of the engine's venues, for
        ``duration_ns`` (None: until an ``up``). An unknown kind or venue, or a duration
        that is not positive, raises ``ValueError``: a fault plan that cannot happen must
        not pass for one that did."""
        kind = _fault_kind(fault)
        if venue not in self.venue_names:
            raise ValueError(
                f"inject_fault: unknown venue {venue!r} (venues: {', '.join(self.venue_names)})"
            )
        if duration_ns is not None and not _fits(duration_ns, low=1):
            raise ValueError(
                f"inject_fault: duration_ns {duration_ns!r} is not a positive number of "
                "nanoseconds (None: until an up)"
            )
        _check_at("inject_fault", at_ns)
        self._send(
            InjectVenueFault(venue=venue, fault=kind, duration_ns=duration_ns), at_ns, dest=venue
        )

    def inject_crash(
        self, actor: str, at_ns: int | None = None, reason: str = "injected failure"
    ) -> None:
        """Fault injection: make an actor ("router", "desk", a venue, a parent id such as
        "P1") raise at ``at_ns``, as a bug would. Its supervisor restarts it and it
        rebuilds its state from the audit trail; the failure is logged, counted in
        ``runtime.stats`` and journaled (``ActorFailed``, ``ActorRestarted``). A name that
        can never be an actor of this engine raises ``ValueError``."""
        _check_at("inject_crash", at_ns)
        known = (ROUTER, DESK, *self.venue_names)
        prefix = self._parent_prefix
        if actor not in known and not re.fullmatch(re.escape(prefix) + r"[1-9]\d*", actor):
            raise ValueError(
                f"inject_crash: {actor!r} is not {', '.join(map(repr, known))} "
                f"or a parent id like '{prefix}1'"
            )
        self._send(InjectActorFailure(target=actor, reason=reason), at_ns, dest=actor)

    # -------------------------------------------------------------------- time

    @property
    def now(self) -> int:
        return self.runtime.now()

    def run_until(self, t_ns: int) -> None:
        self._sim().run_until(t_ns)

    def run(self, grace_ns: int = 5 * MINUTE) -> None:
        """Simulate to the session close plus ``grace_ns`` (children finish, reports land);
        live, wait on the wall clock until then or until ``stop()``."""
        if isinstance(self.runtime, LiveRuntime):
            self.runtime.wait_for_stop(until_ns=self.market.session.close_ns + grace_ns)
            return
        self.run_until(self.market.session.close_ns + grace_ns)

    def serve_forever(self) -> None:
        """Live: block until ``stop()`` (from another thread or a signal handler), then
        return; ``close()`` then stops the actors and flushes the trail."""
        if not isinstance(self.runtime, LiveRuntime):
            raise TypeError("serve_forever waits on the wall clock: it needs live=True")
        self.runtime.wait_for_stop()

    def stop(self) -> None:
        """Live: make ``serve_forever()`` and ``run()`` return (safe from a signal handler)."""
        if isinstance(self.runtime, LiveRuntime):
            self.runtime.request_stop()

    def close(self) -> None:
        """Stop every actor and flush the audit trail (nothing acknowledged is lost). An
        audit trail the engine opened from a file path is closed too (its indexes are
        built then); ``engine.audit.journal`` of an in-memory trail stays readable."""
        if self._closed:
            return
        self._closed = True
        try:
            if isinstance(self.runtime, LiveRuntime):
                self.runtime.shutdown()
            else:
                self.runtime.stop()
        finally:  # an actor failing to stop must not cost the trail its last records
            if self.journal is not None:
                self.journal.flush()
                if self._owns_journal_file:
                    self.journal.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- internals

    def _send(self, msg: Message, at_ns: int | None, dest: str = DESK) -> None:
        self._check_open()
        now = self.runtime.now()
        delay = 0 if at_ns is None else max(at_ns - now, 0)
        if delay:  # stamped when the client sends it, not when it was scheduled: the
            # audit trail's time of a client order is its submission (and TCA's decision)
            msg = msgspec.structs.replace(msg, ts=now + delay)
        for actor in self._books.get(dest, [dest]):
            self.runtime.send(EXTERNAL, actor, msg, delay_ns=delay)

    def _on_report(self, msg: Message, sender: str) -> None:
        report = cast(Report, msg)  # the desk sends only reports to REPORTS
        self.reports.append(report)
        if self.replaying:  # committed before the trail was resumed: not news
            return
        for callback in self._subscribers:
            try:
                callback(report)
            except Exception as exc:
                self.subscriber_errors += 1
                # one line, no report contents (client ids, prices); the traceback at DEBUG
                log_failure(
                    "ERROR", "report subscriber {!r} raised; the engine goes on", callback, exc=exc
                )

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the engine is closed: start a new one")
        halt = self.runtime._halt
        if halt is not None:  # past the top supervisor: nothing would handle the command
            raise RuntimeHalted(f"the engine has halted: {halt!r}") from halt

    def _sim(self) -> SimRuntime:
        self._check_open()
        if not isinstance(self.runtime, SimRuntime):
            raise TypeError("run/run_until drive simulated time; a live engine runs by itself")
        return self.runtime


def _fits(value: object, low: int) -> bool:
    """An int from ``low`` up to what the audit trail's 64-bit integers hold."""
    return type(value) is int and low <= value <= INT64_MAX


def _check_at(command: str, at_ns: int | None) -> None:
    """Fault commands go to venues and actors unscreened: their time is checked here."""
    if at_ns is not None and not _fits(at_ns, low=0):
        raise ValueError(f"{command}: at_ns {at_ns!r} is not a time in ns since the epoch")


def _fault_kind(fault: FaultKind | str) -> FaultKind:
    try:
        return FaultKind(fault)
    except ValueError:
        valid = ", ".join(kind.value for kind in FaultKind)
        raise ValueError(f"inject_fault: unknown fault {fault!r} (one of: {valid})") from None


__all__ = ["DESK", "ROUTER", "Engine", "EngineSpec", "MarketConfig"]
