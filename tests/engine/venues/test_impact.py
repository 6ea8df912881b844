"""Impact of directional flow: the square root of the latent volume, its relaxation, its
independence from how time is sliced, and its reach across the venues of a market."""

from __future__ import annotations

import math

import pytest

from engine.clock import MINUTE, SECOND
from engine.config import FlowConfig, SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import (
    MarketDataUpdated,
    OrderType,
    PlaceVenueOrder,
    Side,
    TimeInForce,
    VenueKind,
    VenueStatus,
)
from engine.venues.impact import LatentImpact
from engine.venues.lit import LitVenue

SESSION = SessionConfig()
XYZ = Instrument(symbol="XYZ", ref_price=100_000_000)
T0 = SESSION.open_ns
DAILY = 1_000_000
CONFIG = FlowConfig()


def test_impact_is_the_square_root_of_the_volume_and_signed():
    one, four, sold = (LatentImpact(CONFIG, DAILY, T0) for _ in range(3))
    one.trade(T0, 10_000)
    four.trade(T0, 40_000)
    sold.trade(T0, -10_000)
    assert four.at(T0) == pytest.approx(2 * one.at(T0))
    assert sold.at(T0) == pytest.approx(-one.at(T0))
    # Y·σ_D·√(Q/V_D) at the instant of the trade, when nothing has decayed yet
    assert one.at(T0) == pytest.approx(CONFIG.impact_y * CONFIG.fundamental_vol * 0.1)


def test_impact_relaxes_to_its_permanent_part():
    impact = LatentImpact(CONFIG, DAILY, T0)
    impact.trade(T0, 10_000)
    peak = impact.at(T0)
    later = [impact.at(T0 + m * MINUTE) for m in (1, 10, 60, 600)]
    assert peak > later[0] > later[1] > later[2] > later[3] > 0
    permanent = 1 - sum(CONFIG.impact_weights)
    assert later[-1] == pytest.approx(math.sqrt(permanent) * peak, rel=1e-3)


def test_buying_then_selling_the_same_volume_leaves_no_permanent_impact():
    impact = LatentImpact(CONFIG, DAILY, T0)
    impact.trade(T0, 10_000)
    impact.trade(T0 + MINUTE, -10_000)
    assert abs(impact.at(T0 + 1_000 * MINUTE)) < 1e-6


def buy(venue: LitVenue, k: int, t: int, quantity: int = 200) -> None:
    order = PlaceVenueOrder(
        venue=venue.name,
        order_id=f"c{k}",
        parent_id="p",
        child_id=f"c{k}",
        instrument="XYZ",
        side=Side.BUY,
        quantity=quantity,
        order_type=OrderType.MARKET,
        tif=TimeInForce.IOC,
        ts=t,
    )
    venue.process(order, t)


def test_a_meta_order_does_not_depend_on_how_time_is_sliced():
    a, b = (LitVenue(VenueConfig(name="L"), XYZ, SESSION, seed=5) for _ in range(2))
    for k in range(60):
        t = T0 + 10 * MINUTE + k * 20 * SECOND
        buy(a, k, t)
        b.advance_to(t - 7_777_777)  # b is looked at between the orders too
        buy(b, k, t)
    end = T0 + 40 * MINUTE
    a.advance_to(end)
    b.advance_to(end)
    assert a.flow.directional == b.flow.directional == 60 * 200
    assert a.flow.value == b.flow.value
    assert a.book.depth(1, 5) == b.book.depth(1, 5) and a.book.depth(-1, 5) == b.book.depth(-1, 5)


def two_venue_market(meta_order: bool) -> tuple[LitVenue, LitVenue]:
    """Two venues of one market (one fundamental) reading each other's market data every
    2 s; a meta-order buys 60,000 shares on the first over an hour."""
    a = LitVenue(VenueConfig(name="A"), XYZ, SESSION, seed=1, fundamental_seed=9)
    b = LitVenue(VenueConfig(name="B"), XYZ, SESSION, seed=2, fundamental_seed=9)
    start, k = T0 + 30 * MINUTE, 0
    for t in range(T0 + 2 * SECOND, T0 + 90 * MINUTE + 1, 2 * SECOND):
        while meta_order and k < 300 and start + k * 12 * SECOND <= t:
            buy(a, k, start + k * 12 * SECOND)
            k += 1
        md_a, md_b = a.snapshot(t), b.snapshot(t)
        a.process(md_b, t)
        b.process(md_a, t)
    return a, b


def test_a_meta_order_on_one_venue_moves_the_value_on_the_other():
    a, b = two_venue_market(meta_order=True)
    a0, b0 = two_venue_market(meta_order=False)
    assert a.flow.directional > 59_000 and b.flow.directional == 0
    on_a = a.flow.value / a0.flow.value - 1
    on_b = b.flow.value / b0.flow.value - 1
    assert on_a > 0.001  # over 10 bps
    assert on_b == pytest.approx(on_a, rel=0.02)  # B heard of it up to 2 s late
    moved, unmoved = b.book.mid(), b0.book.mid()
    assert moved is not None and unmoved is not None
    assert (moved - unmoved) / unmoved > 0.5 * on_a


def test_a_restarted_venue_s_directional_volume_counts_again_from_zero():
    """A restart forgets the venue's day (its volume starts again from zero): what it had
    traded stays in the value elsewhere, and what it trades next adds to it."""
    b = LitVenue(VenueConfig(name="B"), XYZ, SESSION, seed=2, fundamental_seed=9)
    t = T0 + MINUTE
    heard = []
    for directional, volume in ((50_000, 900_000), (0, 300), (10_000, 20_000)):
        md = MarketDataUpdated(
            venue="A",
            instrument="XYZ",
            kind=VenueKind.LIT,
            status=VenueStatus.UP,
            volume=volume,
            directional_volume=directional,
            expected_volume=round(b.flow.expected_volume),
            ts=t,
        )
        b.process(md, t)
        heard.append(b.flow.impact.at(t))
    one_venue = LatentImpact(CONFIG, 2 * b.flow.expected_volume, T0)
    one_venue.trade(t, 50_000)
    assert heard[0] == pytest.approx(one_venue.at(t), rel=1e-3)
    assert heard[1] == heard[0]
    one_venue.trade(t, 10_000)
    assert heard[2] == pytest.approx(one_venue.at(t), rel=1e-3)


@pytest.mark.parametrize(
    "kernel",
    [
        {"impact_decay_s": (60.0,), "impact_weights": (0.5, 0.2)},
        {"impact_decay_s": (0.0,), "impact_weights": (0.5,)},
        {"impact_decay_s": (60.0, 600.0), "impact_weights": (0.7, 0.6)},
        {"impact_decay_s": (60.0,), "impact_weights": (-0.1,)},
        {"impact_y": -1.0},
    ],
    ids=["lengths", "zero_time", "weights_over_one", "negative_weight", "negative_y"],
)
def test_a_kernel_that_does_not_decay_from_one_to_a_floor_is_refused(kernel):
    with pytest.raises(ValueError, match=r"flow\.impact"):
        LatentImpact(FlowConfig(**kernel), DAILY, T0)
