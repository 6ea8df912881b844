"""Two clocks behind one interface. Logic takes a ``Clock``; it never calls time.time().

Time is integer nanoseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import time
from typing import Protocol

NS = 1
US = 1_000
MS = 1_000_000
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE


class Clock(Protocol):
    def now(self) -> int: ...


class SimClock:
    """Virtual time. Only the simulated runtime advances it, and never backwards."""

    __slots__ = ("_now",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns

    def now(self) -> int:
        return self._now

    def advance_to(self, t_ns: int) -> None:
        if t_ns < self._now:
            raise ValueError(f"simulated time cannot go backwards: {t_ns} < {self._now}")
        self._now = t_ns


class LiveClock:
    """Wall clock, in ns since the epoch."""

    __slots__ = ()

    def now(self) -> int:
        return time.time_ns()
