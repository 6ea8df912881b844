"""The router as its actor hosts it (``engine.contract.Hosted``): the ``Router`` and what
sits between it and the other actors.

- Market data: the node subscribes to every venue, journals each update it receives (TCA
  reads the market tape from it) and relays a throttled copy to the actors subscribed to
  it (``MarketDataRelay``). Subscriptions and relays are feed messages
  (``engine.contract.FEED``): the host sends them and never journals them.
- The scorecard: each venue book's last message the scorecard reflects
  (``Scorecard.applied``, what a restart replays after), and the periodic and final
  saves (``saved``; the host arms its own timer at ``next_save_ns``).
- Recovery (``recover``): after a restart, the router rebuilt from the audit trail
  through its public methods (``engine.routing.recovery``), the scorecard brought up to
  date, and venue events recovery applied ignored when they are delivered later.

Venue order events are journaled by the venue that sends them (each message is journaled
once, by the actor that sent it), so the node applies them without journaling them again.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.audit.trail import AuditTrail
from engine.config import VenueConfig
from engine.contract import JOURNAL, Outbox
from engine.instruments import Instrument
from engine.messages import (
    MarketDataUpdated,
    Message,
    ScorecardSaved,
    SubscribeMarketData,
    UnsubscribeMarketData,
    VenueCancelRejected,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueOrderReplaced,
    VenueStatusChanged,
)
from engine.routing import recovery
from engine.routing.config import DEFAULT_CONFIG, RouterConfig
from engine.routing.relay import MarketDataRelay
from engine.routing.router import Router
from engine.routing.scorecard import Scorecard

_VENUE_EVENTS = (
    VenueOrderAccepted,
    VenueOrderRejected,
    VenueOrderFilled,
    VenueOrderCancelled,
    VenueCancelRejected,
    VenueOrderReplaced,
)


class RouterNode:
    """The router and its market data relay, scorecard saves and recovery, as one hosted
    object (see the module docstring)."""

    def __init__(
        self,
        *,
        name: str,
        venues: Sequence[VenueConfig],
        instrument: Instrument | None = None,
        instruments: Sequence[Instrument] = (),  # many instruments (``instrument`` left out)
        config: RouterConfig = DEFAULT_CONFIG,
        scorecard: Scorecard | None = None,
        restored_from: ScorecardSaved | None = None,
        relay_interval_ns: int,
        save_interval_ns: int,
    ) -> None:
        """``restored_from``: the save ``scorecard`` was restored from after a restart
        (``engine.routing.persistence.restore_scorecard``); recovery replays after it."""
        self.name = name
        self.venue_configs = list(venues)
        self.instruments = [instrument] if instrument is not None else list(instruments)
        self.router = Router(
            self.venue_configs,
            config,
            scorecard=scorecard,
            instruments={i.symbol: i for i in self.instruments},
        )
        self.relay = MarketDataRelay(relay_interval_ns)
        self.save_interval_ns = save_interval_ns
        self.restored_from = restored_from
        # msg ids of venue events recovery applied from the trail: a later delivery of one
        # (it was in flight at the restart) is a redelivery and is ignored
        self._recovered_events: set[int] = set()

    # ------------------------------------------------------------- the contract

    def handle(self, msg: Message, now_ns: int) -> Outbox:
        if isinstance(msg, MarketDataUpdated):
            self._applied((msg.venue, msg.instrument), msg.msg_id)
            out: Outbox = [(subscriber, msg) for subscriber in self.relay.due(msg, now_ns)]
            out.append((JOURNAL, msg))  # the market tape TCA reads
            out += self.router.handle(msg, now_ns)
            return out
        if isinstance(msg, _VENUE_EVENTS):
            self._applied(self.router.scorecard.book_of(msg), msg.msg_id)
            if msg.msg_id in self._recovered_events:
                self._recovered_events.discard(msg.msg_id)  # applied at the restart
                return []
        elif isinstance(msg, VenueStatusChanged):
            self._applied((msg.venue, msg.instrument or ""), msg.msg_id)
        elif isinstance(msg, SubscribeMarketData):
            return self._subscribed(msg)
        elif isinstance(msg, UnsubscribeMarketData):
            self.relay.unsubscribe(msg.subscriber)  # journaled by its sender
            return []
        return self.router.handle(msg, now_ns)

    def on_wake(self, now_ns: int) -> Outbox:
        return self.router.on_wake(now_ns)

    def next_wake_ns(self) -> int | None:
        return self.router.next_wake_ns()

    def _applied(self, book: tuple[str, str] | None, msg_id: int) -> None:
        """A venue book's own message: the scorecard saved from now on reflects it (a
        restart replays only later ones of that book). Keyed by book, not venue: a
        venue's books are senders of their own, and only one sender's ids rise in the
        order it sent them (``book_of``; None: an event the scorecard ignores)."""
        if book is None:
            return
        applied = self.router.scorecard.applied
        if msg_id > applied.get(book, 0):
            applied[book] = msg_id

    # ------------------------------------------------------------- market data

    def subscriptions(self) -> Outbox:
        """Ask every venue for its market data (feed messages: never journaled)."""
        return [
            (venue.name, SubscribeMarketData(subscriber=self.name, instrument=i.symbol))
            for venue in self.venue_configs
            for i in self.instruments
            if venue.trades(i.symbol)
        ]

    def _subscribed(self, msg: SubscribeMarketData) -> Outbox:
        """A new subscriber is journaled (a restarted router relays to it again); every
        subscriber gets the latest update of each venue at once (one gone gets none)."""
        if msg.subscriber in self.relay.gone:
            return []
        new = self.relay.subscribe(msg.subscriber, msg.instrument)
        out: Outbox = [(JOURNAL, msg)] if new else []
        out += [(msg.subscriber, md) for md in self.router.market(msg.instrument).venues.values()]
        return out

    # ------------------------------------------------------------- the scorecard

    def next_save_ns(self, now_ns: int) -> int | None:
        """When the scorecard is next saved (None: no periodic saves)."""
        return now_ns + self.save_interval_ns if self.save_interval_ns > 0 else None

    def saved(self, reason: str) -> ScorecardSaved:
        """The scorecard as a record to journal ("periodic", or "stop")."""
        return ScorecardSaved(
            router=self.name, reason=reason, state=self.router.scorecard.to_json()
        )

    # ------------------------------------------------------------- recovery

    def recover(self, trail: AuditTrail, now_ns: int) -> Outbox:
        """Rebuild from the audit trail after a restart, then reconcile before acting (see
        ``engine.routing.recovery``): returns what to send."""
        records = recovery.journal_records(trail)
        history = recovery.fold(msg for _, msg in records)
        self._recovered_events = set(history.venue_event_ids)
        delay = {v.name: v.latency_ns + v.jitter_ns // 2 for v in self.venue_configs}
        recovery.replay_scorecard_from(
            trail, self.router.scorecard, records, saved=self.restored_from, delay_ns=delay
        )
        for subscriber, instrument in history.subscribers:
            self.relay.subscribe(subscriber, instrument)
        for subscriber in history.unsubscribed:
            self.relay.unsubscribe(subscriber)
        return recovery.recover(self.router, history, now_ns)
