"""The router's configuration (a scenario's ``[router]`` table)."""

from __future__ import annotations

import msgspec

from engine.clock import SECOND
from engine.messages import TimeInForce


class RouterConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sequential_timeout_ns: int = 2 * SECOND  # a resting venue order is moved on after this
    dark_timeout_ns: int = 5 * SECOND  # liquidity seeking: how long to wait in the dark
    retry_delay_ns: int = SECOND // 4  # after a round with no fill, before routing again
    cancel_retry_ns: int = SECOND  # an unanswered cancel is sent again after this
    parallel_max_venues: int = 3
    overallocate: bool = False  # parallel/CK may send more than the child's remaining
    overallocation_factor: float = 2.0  # cap on Σ sent / remaining when over-allocating
    aggressive_tif: TimeInForce = TimeInForce.IOC
    # Sweep, then post: after this many IOCs of a child miss in a row, the remainder rests
    # as a DAY limit at the same (capped) price instead of re-sweeping a book that has
    # moved away; the parent re-prices it on its own staleness timer.
    max_missed_takes: int = 3
    dark_min_fill_prob: float = 0.3  # liquidity seeking: probe a pool above this estimate
    dark_min_slice: int = 200  # liquidity seeking: no dark slice below this (unless it is all)
    # A venue's own quote older than this is not used to price a passive order there (its
    # venue publishes every VenueConfig.md_interval_ns: a few missed publications).
    stale_quote_ns: int = 10 * SECOND
    miss_penalty: int = 10_000  # price units/share: rank cost of an order that never fills
    ck_impact: float = 1_000.0  # θ, price units/share
    ck_under_penalty: float = 20_000.0  # λ_u
    ck_over_penalty: float = 20_000.0  # λ_o (> h + r, so the solver stays bounded)
    ck_horizon_intervals: int = 5  # market-data intervals per ξ sample
    ck_iterations: int = 1_000
    seed: int = 0


DEFAULT_CONFIG = RouterConfig()
