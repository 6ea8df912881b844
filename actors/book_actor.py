"""A book actor: one simulated venue's book of one instrument, in a market of many
instruments (``actors.simulated_market.start_books``), named ``"venue:SYMBOL"``.

It is a venue actor with two differences. Its random streams derive from the run's
seed, the venue and the symbol (not from the actor's id, which depends on how many
actors started before it), so an instrument's market is the same whichever other
instruments share the engine. And it subscribes to other books under its own actor
name: the venue inside speaks for the venue (its events name ``"venue"``, which the
router's scorecard keys on), but its feeds must come back to this book.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from actors.runtime import derive_seed
from actors.venue_actor import VenueActor
from engine.messages import Message, SubscribeMarketData
from engine.venues.venue import make_venue


def book_name(venue: str, symbol: str) -> str:
    return f"{venue}:{symbol}"


def book_seed(seed: int, venue: str, symbol: str, generation: int) -> int:
    """The seed of a venue's book of ``symbol``: the run's seed, the venue, the symbol."""
    return derive_seed(seed, 0, f"book:{venue}:{symbol}", generation)


class BookActor(VenueActor):
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
