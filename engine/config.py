"""Typed configuration shared by venues, the runtime and scenarios (decoded by msgspec)."""

from __future__ import annotations

import msgspec

from engine.clock import HOUR, MINUTE, MS, US
from engine.messages import VenueKind


class SessionConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The trading day. Times are ns since the epoch (UTC)."""

    open_ns: int = 1_795_444_200 * 1_000_000_000  # 2026-11-23 09:30 New York (14:30 UTC)
    close_ns: int = 1_795_444_200 * 1_000_000_000 + 6 * HOUR + 30 * MINUTE

    @property
    def length_ns(self) -> int:
        return self.close_ns - self.open_ns


class FlowConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Background order flow of a lit venue (Cont–Stoikov–Talreja style).

    Rates are events per second at mid-day; the intraday U-shape multiplies them.
    """

    limit_rates: tuple[float, ...] = (1.85, 1.51, 1.09, 0.88, 0.77)  # by ticks from opposite best
    market_rate: float = 0.94
    cancel_rates: tuple[float, ...] = (0.71, 0.81, 0.68, 0.56, 0.47)  # per resting order
    # Multiplies every rate: 1.0 is the published table as is (a very busy venue); 0.3 is
    # a realistic mid-cap venue.
    rate_scale: float = 0.3
    mean_size: int = 200  # shares, lognormal around this, rounded to lots
    depth_levels: int = 5  # initial book depth per side
    initial_level_size: int = 1_000
    u_shape: bool = True
    open_spread_ticks: int = 2  # extra limit distance (ticks) at the open, one less per bucket
    # Value traders (ABIDES-style): the value V is a fundamental F, a driftless geometric
    # random walk with this daily volatility (0 freezes F at the reference price), moved by
    # the impact of directional flow. Every ``value_period_s`` they trade against the
    # displacement d = (mid − V) in ticks at a rate of ``value_strength``·|d|^``value_exponent``
    # shares per second, IOC limited at V; background limit orders never rest through V.
    fundamental_vol: float = 0.015
    value_period_s: float = 1.0
    value_strength: float = 0.02
    value_exponent: float = 2.0
    value_clip: int = 100  # shares: value traders accumulate demand to at least this
    # Impact of directional flow (engine/venues/impact.py): I = Y·σ_D·√(Q/V_D), Q the net
    # directional volume through the kernel K(ℓ) = K∞ + Σ w_j·exp(−ℓ/τ_j), K∞ = 1 − Σ w_j.
    impact_y: float = 1.2  # Y of an instantaneous meta-order; the kernel lowers it for slower ones
    impact_decay_s: tuple[float, ...] = (60.0, 600.0, 3_600.0)  # τ_j
    impact_weights: tuple[float, ...] = (0.15, 0.25, 0.45)  # w_j
    # Day-to-day variation of volume: each day's intensity is multiplied by a lognormal
    # day factor and, per half-hour bucket, by a lognormal bucket factor (both mean 1).
    volume_day_sigma: float = 0.25
    volume_bucket_sigma: float = 0.2


class DarkConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Contra interest of a dark pool (``engine.venues.dark_pool``): blocks arrive, rest for
    a while, cross with ours and with each other at the lit mid, leave. ``docs/venues.md``
    says where each default comes from."""

    arrival_rate: float = 0.003  # contra blocks per second per side
    mean_block: int = 2_000  # shares
    mean_life_s: float = 120.0
    min_quantity: int = 0  # venue-wide minimum execution size
    # Zhu (2014): informed traders know where the value is going and prefer lit venues,
    # so a minority of the pool's contra is informed, and trades with the move.
    informed_share: float = 0.3  # of contra blocks
    informed_horizon_s: float = 300.0  # how far ahead informed contra see the fundamental
    # Crosses only on lit quotes this fresh (the lit feeds publish every md_interval).
    max_quote_age_s: float = 0.1


class VenueConfig(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    kind: VenueKind = VenueKind.LIT
    maker_fee: int = -2_000  # price units per share; negative = rebate (−$0.002)
    taker_fee: int = 3_000  # +$0.003 per share
    latency_ns: int = 200 * US  # one-way link latency router ↔ venue
    jitter_ns: int = 50 * US
    # Market-data publication period. Each publication is one delivery per subscriber and
    # they are the bulk of a simulated day's messages: the period trades the freshness of
    # the consolidated view for run time.
    md_interval_ns: int = 2_000 * MS
    flow: FlowConfig = FlowConfig()
    dark: DarkConfig = DarkConfig()
    instruments: tuple[str, ...] = ()  # the symbols it trades (empty: all the market's)

    def trades(self, symbol: str) -> bool:
        return not self.instruments or symbol in self.instruments
