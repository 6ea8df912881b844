"""The comparison's runs (``actors.comparison``): the counterfactual market is the run's
own until our first order, the baseline carries its unfilled shares at the end price,
every figure of a seed is recomputed here from the runs, and logics really differ. A small
scenario keeps it fast."""

from fractions import Fraction

import msgspec
import pytest

from actors.comparison import (
    LOGICS,
    SCENARIO_LOGIC,
    baseline_costs,
    engine_orders,
    logic_named,
    measure,
    run_seed,
    summarize,
    with_logic,
)
from actors.scenario_runner import run_baseline, run_counterfactual, run_scenario
from engine import messages as m
from engine.messages import RoutingLogic
from engine.scenario import loads
from engine.tca.comparison import (
    completion,
    cost_vs_arrival,
    drift_adjusted_cost,
    market_move_bps,
)
from tests.actors.test_scenarios import SMALL

# SMALL, with a second, larger buy the primary venue alone cannot fill at once
SCENARIO = loads(SMALL + '[[orders]]\nid = "o2"\nside = "buy"\nquantity = 6000\nat = "09:33"\n')
SEED = 4


@pytest.fixture(scope="module")
def runs():
    counterfactual = run_counterfactual(SCENARIO, SEED)
    baseline = run_baseline(SCENARIO, SEED, counterfactual=counterfactual)
    result = run_scenario(SCENARIO, seed=SEED)
    yield result, baseline
    result.journal.close()


def test_the_counterfactual_market_is_the_runs_own_until_our_first_order(runs):
    result, baseline = runs
    first = min(c.ts for c in result.journal.messages(m.PlaceChildOrder))
    ours = [p for p in result.tca.tape.mid_points() if p[0] < first]
    without = [p for p in baseline.counterfactual.mid_points() if p[0] < first]
    assert ours and ours == without
    # ... and not after it: our orders moved the market
    assert result.tca.tape.mid_points() != baseline.counterfactual.mid_points()
    # the baseline's market too is the same until its first order (the first arrival)
    arrival = min(o.arrival_ns for o in baseline.orders)
    assert [p for p in baseline.market.mid_points() if p[0] < arrival] == [
        p for p in without if p[0] < arrival
    ]


def test_the_baseline_marks_what_it_did_not_fill_at_the_end_price(runs):
    _, baseline = runs
    cost = baseline.cost()
    assert cost.ordered == 8_000 and 0 < cost.filled < cost.ordered  # the IOC ran dry
    market = baseline.market
    trading = opportunity = paper = Fraction(0)
    for o in baseline.orders:
        arrival = market.mid_at(o.arrival_ns)
        trading += sum(f.quantity * (f.price - arrival) for f in o.fills)
        opportunity += (o.quantity - o.filled) * (market.mid_at(o.end_ns) - arrival)
        paper += o.quantity * arrival
    assert opportunity != 0 and cost.opportunity == opportunity
    assert cost.bps == pytest.approx(float((trading + opportunity + cost.fees) / paper * 10_000))
    # drift-adjusted: every price against the market without our orders at that instant
    cf = baseline.counterfactual
    adjusted = sum(
        f.quantity * (f.price - cf.mid_at(f.ts)) for o in baseline.orders for f in o.fills
    )
    adjusted += sum(
        (o.quantity - o.filled) * (market.mid_at(o.end_ns) - cf.mid_at(o.end_ns))
        for o in baseline.orders
    )
    base = sum(o.quantity * cf.mid_at(o.arrival_ns) for o in baseline.orders)
    assert baseline.drift_adjusted_cost().bps == pytest.approx(
        float((adjusted + cost.fees) / base * 10_000)
    )


def test_the_baseline_owes_the_rest_of_its_must_complete_orders(runs):
    """Both orders must complete (the mandate's default): what the IOC left is charged
    at least what its own cheapest fills paid over the counterfactual mid they met."""
    result, baseline = runs
    assert all(o.mandate.must_complete for _, o in SCENARIO.client_orders())
    raw, adjusted = baseline_costs(SCENARIO, baseline)
    plain = baseline.drift_adjusted_cost()
    cf = baseline.counterfactual
    owed = Fraction(0)
    for o in baseline.orders:
        costs = [(Fraction(f.price - cf.mid_at(f.ts)), f.quantity) for f in o.fills]
        owed += completion(costs, o.quantity - o.filled)
    assert owed > 0 and adjusted.completion == owed
    assert adjusted.total == plain.total + owed
    assert raw.bps > baseline.cost().bps
    figures = measure(result, baseline)
    assert figures.baseline_drift_adjusted_cost_bps == adjusted.bps
    assert figures.baseline_completion_bps == pytest.approx(float(owed / adjusted.paper * 10_000))
    # the engine completed its orders: it owes nothing
    assert figures.filled == figures.ordered


def test_a_seeds_figures_come_from_its_runs(runs):
    result, baseline = runs
    figures = measure(result, baseline)
    orders = engine_orders(result)
    assert [o.quantity for o in orders] == [2_000, 6_000]
    client_fills = [r for r in result.fills if r.source != "EXCESS"]
    assert figures.filled == sum(r.last_qty for r in client_fills) == sum(o.filled for o in orders)
    assert figures.ordered == 8_000 and figures.excess_shares == 0
    # raw = drift-adjusted + what the market did anyway over our fills (the first order
    # arrives on the market as it would be without us; the second on one we moved)
    first = engine_orders(result)[:1]
    fees = sum(f.fill.fee for p in result.tca.parents for f in p.rows)
    raw = cost_vs_arrival(first, result.tca.tape, fees).bps
    adjusted = drift_adjusted_cost(first, result.tca.tape, baseline.counterfactual, fees).bps
    assert market_move_bps(first, baseline.counterfactual) == pytest.approx(raw - adjusted)
    assert figures.market_drift_bps == market_move_bps(orders, baseline.counterfactual)
    assert figures.drift_adjusted_saving_bps == pytest.approx(
        baseline_costs(SCENARIO, baseline)[1].bps - figures.drift_adjusted_cost_bps
    )
    placed = list(result.journal.messages(m.PlaceChildOrder))
    assert figures.children == len({c.child_id for c in placed}) > 0
    passive = {c.child_id for c in placed if c.tactic is m.Tactic.PASSIVE}
    passive_fills = [
        f for f in result.journal.messages(m.ChildOrderFilled) if f.child_id in passive
    ]
    assert figures.passive_shares == sum(f.quantity for f in passive_fills)
    taker = sum(f.quantity for f in passive_fills if f.liquidity is m.Liquidity.TAKER)
    assert figures.passive_taker_shares == taker
    ended = {d.child_id for d in result.journal.messages(m.ChildOrderDone)}
    assert len(figures.child_spells) == len(ended) > 0
    assert all(s.ns >= 0 for s in figures.child_spells)


def test_a_row_is_the_mean_over_seeds_with_the_savings_standard_error():
    per_seed = [run_seed(SCENARIO, seed, [SCENARIO_LOGIC])[0] for seed in (1, 2, 3)]
    row = summarize("small", "scenario", per_seed)
    savings = [f.drift_adjusted_saving_bps for f in per_seed]
    mean = sum(savings) / 3
    se = (sum((s - mean) ** 2 for s in savings) / 2) ** 0.5 / 3**0.5
    assert (row.seeds, row.first_seed) == (3, 1)
    assert row.drift_adjusted_saving_bps == pytest.approx(mean)
    assert row.drift_adjusted_saving_se_bps == pytest.approx(se)
    assert row.drift_adjusted_saving_ci95_bps == pytest.approx(
        [mean - 4.303 * se, mean + 4.303 * se]
    )
    assert row.fill_ratio == sum(f.filled for f in per_seed) / sum(f.ordered for f in per_seed)
    assert row.cost_vs_arrival_bps == pytest.approx(
        sum(f.cost_vs_arrival_bps for f in per_seed) / 3
    )


def test_with_logic_reroutes_every_mandate_and_the_logics_differ():
    parallel = with_logic(SCENARIO, logic_named("parallel"))
    assert {o.mandate.routing for _, o in parallel.client_orders()} == {RoutingLogic.PARALLEL}
    assert with_logic(SCENARIO, SCENARIO_LOGIC) is SCENARIO
    overalloc = with_logic(SCENARIO, logic_named("parallel+overalloc"))
    assert overalloc.router.overallocate and not parallel.router.overallocate
    figures = run_seed(SCENARIO, SEED, [logic_named("sequential"), logic_named("parallel")])
    assert figures[0].child_spells != figures[1].child_spells
    with pytest.raises(LookupError, match="unknown logic 'nope'"):
        logic_named("nope")
    assert [lg.name for lg in LOGICS] == [
        "sequential",
        "parallel",
        "liquidity_seeking",
        "parallel+overalloc",
    ]


def test_orders_the_engine_rejected_are_not_counted():
    """A re-used client order id with other content is rejected at intake: never
    working, never counted (the same order sent again is answered with its state)."""
    first = SCENARIO.orders[0]
    again = msgspec.structs.replace(first, at="09:32", quantity=first.quantity + 100)
    result = run_scenario(msgspec.structs.replace(SCENARIO, orders=[*SCENARIO.orders, again]))
    try:
        assert result.rejected == 1
        assert [o.quantity for o in engine_orders(result)] == [2_000, 6_000]
    finally:
        result.journal.close()


def test_overallocation_overfills_only_the_excess_account(runs):
    """With over-allocation on, what is overfilled goes to the excess account, never to a
    client, and the seed's figures count it."""
    _, baseline = runs
    result = run_scenario(with_logic(SCENARIO, logic_named("parallel+overalloc")), seed=SEED)
    try:
        figures = measure(result, baseline)
        excess = sum(r.last_qty for r in result.fills if r.source == "EXCESS")
        assert figures.excess_shares == sum(q for q, _ in result.excess.values()) == excess
        filled = {(o.source, o.client_order_id): 0 for _, o in result.scenario.client_orders()}
        for r in result.fills:
            if r.source != "EXCESS":
                filled[(r.source, r.client_order_id)] += r.last_qty
        ordered = {(o.source, o.client_order_id): o.quantity for _, o in SCENARIO.client_orders()}
        assert all(filled[key] <= ordered[key] for key in filled)
        assert figures.filled == sum(filled.values()) <= figures.ordered
    finally:
        result.journal.close()


def test_fees_are_reported_in_bps_of_the_ordered_notional(runs):
    result, baseline = runs
    figures = measure(result, baseline)
    fees = sum(f.fill.fee for p in result.tca.parents for f in p.rows)
    orders = engine_orders(result)
    paper = sum(o.quantity * result.tca.tape.mid_at(o.arrival_ns) for o in orders)
    assert fees != 0
    assert figures.fees_bps == pytest.approx(fees / paper * 10_000)
    row = summarize("small", "scenario", [figures])
    assert row.fees_bps == figures.fees_bps
