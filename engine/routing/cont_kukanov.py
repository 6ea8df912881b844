"""Cont–Kukanov (2017) optimal order placement: how much to take now (market order M) and
how much to post behind each venue's queue (limit orders L_k) to buy S shares by a horizon.

Model (Cont and Kukanov, "Optimal order placement in limit order markets"): ξ_k is the
queue outflow on venue k by the horizon; a limit order of L_k behind a queue Q_k fills
(ξ_k − Q_k)₊ − (ξ_k − Q_k − L_k)₊. Cost relative to the mid, per share units of price:
    V = (h+f)M − Σ(h+r_k)·fill_k + θ(M + ΣL_k + (S−A)₊) + λ_u(S−A)₊ + λ_o(A−S)₊.

Two solvers: the single-venue closed form on an empirical outflow distribution and the
multi-venue projected stochastic subgradient (Robbins–Monro, steps ∝ 1/√n, averaged
iterates) that samples ξ from each venue's outflow history. Outputs are integer shares.
Pure and deterministic: the only randomness is a seeded ``random.Random``.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Sequence

import msgspec


class CostModel(msgspec.Struct, frozen=True, kw_only=True):
    """Cost parameters in price units per share (floats: statistics, not accounting)."""

    half_spread: float  # h
    taker_fee: float  # f
    impact: float = 0.0  # θ
    under_penalty: float  # λ_u: per share left unfilled at the horizon
    over_penalty: float  # λ_o: per share filled beyond S


class VenueQueue(msgspec.Struct, frozen=True, kw_only=True):
    """A venue as the solver sees it: the queue ahead, the maker rebate, outflow samples."""

    name: str
    queue: int  # Q_k: shares ahead of us if we join now
    rebate: float  # r_k: maker rebate per share (positive = received)
    outflows: tuple[int, ...]  # ξ_k samples: recent queue outflow over the horizon


class Split(msgspec.Struct, frozen=True, kw_only=True):
    market: int  # M
    limits: tuple[int, ...]  # L_k, in the order of the venues given

    @property
    def total(self) -> int:
        return self.market + sum(self.limits)


# ----------------------------------------------------------------- single venue


def critical_probability(cost: CostModel, rebate: float) -> float:
    """p = (2h + f + r) / (λ_u + h + r + θ): post more while P(ξ ≤ Q+L) < p."""
    h = cost.half_spread
    return (2 * h + cost.taker_fee + rebate) / (cost.under_penalty + h + rebate + cost.impact)


class EmpiricalDistribution:
    """F(x) = P(ξ ≤ x) over a sample, and its left inverse F⁻¹(p) = min{x : F(x) ≥ p}."""

    __slots__ = ("_sorted",)

    def __init__(self, samples: Sequence[int]) -> None:
        if not samples:
            raise ValueError("an empirical distribution needs at least one sample")
        self._sorted = sorted(samples)

    def cdf(self, x: int) -> float:
        return bisect.bisect_right(self._sorted, x) / len(self._sorted)

    def quantile(self, p: float) -> int:
        n = len(self._sorted)
        # smallest index i with (i+1)/n ≥ p
        i = max(0, math.ceil(p * n - 1e-12) - 1)
        return self._sorted[min(i, n - 1)]


def single_venue(size: int, venue: VenueQueue, cost: CostModel) -> Split:
    """Closed form: all market if F(Q) ≥ p, all limit if F(Q+S) ≤ p, else
    L* = F⁻¹(p) − Q and M* = S − L*."""
    dist = EmpiricalDistribution(venue.outflows)
    p = critical_probability(cost, venue.rebate)
    q = venue.queue
    if dist.cdf(q) >= p:
        return Split(market=size, limits=(0,))
    if dist.cdf(q + size) <= p:
        return Split(market=0, limits=(size,))
    limit = min(size, max(0, dist.quantile(p) - q))
    return Split(market=size - limit, limits=(limit,))


# ------------------------------------------------------------------- many venues


def _subgradient(
    x: list[float], xi: list[int], size: int, venues: Sequence[VenueQueue], cost: CostModel
) -> list[float]:
    """A subgradient of V at x = (M, L_1..L_K) for one outflow scenario ξ."""
    h, theta = cost.half_spread, cost.impact
    market = x[0]
    fills, beyond = [], []
    for k, v in enumerate(venues):
        room = max(0.0, xi[k] - v.queue)
        fills.append(min(room, x[k + 1]))
        beyond.append(1.0 if room > x[k + 1] else 0.0)  # ∂fill_k/∂L_k
    filled = market + sum(fills)
    # marginal cost of one more filled share: −(θ + λ_u) if short, +λ_o if over
    shortfall = -(theta + cost.under_penalty) if filled < size else 0.0
    excess = cost.over_penalty if filled > size else 0.0
    grad = [h + cost.taker_fee + theta + shortfall + excess]
    for k, v in enumerate(venues):
        grad.append(theta + beyond[k] * (-(h + v.rebate) + shortfall + excess))
    return grad


def solve(
    size: int,
    venues: Sequence[VenueQueue],
    cost: CostModel,
    *,
    seed: int = 0,
    iterations: int = 20_000,
    step: float = 0.5,
) -> Split:
    """Projected stochastic subgradient on the box [0, S]^(K+1), steps γ_n = step·S/(G√n)
    with G a bound on the subgradient, averaged iterates, rounded to whole shares.

    Needs λ_o > h + r_k or θ > 0 (else posting more is free and sizes diverge to the box).
    """
    if size <= 0 or not venues:
        return Split(market=max(size, 0), limits=tuple(0 for _ in venues))
    if any(not v.outflows for v in venues):
        raise ValueError("every venue needs outflow samples")
    rng = random.Random(seed)
    bound = (
        cost.half_spread
        + cost.taker_fee
        + 2 * cost.impact
        + cost.under_penalty
        + cost.over_penalty
        + max(abs(v.rebate) for v in venues)
    )
    start = [0.0] + [size / len(venues)] * len(venues)
    avg = _descend(start, size, venues, cost, rng, iterations, scale=step * size / bound)
    return Split(market=round(avg[0]), limits=tuple(round(a) for a in avg[1:]))


def _descend(
    x: list[float],
    size: int,
    venues: Sequence[VenueQueue],
    cost: CostModel,
    rng: random.Random,
    iterations: int,
    scale: float,
) -> list[float]:
    """The average of ``iterations`` projected steps from ``x`` along the subgradient of a
    sampled ξ, γ_n = scale/√n: ``_subgradient`` and the step inlined (the whole cost of a
    solve), with the same float operations in the same order and the same random draws
    (what ``rng.randrange(n)`` does for n > 0), so it returns exactly what they would."""
    getrandbits = rng.getrandbits
    # per venue: (samples, their count, bits to draw, queue ahead, −(h + r_k))
    draws = [
        (
            v.outflows,
            len(v.outflows),
            len(v.outflows).bit_length(),
            v.queue,
            -(cost.half_spread + v.rebate),
        )
        for v in venues
    ]
    theta = cost.impact
    take = cost.half_spread + cost.taker_fee + theta  # ∂V/∂M before the penalties
    short = -(theta + cost.under_penalty)
    over = cost.over_penalty
    top = float(size)
    sqrt = math.sqrt
    avg = [0.0] * len(x)
    for n in range(1, iterations + 1):
        market = x[0]
        fills, rooms = [], []
        for k, (samples, count, bits, queue, _) in enumerate(draws):
            r = getrandbits(bits)
            while r >= count:
                r = getrandbits(bits)
            room = max(0.0, samples[r] - queue)
            rooms.append(room)
            fills.append(min(room, x[k + 1]))
        filled = market + sum(fills)
        shortfall = short if filled < size else 0.0
        excess = over if filled > size else 0.0
        gamma = scale / sqrt(n)
        g = take + shortfall + excess
        x0 = market - gamma * g
        new = [top if x0 > top else (x0 if x0 > 0.0 else 0.0)]
        for k, (_, _, _, _, neg_hr) in enumerate(draws):
            xk = x[k + 1]
            g = theta + (neg_hr + shortfall + excess) if rooms[k] > xk else theta
            xk -= gamma * g
            new.append(top if xk > top else (xk if xk > 0.0 else 0.0))
        x = new
        # equal lengths; no ``strict=``: a keyword argument slows every call of this loop
        avg = [a + (xj - a) / n for a, xj in zip(avg, x)]  # noqa: B905
    return avg


def expected_cost(split: Split, size: int, venues: Sequence[VenueQueue], cost: CostModel) -> float:
    """E[V] over every combination of the venues' samples (exact; small inputs only)."""
    h, theta = cost.half_spread, cost.impact

    def cost_of(xi: Sequence[int]) -> float:
        fills = [
            max(0, x - v.queue) - max(0, x - v.queue - lim)
            for x, v, lim in zip(xi, venues, split.limits, strict=True)
        ]
        filled = split.market + sum(fills)
        under, over = max(0, size - filled), max(0, filled - size)
        paid = (h + cost.taker_fee) * split.market
        paid -= sum((h + v.rebate) * f for v, f in zip(venues, fills, strict=True))
        paid += theta * (split.market + sum(split.limits) + under)
        return paid + cost.under_penalty * under + cost.over_penalty * over

    total, count = 0.0, 0

    def walk(prefix: list[int]) -> None:
        nonlocal total, count
        if len(prefix) == len(venues):
            total += cost_of(prefix)
            count += 1
            return
        for sample in venues[len(prefix)].outflows:
            walk([*prefix, sample])

    walk([])
    return total / count
