"""Two clocks behind one interface. Logic takes a ``Clock``; it never calls time.time().

Time is integer nanoseconds since the Unix epoch (UTC).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
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
    """Virtual time. Only the simulated runtime advances it, and never backwards.

    ``_now`` is the time itself (the simulation loop and ``EngineActor.now`` read it
    directly); ``now()`` is bound per instance to ``getattr(self, "_now")`` through
    ``functools.partial``, so a read runs no Python frame: the clock is read on nearly
    every delivery."""

    __slots__ = ("_now", "now")

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns
        self.now: Callable[[], int] = functools.partial(getattr, self, "_now")

    def advance_to(self, t_ns: int) -> None:
        if t_ns < self._now:
            raise ValueError(f"simulated time cannot go backwards: {t_ns} < {self._now}")
        self._now = t_ns


class LiveClock:
    """Wall clock, in ns since the epoch."""

    __slots__ = ()

    def now(self) -> int:
        return time.time_ns()

    @property
    def _now(self) -> int:
        """The same as ``now()``: the name ``EngineActor.now`` reads on either clock."""
        return time.time_ns()
