"""A venue actor: hosts one simulated venue (lit book or dark pool) from ``engine.venues.venue``.

It feeds the venue commands and the time, sends replies to whoever placed the order,
and publishes market data to subscribers on a timer. Every order event it sends (accepted,
rejected, filled, cancelled, replaced, cancel rejected) is journaled here, by its sender,
so the audit trail holds it whatever happens to the message on its way. Background flow advances lazily
inside the venue, so a simulated day costs one message per publication, not per event.
A dark pool subscribes to the lit venues to learn the mid it executes at.
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.actor import EngineActor
from actors.runtime import Runtime, derive_seed
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import (
    CancelVenueOrder,
    InjectVenueFault,
    MarketDataUpdated,
    Message,
    PlaceVenueOrder,
    ReplaceVenueOrder,
    SubscribeMarketData,
    VenueKind,
    VenueStatusChanged,
)
from engine.venues.venue import DarkVenue, LitVenue

_MD_TIMER = "market_data"


class VenueActor(EngineActor):
    def __init__(
        self,
        runtime: Runtime,
        name: str,
        generation: int = 0,
        *,
        config: VenueConfig,
        instrument: Instrument,
        session: SessionConfig,
        lit_venues: Sequence[str] = (),
        subscribers: Sequence[str] = (),
    ) -> None:
        super().__init__(runtime, name, generation)
        self.config = config
        self.instrument = instrument
        self.session = session
        self.lit_venues = tuple(lit_venues)
        self.owners: dict[str, str] = {}  # venue order id → actor that placed it
        self.subscribers: list[str] = []
        # who subscribes to it in this market (the router, the other venues): a restart
        # resets the actor's state, subscriptions included, and nobody subscribes again
        self.market_subscribers = tuple(subscribers)

    def started(self) -> None:
        # A restart is an exchange reset: a fresh book, reseeded flow; our resting orders
        # are gone and the router learns it from "unknown_order" on reconcile.
        seed = derive_seed(
            self.runtime.seed, self.runtime.actor_id(self.name), "venue", self.generation
        )
        if self.config.kind is VenueKind.DARK:
            self.venue = DarkVenue(
                self.config, self.instrument, self.session, seed, epoch=self.generation
            )
        else:
            # One fundamental value per instrument, shared by every lit venue (derived from
            # the run's seed, not the venue's): value traders pull each book towards it, so
            # venues stay in line with each other as arbitrage keeps real markets.
            fundamental = derive_seed(self.runtime.seed, 0, f"fundamental:{self.instrument.symbol}")
            self.venue = LitVenue(
                self.config,
                self.instrument,
                self.session,
                seed,
                fundamental_seed=fundamental,
                epoch=self.generation,
            )
        for lit in self.lit_venues:
            self.send(
                lit, SubscribeMarketData(subscriber=self.name, instrument=self.instrument.symbol)
            )
        if self.generation:  # restarted: its subscribers keep getting its market data
            for subscriber in self.market_subscribers:
                self.receive(
                    SubscribeMarketData(subscriber=subscriber, instrument=self.instrument.symbol),
                    subscriber,
                )
        self.set_timer(_MD_TIMER, max(self.now, self.session.open_ns) + self.config.md_interval_ns)

    def receive(self, msg: Message, sender: str) -> None:
        if isinstance(msg, SubscribeMarketData):
            if msg.subscriber not in self.subscribers:
                self.subscribers.append(msg.subscriber)
            self.send(msg.subscriber, self.venue.snapshot(self.now))
            return
        if isinstance(msg, PlaceVenueOrder):
            self.owners[msg.order_id] = sender
        elif isinstance(msg, (CancelVenueOrder, ReplaceVenueOrder)):
            # After a venue restart the owner table is empty: whoever asks about an order
            # gets the answer (e.g. "unknown_order" to a router reconciling by cancel).
            self.owners.setdefault(msg.order_id, sender)
        if isinstance(
            msg,
            (
                PlaceVenueOrder,
                CancelVenueOrder,
                ReplaceVenueOrder,
                InjectVenueFault,
                MarketDataUpdated,
            ),
        ):
            self._dispatch(self.venue.handle(msg, self.now))

    def on_timer(self, key: str) -> None:
        self._dispatch(self.venue.advance_to(self.now))
        self._publish()
        if self.now < self.session.close_ns:
            self.set_timer(_MD_TIMER, self.now + self.config.md_interval_ns)

    def _publish(self) -> None:
        snapshot = self.venue.snapshot(self.now)
        for subscriber in self.subscribers:
            self.send(subscriber, snapshot)

    def _dispatch(self, events: list[Message]) -> None:
        for event in events:
            if isinstance(event, VenueStatusChanged):
                self.journal(event)
                for subscriber in self.subscribers:
                    self.send(subscriber, event)
                self._publish()
                continue
            owner = self.owners.get(event.order_id)  # type: ignore[attr-defined]
            if owner is not None:
                # Journaled at the source, once: a reply in flight or dropped with a
                # crashed owner's inbox is still in the audit trail (router recovery
                # applies the ones its old instance never processed).
                self.journal(self.send(owner, event))
