"""A dark pool's matching: hidden orders cross at the lit NBBO midpoint.

Nothing is displayed. Our orders rest hidden; contra interest arrives as blocks from a
seeded RNG (Poisson arrivals per side, lognormal sizes in lots, exponential lives) and
leaves when its life is over. A cross happens at the mid of the ``MarketView`` the pool is
fed (lit venues' ``MarketDataUpdated``), never when the mid is unknown, never beyond our
limit (a buy never pays above it), and only in sizes honouring the minimum quantity of the
order and of the venue.

Minimum quantity protects large resting interest from being nibbled: an order of ours
larger than the minimum is never filled by a contra block smaller than it (a 1,000 order
with a 500 minimum does not trade with a 200 block). A cross that takes our order's whole
leaves is never too small, on either side: a child smaller than the minimum, or the last
300 of a partly filled 1,000, trades whole against a 2,000 block that carries the venue
minimum (otherwise a small child would starve in the pool and a partly filled order could
never finish).

Time priority: our orders in arrival order against contra blocks in arrival order.
"""

from __future__ import annotations

import math
import random
from typing import NamedTuple

from engine.config import DarkConfig, SessionConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.venues.book import BUY, SELL

_NS = 1e9
_BLOCK_SIGMA = 0.6


class Cross(NamedTuple):
    """One of our orders traded ``quantity`` at ``price`` at time ``ts``."""

    order_id: str
    quantity: int
    price: int
    ts: int


class Hidden:
    __slots__ = ("expiry", "leaves", "limit", "min_quantity", "order_id", "side")

    def __init__(
        self,
        order_id,
        side: int,
        leaves: int,
        limit: int | None,
        min_quantity: int,
        expiry: int = 0,
    ) -> None:
        self.order_id = order_id
        self.side = side
        self.leaves = leaves
        self.limit = limit
        self.min_quantity = min_quantity
        self.expiry = expiry  # contra blocks only


class DarkPool:
    def __init__(
        self, config: DarkConfig, instrument: Instrument, session: SessionConfig, rng: random.Random
    ) -> None:
        self.config = config
        self.lot = instrument.lot
        self.session = session
        self.rng = rng
        self.market = MarketView(instrument.symbol)
        self.ours: dict[str, Hidden] = {}  # insertion order = time priority
        self.contra: list[Hidden] = []  # arrival order
        self.volume = 0
        self.notional = 0
        self.last_price: int | None = None
        self.now = session.open_ns
        self._blocks = 0
        self._next_arrival = self._draw_arrival(self.now)

    # ------------------------------------------------------------------ our orders

    def add(
        self, order_id: str, side: int, leaves: int, limit: int | None, min_quantity: int = 0
    ) -> None:
        self.ours[order_id] = Hidden(order_id, side, leaves, limit, min_quantity)

    def remove(self, order_id: str) -> None:
        self.ours.pop(order_id, None)

    def update(self, order_id: str, leaves: int, limit: int | None) -> None:
        """A replace: keeps time priority (nothing is displayed, so nothing to lose)."""
        order = self.ours[order_id]
        order.leaves, order.limit = leaves, limit

    def fillable(self, side: int, limit: int | None, quantity: int, min_quantity: int = 0) -> int:
        """How much of ``quantity`` would cross right now (for FOK)."""
        mid = self.market.mid()
        if mid is None or not _within(side, limit, mid):
            return 0
        probe = Hidden("", side, quantity, limit, min_quantity)
        blocks = [Hidden(b.order_id, b.side, b.leaves, None, b.min_quantity) for b in self.contra]
        return sum(qty for _, qty in self._cross(probe, blocks))

    # ------------------------------------------------------------------ time

    def advance_to(self, now_ns: int) -> list[Cross]:
        """Contra blocks arrive and leave up to ``now_ns``; returns the crosses with ours."""
        out: list[Cross] = []
        end = min(now_ns, self.session.close_ns)
        while self._next_arrival <= end:
            t = self._next_arrival
            self._expire(t)
            self._arrive(t)
            out += self.match(t)
            self._next_arrival = self._draw_arrival(t)
        self._expire(now_ns)
        self.now = max(self.now, now_ns)
        return out

    def skip_to(self, now_ns: int) -> None:
        """A halted pool: time passes, contra leaves, nothing arrives or trades."""
        if now_ns > self.now:
            self.now = now_ns
            self._expire(now_ns)
            self._next_arrival = self._draw_arrival(min(now_ns, self.session.close_ns))

    def match(self, now: int) -> list[Cross]:
        """Cross our hidden orders with contra at the current mid."""
        mid = self.market.mid()
        if mid is None:
            return []
        out: list[Cross] = []
        for order in list(self.ours.values()):
            if not _within(order.side, order.limit, mid):
                continue
            crossed = self._cross(order, self.contra)
            out += [Cross(order.order_id, qty, mid, now) for _, qty in crossed]
            if not order.leaves:
                del self.ours[order.order_id]
        self.contra = [b for b in self.contra if b.leaves]
        for cross in out:
            self.volume += cross.quantity
            self.notional += cross.quantity * cross.price
            self.last_price = cross.price
        return out

    # ------------------------------------------------------------------ internals

    def _cross(self, order: Hidden, blocks: list[Hidden]) -> list[tuple[Hidden, int]]:
        """Trade ``order`` with ``blocks`` in arrival order, decrementing both sides' leaves.

        Passes until one crosses nothing: a block skipped as smaller than the minimum of the
        order's larger leaves can still finish what a later block left of it (1,900 with a
        200 minimum skips a 100 block, crosses 1,800, then its last 100 takes the 100).
        """
        out: list[tuple[Hidden, int]] = []
        crossed = True
        while crossed and order.leaves:
            crossed = False
            for block in blocks:
                if block.side != -order.side or not block.leaves:
                    continue
                qty = self._size(order, block)
                if qty:
                    order.leaves -= qty
                    block.leaves -= qty
                    out.append((block, qty))
                    crossed = True
                    if not order.leaves:
                        break
        return out

    def _size(self, order: Hidden, block: Hidden) -> int:
        """The size ``order`` and ``block`` can trade, 0 if below a minimum quantity.

        Each side's minimum (its own or the venue's, whichever is larger) is capped by our
        order's leaves: a cross that finishes our order is never too small for either side.
        So our order's minimum binds only against a block smaller than both (the
        protection), and a block's minimum never refuses a small child or a last remainder.
        """
        qty = min(order.leaves, block.leaves)
        venue_min = self.config.min_quantity
        needed = min(max(order.min_quantity, venue_min), order.leaves)
        needed_by_block = min(max(block.min_quantity, venue_min), block.leaves, order.leaves)
        return qty if qty >= needed and qty >= needed_by_block and qty > 0 else 0

    def _arrive(self, t: int) -> None:
        cfg, rng = self.config, self.rng
        side = BUY if rng.random() < 0.5 else SELL
        mu = math.log(cfg.mean_block) - _BLOCK_SIGMA**2 / 2
        size = max(self.lot, round(rng.lognormvariate(mu, _BLOCK_SIGMA) / self.lot) * self.lot)
        life = -math.log(1.0 - rng.random()) * cfg.mean_life_s * _NS
        self._blocks += 1
        self.contra.append(
            Hidden(-self._blocks, side, size, None, cfg.min_quantity, t + int(life) + 1)
        )

    def _expire(self, t: int) -> None:
        if any(b.expiry <= t for b in self.contra):
            self.contra = [b for b in self.contra if b.expiry > t]

    def _draw_arrival(self, t: int) -> int:
        rate = 2 * self.config.arrival_rate
        if rate <= 0:
            return self.session.close_ns + 1
        return t + int(-math.log(1.0 - self.rng.random()) / rate * _NS) + 1


def _within(side: int, limit: int | None, mid: int) -> bool:
    """Is a cross at ``mid`` within the order's limit?"""
    return limit is None or (mid <= limit if side == BUY else mid >= limit)
