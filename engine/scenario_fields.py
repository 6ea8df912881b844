"""Checks of single scenario fields: prices, counts, times of day, flow rates.

Each raises ``ValueError`` with the field's name first; the scenario adds where the field
is (``orders[3].limit: ...``).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from engine.config import DarkConfig, FlowConfig
from engine.desk.intake import INT64_MAX
from engine.prices import PRICE_SCALE, to_price
from engine.venues.impact import check_kernel

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
# Prices and quantities are journaled as 64-bit integers: larger ones cannot be recorded.
MAX_PRICE = Decimal(INT64_MAX // PRICE_SCALE)
MAX_ORDERS_PER_STREAM = 1_000_000  # each one is generated and held in memory up front


def parse_price(value: str, field: str) -> int:
    try:
        dec = Decimal(value)
    except (InvalidOperation, TypeError):  # not a number at all
        raise ValueError(f'{field}: {value!r} is not a decimal price like "100.25"') from None
    if not dec.is_finite():
        raise ValueError(f"{field}: {value!r} is not a finite price")
    if dec.copy_abs() > MAX_PRICE:  # checked before scaling: "1e999999999" would take forever
        raise ValueError(f"{field}: {value!r} is above the largest price ({MAX_PRICE:,})")
    try:
        return to_price(value)
    except ValueError as exc:
        raise ValueError(f"{field}: {value!r} is not an exact decimal price ({exc})") from None


def check_count(value: int, field: str, what: str, largest: int = INT64_MAX) -> None:
    """A positive whole number of ``what`` that fits the trail's integers."""
    if value <= 0:
        raise ValueError(f"{field}: {value} is not a positive number of {what}")
    if value > largest:
        raise ValueError(f"{field}: {value:,} is more {what} than the {largest:,} accepted")


def clock_seconds(value: str) -> int | None:
    """A clock time "HH:MM" / "HH:MM:SS" as seconds after midnight; None if it is not a
    time of day (the pattern fails, or the hour, minute or second is out of range)."""
    found = _TIME.match(value) if isinstance(value, str) else None
    if not found:
        return None
    h, mi, s = (int(x or 0) for x in found.groups())
    if h > 23 or mi > 59 or s > 59:
        return None
    return h * 3600 + mi * 60 + s


def time_of_day(value: str, field: str) -> int:
    seconds = clock_seconds(value)
    if seconds is None:
        raise ValueError(f"{field}: {value!r} is not a time of day like 09:30 or 09:30:15")
    return seconds


def optional_time(value: str | None, field: str) -> int | None:
    """Seconds after midnight of an optional time of day (None when absent)."""
    return None if value is None else time_of_day(value, field)


def positive_price(value: str | None, field: str) -> None:
    if value is not None and parse_price(value, field) <= 0:
        raise ValueError(f"{field}: {value!r} is not a positive price")


def at_least(value: float, field: str, low: float = 0.0, *, strict: bool = False) -> None:
    """A finite number ≥ ``low`` (> ``low`` when ``strict``): rates, sizes and periods."""
    ok = math.isfinite(value) and (value > low if strict else value >= low)
    if not ok:
        raise ValueError(f"{field}: {value} must be finite and {'>' if strict else '≥'} {low:g}")


def check_flow(flow: FlowConfig) -> None:
    """Negative rates would make the flow model draw negative waiting times."""
    for name in ("limit_rates", "cancel_rates"):
        for i, rate in enumerate(getattr(flow, name)):
            at_least(rate, f"flow.{name}[{i}]")
    for name in ("market_rate", "rate_scale", "fundamental_vol", "value_strength"):
        at_least(getattr(flow, name), f"flow.{name}")
    for name in ("mean_size", "value_period_s", "value_exponent"):
        at_least(getattr(flow, name), f"flow.{name}", strict=True)
    for name in ("depth_levels", "initial_level_size", "value_clip", "open_spread_ticks"):
        at_least(getattr(flow, name), f"flow.{name}")
    for name in ("volume_day_sigma", "volume_bucket_sigma"):
        at_least(getattr(flow, name), f"flow.{name}")
    check_kernel(flow)


def check_dark(dark: DarkConfig) -> None:
    at_least(dark.arrival_rate, "dark.arrival_rate")
    at_least(dark.mean_block, "dark.mean_block", strict=True)
    at_least(dark.mean_life_s, "dark.mean_life_s", strict=True)
    at_least(dark.min_quantity, "dark.min_quantity")
