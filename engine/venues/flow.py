"""Background order flow of a simulated lit venue, advanced lazily.

A Cont–Stoikov–Talreja (2010) style zero-intelligence flow on the venue's own ``Book``:
- limit orders arrive at ``i`` ticks from the opposite best with rate λ(i), each side;
- market orders arrive with rate μ, each side;
- each resting background order is cancelled with rate θ(i) (``i`` = its distance when it
  arrived): it draws an exponential lifetime on arrival and a heap holds the expiries;
- every rate is scaled by ``FlowConfig.rate_scale`` and by a U-shaped intraday intensity
  (the ES futures 30-minute volume profile, normalised to mean 1) times the day's volume
  multipliers (a lognormal day factor and a lognormal factor per bucket, shared by the
  venues of a market), piecewise constant per bucket; inter-arrival times are exponential
  (Gillespie), redrawn at each bucket boundary (memoryless, so exact);
- near the open limit orders arrive a few ticks further out, so the spread is wider at
  the open and tightens through the morning;
- sizes are lognormal around ``mean_size``, rounded to lots, with spikes at round lots.

Prices are anchored to a value V = F·(1 + I): F a fundamental random walk shared by the
venues of a market, I the impact of directional flow (``engine.venues.impact``). Limit
orders never rest on the wrong side of V (liquidity providers quote around the value),
so the mid follows V within a few ticks and does not lag it: a lagging mid would show
as momentum in returns. Value traders (ABIDES-style) also trade against a displaced mid.

``advance_to(now)`` applies every event up to ``now`` in one call, so a venue costs one
call per message rather than one message per background event. The event sequence is a
function of the seed and of the orders placed into the book, not of how time is sliced.
Background order ids are ``int`` (negative for the seeded book); anything else in the
book is someone else's (ours) and the fills against it are returned.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from collections.abc import Container

from engine.config import FlowConfig, SessionConfig
from engine.instruments import Instrument
from engine.venues.book import BUY, SELL, Book, Fill
from engine.venues.impact import LatentImpact

# % of daily volume per 30 minutes from the open (ES futures, 2009).
INTRADAY_PROFILE = (11.32, 9.70, 8.07, 6.63, 5.49, 4.85, 4.56, 5.05, 5.27, 6.23, 6.87, 8.39, 12.31)
_SIZE_TABLE = 4096  # precomputed lognormal sizes: one random() per size
_SIZE_SIGMA = 0.8
_ROUND_LOT_SHARE = 0.3  # fraction of sizes snapped to a multiple of 100 shares
_NS = 1e9
_NEVER = 1e-12  # events per second treated as none
# A pending expiry is one int, expiry ns << _ID_BITS | order id: it orders as the pair
# (expiry, id) does, and a heap of ints is cheaper than one of tuples.
_ID_BITS = 40
_ID_MASK = (1 << _ID_BITS) - 1


def intensity_profile(u_shape: bool) -> tuple[float, ...]:
    """Per-bucket intensity multipliers with mean 1 (flat if ``u_shape`` is off)."""
    if not u_shape:
        return (1.0,) * len(INTRADAY_PROFILE)
    mean = sum(INTRADAY_PROFILE) / len(INTRADAY_PROFILE)
    return tuple(p / mean for p in INTRADAY_PROFILE)


class BackgroundFlow:
    def __init__(
        self,
        book: Book,
        config: FlowConfig,
        instrument: Instrument,
        session: SessionConfig,
        rng: random.Random,
        watched: Container,
        fundamental_seed: int | None = None,
    ) -> None:
        self.book = book
        self.config = config
        self.tick = instrument.tick
        self.lot = instrument.lot
        self.ref_price = instrument.ref_price
        self.session = session
        self.rng = rng
        self.watched = watched  # order ids whose fills are reported (ours)
        self.now = session.open_ns
        self.events = 0  # background events applied (stats)
        self._next_id = 0
        self._expiries: list[int] = []  # expiry ns << _ID_BITS | background order id
        self._profile = intensity_profile(config.u_shape)
        self._bucket_ns = max(1, session.length_ns // len(self._profile))
        self._last_bucket = len(self._profile) - 1
        scale = config.rate_scale
        per_side = [r * scale for r in config.limit_rates] + [config.market_rate * scale]
        self._cum_rates = [sum(per_side[: k + 1]) for k in range(len(per_side))]
        self._side_rate = self._cum_rates[-1]
        self._cancel_rates = [r * scale for r in config.cancel_rates]
        self._limit_kinds = len(self._cancel_rates)
        self._sizes = self._size_table()
        self._fundamental, day_volume = self._market_day(fundamental_seed)
        self._profile = tuple(u * m for u, m in zip(self._profile, day_volume, strict=True))
        self.expected_volume = self._expected_volume()
        self.impact = LatentImpact(config, self.expected_volume, session.open_ns)
        self.directional = 0  # net directional shares traded here (ours; + bought)
        self._set_value(float(self.ref_price))
        self._value_step = 0
        self._value_carry = 0.0
        self._next_value = self._value_time(0)
        self._enter_bucket(0)
        self._seed_book()
        self._next_arrival = self._draw_arrival(self.now)

    # ------------------------------------------------------------------ public

    def fundamental(self, t_ns: int) -> float:
        """The fundamental value F (price units) at ``t_ns``, before impact."""
        k = (t_ns - self.session.open_ns) // self._value_period_ns
        return self._fundamental[min(max(k, 0), len(self._fundamental) - 1)]

    def intensity(self, t_ns: int) -> float:
        """The day's intraday multiplier at ``t_ns`` (1 outside the session)."""
        k = (t_ns - self.session.open_ns) // self._bucket_ns
        return self._profile[k] if 0 <= k < len(self._profile) else 1.0

    def advance_to(self, now_ns: int) -> list[tuple[int, Fill]]:
        """Apply every background event up to ``now_ns``; returns (event ns, fill) for the
        fills of watched orders (background market orders hitting them)."""
        out: list[tuple[int, Fill]] = []
        close = self.session.close_ns
        end = now_ns if now_ns < close else close
        expiries = self._expiries
        cancel = self.book.cancel
        pop = heapq.heappop
        arrive, draw = self._arrive, self._draw_arrival
        arrival = self._next_arrival
        next_value = self._next_value
        events = 0
        # The simulator's hot loop (profiled): arrivals, value-trader wakes and expiries
        # merged by time, the next of each kept in a local.
        while True:
            t = arrival
            value = next_value < t
            if value:
                t = next_value
            if expiries:
                expiry = expiries[0] >> _ID_BITS
                if expiry < t:
                    if expiry > end:
                        break
                    cancel(pop(expiries) & _ID_MASK)
                    events += 1
                    continue
            if t > end:
                break
            if value:
                self._value_trade(t, out)
                next_value = self._next_value
            else:
                arrive(t, out)
                arrival = self._next_arrival = draw(t)
            events += 1
        self.events += events
        if now_ns > self.now:
            self.now = now_ns
        book = self.book
        if book.best_bid is None or book.best_ask is None:
            self.replenish(self.now)
        return out

    def skip_to(self, now_ns: int) -> None:
        """Let time pass with no arrivals (a halted venue); pending expiries still apply.
        Like ``advance_to``, nothing happens after the close: past it, the value traders'
        next wake is "never" (close + 1), which no later time may count as due."""
        if now_ns <= self.now:
            return
        self.now = now_ns
        end = min(now_ns, self.session.close_ns)
        self._next_arrival = self._draw_arrival(end)
        while self._next_value <= end:  # value traders sleep through a halt
            self._value_step += 1
            self._next_value = self._value_time(self._value_step)
        while self._expiries and self._expiries[0] >> _ID_BITS <= end:
            self.book.cancel(heapq.heappop(self._expiries) & _ID_MASK)

    def replenish(self, t_ns: int) -> None:
        """Keep the book two-sided: refill an empty side next to the other one."""
        book, tick = self.book, self.tick
        if book.best_bid is not None and book.best_ask is not None:
            return
        anchor = book.last_price if book.last_price is not None else self.ref_price
        if book.best_ask is not None:
            anchor = min(anchor, book.best_ask - tick)
        if book.best_bid is not None:
            anchor = max(anchor, book.best_bid + tick)
        anchor = self._on_tick(anchor)
        if book.best_bid is None:
            self._add_depth(BUY, anchor - tick, t_ns)
        if book.best_ask is None:
            self._add_depth(SELL, anchor + tick, t_ns)

    # ------------------------------------------------------------------ events

    def _arrive(self, t: int, out: list[tuple[int, Fill]]) -> None:
        rng = self.rng.random
        side_rate = self._side_rate
        r = rng() * 2 * side_rate
        side = BUY
        if r >= side_rate:
            side, r = SELL, r - side_rate
        kind = bisect_right(self._cum_rates, r)
        size = self._sizes[int(rng() * _SIZE_TABLE)]
        book = self.book
        if kind < self._limit_kinds:  # a limit order kind+1 ticks (and the open's offset) out
            if side == BUY:
                opposite = book.best_ask
                if opposite is None:
                    self.replenish(t)
                    opposite = book.best_ask
                    assert opposite is not None  # replenishing quotes both sides
                price = opposite - self._distances[kind]
                if price > self._bid_cap:
                    price = self._bid_cap
            else:
                opposite = book.best_bid
                if opposite is None:
                    self.replenish(t)
                    opposite = book.best_bid
                    assert opposite is not None
                price = opposite + self._distances[kind]
                if price < self._ask_floor:
                    price = self._ask_floor
            if price > 0:
                self._next_id = oid = self._next_id + 1
                book.limit(oid, side, price, size)
                life = -math.log(1.0 - rng()) * self._mean_life_ns[kind]
                heapq.heappush(self._expiries, (t + int(life) + 1) << _ID_BITS | oid)
            return
        self._next_id += 1
        fills = book.take(self._next_id, side, size)  # a market order
        if fills and self.watched:
            self._collect(t, side, fills, out)
        if book.best_bid is None or book.best_ask is None:
            self.replenish(t)

    def _value_trade(self, t: int, out: list[tuple[int, Fill]]) -> None:
        """Value traders wake (every ``value_period_s``) and see the value V, impact
        included: demand against d = mid − V accumulates to at least ``value_clip``
        shares, then trades IOC limited at V."""
        k = self._value_step
        self._value_step = k + 1
        self._next_value = self._value_time(k + 1)
        book, cfg = self.book, self.config
        value = self._fundamental[k] * (1.0 + self.impact.at(t))
        self._set_value(value)
        if book.best_bid is None or book.best_ask is None:
            return
        d = ((book.best_bid + book.best_ask) / 2 - value) / self.tick
        demand = -math.copysign(
            cfg.value_strength * abs(d) ** cfg.value_exponent * cfg.value_period_s, d
        )
        carry = self._value_carry
        carry = demand if carry * demand < 0 else carry + demand
        if abs(carry) < cfg.value_clip:
            self._value_carry = carry
            return
        qty = int(abs(carry) / self.lot) * self.lot
        side = BUY if carry > 0 else SELL
        self._value_carry = carry - side * qty
        # never beyond V: a sell takes bids at or above V, a buy asks at or below it
        limit = (
            math.ceil(value / self.tick) * self.tick
            if side == SELL
            else math.floor(value / self.tick) * self.tick
        )
        self._next_id += 1
        fills = book.take(self._next_id, side, qty, limit)
        if self.watched:
            self._collect(t, side, fills, out)
        if book.best_bid is None or book.best_ask is None:
            self.replenish(t)

    def arbitrage(
        self, t: int, elsewhere_bid: tuple[int, int] | None, elsewhere_ask: tuple[int, int] | None
    ) -> list[tuple[int, Fill]]:
        """Cross-venue arbitrageurs: take this book's offers priced below the best bid on
        other venues, and its bids above their best offer — strictly, by at least a tick,
        since a locked market leaves no profit after fees — and no more than the other venue shows at that quote (price, size), since
        the arbitrageur unwinds there. Keeps venues in line with each other and carries
        our impact from one venue to the rest, as arbitrage does in real markets."""
        out: list[tuple[int, Fill]] = []
        book, tick = self.book, self.tick
        # Most quotes are not through this book: the checks are inlined (``Book.crosses``).
        if elsewhere_bid is not None:
            price, cap = elsewhere_bid
            if book.best_ask is not None and price - tick >= book.best_ask:
                self._arbitrage(t, BUY, cap, price - tick, out)
        if elsewhere_ask is not None:
            price, cap = elsewhere_ask
            if book.best_bid is not None and price + tick <= book.best_bid:
                self._arbitrage(t, SELL, cap, price + tick, out)
        if book.best_bid is None or book.best_ask is None:
            self.replenish(t)
        return out

    def _arbitrage(
        self, t: int, side: int, quantity: int, limit: int, out: list[tuple[int, Fill]]
    ) -> None:
        self._next_id += 1
        fills = self.book.take(self._next_id, side, quantity, limit)
        if self.watched:
            self._collect(t, side, fills, out)

    def _collect(self, t: int, side: int, fills: list[Fill], out: list[tuple[int, Fill]]) -> None:
        """Our resting orders among the makers a background ``side`` order traded with:
        their fills are reported, and their volume is directional (ours, opposite side)."""
        watched = self.watched
        for fill in fills:
            if fill.maker_id in watched:
                out.append((t, fill))
                self.trade_directional(t, -side * fill.quantity)

    def trade_directional(self, t: int, signed_qty: int) -> None:
        """Directional volume traded here at ``t`` (+ bought): it moves the value."""
        self.directional += signed_qty
        self.impact.trade(t, signed_qty)

    def _set_value(self, value: float) -> None:
        """The value V moved: background limit orders rest on their side of it."""
        self.value = value
        tick = self.tick
        self._bid_cap = math.ceil(value / tick) * tick - tick
        self._ask_floor = math.floor(value / tick) * tick + tick

    def _value_time(self, k: int) -> int:
        if self.config.value_strength <= 0 or k >= len(self._fundamental):
            return self.session.close_ns + 1  # never within the session
        return self.session.open_ns + (k + 1) * self._value_period_ns

    def _market_day(self, seed: int | None) -> tuple[list[float], list[float]]:
        """What the venues of one market share on a day, from its own RNG so that venues
        given the same ``seed`` share it (default: drawn from the flow's RNG): F at each
        value-trader wake, a geometric random walk from the reference price with
        ``fundamental_vol`` per session; and the day's volume multiplier per bucket, a
        lognormal day factor times a lognormal bucket factor, each of mean 1."""
        cfg = self.config
        self._value_period_ns = max(1, int(cfg.value_period_s * _NS))
        n = self.session.length_ns // self._value_period_ns
        rng = random.Random(self.rng.getrandbits(64) if seed is None else seed)
        step = cfg.fundamental_vol * math.sqrt(self._value_period_ns / self.session.length_ns)
        gauss, log_f, path = rng.gauss, 0.0, []
        for _ in range(n):
            log_f += step * gauss(0.0, 1.0) - step * step / 2
            path.append(self.ref_price * math.exp(log_f))
        day, bucket = cfg.volume_day_sigma, cfg.volume_bucket_sigma
        level = math.exp(day * gauss(0.0, 1.0) - day * day / 2)
        volume = [
            level * math.exp(bucket * gauss(0.0, 1.0) - bucket * bucket / 2) for _ in self._profile
        ]
        return path, volume

    def _expected_volume(self) -> float:
        """Shares an average day trades here: the background market orders (the U-shape
        has mean 1, and so has the day's multiplier)."""
        cfg = self.config
        mean_size = sum(self._sizes) / len(self._sizes)
        seconds = self.session.length_ns / _NS
        return 2 * cfg.market_rate * cfg.rate_scale * mean_size * seconds

    def _draw_arrival(self, t: int) -> int:
        """Next arrival after ``t``: exponential at the bucket's rate, redrawn at the bucket
        boundary if it falls beyond it (exact for a piecewise-constant intensity)."""
        last = self._last_bucket
        random = self.rng.random
        while True:
            bucket_end = self._bucket_end
            if t >= bucket_end and self._bucket < last:
                self._enter_bucket(self._bucket + 1)
                continue
            arrival = t + (int(-math.log(1.0 - random()) * self._mean_gap_ns) + 1)
            if arrival <= bucket_end or self._bucket == last:
                return arrival
            t = bucket_end

    def _enter_bucket(self, k: int) -> None:
        """Cache the bucket's rates: mean gap between arrivals, mean lives, spread offset."""
        u = self._profile[k]
        self._bucket = k
        self._bucket_end = self.session.open_ns + (k + 1) * self._bucket_ns
        # A zero rate means "never": a tiny floor keeps the arithmetic finite.
        self._mean_gap_ns = _NS / max(2 * self._side_rate * u, _NEVER)
        self._mean_life_ns = [_NS / max(rate * u, _NEVER) for rate in self._cancel_rates]
        offset = max(0, self.config.open_spread_ticks - k)
        # a limit order of kind k rests this far from the opposite best
        self._distances = [(kind + 1 + offset) * self.tick for kind in range(self._limit_kinds)]

    # ---------------------------------------------------------------- set-up

    def _seed_book(self) -> None:
        mid = self._on_tick(self.ref_price)
        self._add_depth(BUY, mid - self.tick, self.now)
        self._add_depth(SELL, mid + self.tick, self.now)

    def _add_depth(self, side: int, best: int, t: int) -> None:
        """``depth_levels`` levels of about ``initial_level_size`` shares from ``best`` out."""
        cfg = self.config
        last_kind = self._limit_kinds - 1
        for level in range(cfg.depth_levels):
            price = best - side * level * self.tick
            if price <= 0:
                break
            placed = 0
            while placed < cfg.initial_level_size:
                size = self._sizes[int(self.rng.random() * _SIZE_TABLE)]
                self._next_id += 1
                self.book.limit(self._next_id, side, price, size)
                life = (
                    -math.log(1.0 - self.rng.random())
                    * self._mean_life_ns[min(level + 1, last_kind)]
                )
                heapq.heappush(self._expiries, (t + int(life) + 1) << _ID_BITS | self._next_id)
                placed += size

    def _size_table(self) -> list[int]:
        cfg, rng, lot = self.config, self.rng, self.lot
        mu = math.log(cfg.mean_size) - _SIZE_SIGMA**2 / 2
        sizes = []
        for _ in range(_SIZE_TABLE):
            raw = rng.lognormvariate(mu, _SIZE_SIGMA)
            if rng.random() < _ROUND_LOT_SHARE and 100 % lot == 0:
                size = max(100, round(raw / 100) * 100)
            else:
                size = max(lot, round(raw / lot) * lot)
            sizes.append(size)
        return sizes

    def _on_tick(self, price: int) -> int:
        return max(self.tick, price - price % self.tick)
