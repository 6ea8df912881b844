"""A universe of instruments with seeded, realistic parameters, and the simulated market
of each instrument sized to its parameters.

    universe(UniverseSpec(instruments=100, seed=1))   # -> [Instrument], the same every time

Instrument ``i`` draws from a stream of its own (the universe's seed and ``i``), so the
first N instruments of a larger universe are the universe of N. The parameters follow
the cross-section of US equities: prices log-normal around $45, daily volume log-normal
around 2M shares (heavy right tail, as in the Russell 1000), daily volatility around
1.8 %, higher for smaller, cheaper names.
"""

from __future__ import annotations

import math
import random

import msgspec

from engine.config import FlowConfig, VenueConfig
from engine.instruments import Instrument
from engine.prices import PRICE_SCALE

# Shares a lit venue's background flow trades per second per unit of rate_scale × mean_size
# (measured on the simulated venue: the volume is linear in both).
SHARES_PER_RATE_SIZE_S = 1.72


class UniverseSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``instruments`` generated instruments (symbols ``prefix`` + a number)."""

    instruments: int
    seed: int = 1
    prefix: str = "U"
    median_price: str = "45.00"
    median_daily_volume: int = 2_000_000
    median_volatility: float = 0.018

    def __post_init__(self) -> None:
        if not 1 <= self.instruments <= 10_000:
            raise ValueError(f"instruments: {self.instruments} is not between 1 and 10,000")
        if not self.prefix.isalpha():
            raise ValueError(f"prefix: {self.prefix!r} must be letters")
        if self.median_daily_volume <= 0 or not 0 < self.median_volatility < 1:
            raise ValueError("median_daily_volume and median_volatility must be positive")

    def symbol(self, i: int) -> str:
        width = len(str(self.instruments))
        return f"{self.prefix}{i + 1:0{max(width, 3)}d}"


def universe(spec: UniverseSpec) -> list[Instrument]:
    """The ``spec.instruments`` instruments, each drawn from its own seeded stream."""
    median_price = float(spec.median_price)
    return [_instrument(spec, i, median_price) for i in range(spec.instruments)]


def _instrument(spec: UniverseSpec, i: int, median_price: float) -> Instrument:
    rng = random.Random(f"{spec.seed}:universe:{i}")
    price = min(max(median_price * math.exp(rng.gauss(0, 0.9)), 3.0), 900.0)
    volume = spec.median_daily_volume * math.exp(rng.gauss(0, 1.0))
    volume = min(max(volume, 0.1 * spec.median_daily_volume), 20 * spec.median_daily_volume)
    # smaller and cheaper names move more (the size effect in volatility)
    size = (volume / spec.median_daily_volume) ** -0.1 * (price / median_price) ** -0.1
    vol = spec.median_volatility * size * math.exp(rng.gauss(0, 0.3))
    tick = PRICE_SCALE // 100  # a cent above $1 (Reg NMS rule 612)
    return Instrument(
        symbol=spec.symbol(i),
        ref_price=round(price * PRICE_SCALE / tick) * tick,
        tick=tick,
        lot=1,
        volatility=round(min(max(vol, 0.005), 0.08), 4),
        daily_volume=int(round(volume, -3)),
    )


def book_config(
    venue: VenueConfig, instrument: Instrument, lit_rate: float, day_s: float
) -> VenueConfig:
    """``venue``'s configuration for its book of ``instrument``: the fundamental's
    volatility, and order sizes that make the lit venues (their rate scales summing to
    ``lit_rate``) trade the instrument's daily volume in a day of ``day_s`` seconds,
    each in proportion to its rate. Sizes scale, not rates: the event count (the
    simulation's cost) stays the venue's. Dark blocks scale with the same factor."""
    flow, dark = venue.flow, venue.dark
    if instrument.volatility is not None:
        flow = msgspec.structs.replace(flow, fundamental_vol=instrument.volatility)
    if instrument.daily_volume is not None and lit_rate > 0:
        mean = instrument.daily_volume / (SHARES_PER_RATE_SIZE_S * lit_rate * day_s)
        factor = mean / flow.mean_size
        flow = _sized(flow, factor, instrument.lot)
        dark = msgspec.structs.replace(
            dark, mean_block=_lots(dark.mean_block * factor, instrument.lot)
        )
    return msgspec.structs.replace(venue, flow=flow, dark=dark)


def _sized(flow: FlowConfig, factor: float, lot: int) -> FlowConfig:
    return msgspec.structs.replace(
        flow,
        mean_size=_lots(flow.mean_size * factor, lot),
        initial_level_size=_lots(flow.initial_level_size * factor, lot),
        value_clip=_lots(flow.value_clip * factor, lot),
        value_strength=flow.value_strength * factor,
    )


def _lots(shares: float, lot: int) -> int:
    return max(lot, int(shares) // lot * lot)
