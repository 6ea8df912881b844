"""TCA formulas on hand-derived cases (sign conventions: docs/tca.md)."""

from decimal import Decimal
from fractions import Fraction

import pytest

from engine import messages as m
from engine.audit.journal import Journal
from engine.clock import MINUTE, SECOND
from engine.messages import Side
from engine.prices import to_price
from engine.tca.from_trail import tca_from_journal
from engine.tca.metrics import (
    Fill,
    MarketTape,
    ParentInfo,
    fill_rows,
    fill_total,
    implementation_shortfall,
    markout_bps,
    parent_tca,
    performance_bps,
    quantity_weighted_markout,
    slippage_bps,
    to_currency,
)

P = to_price


def fill(
    qty,
    price,
    bench=None,
    side=Side.BUY,
    ts=0,
    venue="LIT1",
    fee=0,
    child="C1",
    liquidity=None,
    fill_id="",
):
    return Fill(
        child,
        ts,
        venue,
        "Limit",
        side,
        qty,
        P(price),
        P(bench) if bench else None,
        fee,
        liquidity,
        fill_id,
    )


# --------------------------------------------------------------------------- signs


def test_buy_above_benchmark_is_a_cost_and_negative_performance():
    assert slippage_bps(Side.BUY, P("100.02"), P("100.00")) == pytest.approx(2.0)
    assert performance_bps(Side.BUY, P("100.02"), P("100.00")) == pytest.approx(-2.0)


def test_sell_above_benchmark_is_a_gain():
    assert slippage_bps(Side.SELL, P("100.02"), P("100.00")) == pytest.approx(-2.0)
    assert performance_bps(Side.SELL, P("100.02"), P("100.00")) == pytest.approx(2.0)


def test_markout_sign_is_negative_when_the_market_moves_against_the_fill():
    assert markout_bps(Side.BUY, P("100"), P("99.95")) == pytest.approx(-5.0)
    assert markout_bps(Side.SELL, P("100"), P("99.95")) == pytest.approx(5.0)


# ------------------------------------------------------------------------- totals


def test_total_is_quantity_weighted_from_fills_not_averaged_bps():
    rows = fill_rows([fill(100, "100.00", "100.00"), fill(300, "101.00", "100.00")])
    total = fill_total(rows)
    assert total.quantity == 400
    assert total.avg_price == Decimal("100.75")  # (100·100 + 300·101)/400, exact
    assert total.benchmark == Decimal("100")
    assert total.slippage_bps == pytest.approx(75.0)  # not (0 + 100)/2 = 50
    assert total.performance_bps == pytest.approx(-75.0)


def test_mixed_sides_total_nets_signed_costs():
    rows = fill_rows([fill(100, "100.10", "100.00"), fill(100, "100.10", "100.00", side=Side.SELL)])
    assert fill_total(rows).slippage_bps == pytest.approx(0.0)


def test_a_sample_fill_table_follows_from_the_formulas():
    # (qty, price, VWAP) of a desk's sample table; performance = -(p - b)/b·1e4 for a buy.
    sample = [
        (5000, "100.005", "100.010"),
        (10000, "100.020", "100.022"),
        (7500, "100.045", "100.050"),
        (12500, "100.120", "100.115"),
        (15000, "100.210", "100.211"),
    ]
    rows = fill_rows([fill(q, p, b) for q, p, b in sample])
    hand = [50 / 100.010, 20 / 100.022, 50 / 100.050, -50 / 100.115, 10 / 100.211]
    assert [r.performance_bps for r in rows] == pytest.approx(hand)
    assert [round(r.performance_bps, 1) for r in rows] == [0.5, 0.2, 0.5, -0.5, 0.1]
    total = fill_total(rows)
    # Σq·p = 5,005,212.5 and Σq·b = 5,005,247.5 over 50,000 shares.
    assert total.avg_price == Decimal("100.10425")
    assert total.benchmark == Decimal("100.10495")
    assert total.performance_bps == pytest.approx(0.0007 / 100.10495 * 1e4)
    assert round(total.performance_bps, 1) == 0.1  # the sample's +0.1
    # The sample's 100.108 / 100.109 total prices do not follow from its own rows.


# ------------------------------------------------------------------------- IS


def is_case(side):
    fills = [fill(600, "100.20", side=side, fee=to_price("3"))]
    return implementation_shortfall(side, 1000, P("100.00"), P("100.10"), fills, P("100.50"))


def test_is_decomposition_for_a_buy():
    s = is_case(Side.BUY).as_currency()
    assert s == {
        "delay": Decimal(100),
        "trading": Decimal(60),
        "opportunity": Decimal(160),
        "fees": Decimal(3),
        "total": Decimal(323),
    }


def test_is_components_sum_to_the_total_shortfall_and_sells_flip_sign():
    for side in (Side.BUY, Side.SELL):
        s = is_case(side)
        # side·(Σ s_j p_j + (S − s)·P_n − S·P_d) + fees
        direct = side * (600 * P("100.20") + 400 * P("100.50") - 1000 * P("100.00")) + P("3")
        assert s.delay + s.trading + s.opportunity + s.fees == s.total == direct
    sell = is_case(Side.SELL).as_currency()
    assert (sell["delay"], sell["trading"], sell["opportunity"]) == (-100, -60, -160)
    assert is_case(Side.BUY).bps(is_case(Side.BUY).total) == pytest.approx(32.3)


# --------------------------------------------------------------------- tape, markouts


def tape():
    # (ts, mid, cumulative volume, cumulative notional)
    return MarketTape(
        [
            (0, P("100.00"), 0, 0),
            (SECOND, P("100.05"), 100, 100 * P("100.00")),
            (2 * SECOND, P("100.05"), 300, 100 * P("100.00") + 200 * P("100.30")),
            (5 * MINUTE, P("99.90"), 300, 100 * P("100.00") + 200 * P("100.30")),
        ]
    )


def test_tape_vwap_volume_and_mid_are_step_functions():
    t = tape()
    assert t.vwap(0, 2 * SECOND) == Fraction(P("100.20"))
    assert t.vwap(SECOND, 2 * SECOND) == P("100.30")
    assert t.vwap(2 * SECOND, 3 * SECOND) is None
    assert t.volume(0, 10 * SECOND) == 300
    assert t.mid_at(SECOND + 1) == P("100.05") and t.mid_at(-1) is None


def test_markouts_are_quantity_weighted_and_skip_fills_past_the_tape():
    t = tape()
    buys = [fill(100, "100.00", ts=0), fill(300, "100.00", ts=10 * MINUTE)]
    assert quantity_weighted_markout(Side.BUY, buys, t, SECOND) == pytest.approx(5.0)
    assert quantity_weighted_markout(Side.BUY, buys, t, 5 * MINUTE) == pytest.approx(-10.0)
    sells = [fill(100, "100.00", ts=0, side=Side.SELL)]
    assert quantity_weighted_markout(Side.SELL, sells, t, SECOND) == pytest.approx(-5.0)
    assert quantity_weighted_markout(Side.BUY, buys[1:], t, SECOND) is None


def test_parent_summary():
    info = ParentInfo("P1", Side.BUY, 400, 0, 2 * SECOND, arrival_price=P("100.00"))
    fills = [
        fill(100, "100.10", ts=SECOND, venue="LIT1"),
        fill(50, "100.00", ts=2 * SECOND, venue="DARK1", liquidity=m.Liquidity.MIDPOINT),
        fill(50, "100.00", ts=2 * SECOND, venue="INTERNAL", liquidity=m.Liquidity.INTERNAL),
    ]
    p = parent_tca(info, fills, tape())
    assert p.filled == 200 and p.avg_price == Decimal("100.05")
    assert p.interval_vwap == Decimal("100.2")
    assert p.arrival_slippage_bps == pytest.approx(5.0)
    assert p.vwap_slippage_bps == pytest.approx((100.05 - 100.2) / 100.2 * 1e4)
    assert p.participation == pytest.approx(150 / 300)  # the cross never hit the market
    assert p.internalised_quantity == 50
    assert [(v.venue, v.quantity, v.share) for v in p.venues] == [
        ("DARK1", 50, 0.25),
        ("INTERNAL", 50, 0.25),
        ("LIT1", 100, 0.5),
    ]
    # Unfilled 200 marked at the mid at end (100.05): opportunity = 200·0.05 = 10 $.
    assert p.shortfall.as_currency()["opportunity"] == Decimal(10)
    assert p.total.slippage_bps == pytest.approx(p.vwap_slippage_bps)  # fallback benchmark
    assert set(p.markouts) == {SECOND, 5 * MINUTE}


# ------------------------------------------------------------------ from a journal


def md(ts, bid, ask, volume, notional, venue="LIT1"):
    return m.MarketDataUpdated(
        venue=venue,
        instrument="XYZ",
        kind=m.VenueKind.LIT,
        status=m.VenueStatus.UP,
        bids=[m.BookLevel(P(bid), 100)],
        asks=[m.BookLevel(P(ask), 100)],
        volume=volume,
        notional=notional,
        ts=ts,
    )


def _report(client_order_id: str, exec_id: str, **fields) -> m.ExecutionReport:
    """A buy trade report of source OMS, account A, at 2 s."""
    return m.ExecutionReport(
        source="OMS",
        account="A",
        client_order_id=client_order_id,
        exec_id=exec_id,
        exec_type=m.ExecType.TRADE,
        instrument="XYZ",
        side=Side.BUY,
        ts=2 * SECOND,
        **fields,
    )


def _parent_with_one_market_child(client_order: m.ClientOrder) -> list[m.Message]:
    """c1 makes P1 (300), whose market child C1 buys 200 at 100.02 on LIT1."""
    return [
        md(0, "99.99", "100.01", 0, 0),
        m.SubmitClientOrder(order=client_order, ts=0),
        m.ParentOrderCreated(
            parent_id="P1",
            instrument="XYZ",
            side=Side.BUY,
            quantity=300,
            limit_price=None,
            mandate=m.Mandate(),
            arrival_mid=P("100.00"),
            ts=SECOND,
        ),
        m.PlaceChildOrder(
            parent_id="P1", child_id="C1", instrument="XYZ", side=Side.BUY, quantity=200, ts=SECOND
        ),
        m.PlaceVenueOrder(
            venue="LIT1",
            order_id="V1",
            parent_id="P1",
            child_id="C1",
            instrument="XYZ",
            side=Side.BUY,
            quantity=200,
            order_type=m.OrderType.MARKET,
            ts=SECOND,
        ),
        md(2 * SECOND, "100.01", "100.03", 1000, 1000 * P("100.02")),
        m.ParentOrderFilled(
            parent_id="P1",
            child_id="C1",
            fill_id="F1",
            venue="LIT1",
            quantity=200,
            price=P("100.02"),
            liquidity=m.Liquidity.TAKER,
            fee=P("0.60"),
            ts=2 * SECOND,
        ),
    ]


def _cross_and_reports() -> list[m.Message]:
    """150 crossed: 100 of P1's unfilled part (c1, its member), 50 of a new order c2;
    then c1's market fill and P1 completed at 200."""
    internal = {"last_price": P("100.02"), "internal": True, "venue": "INTERNAL"}
    return [
        m.InternalCrossExecuted(
            cross_id="X1",
            instrument="XYZ",
            quantity=150,
            price=P("100.02"),
            buy_parent_id="P1",
            sell_parent_id="P2",
            ts=2 * SECOND,
        ),
        _report(
            "c1",
            "E0",
            ord_status=m.OrdStatus.PARTIALLY_FILLED,
            order_qty=300,
            cum_qty=100,
            leaves_qty=200,
            last_qty=100,
            parent_id="P1",
            **internal,
        ),
        _report(
            "c2",
            "E00",
            ord_status=m.OrdStatus.FILLED,
            order_qty=50,
            cum_qty=50,
            leaves_qty=0,
            last_qty=50,
            parent_id=None,
            **internal,
        ),
        _report(
            "c1",
            "E1",
            ord_status=m.OrdStatus.FILLED,
            order_qty=300,
            cum_qty=200,
            leaves_qty=100,
            parent_id="P1",
        ),
        m.ParentStateChanged(
            parent_id="P1", state=m.ParentState.COMPLETED, target=200, filled=200, ts=3 * SECOND
        ),
    ]


def test_tca_from_a_journal():
    j = Journal(":memory:")
    order = m.ClientOrder(
        source="OMS",
        account="A",
        client_order_id="c1",
        instrument="XYZ",
        side=Side.BUY,
        quantity=300,
    )
    for msg in [*_parent_with_one_market_child(order), *_cross_and_reports()]:
        j.append(msg)
    (p,) = tca_from_journal(j).parents
    assert (p.target, p.filled, p.end_ns, p.internalised_quantity) == (200, 200, 3 * SECOND, 100)
    assert p.rows[0].fill.order_type == "Market"
    assert p.rows[0].benchmark == P("100.02")  # market VWAP over the child's life
    assert p.arrival_slippage_bps == pytest.approx(2.0)
    assert p.participation == pytest.approx(0.2)
    assert p.shortfall.as_currency() == {
        "delay": Decimal(0),
        "trading": Decimal(4),
        "opportunity": Decimal(0),
        "fees": Decimal("0.6"),
        "total": Decimal("4.6"),
    }
    assert to_currency(p.shortfall.paper_value) == Decimal(20000)
