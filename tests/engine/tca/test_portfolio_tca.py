"""The portfolio roll-up on hand-derived figures: notional-weighted cost vs arrival and
vs the interval VWAP, per instrument, side, strategy and venue."""

import pytest

from engine.messages import Side
from engine.prices import to_price
from engine.tca.metrics import Fill, MarketTape, ParentInfo, parent_tca
from engine.tca.portfolio import portfolio_tca
from engine.tca.text import portfolio_text

P = to_price


def tape(price: str, vwap: str) -> MarketTape:
    """Mid ``price`` throughout; the market trades 1,000 shares at ``vwap`` in [0, 10]."""
    return MarketTape([(0, P(price), 0, 0), (10, P(price), 1_000, 1_000 * P(vwap))])


def fill(side, qty, price, venue, fee=0):
    return Fill("C1", 5, venue, "Limit", side, qty, P(price), P(price), fee, None, "")


def parent(pid, symbol, strategy, side, arrival, vwap, fills):
    info = ParentInfo(
        parent_id=pid,
        side=side,
        target=sum(f.quantity for f in fills) * 2,
        start_ns=0,
        end_ns=10,
        arrival_price=P(arrival),
        instrument=symbol,
        strategy=strategy,
    )
    return parent_tca(info, fills, tape(arrival, vwap))


@pytest.fixture
def rollup():
    buy = Side.BUY
    a = parent(
        "P1",
        "AAA",
        "VWAP",
        buy,
        "100",
        "99.95",
        [fill(buy, 100, "100.10", "LIT1", fee=P("0.30")), fill(buy, 100, "100.00", "LIT2")],
    )
    b = parent("P2", "BBB", "TWAP", Side.SELL, "50", "50", [fill(Side.SELL, 200, "49.95", "LIT1")])
    return portfolio_tca([a, b])


def test_cost_vs_arrival_is_notional_weighted_over_fills(rollup):
    # AAA: 100·0.10 / (200·100) = 5 bps; BBB: 200·0.05 / (200·50) = 10 bps
    by = {b.key: b for b in rollup.instruments}
    assert by["AAA"].arrival_bps == pytest.approx(5.0)
    assert by["BBB"].arrival_bps == pytest.approx(10.0)
    # the portfolio: (10 + 10) / (20,000 + 10,000), not the mean of 5 and 10
    assert rollup.total.arrival_bps == pytest.approx(20 / 30_000 * 1e4)
    assert rollup.total.filled == 400 and rollup.total.target == 800
    assert str(rollup.total.fees) == "0.3"


def test_cost_vs_vwap_uses_each_parents_interval_vwap(rollup):
    # AAA vs 99.95: (100·0.15 + 100·0.05) / (200·99.95); BBB vs 50: 10 bps
    by = {b.key: b for b in rollup.instruments}
    assert by["AAA"].vwap_bps == pytest.approx(20 / (200 * 99.95) * 1e4)
    assert by["BBB"].vwap_bps == pytest.approx(10.0)


def test_buckets_by_side_strategy_and_venue(rollup):
    assert [b.key for b in rollup.sides] == ["buy", "sell"]
    assert [b.key for b in rollup.strategies] == ["TWAP", "VWAP"]
    venues = {b.key: b for b in rollup.venues}
    # LIT1: AAA 100·0.10 and BBB 200·0.05 over 100·100 + 200·50; LIT2 at arrival
    assert venues["LIT1"].arrival_bps == pytest.approx(20 / 20_000 * 1e4)
    assert venues["LIT2"].arrival_bps == pytest.approx(0.0)
    assert venues["LIT1"].parents == 2 and venues["LIT2"].parents == 1


def test_json_and_text_show_every_bucket(rollup):
    out = rollup.as_json()
    assert out["total"]["cost_vs_arrival_bps"] == pytest.approx(6.6667)
    assert [b["key"] for b in out["instruments"]] == ["AAA", "BBB"]
    text = portfolio_text(rollup)
    for title in ("By side", "By strategy", "By venue", "By instrument (2)"):
        assert title in text
    assert "+6.7" in text
