"""The one contract for every engine object an actor hosts (desk, parent, router, venue).

Sans-IO, like h11: the object never sends, journals or sets a timer itself. Its host
delivers each message to ``handle``, sends what comes back, and arms one timer at
``next_wake_ns``; when it fires the host calls ``on_wake``. Every message in an outbox
is journaled by the host (each message is journaled once, by the actor that sent it);
one addressed to ``JOURNAL`` is a decision recorded and sent nowhere. Feed messages
(``FEED``: market data, subscriptions, status broadcasts) go out unjournaled: a reader
journals the ones it uses, so the trail holds each of them once.

Recovery goes through the same door: an object is rebuilt by feeding it its journaled
events through public methods, never by writing its private fields.
"""

from __future__ import annotations

from typing import Final, Protocol

from engine.messages import MarketDataUpdated, Message, SubscribeMarketData, VenueStatusChanged

JOURNAL: Final = "@journal"
"""Destination of a message that is journaled and sent to no actor (a decision)."""

FEED: Final = frozenset({MarketDataUpdated, SubscribeMarketData, VenueStatusChanged})
"""Message classes a host sends without journaling them."""

Outbox = list[tuple[str, Message]]
"""Messages to send, each with its destination, in the order they must go out."""


class Hosted(Protocol):
    """What an actor host needs from the engine object it hosts."""

    def handle(self, msg: Message, now_ns: int) -> Outbox:
        """Apply one delivered message; return what to send."""
        ...

    def on_wake(self, now_ns: int) -> Outbox:
        """The timer armed at ``next_wake_ns()`` fired."""
        ...

    def next_wake_ns(self) -> int | None:
        """When the object next wants ``on_wake`` (``None``: no timer)."""
        ...
