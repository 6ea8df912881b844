"""Cont–Kukanov: the closed form, derived here from the formulas, and the stochastic solver."""

import math

import pytest

from engine.routing.cont_kukanov import (
    CostModel,
    EmpiricalDistribution,
    Split,
    VenueQueue,
    critical_probability,
    expected_cost,
    single_venue,
    solve,
)

# h = half a cent, f = 0.3 cent, r = 0.2 cent, θ = 0.1 cent, λ_u = λ_o = 2 cents (price units)
COST = CostModel(
    half_spread=5_000, taker_fee=3_000, impact=1_000, under_penalty=20_000, over_penalty=20_000
)
# ξ uniform on {0..999}: F(x) = (x+1)/1000
UNIFORM = VenueQueue(name="LIT1", queue=300, rebate=2_000, outflows=tuple(range(1_000)))


def test_critical_probability_from_the_formula():
    # p = (2h+f+r)/(λ_u+h+r+θ) = 15000/28000
    assert critical_probability(COST, 2_000) == pytest.approx(15 / 28)


def test_closed_form_interior_case_computed_by_hand():
    p = 15 / 28
    # F⁻¹(p) = min{x : (x+1)/1000 ≥ p} = ceil(1000p) − 1
    inverse = math.ceil(1000 * p) - 1
    expected_limit = inverse - UNIFORM.queue  # L* = F⁻¹(p) − Q = 235
    assert expected_limit == 235
    assert single_venue(400, UNIFORM, COST) == Split(market=400 - 235, limits=(235,))


def test_closed_form_corner_cases():
    # F(Q) ≥ p: the queue is too long to post at all
    long_queue = VenueQueue(name="L", queue=900, rebate=2_000, outflows=UNIFORM.outflows)
    assert single_venue(50, long_queue, COST) == Split(market=50, limits=(0,))
    # F(Q+S) ≤ p: outflow will almost surely reach us, post everything
    short = VenueQueue(name="S", queue=0, rebate=2_000, outflows=UNIFORM.outflows)
    assert single_venue(100, short, COST) == Split(market=0, limits=(100,))


def test_closed_form_is_the_exact_minimiser_over_all_splits():
    costs = {
        lim: expected_cost(Split(market=400 - lim, limits=(lim,)), 400, [UNIFORM], COST)
        for lim in (*range(0, 401, 25), *range(225, 246))
    }
    best = min(costs.values())
    assert costs[235] == pytest.approx(best)


def test_stochastic_solver_matches_the_closed_form_on_one_venue():
    closed = single_venue(400, UNIFORM, COST)
    for seed in (1, 2, 3):
        approx = solve(400, [UNIFORM], COST, seed=seed, iterations=20_000)
        assert abs(approx.limits[0] - closed.limits[0]) <= 12
        assert abs(approx.market - closed.market) <= 12
        assert abs(approx.total - 400) <= 12  # one venue: M* + L* = S


def test_solver_is_deterministic_for_a_seed():
    venues = [
        UNIFORM,
        VenueQueue(name="LIT2", queue=100, rebate=2_000, outflows=tuple(range(0, 600, 5))),
    ]
    assert solve(400, venues, COST, seed=7, iterations=3_000) == solve(
        400, venues, COST, seed=7, iterations=3_000
    )


def test_several_venues_over_book():
    venues = [
        UNIFORM,
        VenueQueue(name="LIT2", queue=100, rebate=2_000, outflows=tuple(range(0, 600, 5))),
    ]
    split = solve(400, venues, COST, seed=1, iterations=20_000)
    assert split.total > 400  # the multi-venue optimum over-books (M + ΣL > S)
    assert all(isinstance(x, int) and 0 <= x <= 400 for x in (split.market, *split.limits))


def test_empirical_distribution_inverse():
    d = EmpiricalDistribution([5, 1, 3, 3])
    assert d.cdf(0) == 0 and d.cdf(3) == 0.75 and d.cdf(9) == 1
    assert d.quantile(0.5) == 3 and d.quantile(0.76) == 5 and d.quantile(0.25) == 1
