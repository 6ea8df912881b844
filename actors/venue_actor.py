"""A venue actor: the host of one simulated venue (``engine.venues.venue``).

The venue addresses what it sends (order events to whoever placed the order, its feed
to subscribers) and says when it next publishes; this actor only builds it, tells it who
sent each message, and sends what comes back. Background flow advances lazily inside the
venue, so a simulated day costs one wake per publication, not one per event.
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.host import HostActor
from actors.runtime import Runtime, derive_seed
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import Message
from engine.venues.venue import SimulatedVenue, make_venue


class VenueActor(HostActor):
    obj: SimulatedVenue

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
        # who subscribes to it in this market (the router, the other venues): given again
        # to a restarted venue, which has forgotten them
        self.market_subscribers = tuple(subscribers)

    def started(self) -> None:
        # A restart is an exchange reset: a fresh book, reseeded flow; our resting orders
        # are gone and the router learns it from "unknown_order" on reconcile.
        runtime = self.runtime
        seed = derive_seed(runtime.seed, runtime.actor_id(self.name), "venue", self.generation)
        # One fundamental value per instrument, shared by every lit venue (derived from the
        # run's seed, not the venue's): value traders pull each book towards it, so venues
        # stay in line with each other as arbitrage keeps real markets.
        fundamental = derive_seed(runtime.seed, 0, f"fundamental:{self.instrument.symbol}")
        self.obj = make_venue(
            self.config,
            self.instrument,
            self.session,
            seed,
            fundamental_seed=fundamental,
            epoch=self.generation,
        )
        self.dispatch(
            self.obj.start(self.now, feeds=self.lit_venues, subscribers=self.market_subscribers)
        )

    def receive(self, msg: Message, sender: str) -> None:
        self.dispatch(self.obj.handle(msg, self.now, sender))
