"""The router actor: hosts ``engine.routing.Router`` between parents and venues.

It subscribes to every venue's market data, forwards commands and child events where
the router says, journals every routing decision and venue event, and relays a
throttled copy of the market data to subscribed parents (so each parent reads the
market without every venue publishing to every parent).
"""

from __future__ import annotations

from collections.abc import Sequence

from actors.actor import EngineActor
from actors.runtime import Runtime
from engine.config import VenueConfig
from engine.instruments import Instrument
from engine.messages import (
    MarketDataUpdated,
    Message,
    RouteDecided,
    SubscribeMarketData,
    VenueCancelRejected,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueOrderReplaced,
    VenueStatusChanged,
)
from engine.routing.router import Router, RouterConfig

_WAKE = "router"
# What the router hears from venues goes to the audit trail (parents journal their own
# commands: each message is journaled once, by the actor that sent it or that brought
# it in from outside the engine).
_JOURNALED_IN = (
    MarketDataUpdated,
    VenueOrderAccepted, VenueOrderRejected, VenueOrderFilled, VenueOrderCancelled,
    VenueCancelRejected, VenueOrderReplaced,
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
    ) -> None:
        super().__init__(runtime, name, generation)
        self.venue_configs = list(venues)
        self.instrument = instrument
        self.config = config
        self.relay_interval_ns = relay_interval_ns
        self.subscribers: list[str] = []
        self._last_relay: dict[tuple[str, str], int] = {}

    def started(self) -> None:
        self.router = Router(self.venue_configs, self.config,
                             instruments={self.instrument.symbol: self.instrument})
        for venue in self.venue_configs:
            self.send(venue.name, SubscribeMarketData(subscriber=self.name,
                                                      instrument=self.instrument.symbol))

    def receive(self, msg: Message, sender: str) -> None:
        if isinstance(msg, SubscribeMarketData):
            if msg.subscriber not in self.subscribers:
                self.subscribers.append(msg.subscriber)
            for md in self.router.market(msg.instrument).venues.values():
                self.send(msg.subscriber, md)
            return
        if isinstance(msg, MarketDataUpdated):
            self._relay(msg)  # and journaled below: TCA reads the market tape from it
        if isinstance(msg, _JOURNALED_IN):
            self.journal(msg)
        self._dispatch(self.router.handle(msg, self.now))

    def on_timer(self, key: str) -> None:
        self._dispatch(self.router.on_time(self.now))

    def _dispatch(self, out: list[tuple[str, Message]]) -> None:
        for dest, msg in out:
            if isinstance(msg, RouteDecided) or dest == self.config.decisions_to:
                self.journal(msg)
                continue
            self.journal(self.send(dest, msg))
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
