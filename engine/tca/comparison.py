"""Comparing executions honestly: against the market they would have met without us.

A run's cost against arrival mixes three things: what the execution paid (spread, fees,
its own impact), the shares it left unfilled, and what the market did anyway (drift).
Only the first two belong to the execution. So, per ``docs/tca.md``:

- **Cost vs arrival** is the implementation shortfall (Perold) of the client orders:
  fills against each order's arrival mid, the unfilled rest marked at the mid at the
  order's end (opportunity cost), plus fees; bps of the ordered notional at arrival.
- **A must-complete order's unfilled rest** is still owed at its end: besides its price
  move it is charged what buying it would cost, at least what its cheapest filled shares
  paid over the mid they met (the same book swept again: a rest larger than the fills
  needs the book refilled and swept once more per fill's worth, each time at the fills'
  average cost). An order with no fill has nothing to go by and is charged nothing more.
  Perold's shortfall prices an optional order, whose unfilled shares need never be
  bought; for a must-complete one it would let an execution that fills a small part of
  the order on a thin book skip the spread and impact a complete one pays on the rest.
- **Drift-adjusted cost** judges every price against the *counterfactual* market: the
  same scenario and seed without any of our orders (its price path is the real one up to
  our first order). A fill at t costs side·(p − C(t)), an unfilled share side·(P_n − C(end)),
  on the base S·C(arrival). That is the cost minus the market's own move from arrival to
  each fill, and it counts our impact before a later order arrives as cost, not drift.
- **Interval VWAP** excludes our own fills from the benchmark's volume: a VWAP that
  includes them partly measures the execution against itself.
- Across seeds: each seed is one replicate of the same orders; figures are the mean of
  the per-seed figures, with the standard error and a Student-t 95 % interval.

Prices are fixed-point ``int`` units (``engine.prices``); money is exact ``Fraction``;
only bps are floats.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate
from typing import Protocol

from engine.messages import Liquidity, Tactic
from engine.tca.metrics import Price


class MidPath(Protocol):
    """A market's mid over time (``MarketTape`` is one)."""

    def mid_at(self, ts: int) -> Price | None: ...


class VolumePath(MidPath, Protocol):
    """A market's prints over time (``MarketTape`` is one)."""

    def volume(self, start: int, end: int) -> int: ...

    def vwap(self, start: int, end: int) -> Fraction | None: ...


# ----------------------------------------------------------------------- executions


@dataclass(frozen=True, slots=True)
class Execution:
    """One fill: when, how many, at what price (units)."""

    ts: int
    quantity: int
    price: int


@dataclass(frozen=True, slots=True)
class OrderExecution:
    """One client order as it was executed. ``end_ns`` is its horizon: the unfilled rest
    is marked at the mid then."""

    side: int
    quantity: int
    arrival_ns: int
    end_ns: int
    fills: tuple[Execution, ...] = ()
    must_complete: bool = False  # the unfilled rest is still owed: its completion is charged

    @property
    def filled(self) -> int:
        return sum(f.quantity for f in self.fills)

    @property
    def life_end_ns(self) -> int:
        """The last fill of a complete order, else its end (or a later fill)."""
        last = max((f.ts for f in self.fills), default=self.end_ns)
        return last if self.filled >= self.quantity else max(last, self.end_ns)


@dataclass(frozen=True, slots=True)
class Cost:
    """Implementation shortfall in money (units·shares, positive = cost) and its base."""

    trading: Fraction  # Σ side·q·(p − reference at the fill)
    opportunity: Fraction  # Σ side·(S − s)·(P_end − reference at the end)
    fees: int
    paper: Fraction  # Σ S·reference at arrival
    ordered: int
    filled: int
    completion: Fraction = Fraction(0)  # buying a must-complete order's rest (``completion``)

    @property
    def total(self) -> Fraction:
        return self.trading + self.opportunity + self.completion + self.fees

    @property
    def completion_bps(self) -> float | None:
        return _bps(self.completion, self.paper)

    @property
    def bps(self) -> float | None:
        return _bps(self.total, self.paper)

    @property
    def opportunity_bps(self) -> float | None:
        return _bps(self.opportunity, self.paper)

    @property
    def fees_bps(self) -> float | None:
        """Fees net of rebates, in bps of the ordered notional at arrival."""
        return _bps(Fraction(self.fees), self.paper)

    @property
    def fill_ratio(self) -> float:
        return self.filled / self.ordered if self.ordered else 0.0


def _bps(money: Fraction, base: Fraction) -> float | None:
    return float(money * 10_000 / base) if base else None


def cost_vs_arrival(orders: Iterable[OrderExecution], market: MidPath, fees: int = 0) -> Cost:
    """Perold's shortfall against each order's arrival mid on ``market`` (the run's own
    market); the unfilled rest marked at that market's mid at the order's end."""
    return _shortfall(orders, market, None, fees)


def drift_adjusted_cost(
    orders: Iterable[OrderExecution], market: MidPath, counterfactual: MidPath, fees: int = 0
) -> Cost:
    """Every price judged against ``counterfactual`` (the market without our orders) at
    the same instant: a fill against its mid at the fill, the unfilled rest (marked at
    ``market``'s end mid) against its mid at the end, the base at its arrival mid."""
    return _shortfall(orders, market, counterfactual, fees)


def _shortfall(
    orders: Iterable[OrderExecution], market: MidPath, counterfactual: MidPath | None, fees: int
) -> Cost:
    """References: the arrival mid throughout (``counterfactual`` None), else the
    counterfactual mid at each instant (its last mid if it has none then)."""
    # sums start as int: exact, and Fraction only where a price is one (int sums are fast)
    trading: Price = 0
    opportunity: Price = 0
    paper: Price = 0
    owed = Fraction(0)
    ordered = filled = 0
    for order in orders:
        arrival = (counterfactual or market).mid_at(order.arrival_ns)
        if arrival is None:
            continue  # no market yet: nothing to judge the order by

        def ref(ts: int, arrival: Price = arrival) -> Price:
            mid = None if counterfactual is None else counterfactual.mid_at(ts)
            return arrival if mid is None else mid

        for f in order.fills:
            trading += order.side * f.quantity * (f.price - ref(f.ts))
        rest = order.quantity - order.filled
        end = market.mid_at(order.end_ns)
        if rest > 0 and end is not None:
            opportunity += order.side * rest * (end - ref(order.end_ns))
            if order.must_complete:
                owed += completion(_fill_costs(order, counterfactual or market), rest)
        paper += order.quantity * arrival
        ordered += order.quantity
        filled += order.filled
    return Cost(
        trading=Fraction(trading),
        opportunity=Fraction(opportunity),
        fees=fees,
        paper=Fraction(paper),
        ordered=ordered,
        filled=filled,
        completion=owed,
    )


def _fill_costs(order: OrderExecution, market: MidPath) -> list[tuple[Fraction, int]]:
    """(side·(p − mid then), shares) per fill: what each fill paid over the market it met
    (spread and the walk into the book), without the drift since the order arrived."""
    out = []
    for f in order.fills:
        mid = market.mid_at(f.ts)
        if mid is not None:
            out.append((Fraction(order.side * (f.price - mid)), f.quantity))
    return out


def completion(costs: Sequence[tuple[Fraction, int]], rest: int) -> Fraction:
    """What buying ``rest`` more shares costs at least, from the fills' own (cost per
    share, shares): the cheapest ``rest`` of them, each fill's worth again at their
    average once ``rest`` exceeds them (never a credit: a fill below its reference is
    luck, not a price to complete at)."""
    filled = sum(q for _, q in costs)
    if not filled:
        return Fraction(0)
    if rest >= filled:
        total = sum((c * q for c, q in costs), Fraction(0))
        return max(Fraction(0), total * rest / filled)
    owed, left = Fraction(0), rest
    for c, q in sorted(costs):
        take = min(q, left)
        owed += c * take
        left -= take
        if not left:
            break
    return max(Fraction(0), owed)


def market_move_bps(orders: Iterable[OrderExecution], counterfactual: MidPath) -> float | None:
    """What the market did without us over the orders, as they would feel it: the
    counterfactual mid's move from each order's arrival to each of its fills (its end for
    the unfilled rest), quantity-weighted, in bps of Σ S·C(arrival). Never our impact."""
    move: Price = 0  # int sums, exact (as in ``_shortfall``)
    paper: Price = 0
    for order in orders:
        arrival = counterfactual.mid_at(order.arrival_ns)
        if arrival is None:
            continue
        points = [(f.ts, f.quantity) for f in order.fills]
        points.append((order.end_ns, max(order.quantity - order.filled, 0)))
        for ts, quantity in points:
            mid = counterfactual.mid_at(ts)
            if quantity and mid is not None:
                move += order.side * quantity * (mid - arrival)
        paper += order.quantity * arrival
    return _bps(Fraction(move), Fraction(paper))


# ------------------------------------------------------------------- interval VWAP


class OwnPrints:
    """Our own market fills as prefix sums, for the volume and notional in a window."""

    def __init__(self, fills: Iterable[Execution]) -> None:
        ordered = sorted(fills, key=lambda f: f.ts)
        self._ts = [f.ts for f in ordered]
        self._volume = [0, *accumulate(f.quantity for f in ordered)]
        self._notional = [0, *accumulate(f.quantity * f.price for f in ordered)]

    def between(self, start: int, end: int) -> tuple[int, int]:
        """(volume, notional) of our fills in (start, end], as the tape counts prints."""
        i, j = bisect.bisect_right(self._ts, start), bisect.bisect_right(self._ts, end)
        return self._volume[j] - self._volume[i], self._notional[j] - self._notional[i]


def vwap_excluding(market: VolumePath, own: OwnPrints, start: int, end: int) -> Fraction | None:
    """Market VWAP over (start, end] with our own prints taken out; None if nobody else
    traded."""
    volume = market.volume(start, end)
    vwap = market.vwap(start, end)
    if vwap is None:
        return None
    own_volume, own_notional = own.between(start, end)
    rest = volume - own_volume
    if rest <= 0:
        return None
    return (vwap * volume - own_notional) / rest


def cost_vs_interval_vwap(
    orders: Iterable[OrderExecution], market: VolumePath, own_fills: Iterable[Execution]
) -> float | None:
    """Σ side·q·(p − VWAP) / Σ q·VWAP over the fills, each order judged against the market
    VWAP over its own life (arrival → last fill, or its end if incomplete) without our
    market fills (``own_fills``: every venue fill of ours, not only this order's)."""
    own = OwnPrints(own_fills)
    cost = base = Fraction(0)
    for order in orders:
        if not order.fills:
            continue
        vwap = vwap_excluding(market, own, order.arrival_ns, order.life_end_ns)
        if vwap is None:
            continue
        # Σ side·q·(p − VWAP) = side·(Σ q·p − VWAP·Σ q): one Fraction step per order
        quantity = sum(f.quantity for f in order.fills)
        notional = sum(f.quantity * f.price for f in order.fills)
        cost += order.side * (notional - vwap * quantity)
        base += quantity * vwap
    return _bps(cost, base)


# --------------------------------------------------------------------- child orders


@dataclass(frozen=True, slots=True)
class ChildFill:
    child_id: str
    ts: int
    quantity: int
    liquidity: Liquidity


@dataclass(frozen=True, slots=True)
class ChildPlaced:
    child_id: str
    ts: int
    quantity: int
    tactic: Tactic


def passive_taker_share(
    children: Mapping[str, ChildPlaced], fills: Iterable[ChildFill]
) -> float | None:
    """Shares of passive-tactic children that filled as taker / all their filled shares:
    a passive order that takes pays the spread it meant to earn."""
    taker = total = 0
    for f in fills:
        child = children.get(f.child_id)
        if child is None or child.tactic is not Tactic.PASSIVE:
            continue
        total += f.quantity
        if f.liquidity is Liquidity.TAKER:
            taker += f.quantity
    return taker / total if total else None


@dataclass(frozen=True, slots=True)
class ChildSpell:
    """How long a child worked: to the fill that completed it (``filled``), else to its
    end (cancelled or expired first: a censored time to fill)."""

    tactic: Tactic
    ns: int
    filled: bool


def child_spells(
    children: Mapping[str, ChildPlaced], fills: Iterable[ChildFill], ends: Mapping[str, int]
) -> list[ChildSpell]:
    """One spell per child that either filled completely or ended (``ends``: child id →
    when it was done); a child still working when the run stopped has none."""
    done = _completion_ns(children, fills)
    out = []
    for cid in sorted(children):
        child = children[cid]
        if cid in done:
            out.append(ChildSpell(tactic=child.tactic, ns=done[cid], filled=True))
        elif cid in ends:
            out.append(ChildSpell(tactic=child.tactic, ns=ends[cid] - child.ts, filled=False))
    return out


def median_time_to_fill(spells: Iterable[ChildSpell]) -> float | None:
    """The Kaplan–Meier median time for a child to fill completely: children cancelled
    before they filled count as at risk until they ended (censored), so a logic that
    leaves its slow children to be cancelled does not look fast by dropping them. None
    if fewer than half the children would fill, however long they worked."""
    events = sorted((s.ns, not s.filled) for s in spells)  # at one instant fills first
    at_risk, survival = len(events), 1.0
    for ns, censored in events:
        if not censored:
            survival *= 1 - 1 / at_risk
            if survival <= 0.5:
                return float(ns)
        at_risk -= 1
    return None


def child_fill_times(children: Mapping[str, ChildPlaced], fills: Iterable[ChildFill]) -> list[int]:
    """For each child that filled completely: ns from its placement to the fill that
    completed it (children left partly unfilled have no time to fill)."""
    done = _completion_ns(children, fills)
    return [done[c] for c in sorted(done)]


def _completion_ns(
    children: Mapping[str, ChildPlaced], fills: Iterable[ChildFill]
) -> dict[str, int]:
    got: dict[str, int] = {}
    done: dict[str, int] = {}
    for f in sorted(fills, key=lambda f: f.ts):
        child = children.get(f.child_id)
        if child is None or f.child_id in done:
            continue
        got[f.child_id] = got.get(f.child_id, 0) + f.quantity
        if got[f.child_id] >= child.quantity:
            done[f.child_id] = f.ts - child.ts
    return done


# ----------------------------------------------------------------- across the seeds


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over independent replicates, its standard error and 95 % interval."""

    mean: float
    se: float | None  # None with one replicate
    low: float | None
    high: float | None
    n: int


# Student t quantiles t_{0.975, df} for df = 1..30
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t975(df: int) -> float:
    """The two-sided 95 % Student-t quantile; past 30 degrees of freedom the normal
    quantile with its first Cornish-Fisher correction."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, not {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = statistics.NormalDist().inv_cdf(0.975)
    return z + (z**3 + z) / (4 * df)


def estimate(values: Sequence[float]) -> Estimate | None:
    """Mean, standard error (sample sd / √n) and the t interval; None without values."""
    n = len(values)
    if n == 0:
        return None
    mean = statistics.fmean(values)
    if n == 1:
        return Estimate(mean=mean, se=None, low=None, high=None, n=1)
    se = statistics.stdev(values) / math.sqrt(n)
    half = t975(n - 1) * se
    return Estimate(mean=mean, se=se, low=mean - half, high=mean + half, n=n)


def median_or_none(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


__all__ = [
    "ChildFill",
    "ChildPlaced",
    "ChildSpell",
    "Cost",
    "Estimate",
    "Execution",
    "MidPath",
    "OrderExecution",
    "OwnPrints",
    "VolumePath",
    "child_fill_times",
    "child_spells",
    "completion",
    "cost_vs_arrival",
    "cost_vs_interval_vwap",
    "drift_adjusted_cost",
    "estimate",
    "market_move_bps",
    "median_or_none",
    "median_time_to_fill",
    "passive_taker_share",
    "t975",
    "vwap_excluding",
]
