"""The router's market data relay: each venue's updates to the actors that subscribed to
the router (parents), so a parent reads the market without every venue publishing to it.

A subscriber gets at most one update per venue every ``interval_ns`` (conflated: the
latest book is what it reads), and on subscribing, the latest update of every venue the
router has heard from. Relayed copies are the venue's own messages, journaled once by
the router as it receives them: a relay is sent, never journaled again. A subscriber
that unsubscribes (a parent that ended) is gone for good: a later subscription of the
same name (its actor restarted) is ignored.
"""

from __future__ import annotations

from engine.messages import MarketDataUpdated


class MarketDataRelay:
    """Who gets market data from the router, and when (see the module docstring)."""

    __slots__ = ("_last", "gone", "interval_ns", "subscribers")

    def __init__(self, interval_ns: int) -> None:
        self.interval_ns = interval_ns
        self.subscribers: list[str] = []  # in subscription order: the order relays go out
        self._last: dict[tuple[str, str], int] = {}  # (subscriber, venue) → last relayed at
        self.gone: set[str] = set()  # unsubscribed: never relayed to again

    def subscribe(self, subscriber: str) -> bool:
        """Add ``subscriber``; whether it is new (a repeat subscription, or one of a
        subscriber gone, changes nothing)."""
        if subscriber in self.subscribers or subscriber in self.gone:
            return False
        self.subscribers.append(subscriber)
        return True

    def unsubscribe(self, subscriber: str) -> bool:
        """Drop ``subscriber`` for good; whether it was subscribed."""
        if subscriber in self.gone:
            return False
        self.gone.add(subscriber)
        if subscriber not in self.subscribers:
            return False
        self.subscribers.remove(subscriber)
        for key in [k for k in self._last if k[0] == subscriber]:
            del self._last[key]
        return True

    def due(self, md: MarketDataUpdated, now_ns: int) -> list[str]:
        """The subscribers that get ``md`` now (their last update from its venue is at
        least ``interval_ns`` old, or there was none), marked as relayed at ``now_ns``."""
        out = []
        last, venue, interval = self._last, md.venue, self.interval_ns
        for subscriber in self.subscribers:
            key = (subscriber, venue)
            at = last.get(key)
            if at is None or now_ns - at >= interval:
                last[key] = now_ns
                out.append(subscriber)
        return out
