"""A book actor: one simulated venue's book of one instrument, in a market of many
instruments (``actors.simulated_market.start_books``), named ``"venue:SYMBOL"``.

It is a venue actor with three differences. Its random streams derive from the run's
seed, the venue and the symbol (not from the actor's id, which depends on how many
actors started before it), so an instrument's market is the same whichever other
instruments share the engine. And it subscribes to other books under its own actor
name: the venue inside speaks for the venue (its events name ``"venue"``, which the
router's scorecard keys on), but its feeds must come back to this book. And its
periodic publications to the other books of its instrument (the arbitrage and impact
feeds) are conflated to one per ``peer_interval_ns``: with hundreds of books they are
most of a day's deliveries, while the router still gets every publication.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from actors.runtime import Runtime, derive_seed
from actors.venue_actor import VenueActor
from engine.conflation import Conflation
from engine.messages import MarketDataUpdated, Message, SubscribeMarketData
from engine.venues.venue import make_venue


def book_name(venue: str, symbol: str) -> str:
    return f"{venue}:{symbol}"


def book_seed(seed: int, venue: str, symbol: str, generation: int) -> int:
    """The seed of a venue's book of ``symbol``: the run's seed, the venue, the symbol."""
    return derive_seed(seed, 0, f"book:{venue}:{symbol}", generation)


class BookActor(VenueActor):
    def __init__(
        self,
        runtime: Runtime,
        name: str,
        generation: int = 0,
        *,
        peers: Sequence[str] = (),
        peer_interval_ns: int | None = None,
        **venue: Any,
    ) -> None:
        super().__init__(runtime, name, generation, **venue)
        self.peers = frozenset(peers)
        self.peer_feed = Conflation(peer_interval_ns) if peer_interval_ns else None

    def on_timer(self, key: str) -> None:
        if self.peer_feed is None:
            super().on_timer(key)
            return
        out = self.obj.on_wake(self.now)
        due, peers = self.peer_feed.due, self.peers
        self.dispatch(
            (dest, msg)
            for dest, msg in out
            if dest not in peers or not isinstance(msg, MarketDataUpdated) or due(dest, self.now)
        )

    def started(self) -> None:
        # A restart is an exchange reset of this book alone: the venue's other books and
        # our orders resting there are untouched.
        seed, symbol = self.runtime.seed, self.instrument.symbol
        self.obj = make_venue(
            self.config,
            self.instrument,
            self.session,
            book_seed(seed, self.config.name, symbol, self.generation),
            fundamental_seed=derive_seed(seed, 0, f"fundamental:{symbol}"),
            epoch=self.generation,
        )
        self.dispatch(
            self.obj.start(self.now, feeds=self.lit_venues, subscribers=self.market_subscribers)
        )

    def dispatch(self, out: Iterable[tuple[str, Message]]) -> None:
        super().dispatch([(dest, self._as_book(msg)) for dest, msg in out])

    def _as_book(self, msg: Message) -> Message:
        if isinstance(msg, SubscribeMarketData) and msg.subscriber != self.name:
            return msgspec.structs.replace(msg, subscriber=self.name)
        return msg
