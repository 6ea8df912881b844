"""Stylised facts of the simulated lit market (market impact, returns, volume profiles).

Measured on ``LitVenue`` directly with the default flow over whole days:

- daily volatility (open → close log return across seeds) within 1–3 %;
- no spurious momentum: lag-1 autocorrelation of 5-minute mid returns within ±0.05
  (pooled over 10 days: its standard error is about 1/√780 ≈ 0.036);
- U-shaped intraday volume on average, varying from day to day around that profile, and
  a spread that tightens through the day;
- the square-root law of a buy meta-order (a TWAP of 200-share market orders over 2 h) of
  0.5 %, 2 %, 8 % and 20 % of the average day's volume, measured *paired*: the mid with
  our orders minus the mid on the same seed without them. Both runs share the value's
  path, so what differs is our impact and the mid's few ticks of tracking noise around
  the value, which averaging the mid over a minute shrinks further;
- the impact relaxes after the meta-order ends, to between 0.4 and 0.85 of its peak two
  hours later (part transient, part permanent).
"""

from __future__ import annotations

import itertools
import math

import pytest

from engine.clock import MINUTE, SECOND
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import OrderType, PlaceVenueOrder, Side, TimeInForce
from engine.venues.venue import LitVenue

SESSION = SessionConfig()
XYZ = Instrument(symbol="XYZ", ref_price=100_000_000)
STEP = 5 * MINUTE
SEEDS = range(10)
IMPACT_SEEDS = range(3)
SIZES = (0.005, 0.02, 0.08, 0.2)
START, END = SESSION.open_ns + 60 * MINUTE, SESSION.open_ns + 180 * MINUTE
LATER = END + 120 * MINUTE  # as long after the end as the meta-order lasted
CHILD = 200  # shares per market order: each one fills at the touch or close to it


def touch(v: LitVenue) -> tuple[int, int]:
    bid, ask = v.book.best_bid, v.book.best_ask
    assert bid is not None and ask is not None, "the book went one-sided"
    return bid, ask


def mid(v: LitVenue) -> int:
    bid, ask = touch(v)
    return (bid + ask) // 2


def full_day(seed: int) -> list[tuple[int, int, int]]:
    """(mid, spread, cumulative volume) every 5 minutes through the day."""
    v = LitVenue(VenueConfig(name="L"), XYZ, SESSION, seed)
    trace = []
    for t in range(SESSION.open_ns + STEP, SESSION.close_ns + 1, STEP):
        v.advance_to(t)
        bid, ask = touch(v)
        trace.append((mid(v), ask - bid, v.book.volume))
    return trace


def minute_mid(v: LitVenue, t: int) -> float:
    """The mid averaged over the minute from ``t`` (every 5 s)."""
    mids = []
    for k in range(12):
        v.advance_to(t + k * 5 * SECOND)
        mids.append(mid(v))
    return sum(mids) / len(mids)


def meta_order(seed: int, quantity: int) -> tuple[float, float]:
    """Mid move (bps from START) at END and at LATER, buying ``quantity`` from START to END
    by market orders of ``CHILD`` shares evenly spaced."""
    v = LitVenue(VenueConfig(name="L"), XYZ, SESSION, seed)
    v.advance_to(START)
    m0 = mid(v)
    n = -(-quantity // CHILD)
    for k in range(n):
        t = START + k * (END - START) // n
        order = PlaceVenueOrder(
            venue="L",
            order_id=f"c{k}",
            parent_id="p",
            child_id=f"c{k}",
            instrument="XYZ",
            side=Side.BUY,
            quantity=min(CHILD, quantity - k * CHILD),
            order_type=OrderType.MARKET,
            tif=TimeInForce.IOC,
            ts=t,
        )
        v.process(order, t)
    assert v.flow.directional >= 0.99 * quantity  # the meta-order did trade
    end, later = ((minute_mid(v, t) - m0) / m0 * 1e4 for t in (END, LATER))
    return end, later


@pytest.fixture(scope="module")
def days():
    return {s: full_day(s) for s in SEEDS}


@pytest.fixture(scope="module")
def daily_volume(days):
    return sum(d[-1][2] for d in days.values()) / len(days)


@pytest.fixture(scope="module")
def daily_vol(days):
    rets = [math.log(d[-1][0] / XYZ.ref_price) for d in days.values()]
    return math.sqrt(sum(r * r for r in rets) / len(rets))  # zero-mean estimator


@pytest.fixture(scope="module")
def impact(daily_volume):
    """Size → (impact at the end, impact two hours later), bps, averaged over seeds."""
    base = {s: meta_order(s, 0) for s in IMPACT_SEEDS}
    out = {}
    for frac in SIZES:
        moves = [meta_order(s, int(frac * daily_volume)) for s in IMPACT_SEEDS]
        out[frac] = tuple(
            sum(m[i] - base[s][i] for s, m in zip(IMPACT_SEEDS, moves, strict=True))
            / len(IMPACT_SEEDS)
            for i in range(2)
        )
    return out


def fitted_exponent(impact: dict[float, float]) -> float:
    xs = [math.log(f) for f in impact]
    ys = [math.log(max(i, 1e-6)) for i in impact.values()]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def test_daily_volatility_is_plausible(daily_vol):
    assert 0.01 <= daily_vol <= 0.03, f"daily vol {daily_vol:.2%}"


def five_minute_volumes(trace: list[tuple[int, int, int]]) -> list[int]:
    return [b[2] - a[2] for a, b in zip([(0, 0, 0), *trace], trace, strict=False)]


def test_volume_is_u_shaped_on_average_and_spread_tightens(days):
    hour = 60 * MINUTE // STEP
    vol = [sum(v) for v in zip(*(five_minute_volumes(t) for t in days.values()), strict=True)]
    first, middle, last = sum(vol[:hour]), sum(vol[2 * hour : 4 * hour]) / 2, sum(vol[-hour:])
    assert first > 1.5 * middle and last > 1.5 * middle
    spreads = [[s for _, s, _ in trace] for trace in days.values()]
    n = len(spreads[0]) // 6
    assert sum(sum(s[:n]) for s in spreads) > 1.2 * sum(sum(s[-n:]) for s in spreads)


def test_volume_varies_from_day_to_day_around_the_profile(days):
    """A VWAP forecasting from the average profile meets a forecast error: each day's
    half-hour shares of its volume stray from the average, and so does its total."""
    half_hour = 30 * MINUTE // STEP
    shares = []
    for trace in days.values():
        five = five_minute_volumes(trace)
        buckets = [sum(five[k : k + half_hour]) for k in range(0, len(five), half_hour)]
        shares.append([b / sum(buckets) for b in buckets])
    average = [sum(b) / len(b) for b in zip(*shares, strict=True)]
    error = sum(abs(s - a) / a for day in shares for s, a in zip(day, average, strict=True))
    error /= len(shares) * len(average)
    assert 0.08 <= error <= 0.4, f"mean relative error of the bucket shares {error:.3f}"
    totals = [trace[-1][2] for trace in days.values()]
    mean = sum(totals) / len(totals)
    cv = math.sqrt(sum((v - mean) ** 2 for v in totals) / len(totals)) / mean
    assert 0.1 <= cv <= 0.6, f"day-to-day coefficient of variation of volume {cv:.2f}"


def test_five_minute_returns_have_no_momentum(days):
    rets = []
    for trace in days.values():
        mids = [XYZ.ref_price] + [m for m, _, _ in trace]
        rets.append([math.log(b / a) for a, b in itertools.pairwise(mids)])
    cov = sum(a * b for r in rets for a, b in itertools.pairwise(r))
    var = sum(a * a for r in rets for a in r)
    assert abs(cov / var) <= 0.05, f"lag-1 autocorrelation {cov / var:+.3f}"


def test_impact_follows_square_root_law(impact, daily_volume, daily_vol):
    peak = {frac: end for frac, (end, _) in impact.items()}
    assert all(peak[a] < peak[b] for a, b in itertools.pairwise(SIZES)), peak
    delta = fitted_exponent(peak)
    assert 0.4 <= delta <= 0.6, f"impact {peak}, exponent {delta:.2f}"
    # I = Y·σ_D·√(Q/V_D) with Y of order 1 (Tóth et al. 2011: 0.5–1)
    ys = [peak[f] / (daily_vol * 1e4 * math.sqrt(f)) for f in SIZES]
    assert all(0.3 <= y <= 1.5 for y in ys), f"Y {ys}"


def test_impact_relaxes_partly_after_the_meta_order(impact):
    ratios = {frac: later / end for frac, (end, later) in impact.items()}
    assert all(0.4 <= r <= 0.85 for r in ratios.values()), f"later / peak {ratios}"
