"""A schedule: period boundaries in ns and the cumulative quantity to have traded by each,
in whole lots, exact integers ending at the parent quantity.

Every time-driven strategy (TWAP, VWAP, IS) reduces to a curve of completed fractions
0 = f_0 ≤ … ≤ f_N = 1 over boundaries t_0 < … < t_N; this module turns that curve into
integer targets and answers "how much should be done by now".
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from engine.messages import StrategyName


@dataclass(frozen=True, slots=True)
class Schedule:
    times_ns: tuple[int, ...]  # t_0 (start) … t_N (end), strictly increasing
    cumulative: tuple[int, ...]  # target traded by t_k; cumulative[0] = 0, [-1] = quantity
    lot: int = 1
    # The exact completed-fraction curve the targets were rounded from (default: the
    # targets' own). Every resize rounds from it, never from rounded targets, so resizes
    # do not compound and any chain of them ends where a single resize would.
    shape: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.times_ns) != len(self.cumulative) or len(self.times_ns) < 2:
            raise ValueError("a schedule needs N+1 boundaries and N+1 cumulative targets")
        if not self.shape:
            q, n = self.cumulative[-1], len(self.cumulative) - 1
            shape = [c / q for c in self.cumulative] if q else [k / n for k in range(n + 1)]
            object.__setattr__(self, "shape", tuple(shape))
        if len(self.shape) != len(self.times_ns):
            raise ValueError("a schedule's shape needs N+1 completed fractions")
        if any(b <= a for a, b in pairwise(self.times_ns)):
            raise ValueError("schedule boundaries must be strictly increasing")
        cum = self.cumulative
        if cum[0] != 0 or any(b < a for a, b in pairwise(cum)):
            raise ValueError("cumulative targets must start at 0 and never decrease")

    @classmethod
    def from_fractions(
        cls, quantity: int, times_ns: Sequence[int], fractions: Sequence[float], lot: int = 1
    ) -> Schedule:
        """Round a completed-fraction curve to whole lots. Rounding the cumulative curve
        (not each trade) keeps it monotone and its end exact; an odd remainder below one
        lot goes to the last period."""
        if quantity < 0 or lot < 1:
            raise ValueError("quantity must be >= 0 and lot >= 1")
        lots = quantity // lot
        cum = [min(lots, max(0, int(lots * f + 0.5))) * lot for f in fractions]
        cum[0] = 0
        cum[-1] = quantity
        for k in range(1, len(cum)):  # guard float noise in a caller's curve
            cum[k] = max(cum[k], cum[k - 1])
        return cls(
            times_ns=tuple(int(t) for t in times_ns),
            cumulative=tuple(cum),
            lot=lot,
            shape=tuple(fractions),
        )

    @property
    def quantity(self) -> int:
        return self.cumulative[-1]

    @property
    def start_ns(self) -> int:
        return self.times_ns[0]

    @property
    def end_ns(self) -> int:
        return self.times_ns[-1]

    @property
    def periods(self) -> int:
        return len(self.times_ns) - 1

    def trades(self) -> list[int]:
        """Quantity to trade in each period."""
        return [b - a for a, b in pairwise(self.cumulative)]

    def holdings(self) -> list[int]:
        """Quantity left to trade at each boundary (the paper's x_k)."""
        return [self.quantity - c for c in self.cumulative]

    def target_at(self, t_ns: int) -> int:
        """Cumulative target by ``t_ns``: linear within a period, rounded down to a lot
        (integer arithmetic, so the same time always gives the same answer)."""
        times, cum = self.times_ns, self.cumulative
        if t_ns <= times[0]:
            return 0
        if t_ns >= times[-1]:
            return cum[-1]
        k = bisect_right(times, t_ns) - 1  # times[k] <= t_ns < times[k + 1]
        t0, t1, c0, c1 = times[k], times[k + 1], cum[k], cum[k + 1]
        inside = (c1 - c0) * (t_ns - t0) // (t1 - t0)
        return c0 + inside - inside % self.lot

    def due_ns(self, quantity: int) -> int | None:
        """The earliest time at which ``target_at`` reaches ``quantity`` (the inverse of
        ``target_at``, exact in integers); None if the schedule never gets there."""
        times, cum = self.times_ns, self.cumulative
        if quantity <= 0:
            return times[0]
        if quantity > cum[-1]:
            return None
        k = bisect_left(cum, quantity)  # first boundary at or above: k >= 1
        t0, t1, c0, c1 = times[k - 1], times[k], cum[k - 1], cum[k]
        lot = self.lot
        need = -(-(quantity - c0) // lot) * lot  # target_at moves in whole lots
        if need >= c1 - c0:
            return t1
        return min(t1, t0 + -(-need * (t1 - t0) // (c1 - c0)))

    def resized(self, quantity: int) -> Schedule:
        """The same shape for a new total (joins grow it, cancels shrink it): rounded
        from the original curve, so it depends on ``quantity`` alone, not on the resizes
        before it (a parent rebuilt after a crash resizes once and gets the same)."""
        return Schedule.from_fractions(quantity, self.times_ns, self.shape, self.lot)


def boundaries(start_ns: int, end_ns: int, periods: int) -> list[int]:
    """N+1 evenly spaced integer boundaries from start to end (exact ends)."""
    if end_ns <= start_ns or periods < 1:
        raise ValueError("need end > start and at least one period")
    span = end_ns - start_ns
    return [start_ns + span * k // periods for k in range(periods + 1)]


def periods_for(start_ns: int, end_ns: int, period_ns: int) -> int:
    """How many periods of about ``period_ns`` fit the horizon (at least one, and never
    more than one per nanosecond)."""
    span = end_ns - start_ns
    return max(1, min(span, -(-span // period_ns)))


@dataclass(frozen=True, slots=True)
class ScheduledStrategy:
    """A time-driven strategy: its targets come from a fixed ``Schedule``."""

    name: StrategyName
    schedule: Schedule

    @property
    def quantity(self) -> int:
        return self.schedule.quantity

    def scheduled(self, now_ns: int, market_volume: int) -> int:
        """Cumulative quantity the strategy wants done by ``now_ns``."""
        del market_volume  # time-driven
        return self.schedule.target_at(now_ns)

    def behind_threshold(self, now_ns: int, market_volume: int, slack_ns: int) -> int:
        """Filled below this is "behind": what the schedule wanted one slack earlier, so
        a passive child that is still working its slice does not count as a shortfall."""
        del market_volume
        return self.schedule.target_at(now_ns - slack_ns)

    def due_ns(self, quantity: int) -> int | None:
        """The earliest time ``scheduled`` reaches ``quantity`` whatever the volume (None:
        never): lets the parent sleep until its schedule next asks for something."""
        return self.schedule.due_ns(quantity)

    def participation_cap(self) -> float | None:
        return None  # the mandate's max participation applies, if any

    def resized(self, quantity: int) -> ScheduledStrategy:
        return ScheduledStrategy(self.name, self.schedule.resized(quantity))
