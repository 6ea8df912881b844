"""A dark pool's matching: hidden interest crosses at the current lit NBBO midpoint.

Nothing is displayed. Two kinds of interest rest hidden: ours, and contra blocks of the
pool's other participants, which arrive from a seeded RNG (Poisson arrivals per side,
lognormal sizes in lots, exponential lives) and leave when their life is over.

Contra flow is partly informed (Zhu 2014, "Do dark pools harm price discovery?"; Næs &
Ødegaard 2006 on crossing networks). A share ``informed_share`` of the blocks know where
the fundamental value (the one the lit venues' value traders trade towards) will be
``informed_horizon_s`` ahead: they buy when it lies above the mid and sell when it lies
below. The rest pick a side at random. So an order of ours is more likely to fill when
the price is about to move against it: its markout is adverse on average.

Price: the lit NBBO midpoint at the time of the cross. The pool knows the lit quotes only
from their market data, so it crosses only while that view is current: every lit venue
that is up quoted within ``max_quote_age_s``, and the NBBO is two-sided, neither locked
nor crossed (real pools refuse a midpoint the NBBO does not define). Otherwise nothing
crosses and interest waits for the next fresh view, at the latest the next round of lit
publications. Never beyond a limit (a buy never pays above it).

Matching replays time priority: each resting order, in the order it arrived, crosses with
the earlier interest of the other side that is still unfilled, as if it had just arrived
(the state continuous matching would have reached). Contra blocks cross each other as
well as ours. Every cross is a print: the pool's volume, notional and last price. Ours
are also its directional volume (net shares of ours traded, + bought): what a market
impact model counts, as the lit venues count theirs.

Minimum quantity protects large resting interest from being nibbled: an order larger
than the minimum is never filled by an order smaller than it (a 1,000 order with a 500
minimum does not trade with a 200 block). A cross that takes our order's whole leaves is
never too small, on either side: a child smaller than the minimum, or the last 300 of a
partly filled 1,000, trades whole against a 2,000 block that carries the venue minimum
(otherwise a small child would starve in the pool and a partly filled order could never
finish).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from operator import attrgetter
from typing import NamedTuple

from engine.config import DarkConfig, SessionConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import VenueKind, VenueStatus
from engine.venues.book import BUY, SELL

_NS = 1e9
_BLOCK_SIGMA = 0.6
_ARRIVED = attrgetter("seq")
_NO_EXPIRY = 1 << 126  # later than any time in ns


class Cross(NamedTuple):
    """One of our orders traded ``quantity`` at ``price`` at time ``ts``."""

    order_id: str
    quantity: int
    price: int
    ts: int


class Hidden:
    """Resting interest: ours (a str id, perhaps a limit) or a contra block (an int id)."""

    __slots__ = ("expiry", "leaves", "limit", "min_quantity", "order_id", "ours", "seq", "side")

    def __init__(
        self,
        order_id: str | int,
        side: int,
        leaves: int,
        limit: int | None,
        min_quantity: int,
        expiry: int = 0,
        seq: int = 0,
    ) -> None:
        self.order_id = order_id
        self.ours = isinstance(order_id, str)
        self.side = side
        self.leaves = leaves
        self.limit = limit
        self.min_quantity = min_quantity
        self.expiry = expiry  # contra blocks only
        self.seq = seq  # arrival order: time priority


class DarkPool:
    def __init__(
        self,
        config: DarkConfig,
        instrument: Instrument,
        session: SessionConfig,
        rng: random.Random,
        fundamental: Callable[[int], float] | None = None,
    ) -> None:
        """``fundamental``: the lit market's fundamental value at a time (what informed
        contra know ahead); None: every block is uninformed."""
        self.config = config
        self.lot = instrument.lot
        self.session = session
        self.rng = rng
        self.fundamental = fundamental
        self.market = MarketView(instrument.symbol)
        self.ours: dict[str, Hidden] = {}
        self.contra: list[Hidden] = []
        # No block expires before this (a lower bound: matching removes blocks as well),
        # so most advances skip the scan of the blocks.
        self._first_expiry = _NO_EXPIRY
        self.volume = 0  # prints: every cross, ours or between contra blocks
        self.notional = 0
        self.directional = 0  # net shares of ours traded here (+ bought)
        self.last_price: int | None = None
        self.now = session.open_ns
        self.max_quote_age_ns = int(config.max_quote_age_s * _NS)
        self._horizon = int(config.informed_horizon_s * _NS)
        self._seq = 0
        self._blocks = 0
        # Nothing can cross until an order arrives, changes, or the mid moves a limit.
        self._dirty = False
        self._settled_mid: int | None = None
        self._next_arrival = self._draw_arrival(self.now)

    # ------------------------------------------------------------------ our orders

    def add(
        self, order_id: str, side: int, leaves: int, limit: int | None, min_quantity: int = 0
    ) -> None:
        self._seq += 1
        self.ours[order_id] = Hidden(order_id, side, leaves, limit, min_quantity, seq=self._seq)
        self._dirty = True

    def add_contra(self, side: int, quantity: int, expiry: int, min_quantity: int = 0) -> Hidden:
        """A contra block rests until ``expiry`` (ns)."""
        self._seq += 1
        self._blocks += 1
        block = Hidden(-self._blocks, side, quantity, None, min_quantity, expiry, self._seq)
        self.contra.append(block)
        if expiry < self._first_expiry:
            self._first_expiry = expiry
        self._dirty = True
        return block

    def remove(self, order_id: str) -> None:
        self.ours.pop(order_id, None)

    def update(self, order_id: str, leaves: int, limit: int | None) -> None:
        """A replace: keeps time priority (nothing is displayed, so nothing to lose)."""
        order = self.ours[order_id]
        order.leaves, order.limit = leaves, limit
        self._dirty = True

    def fillable(
        self,
        side: int,
        limit: int | None,
        quantity: int,
        min_quantity: int = 0,
        now: int | None = None,
    ) -> int:
        """How much of ``quantity`` would cross at ``now`` if it arrived (for FOK)."""
        now = self.now if now is None else now
        mid = self.mid(now)
        if mid is None:
            return 0
        probe = Hidden("", side, quantity, limit, min_quantity, seq=self._seq + 1)
        copies = [
            Hidden(h.order_id, h.side, h.leaves, h.limit, h.min_quantity, h.expiry, h.seq)
            for h in sorted([*self.ours.values(), *self.contra], key=_ARRIVED)
        ]
        self._replay([*copies, probe], mid)
        return quantity - probe.leaves

    # ------------------------------------------------------------------ the view

    def fresh(self, now: int) -> bool:
        """Every lit venue that is up (one at least) quoted within ``max_quote_age_s``."""
        ages = self._quote_ages(now)
        return bool(ages) and max(ages) <= self.max_quote_age_ns

    def stale(self, now: int) -> bool:
        """Some lit venue is up, and one of them quoted longer ago than that: fresher
        quotes would tell the mid (with none up, nothing would)."""
        ages = self._quote_ages(now)
        return bool(ages) and max(ages) > self.max_quote_age_ns

    def _quote_ages(self, now: int) -> list[int]:
        return [
            now - md.ts
            for md in self.market.venues.values()
            if md.kind is VenueKind.LIT and md.status is not VenueStatus.DOWN
        ]

    def mid(self, now: int) -> int | None:
        """The lit NBBO midpoint the pool may cross at ``now``: None unless its view is
        ``fresh``, or if the NBBO is one-sided, locked or crossed."""
        if not self.fresh(now):
            return None
        return self._nbbo_mid()

    def _nbbo_mid(self) -> int | None:
        """The NBBO midpoint, however old the quotes; None if one-sided, locked or crossed."""
        bid, ask = self.market.best_bid(), self.market.best_ask()
        if bid is None or ask is None or bid >= ask:
            return None
        return (bid + ask) // 2

    # ------------------------------------------------------------------ time

    def advance_to(self, now_ns: int) -> list[Cross]:
        """Contra blocks arrive and leave up to ``now_ns``; returns the crosses with ours."""
        out: list[Cross] = []
        close = self.session.close_ns
        end = now_ns if now_ns < close else close
        while self._next_arrival <= end:
            t = self._next_arrival
            self._expire(t)
            self._arrive(t)
            out += self.match(t)
            self._next_arrival = self._draw_arrival(t)
        if self._first_expiry <= now_ns:
            self._expire(now_ns)
        if now_ns > self.now:
            self.now = now_ns
        return out

    def skip_to(self, now_ns: int) -> None:
        """A halted pool: time passes, contra leaves, nothing arrives or trades."""
        if now_ns > self.now:
            self.now = now_ns
            self._expire(now_ns)
            self._next_arrival = self._draw_arrival(min(now_ns, self.session.close_ns))

    def match(self, now: int) -> list[Cross]:
        """Cross what can cross at the current mid; returns the crosses of our orders."""
        if not self._dirty:
            if not self.ours or all(o.limit is None for o in self.ours.values()):
                return []  # settled, and no limit for a moving mid to bring into reach
            if self._nbbo_mid() == self._settled_mid:
                return []  # settled at this mid: nothing can cross, however fresh the view
        mid = self.mid(now)
        if mid is None or not self._may_cross(mid):
            return []
        resting = sorted([*self.ours.values(), *self.contra], key=_ARRIVED)
        out: list[Cross] = []
        for incoming, earlier, qty in self._replay(resting, mid):
            self.volume += qty
            self.notional += qty * mid
            self.last_price = mid
            for h in (earlier, incoming):
                if h.ours:  # with ourselves, no net directional volume
                    self.directional += h.side * qty
                    out.append(Cross(str(h.order_id), qty, mid, now))
        for order_id in [k for k, o in self.ours.items() if not o.leaves]:
            del self.ours[order_id]
        self.contra = [b for b in self.contra if b.leaves]
        self._dirty, self._settled_mid = False, mid
        return out

    # ------------------------------------------------------------------ internals

    def _may_cross(self, mid: int) -> bool:
        """Whether anything can have become crossable since the last match: something
        arrived or changed, or the mid moved and one of ours has a limit."""
        if self._dirty:
            return True
        if mid == self._settled_mid:
            return False
        return any(o.limit is not None for o in self.ours.values())

    def _replay(self, resting: list[Hidden], mid: int) -> list[tuple[Hidden, Hidden, int]]:
        """Time priority: each order (in arrival order) crosses the earlier interest of the
        other side left unfilled. Returns (later, earlier, quantity) per cross."""
        out: list[tuple[Hidden, Hidden, int]] = []
        for k, incoming in enumerate(resting):
            if not incoming.leaves or not _within(incoming.side, incoming.limit, mid):
                continue
            earlier = [
                h
                for h in resting[:k]
                if h.side == -incoming.side and h.leaves and _within(h.side, h.limit, mid)
            ]
            out += [(incoming, h, qty) for h, qty in self._cross(incoming, earlier)]
        return out

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
                if not block.leaves:
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

    def _size(self, a: Hidden, b: Hidden) -> int:
        """The size ``a`` and ``b`` can trade, 0 if below a minimum quantity.

        Each side's minimum (its own or the venue's, whichever is larger) is capped by its
        own leaves and by our order's leaves: a cross that finishes one of ours is never
        too small for either side. So our order's minimum binds only against a block
        smaller than both (the protection), and a block's minimum never refuses a small
        child or a last remainder.
        """
        qty = min(a.leaves, b.leaves)
        venue_min = self.config.min_quantity
        cap = min((h.leaves for h in (a, b) if h.ours), default=qty)
        for side in (a, b):
            if qty < min(max(side.min_quantity, venue_min), side.leaves, cap):
                return 0
        return qty

    def _arrive(self, t: int) -> None:
        cfg, rng = self.config, self.rng
        side = self._side(t)
        mu = math.log(cfg.mean_block) - _BLOCK_SIGMA**2 / 2
        size = max(self.lot, round(rng.lognormvariate(mu, _BLOCK_SIGMA) / self.lot) * self.lot)
        life = -math.log(1.0 - rng.random()) * cfg.mean_life_s * _NS
        self.add_contra(side, size, t + int(life) + 1, cfg.min_quantity)

    def _side(self, t: int) -> int:
        """An uninformed block picks a side at random; an informed one trades towards the
        fundamental value ``informed_horizon_s`` ahead, from the mid as it knows it."""
        rng = self.rng
        side = BUY if rng.random() < 0.5 else SELL
        informed = rng.random() < self.config.informed_share
        if not informed or self.fundamental is None:
            return side
        ahead = self.fundamental(t + self._horizon)
        mid = self.market.mid()
        now = self.fundamental(t) if mid is None else mid
        return BUY if ahead > now else SELL if ahead < now else side

    def _expire(self, t: int) -> None:
        if self._first_expiry > t:
            return
        contra = self.contra
        if any(b.expiry <= t for b in contra):
            self.contra = contra = [b for b in contra if b.expiry > t]
        self._first_expiry = min((b.expiry for b in contra), default=_NO_EXPIRY)

    def _draw_arrival(self, t: int) -> int:
        rate = 2 * self.config.arrival_rate
        if rate <= 0:
            return self.session.close_ns + 1
        return t + int(-math.log(1.0 - self.rng.random()) / rate * _NS) + 1


def _within(side: int, limit: int | None, mid: int) -> bool:
    """Is a cross at ``mid`` within the order's limit?"""
    return limit is None or (mid <= limit if side == BUY else mid >= limit)
