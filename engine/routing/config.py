"""The router's configuration (a scenario's ``[router]`` table)."""

from __future__ import annotations

import msgspec

from engine.clock import MINUTE, SECOND
from engine.messages import TimeInForce


class RouterConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sequential_timeout_ns: int = 2 * SECOND  # a resting venue order is moved on after this
    dark_timeout_ns: int = 5 * SECOND  # liquidity seeking: how long to wait in the dark
    retry_delay_ns: int = SECOND // 4  # after a round with no fill, before routing again
    # An unanswered cancel is sent again after cancel_retry_ns, then after twice as long
    # each time, up to cancel_retry_max_ns (exponential backoff: a venue that swallows
    # cancels is not flooded). After cancel_escalate_after sends without an answer that
    # settles it, the order's state is unknown: it is journaled as unsettled and its venue
    # is suspect (no new order is routed there while another venue can take it).
    cancel_retry_ns: int = SECOND
    cancel_retry_max_ns: int = 5 * MINUTE
    cancel_escalate_after: int = 6
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
    # Sequential routing ranks by the scheduled fee first: a miss costs it a resting
    # timeout before the next venue, so it weighs less than a fee difference of a venue
    # that fills as often.
    sequential_miss_penalty: int = 1_000
    ck_impact: float = 1_000.0  # θ, price units/share
    ck_under_penalty: float = 20_000.0  # λ_u
    ck_over_penalty: float = 20_000.0  # λ_o (> h + r, so the solver stays bounded)
    ck_horizon_intervals: int = 5  # market-data intervals per ξ sample
    ck_iterations: int = 1_000
    seed: int = 0


DEFAULT_CONFIG = RouterConfig()
