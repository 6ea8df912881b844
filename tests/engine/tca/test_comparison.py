"""The comparison's figures on hand-computed examples: shortfall with opportunity cost,
drift adjustment against the counterfactual market, interval VWAP without our own
fills, passive-taker share, time for a child to fill, and the spread across seeds."""

import dataclasses
from fractions import Fraction

import pytest

from engine.messages import Liquidity, Tactic
from engine.tca.comparison import (
    ChildFill,
    ChildPlaced,
    ChildSpell,
    Execution,
    OrderExecution,
    OwnPrints,
    child_fill_times,
    child_spells,
    completion,
    cost_vs_arrival,
    cost_vs_interval_vwap,
    drift_adjusted_cost,
    estimate,
    market_move_bps,
    median_time_to_fill,
    passive_taker_share,
    t975,
    vwap_excluding,
)
from engine.tca.metrics import MarketTape

# The run's market: mid 100.00 → 100.10 at t=20 → 100.20 at t=40 (units of 0.01), 1,000
# shares trading at each step. Without our orders the mid would only have gone to 100.05
# and 100.10: half the rise is ours.
MARKET = MarketTape(
    [(0, 10_000, 0, 0), (20, 10_010, 1_000, 10_010_000), (40, 10_020, 2_000, 20_030_000)]
)
COUNTERFACTUAL = MarketTape([(0, 10_000, 0, 0), (20, 10_005, 0, 0), (40, 10_010, 0, 0)])

# A buy of 100 arriving at t=10 with its horizon at t=50: 60 at 100.12, 20 at 100.14,
# 20 never filled.
BUY = OrderExecution(
    side=1,
    quantity=100,
    arrival_ns=10,
    end_ns=50,
    fills=(
        Execution(ts=20, quantity=60, price=10_012),
        Execution(ts=30, quantity=20, price=10_014),
    ),
)


def test_cost_vs_arrival_counts_the_unfilled_shares_at_the_end_price():
    cost = cost_vs_arrival([BUY], MARKET, fees=100)
    # trading 60·12 + 20·14 = 1,000; opportunity 20·(10,020 − 10,000) = 400; fees 100
    assert cost.trading == 1_000 and cost.opportunity == 400 and cost.fees == 100
    assert cost.paper == 100 * 10_000
    assert cost.bps == pytest.approx(15.0)  # 1,500 / 1,000,000
    assert cost.opportunity_bps == pytest.approx(4.0)
    assert (cost.ordered, cost.filled, cost.fill_ratio) == (100, 80, 0.8)


def test_drift_adjusted_cost_removes_the_markets_own_move():
    cost = drift_adjusted_cost([BUY], MARKET, COUNTERFACTUAL, fees=100)
    # fills against the counterfactual mid then: 60·(10,012 − 10,005) + 20·(10,014 − 10,005)
    assert cost.trading == 600
    # the unfilled rest: our market's end mid less the counterfactual's, 20·(10,020 − 10,010)
    assert cost.opportunity == 200
    assert cost.bps == pytest.approx(9.0)  # (600 + 200 + 100) / 1,000,000
    # = raw cost minus the fill-weighted counterfactual move, for an order arriving unmoved
    raw = cost_vs_arrival([BUY], MARKET, fees=100)
    move = 60 * 5 + 20 * 5 + 20 * 10
    assert raw.total - move == cost.total


def test_the_market_move_is_the_counterfactuals_only():
    # fills: 60·(10,005 − 10,000) + 20·(10,005 − 10,000); the unfilled 20 to the end: 20·10
    assert market_move_bps([BUY], COUNTERFACTUAL) == pytest.approx(6.0)  # 600 / 1,000,000
    # our own market rose twice as much: none of that is counted as the market's move
    assert market_move_bps([BUY], MARKET) == pytest.approx(12.0)
    assert market_move_bps([], COUNTERFACTUAL) is None


def test_a_sell_is_the_mirror_image():
    sell = OrderExecution(
        side=-1,
        quantity=100,
        arrival_ns=10,
        end_ns=50,
        fills=(Execution(ts=20, quantity=100, price=9_995),),
    )
    cost = cost_vs_arrival([sell], MARKET)
    assert cost.trading == 500 and cost.opportunity == 0 and cost.bps == pytest.approx(5.0)
    # the market rose 5 without us while we sold: drift in our favour is taken out
    assert drift_adjusted_cost([sell], MARKET, COUNTERFACTUAL).trading == 1_000


def test_an_order_with_no_fills_costs_only_its_opportunity():
    missed = OrderExecution(side=1, quantity=50, arrival_ns=10, end_ns=50)
    cost = cost_vs_arrival([missed], MARKET)
    assert cost.trading == 0 and cost.opportunity == 50 * 20
    assert cost.bps == pytest.approx(20.0) and cost.fill_ratio == 0.0
    # drift-adjusted, only the part of the rise that is ours: 50·(10,020 − 10,010)
    assert drift_adjusted_cost([missed], MARKET, COUNTERFACTUAL).opportunity == 500


def test_orders_before_any_quote_are_left_out():
    early = OrderExecution(side=1, quantity=10, arrival_ns=-5, end_ns=50)
    cost = cost_vs_arrival([early, BUY], MARKET)
    assert cost.ordered == 100 and cost.bps == pytest.approx(14.0)
    assert cost_vs_arrival([], MARKET).bps is None


def test_interval_vwap_excludes_our_own_fills_from_the_benchmark():
    # the order's life is (10, 50]: 2,000 shares for 20,030,000 traded, 80 of them ours
    own = OwnPrints(BUY.fills)
    assert own.between(10, 50) == (80, 60 * 10_012 + 20 * 10_014)
    assert own.between(20, 50) == (20, 20 * 10_014)  # (start, end]: t=20 is out
    vwap = vwap_excluding(MARKET, own, 10, 50)
    assert vwap == Fraction(20_030_000 - 801_000, 1_920)
    cost = cost_vs_interval_vwap([BUY], MARKET, BUY.fills)
    assert cost == pytest.approx(float((801_000 - 80 * vwap) / (80 * vwap) * 10_000))
    assert cost == pytest.approx(-2.6002, abs=1e-4)
    # with our fills left in, the benchmark would partly be ourselves
    assert cost_vs_interval_vwap([BUY], MARKET, []) != pytest.approx(cost)


def test_interval_vwap_is_none_when_only_we_traded():
    alone = MarketTape([(0, 10_000, 0, 0), (20, 10_010, 60, 60 * 10_012)])
    order = OrderExecution(
        side=1, quantity=60, arrival_ns=10, end_ns=50, fills=(Execution(20, 60, 10_012),)
    )
    assert cost_vs_interval_vwap([order], alone, order.fills) is None


def test_an_order_filled_completely_ends_its_life_at_its_last_fill():
    done = OrderExecution(
        side=1, quantity=60, arrival_ns=10, end_ns=500, fills=(Execution(20, 60, 10_012),)
    )
    assert done.life_end_ns == 20 and BUY.life_end_ns == 50


CHILDREN = {
    "c1": ChildPlaced(child_id="c1", ts=0, quantity=100, tactic=Tactic.PASSIVE),
    "c2": ChildPlaced(child_id="c2", ts=2, quantity=100, tactic=Tactic.AGGRESSIVE),
    "c3": ChildPlaced(child_id="c3", ts=0, quantity=50, tactic=Tactic.PASSIVE),
}
CHILD_FILLS = [
    ChildFill(child_id="c1", ts=5, quantity=60, liquidity=Liquidity.MAKER),
    ChildFill(child_id="c1", ts=9, quantity=40, liquidity=Liquidity.TAKER),
    ChildFill(child_id="c2", ts=3, quantity=100, liquidity=Liquidity.TAKER),
    ChildFill(child_id="c3", ts=20, quantity=30, liquidity=Liquidity.MIDPOINT),
]


def test_passive_taker_share_counts_passive_children_only():
    # passive children filled 100 + 30 shares, 40 of them as taker; c2 was meant to take
    assert passive_taker_share(CHILDREN, CHILD_FILLS) == pytest.approx(40 / 130)
    assert passive_taker_share(CHILDREN, CHILD_FILLS[2:3]) is None


def test_time_to_fill_a_child_completely():
    # c1: placed at 0, complete at 9; c2: 2 → 3; c3 never complete
    assert child_fill_times(CHILDREN, CHILD_FILLS) == [9, 1]


def test_a_child_cancelled_before_it_filled_is_censored_not_dropped():
    # c1 filled at 9, c2 at 1; c3 ended (cancelled) at 30 unfilled: censored at 30
    spells = child_spells(CHILDREN, CHILD_FILLS, {"c1": 9, "c2": 3, "c3": 30})
    assert spells == [
        ChildSpell(tactic=Tactic.PASSIVE, ns=9, filled=True),
        ChildSpell(tactic=Tactic.AGGRESSIVE, ns=1, filled=True),
        ChildSpell(tactic=Tactic.PASSIVE, ns=30, filled=False),
    ]
    # Kaplan-Meier: S(1) = 2/3, S(9) = 2/3 · 1/2 = 1/3 <= 1/2: the median is 9, where
    # dropping c3 would give the median of [1, 9], 5
    assert median_time_to_fill(spells) == 9
    # censored before the second fill: S(1) = 2/3, then one at risk, S(9) = 0
    early = [ChildSpell(Tactic.PASSIVE, 1, True), ChildSpell(Tactic.PASSIVE, 5, False)]
    assert median_time_to_fill([*early, ChildSpell(Tactic.PASSIVE, 9, True)]) == 9
    # fewer than half would fill however long they worked: no median
    assert median_time_to_fill([*early, ChildSpell(Tactic.PASSIVE, 6, False)]) is None
    assert median_time_to_fill([]) is None
    # a child still working when the run stopped has no spell
    assert len(child_spells(CHILDREN, CHILD_FILLS, {})) == 2


def test_a_must_complete_order_is_charged_for_completing_its_rest():
    # BUY's fills paid 10,012 - 10,010 = 2 (60 shares) and 10,014 - 10,010 = 4 (20) over
    # the run's mid then; its rest of 20 costs at least its cheapest 20 shares: 20 · 2
    owed = dataclasses.replace(BUY, must_complete=True)
    cost = cost_vs_arrival([owed], MARKET, fees=100)
    plain = cost_vs_arrival([BUY], MARKET, fees=100)
    assert cost.completion == 40 and plain.completion == 0
    assert cost.total == plain.total + 40
    assert cost.completion_bps == pytest.approx(0.4)
    # drift-adjusted: the fills over the counterfactual mid then, 7 (60) and 9 (20)
    adjusted = drift_adjusted_cost([owed], MARKET, COUNTERFACTUAL)
    assert adjusted.completion == 20 * 7
    # a rest larger than the fills: each fill's worth again at their average
    assert completion([(Fraction(2), 60), (Fraction(4), 20)], 160) == 2 * (60 * 2 + 20 * 4)
    assert completion([(Fraction(2), 60), (Fraction(4), 20)], 70) == 60 * 2 + 10 * 4
    assert completion([], 100) == 0  # nothing to go by
    assert completion([(Fraction(-3), 10)], 5) == 0  # never a credit


def test_estimate_across_seeds():
    e = estimate([1.0, 2.0, 3.0, 4.0])
    assert e is not None and e.n == 4 and e.mean == 2.5
    se = (5 / 3) ** 0.5 / 2  # sample sd √(5/3) over √4
    assert e.se == pytest.approx(se)
    assert (e.low, e.high) == pytest.approx((2.5 - 3.182 * se, 2.5 + 3.182 * se))
    one = estimate([7.0])
    assert one is not None and one.mean == 7.0 and one.se is None and one.low is None
    assert estimate([]) is None


def test_student_t_quantiles():
    assert t975(1) == 12.706 and t975(19) == 2.093 and t975(30) == 2.042
    assert t975(60) == pytest.approx(2.000, abs=2e-3)
    assert t975(10_000) == pytest.approx(1.960, abs=1e-3)
    with pytest.raises(ValueError):
        t975(0)
