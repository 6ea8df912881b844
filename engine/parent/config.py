"""How a parent order works its schedule: decision interval, child sizing and timeouts."""

from __future__ import annotations

from dataclasses import dataclass

from engine.clock import MINUTE, SECOND
from engine.strategies.vwap import VolumeProfile


@dataclass(frozen=True, slots=True)
class ParentConfig:
    decision_interval_ns: int = 5 * SECOND  # timer period
    lookahead_ns: int = 1 * MINUTE  # a child covers the schedule this far ahead
    period_ns: int = 1 * MINUTE  # schedule granularity (TWAP/VWAP/IS)
    behind_slack_ns: int = 10 * SECOND  # shortfall older than this counts as behind
    max_open_children: int = 2
    min_child_qty: int = 100  # a round lot; 0: one lot. Only the final remainder is smaller
    passive_timeout_ns: int = 30 * SECOND  # passive/midpoint child re-placed after this
    aggressive_timeout_ns: int = 5 * SECOND  # leftover of a crossing child re-priced
    final_window_fraction: float = 0.1  # must-complete: strict catch-up in the last 10 %
    sweep_lead_ns: int = 5 * SECOND  # must-complete: final sweep this long before end
    sweep_ticks: int = 2  # the sweep prices this many ticks through the far touch
    sweep_retry_ns: int = 1 * SECOND
    stop_lead_ns: int = 1 * SECOND  # children are pulled this long before the end time
    participation_window_ns: int = 1 * MINUTE  # max participation also holds over this
    # VWAP's intraday volume profile: None is the shipped U-shape; or one estimated from
    # the market's history (``engine.venues.volume_history``) or loaded from a file
    vwap_profile: VolumeProfile | None = None
    # A parent ending waits for its children's venue orders to settle, up to this long
    # after the session's close (DAY orders die at the close; what their venues sent
    # before it has arrived by then); then the router books what is left as expired at
    # the close, unconfirmed, and the parent ends at most settle_retry_ns later
    settle_wait_ns: int = 30 * SECOND
    settle_retry_ns: int = 10 * SECOND
