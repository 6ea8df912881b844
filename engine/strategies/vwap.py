"""VWAP: trade in proportion to the intraday volume profile.

A profile is piecewise constant over fractions of the session: bin b holds share w_b of
the day's volume, spread evenly inside it. The default U-shaped profile ships as data
(``engine/data/volume_profile_us.json``); ``estimate_profile`` measures one from the
simulated market's own volume history. Catch-up on shortfall is the parent's job: its
next child covers scheduled − filled.
"""

from __future__ import annotations

import bisect
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise

from engine.messages import StrategyName
from engine.strategies.schedule import Schedule, ScheduledStrategy, boundaries, periods_for

DEFAULT_PROFILE_FILE = "volume_profile_us.json"


@dataclass(frozen=True, slots=True)
class VolumeProfile:
    edges: tuple[float, ...]  # bin edges as fractions of the session: 0 = open … 1 = close
    weights: tuple[float, ...]  # share of the day's volume in each bin, summing to 1

    def __post_init__(self) -> None:
        if len(self.edges) != len(self.weights) + 1 or not self.weights:
            raise ValueError("a profile needs B weights and B+1 edges")
        if self.edges[0] != 0.0 or self.edges[-1] != 1.0:
            raise ValueError("profile edges must run from 0 to 1")
        if any(w < 0 for w in self.weights) or abs(sum(self.weights) - 1.0) > 1e-9:
            raise ValueError("profile weights must be >= 0 and sum to 1")

    @classmethod
    def from_volumes(cls, edges: Sequence[float], volumes: Sequence[float]) -> VolumeProfile:
        total = float(sum(volumes))
        if total <= 0:
            raise ValueError("a profile needs some volume")
        return cls(tuple(edges), tuple(v / total for v in volumes))

    def cumulative(self, fraction: float) -> float:
        """Share of the day's volume traded by ``fraction`` of the session (0 … 1)."""
        f = min(1.0, max(0.0, fraction))
        b = min(bisect.bisect_right(self.edges, f) - 1, len(self.weights) - 1)
        lo, hi = self.edges[b], self.edges[b + 1]
        return sum(self.weights[:b]) + self.weights[b] * (f - lo) / (hi - lo)

    def share(self, f0: float, f1: float) -> float:
        return self.cumulative(f1) - self.cumulative(f0)

    def resampled(self, bins: int) -> VolumeProfile:
        edges = [k / bins for k in range(bins + 1)]
        edges[-1] = 1.0
        volumes = [self.share(a, b) for a, b in pairwise(edges)]
        return VolumeProfile.from_volumes(edges, volumes)


def load_profile(path: str | None = None) -> VolumeProfile:
    """Load a profile file (the shipped default if ``path`` is None). Bins past
    ``session_minutes`` (after the cash close) are dropped and the rest renormalised."""
    if path is None:
        text = resources.files("engine").joinpath("data", DEFAULT_PROFILE_FILE).read_text()
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    doc = json.loads(text)
    session = float(doc["session_minutes"])
    bins = [b for b in doc["bins"] if b["start_min"] < session]
    edges = [b["start_min"] / session for b in bins] + [min(bins[-1]["end_min"], session) / session]
    edges[-1] = 1.0
    return VolumeProfile.from_volumes(edges, [float(b["pct"]) for b in bins])


@functools.cache
def default_profile() -> VolumeProfile:
    return load_profile()


def estimate_profile(
    samples: Sequence[tuple[int, int]],
    open_ns: int,
    close_ns: int,
    bins: int = 13,
    prior: VolumeProfile | None = None,
) -> VolumeProfile:
    """Estimate a profile from one day of ``(t_ns, cumulative market volume)`` samples
    (e.g. ``MarketView.volume()`` over time; cumulative from 0 at the open).

    Bins the history fully covers are measured; later bins take the prior's shape
    (default profile), scaled by how busy the covered part was relative to the prior.
    """
    prior = (prior or default_profile()).resampled(bins)
    points = sorted(samples)
    if not points:
        return prior
    times = [open_ns] + [t for t, _ in points]
    volumes = [0] + [v for _, v in points]
    span = close_ns - open_ns
    edge_ns = [open_ns + span * k // bins for k in range(bins + 1)]
    covered = sum(1 for e in edge_ns[1:] if e <= times[-1])
    measured = [
        _volume_at(times, volumes, b) - _volume_at(times, volumes, a)
        for a, b in pairwise(edge_ns[: covered + 1])
    ]
    prior_covered = sum(prior.weights[:covered])
    if sum(measured) <= 0 or prior_covered <= 0:
        return prior
    per_prior_unit = sum(measured) / prior_covered
    rest = [w * per_prior_unit for w in prior.weights[covered:]]
    return VolumeProfile.from_volumes(prior.edges, [max(0.0, float(v)) for v in measured] + rest)


def _volume_at(times: Sequence[int], volumes: Sequence[int], t_ns: int) -> float:
    """Cumulative volume at ``t_ns``, linear between samples."""
    k = bisect.bisect_right(times, t_ns) - 1
    if k >= len(times) - 1:
        return float(volumes[-1])
    t0, t1 = times[k], times[k + 1]
    return volumes[k] + (volumes[k + 1] - volumes[k]) * (t_ns - t0) / (t1 - t0)


def vwap_fractions(
    profile: VolumeProfile, open_ns: int, close_ns: int, times_ns: Sequence[int]
) -> list[float]:
    """Completed fraction at each boundary: profile volume since start over the horizon's.
    A horizon outside the session (no profile volume) falls back to even (TWAP)."""
    span = close_ns - open_ns
    cum = [profile.cumulative((t - open_ns) / span) for t in times_ns]
    total = cum[-1] - cum[0]
    n = len(times_ns) - 1
    if total <= 1e-12:
        return [k / n for k in range(n + 1)]
    return [(c - cum[0]) / total for c in cum]


def vwap_schedule(
    quantity: int,
    start_ns: int,
    end_ns: int,
    periods: int,
    open_ns: int,
    close_ns: int,
    lot: int = 1,
    profile: VolumeProfile | None = None,
) -> Schedule:
    times = boundaries(start_ns, end_ns, periods)
    fractions = vwap_fractions(profile or default_profile(), open_ns, close_ns, times)
    return Schedule.from_fractions(quantity, times, fractions, lot)


def build_vwap(
    quantity: int,
    start_ns: int,
    end_ns: int,
    lot: int,
    period_ns: int,
    open_ns: int,
    close_ns: int,
    profile: VolumeProfile | None = None,
) -> ScheduledStrategy:
    periods = periods_for(start_ns, end_ns, period_ns)
    schedule = vwap_schedule(quantity, start_ns, end_ns, periods, open_ns, close_ns, lot, profile)
    return ScheduledStrategy(StrategyName.VWAP, schedule)
