"""The router actor: hosts ``engine.routing.Router`` between parents and venues.

It subscribes to every venue's market data, forwards commands and child events where
the router says, journals every routing decision and venue event, and relays a
throttled copy of the market data to subscribed parents (so each parent reads the
market without every venue publishing to every parent).

After a crash the supervisor starts it again (generation > 0) and ``started()`` rebuilds
the router from the journal (``engine.routing.recovery``) before it acts: its children,
their venue orders and every event the venues sent about them (venues journal what they
send, so events dropped with the old inbox or still in flight are in the audit trail),
its market data subscribers, the scorecard (the last ``ScorecardSaved``, with every
order, venue event and market data update the journal holds after it replayed on top:
``recovery.replay_scorecard``). Fills the old
instance never reported go to the parents now; a later delivery of an event recovery
already applied is ignored by message id. Reconciliation policy for venue orders that
may still be live: **cancel them and route the remainder**; a cancel is the one question
every venue answers, and its answer arrives behind every message the venue sent before
(links are FIFO), so it settles the order. Only genuinely lost messages (never
journaled) leave shares unexplained: those are counted as unaccounted and journaled
with the decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from actors.actor import EngineActor
from actors.runtime import Runtime
from engine.audit.journal import Journal
from engine.clock import MINUTE
from engine.config import VenueConfig
from engine.instruments import Instrument
from engine.messages import (
    MarketDataUpdated,
    Message,
    RouteDecided,
    ScorecardSaved,
    SubscribeMarketData,
    VenueCancelRejected,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueOrderReplaced,
)
from engine.routing import recovery
from engine.routing.router import Router, RouterConfig
from engine.routing.scorecard import Scorecard, ScorecardState

_WAKE = "router"
_SAVE = "scorecard"
_TAPE_BEFORE_SAVE_NS = MINUTE  # market data read before a restored save (venues publish every ~2 s)
# Venue order events are journaled by the venue that sends them (each message is
# journaled once, by the actor that sent it or that brought it in from outside the
# engine), so the router applies them without journaling them again. It still journals
# the market data it receives: TCA reads the tape from it.
_VENUE_EVENTS = (
    VenueOrderAccepted,
    VenueOrderRejected,
    VenueOrderFilled,
    VenueOrderCancelled,
    VenueCancelRejected,
    VenueOrderReplaced,
)


class RouterActor(EngineActor):
    def __init__(
        self,
        runtime: Runtime,
        name: str,
        generation: int = 0,
        *,
        venues: Sequence[VenueConfig],
        instrument: Instrument,
        config: RouterConfig = RouterConfig(),
        relay_interval_ns: int = 5_000_000_000,
        scorecard: ScorecardSource = None,
        scorecard_interval_ns: int = MINUTE,
    ) -> None:
        super().__init__(runtime, name, generation)
        self.venue_configs = list(venues)
        self.instrument = instrument
        self.config = config
        self.relay_interval_ns = relay_interval_ns
        self.initial_scorecard = scorecard
        self.scorecard_interval_ns = scorecard_interval_ns
        self.subscribers: list[str] = []
        self._last_relay: dict[tuple[str, str], int] = {}
        # msg ids of venue events recovery applied from the journal: a later delivery of
        # one (it was in flight at the restart) is a redelivery and is ignored
        self._recovered_events: set[int] = set()
        self._scorecard_saved: ScorecardSaved | None = None  # what ``_restore`` restored

    def started(self) -> None:
        self.router = Router(
            self.venue_configs,
            self.config,
            scorecard=self._restore(),
            instruments={self.instrument.symbol: self.instrument},
        )
        if self.scorecard_interval_ns > 0:
            self.set_timer(_SAVE, self.now + self.scorecard_interval_ns)
        for venue in self.venue_configs:
            self.send(
                venue.name,
                SubscribeMarketData(subscriber=self.name, instrument=self.instrument.symbol),
            )
        if self.generation:
            self._recover()

    def receive(self, msg: Message, sender: str) -> None:
        if isinstance(msg, SubscribeMarketData):
            if msg.subscriber not in self.subscribers:
                self.subscribers.append(msg.subscriber)
                self.journal(msg)  # a restarted router relays to its subscribers again
            for md in self.router.market(msg.instrument).venues.values():
                self.send(msg.subscriber, md)
            return
        if sender == getattr(msg, "venue", None):
            # a venue's own message (order event, market data, status): the scorecard
            # state saved from now on reflects it (a restart replays only later ones)
            applied = self.router.scorecard.applied
            if msg.msg_id > applied.get(sender, 0):
                applied[sender] = msg.msg_id
        if isinstance(msg, MarketDataUpdated):
            self._relay(msg)
            self.journal(msg)  # TCA reads the market tape from it
        elif isinstance(msg, _VENUE_EVENTS) and self._recovered_events:
            if msg.msg_id in self._recovered_events:
                # applied from the journal at the restart (it was in flight then)
                self._recovered_events.discard(msg.msg_id)
                return
        self._dispatch(self.router.handle(msg, self.now))

    def on_timer(self, key: str) -> None:
        if key == _SAVE:
            self.journal(self._saved("periodic"))
            self.set_timer(_SAVE, self.now + self.scorecard_interval_ns)
            return
        self._dispatch(self.router.on_time(self.now))

    def on_stop(self) -> None:
        """A normal stop (not a failure: pykka skips ``on_stop`` then) saves the scorecard.
        Written straight to the sink: at the engine's close no simulation wave follows
        to flush the runtime's per-wave journal buffer."""
        sink = self.runtime.journal_sink
        router = getattr(self, "router", None)  # None if ``started`` never ran
        if sink is not None and router is not None:
            sink.append(self.runtime.stamp(self.name, self._saved("stop")))

    # ------------------------------------------------------------- recovery

    def _recover(self) -> None:
        """Rebuild from the journal, then reconcile before acting. In simulation the
        records of the wave that crashed are already in the journal: the runtime writes a
        wave's records before it lets the supervisor restart anyone."""
        records = self._journal_records()
        history = recovery.fold(msg for _, msg in records)
        self._recovered_events = set(history.venue_event_ids)
        self._replay_scorecard(records)
        for subscriber in history.subscribers:
            if subscriber not in self.subscribers:
                self.subscribers.append(subscriber)
        self._dispatch(recovery.recover(self.router, history, self.now))
        self.runtime.stats["routers_recovered"] += 1

    def _journal_records(
        self, types: tuple[type[Message], ...] = recovery.RECORD_TYPES, since: int | None = None
    ) -> list[tuple[int, Message]]:
        """(position, message) of the journal's records of ``types`` (``ts >= since``)."""
        sink = self.runtime.journal_sink
        if sink is None:
            raise RuntimeError(f"router {self.name} restarted without a journal to recover from")
        query = getattr(sink, "query", None)
        if query is not None:  # only the types asked for, not the whole market data tape
            names = [t.__name__ for t in types]
            return [(record.seq, record.message) for record in query(types=names, since=since)]
        records: list[Message] = list(sink)  # type: ignore[call-overload]
        return [
            (n, msg)
            for n, msg in enumerate(records)
            if isinstance(msg, types) and (since is None or msg.ts >= since)
        ]

    def _replay_scorecard(self, records: list[tuple[int, Message]]) -> None:
        """Replay on the restored scorecard what the journal holds after its save (all of
        it without one), before the router decides anything. The market data tape is read
        from a minute before the save: the books the replayed markouts are marked on."""
        saved = self._scorecard_saved
        since = None if saved is None else saved.ts - _TAPE_BEFORE_SAVE_NS
        tape = self._journal_records(recovery.SCORECARD_TAPE, since)
        merged = sorted([*records, *tape], key=lambda entry: entry[0])
        delay = {v.name: v.latency_ns + v.jitter_ns // 2 for v in self.venue_configs}
        recovery.replay_scorecard(
            self.router.scorecard,
            (msg for _, msg in merged),
            own_after=None if saved is None else saved.msg_id,
            delay_ns=delay,
        )

    # ------------------------------------------------------------- the scorecard

    def _saved(self, reason: str) -> ScorecardSaved:
        return ScorecardSaved(
            router=self.name, reason=reason, state=self.router.scorecard.to_json()
        )

    def _restore(self) -> Scorecard:
        """The latest scorecard this router journaled, else the one it was given, else a
        blank one (see the module docstring for what survives which way)."""
        sink = self.runtime.journal_sink
        if isinstance(sink, Journal):
            saved = latest_saved(sink, self.name)
            if saved is not None:
                state = msgspec.json.decode(saved.state, type=ScorecardState)
                if self.generation:
                    self._scorecard_saved = saved  # the journal after it is replayed
                    return Scorecard.from_state(state)
                return Scorecard.from_state(learnt_only(state))
        state = load_scorecard(self.initial_scorecard)
        return Scorecard() if state is None else Scorecard.from_state(learnt_only(state))

    def _dispatch(self, out: list[tuple[str, Message]]) -> None:
        decisions_to = self.config.decisions_to
        journal, send = self.journal, self.send
        for dest, msg in out:
            if msg.__class__ is RouteDecided or dest == decisions_to:
                journal(msg)
                continue
            journal(send(dest, msg))
        wake = self.router.next_wake_ns()
        if wake is not None:
            self.set_timer(_WAKE, wake)

    def _relay(self, md: MarketDataUpdated) -> None:
        for subscriber in self.subscribers:
            key = (subscriber, md.venue)
            last = self._last_relay.get(key)
            if last is None or self.now - last >= self.relay_interval_ns:
                self._last_relay[key] = self.now
                self.send(subscriber, md)


# ------------------------------------------------------------------ persistence helpers

ScorecardSource = Scorecard | ScorecardState | Journal | str | Path | None


def latest_saved(journal: Journal, router: str | None = None) -> ScorecardSaved | None:
    """The last ``ScorecardSaved`` in ``journal`` (of ``router`` if given)."""
    latest = None
    for msg in journal.messages(ScorecardSaved):
        if router is None or msg.router == router:  # type: ignore[attr-defined]
            latest = msg
    return latest  # type: ignore[return-value]


def latest_scorecard(journal: Journal, router: str | None = None) -> ScorecardState | None:
    """The state of the last ``ScorecardSaved`` in ``journal`` (of ``router`` if given)."""
    latest = latest_saved(journal, router)
    if latest is None:
        return None
    return msgspec.json.decode(latest.state, type=ScorecardState)


def load_scorecard(source: ScorecardSource) -> ScorecardState | None:
    """A scorecard state from a previous run: its journal (or the journal's path), a
    ``Scorecard`` or a ``ScorecardState``."""
    if source is None or isinstance(source, ScorecardState):
        return source
    if isinstance(source, Scorecard):
        return source.to_state()
    if isinstance(source, Journal):
        return latest_scorecard(source)
    with Journal(str(source), readonly=True) as journal:
        return latest_scorecard(journal)


def learnt_only(state: ScorecardState) -> ScorecardState:
    """What carries over to another run: the per-venue statistics. Open orders, pending
    markouts, venue status and the last traded-volume reading belong to the session that
    saved them (the venues' order ids and volumes start afresh in a new one)."""
    venues: list[Any] = [
        msgspec.structs.replace(v, last_volume=None, reject_streak=0, outflows=list(v.outflows))
        for v in state.venues
    ]
    return ScorecardState(markout_horizon_ns=state.markout_horizon_ns, venues=venues)
