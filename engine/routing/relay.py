"""The router's market data relay: each venue's updates to the actors that subscribed to
the router (parents), so a parent reads the market without every venue publishing to it.

A subscriber gets the updates of the instrument it subscribed for (a subscriber
restored without one gets every instrument's), conflated: at most one update per venue
and instrument every ``interval_ns`` (the latest book is what it reads), and on
subscribing, the latest update of every venue the router has heard from. Relayed copies
are the venue's own messages, journaled once by the router as it receives them: a relay
is sent, never journaled again.
"""

from __future__ import annotations

from engine.messages import MarketDataUpdated


class MarketDataRelay:
    """Who gets market data from the router, and when (see the module docstring)."""

    __slots__ = ("_for", "_instrument", "_last", "interval_ns", "subscribers")

    def __init__(self, interval_ns: int) -> None:
        self.interval_ns = interval_ns
        self.subscribers: list[str] = []  # in subscription order: the order relays go out
        self._instrument: dict[str, str | None] = {}  # subscriber → its instrument (None: all)
        self._for: dict[str, list[str]] = {}  # instrument → its subscribers, in order
        self._last: dict[tuple[str, str, str], int] = {}  # (subscriber, venue, instrument)

    def subscribe(self, subscriber: str, instrument: str | None = None) -> bool:
        """Add ``subscriber`` for ``instrument`` (None: every one); whether it is new (a
        repeat subscription changes nothing)."""
        if subscriber in self._instrument:
            return False
        self.subscribers.append(subscriber)
        self._instrument[subscriber] = instrument
        self._for.clear()
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
            wanted = self._instrument
            found = self._for[symbol] = [
                s for s in self.subscribers if wanted[s] is None or wanted[s] == symbol
            ]
        return found
