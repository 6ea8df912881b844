"""Max participation: a hard cap on the parent's share of the market's volume.

Participation is own filled quantity / market volume, where the market volume is the
consolidated tape since the order began (lit and dark, own fills included, as TCA
measures it). The cap holds on two measures:

- over the order's life: own filled since the start ≤ rate × market volume since the
  start, at the mandate's max participation or the strategy's own cap (POV's band top);
- the mandate's max participation also over a trailing window
  (``ParentConfig.participation_window_ns``): own filled since the last decision at least
  one window ago ≤ rate × market volume since then (the order's start while it is
  younger than a window), so quantity left unused while behind cannot be spent in one
  burst (the must-complete final sweep included). POV's band top steers, it is no
  client constraint: it holds over the life only, so POV can catch up with a burst of
  volume it saw late.

A child is placed only if filled + open + the child stays within both caps: open
children count as filled, since they may fill at any moment. The market volume never
decreases, so the life cap then holds at every instant, not only at decisions. The
window cap is checked at each decision; between decisions a resting child may fill while
the window slides past busier volume. No allowance is given before any volume trades:
an order waits until the market has traded enough for its first child.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from engine.messages import Message, ParentOrderCreated
from engine.parent.children import ChildBook

if TYPE_CHECKING:
    from engine.strategies import Strategy

CAPPED = "capped by max participation"


class ParticipationWindow:
    """Samples (time, market volume since start, own filled) taken at each decision of a
    capped parent: the base of the trailing window. Not journaled: a recovered parent
    starts with none, and its window reaches back to the order's start until it has."""

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._samples: deque[tuple[int, int, int]] = deque()

    def observe(self, now_ns: int, volume: int, filled: int) -> None:
        self._samples.append((now_ns, volume, filled))

    def room(
        self,
        rate: float,
        window_rate: float | None,
        now_ns: int,
        volume: int,
        filled: int,
        open_qty: int,
    ) -> int:
        """Shares a new child may have: ``rate`` over the order's life, ``window_rate``
        (None: none) over the trailing window. Negative: already over."""
        room = int(rate * volume) - filled - open_qty
        if window_rate is not None:
            base_volume, base_filled = self._base(now_ns)
            in_window = int(window_rate * (volume - base_volume)) - (filled - base_filled)
            room = min(room, in_window - open_qty)
        return room

    def _base(self, now_ns: int) -> tuple[int, int]:
        """(volume, filled) at the latest sample at least one window old; (0, 0), the
        order's start, if there is none. Older samples are no longer needed."""
        cutoff = now_ns - self.window_ns
        samples = self._samples
        while len(samples) > 1 and samples[1][0] <= cutoff:
            samples.popleft()
        if samples and samples[0][0] <= cutoff:
            return samples[0][1], samples[0][2]
        return 0, 0


class CappedParticipation:
    """The cap as a parent applies it (a mixin of ``ParentOrder``): the room a new child
    has, and pulling what the cap no longer allows."""

    # the parent's state this reads (set by ``ParentOrder.__init__``)
    order: ParentOrderCreated
    strategy: Strategy | None
    filled: int
    book: ChildBook
    _window: ParticipationWindow

    def _polls(self) -> bool:
        raise NotImplementedError

    def _pull_over_cap(self, now_ns: int, volume: int) -> list[Message]:
        """Open children count as filled; once the trailing window slides past busier
        volume they may be more than the cap allows now: pull the newest, so a resting
        child cannot fill the parent over its cap."""
        if not self._polls():
            return []
        room = self._participation_room(now_ns, volume, self.book.open_qty)
        if room is None or room >= 0:
            return []
        return self.book.trim_open(
            -room, now_ns, "max participation: pull what the cap no longer allows"
        )

    def _participation_room(self, now_ns: int, volume: int, open_qty: int) -> int | None:
        """What max participation lets a new child have (None: no cap): the strategy's
        cap or the mandate's over the order's life, the mandate's over the window too."""
        assert self.strategy is not None
        hard = self.order.mandate.max_participation
        rate = self.strategy.participation_cap()
        if rate is None or (hard is not None and hard < rate):
            rate = hard
        if rate is None:
            return None
        return self._window.room(rate, hard, now_ns, volume, self.filled, open_qty)
