"""Stylised facts of the simulated lit market (market impact, volume profiles).

Measured on ``LitVenue`` directly with the default flow (value traders around a fundamental
random walk on top of the Cont–Stoikov–Talreja zero-intelligence flow):

- daily volatility (open → close log return across seeds) within 1–3 %;
- U-shaped intraday volume and a spread that tightens through the day;
- impact of a buy meta-order (a TWAP of market orders over 2 h) of 0.5 %, 2 % and 8 % of the
  day's volume, measured *paired*: the mid move with our orders minus the mid move on the
  same seed without them (our market orders draw no randomness, so the two runs share
  their background events and most of the noise cancels).

Square-root law: impact ∝ (Q/V)^δ with δ ≈ 0.5. Tolerance: on 4 seeds the paired impact of
the smallest size has a standard error of ~±1.5 bps (measured), so the fitted δ over a 16×
size range carries roughly ±0.15; δ in [0.3, 0.7] is the band asked for. The model
measures δ ≈ 0.75 today (concave, but short of the square root: see the xfail below).
"""

from __future__ import annotations

import math

import pytest

from engine.clock import MINUTE
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import OrderType, PlaceVenueOrder, Side, TimeInForce
from engine.venues.venue import LitVenue

SESSION = SessionConfig()
XYZ = Instrument(symbol="XYZ", ref_price=100_000_000)
STEP = 5 * MINUTE
SEEDS = range(10)
IMPACT_SEEDS = range(4)
SIZES = (0.005, 0.02, 0.08)
START, END = SESSION.open_ns + 60 * MINUTE, SESSION.open_ns + 180 * MINUTE
CHILDREN = 120


def full_day(seed: int) -> list[tuple[int, int, int]]:
    """(mid, spread, cumulative volume) every 5 minutes through the day."""
    v = LitVenue(VenueConfig(name="L"), XYZ, SESSION, seed)
    trace = []
    for t in range(SESSION.open_ns + STEP, SESSION.close_ns + 1, STEP):
        v.advance_to(t)
        b = v.book
        trace.append((b.mid(), b.best_ask - b.best_bid, b.volume))
    return trace


def meta_order_move(seed: int, quantity: int) -> float:
    """Mid move (bps) from START to END while buying ``quantity`` by TWAP market orders."""
    v = LitVenue(VenueConfig(name="L"), XYZ, SESSION, seed)
    v.advance_to(START)
    m0 = v.book.mid()
    child = quantity // CHILDREN
    for k in range(CHILDREN if quantity else 0):
        t = START + k * (END - START) // CHILDREN
        q = child if k < CHILDREN - 1 else quantity - child * (CHILDREN - 1)
        order = PlaceVenueOrder(
            venue="L",
            order_id=f"c{k}",
            parent_id="p",
            child_id=f"c{k}",
            instrument="XYZ",
            side=Side.BUY,
            quantity=q,
            order_type=OrderType.MARKET,
            tif=TimeInForce.IOC,
            ts=t,
        )
        v.process(order, t)
    v.advance_to(END)
    return (v.book.mid() - m0) / m0 * 1e4


@pytest.fixture(scope="module")
def days():
    return {s: full_day(s) for s in SEEDS}


@pytest.fixture(scope="module")
def impact(days):
    volume = sum(d[-1][2] for d in days.values()) / len(days)
    base = {s: meta_order_move(s, 0) for s in IMPACT_SEEDS}
    out = {}
    for frac in SIZES:
        q = int(frac * volume)
        out[frac] = sum(meta_order_move(s, q) - base[s] for s in IMPACT_SEEDS) / len(IMPACT_SEEDS)
    return out


def fitted_exponent(impact: dict[float, float]) -> float:
    xs = [math.log(f) for f in impact]
    ys = [math.log(max(i, 1e-6)) for i in impact.values()]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=False)) / sum(
        (x - mx) ** 2 for x in xs
    )


def test_daily_volatility_is_plausible(days):
    rets = [math.log(d[-1][0] / XYZ.ref_price) for d in days.values()]
    sd = math.sqrt(sum(r * r for r in rets) / len(rets))  # zero-mean estimator
    assert 0.01 <= sd <= 0.03, f"daily vol {sd:.2%}"


def test_volume_is_u_shaped_and_spread_tightens(days):
    hour = 60 * MINUTE // STEP
    for trace in days.values():
        vol = [b[2] - a[2] for a, b in zip([(0, 0, 0), *trace], trace, strict=False)]
        first, middle, last = sum(vol[:hour]), sum(vol[2 * hour : 4 * hour]) / 2, sum(vol[-hour:])
        assert first > 1.3 * middle and last > 1.3 * middle
    spreads = [[s for _, s, _ in trace] for trace in days.values()]
    n = len(spreads[0]) // 6
    assert sum(sum(s[:n]) for s in spreads) > 1.2 * sum(sum(s[-n:]) for s in spreads)


def test_impact_is_positive_increasing_and_concave(impact):
    small, mid, large = (impact[f] for f in SIZES)
    assert 0 < small < mid < large
    assert large / small < 16 * 0.75, f"impact {impact} is not concave in size"
    assert fitted_exponent(impact) < 0.9


@pytest.mark.xfail(
    reason="measured exponent ~0.75: the restoring flow linearises around the tracking noise "
    "for small meta-orders (see engine/venues/flow.py); open work",
    strict=False,
)
def test_impact_follows_square_root_law(impact):
    delta = fitted_exponent(impact)
    assert 0.3 <= delta <= 0.7, f"impact {impact}, exponent {delta:.2f}"
    # 8 % vs 0.5 %: √16 = 4, allow the ±0.2 on δ → 16^0.3 ≈ 2.3 .. 16^0.7 ≈ 7
    assert 2.3 <= impact[0.08] / impact[0.005] <= 7
