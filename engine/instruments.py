"""Instruments: tick size, lot size, reference price and the intake price band, and what
a simulated market of the instrument looks like (its daily volatility and volume)."""

from __future__ import annotations

import msgspec

from engine.prices import PRICE_SCALE


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    symbol: str
    tick: int = PRICE_SCALE // 100  # price units; default one cent
    lot: int = 1  # shares; every quantity is a multiple
    ref_price: int  # price units; centre of the price band and of simulated markets
    band_bps: int = 1_000  # limit prices further than this from ref_price are rejected
    # The simulated market of the instrument (None: the venues' flow configuration as is):
    # the fundamental's daily volatility, and the consolidated daily volume in shares.
    volatility: float | None = None
    daily_volume: int | None = None

    def on_tick(self, price: int) -> bool:
        return price % self.tick == 0

    def on_lot(self, quantity: int) -> bool:
        return quantity % self.lot == 0

    def in_band(self, price: int) -> bool:
        return abs(price - self.ref_price) * 10_000 <= self.band_bps * self.ref_price

    def round_to_tick(self, price: int, up: bool) -> int:
        q, r = divmod(price, self.tick)
        return (q + (1 if up and r else 0)) * self.tick

    def round_down_lot(self, quantity: int) -> int:
        return quantity - quantity % self.lot
