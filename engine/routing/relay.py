"""The router's market data relay: each venue's updates to the actors that subscribed to
the router (parents), so a parent reads the market without every venue publishing to it.

A subscriber gets the updates of the instruments it subscribed for (a subscriber
restored without one gets every instrument's), conflated: at most one update per venue
and instrument every ``interval_ns`` (the latest book is what it reads), and on
subscribing, the latest update of every venue the router has heard from. Relayed copies
are the venue's own messages, journaled once by the router as it receives them: a relay
is sent, never journaled again. A subscriber that unsubscribes (a parent that ended) is
gone for good: a later subscription of the same name (its actor restarted) is ignored.
"""

from __future__ import annotations

from engine.messages import MarketDataUpdated


class MarketDataRelay:
    """Who gets market data from the router, and when (see the module docstring)."""

    __slots__ = ("_for", "_instruments", "_last", "gone", "interval_ns", "subscribers")

    def __init__(self, interval_ns: int) -> None:
        self.interval_ns = interval_ns
        self.subscribers: list[str] = []  # in subscription order: the order relays go out
        # subscriber → the instruments it asked for (None: every one)
        self._instruments: dict[str, set[str] | None] = {}
        self._for: dict[str, list[str]] = {}  # instrument → its subscribers, in order
        self._last: dict[tuple[str, str, str], int] = {}  # (subscriber, venue, instrument)
        self.gone: set[str] = set()  # unsubscribed: never relayed to again

    def subscribe(self, subscriber: str, instrument: str | None = None) -> bool:
        """Add ``subscriber`` for ``instrument`` (None: every one); whether it is new (a
        repeat subscription, or one of a subscriber gone, changes nothing). A subscriber
        may subscribe for several instruments (the desk nets each of them)."""
        if subscriber in self.gone:
            return False
        wanted = self._instruments.get(subscriber, set())
        if subscriber in self._instruments:
            if wanted is None or instrument in wanted:
                return False
            self._instruments[subscriber] = None if instrument is None else {*wanted, instrument}
            self._for.clear()
            return True
        self.subscribers.append(subscriber)
        self._instruments[subscriber] = None if instrument is None else {instrument}
        self._for.clear()
        return True

    def unsubscribe(self, subscriber: str) -> bool:
        """Drop ``subscriber`` for good; whether it was subscribed."""
        if subscriber in self.gone:
            return False
        self.gone.add(subscriber)
        if subscriber not in self.subscribers:
            return False
        self.subscribers.remove(subscriber)
        del self._instruments[subscriber]
        self._for.clear()
        for key in [k for k in self._last if k[0] == subscriber]:
            del self._last[key]
        return True

    def due(self, md: MarketDataUpdated, now_ns: int) -> list[str]:
        """The subscribers that get ``md`` now (their last update of its venue and
        instrument is at least ``interval_ns`` old, or there was none), marked as relayed
        at ``now_ns``."""
        out = []
        last, venue, symbol, interval = self._last, md.venue, md.instrument, self.interval_ns
        for subscriber in self._subscribers_of(symbol):
            key = (subscriber, venue, symbol)
            at = last.get(key)
            if at is None or now_ns - at >= interval:
                last[key] = now_ns
                out.append(subscriber)
        return out

    def _subscribers_of(self, symbol: str) -> list[str]:
        found = self._for.get(symbol)
        if found is None:
            wanted = self._instruments
            found = self._for[symbol] = [
                s for s in self.subscribers if (w := wanted[s]) is None or symbol in w
            ]
        return found
