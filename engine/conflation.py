"""Conflated market data: at most one update per subscriber in an interval, as
consolidated feeds deliver (the subscriber reads the latest book; the ones between are
dropped, never queued).

    feed = Conflation(interval_ns=60 * SECOND)
    if feed.due("NYSE:XYZ", now_ns): send(...)
"""

from __future__ import annotations


class Conflation:
    __slots__ = ("_last", "interval_ns")

    def __init__(self, interval_ns: int) -> None:
        self.interval_ns = interval_ns
        self._last: dict[str, int] = {}  # subscriber → when it last got an update

    def due(self, subscriber: str, now_ns: int) -> bool:
        """Whether ``subscriber`` gets an update at ``now_ns`` (marked as sent if so)."""
        at = self._last.get(subscriber)
        if at is not None and now_ns - at < self.interval_ns:
            return False
        self._last[subscriber] = now_ns
        return True
