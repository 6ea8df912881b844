"""Almgren–Chriss against the paper's formulas, on its Table 1 example (Almgren and Chriss,
"Optimal execution of portfolio transactions", J. Risk 3, 2000).

Expectations are computed here from the formulas (and by direct summation), never copied.
"""

import math
from itertools import pairwise

import pytest

from engine.strategies.almgren_chriss import AlmgrenChriss, ParameterError

TABLE1 = {
    "shares": 1e6,
    "horizon": 5.0,
    "periods": 5,
    "sigma": 0.95,
    "eta": 2.5e-6,
    "gamma": 2.5e-7,
    "epsilon": 0.0625,
    "risk_aversion": 1e-6,
}


def model(**overrides) -> AlmgrenChriss:
    return AlmgrenChriss(**{**TABLE1, **overrides})


def direct_cost(m: AlmgrenChriss, trades, holdings) -> tuple[float, float]:
    """E = ½γX² + εΣ|n| + (η̃/τ)Σn², V = σ²Στx_k² (k = 1..N), summed term by term."""
    X, tau = m.shares, m.tau
    e = 0.5 * m.gamma * X**2 + m.epsilon * sum(abs(n) for n in trades)
    e += (m.eta_tilde / tau) * sum(n * n for n in trades)
    v = m.sigma**2 * sum(tau * x * x for x in holdings[1:])
    return e, v


def test_kappa_solves_its_defining_equation_and_is_about_0_6_per_day():
    m = model()
    tau = m.tau
    kappa_tilde_sq = m.risk_aversion * m.sigma**2 / (m.eta - 0.5 * m.gamma * tau)
    lhs = (2 / tau**2) * (math.cosh(m.kappa * tau) - 1)
    assert lhs == pytest.approx(kappa_tilde_sq, rel=1e-12)
    assert m.kappa == pytest.approx(0.6, abs=0.02)
    assert m.kappa * m.horizon == pytest.approx(3, abs=0.1)


def test_table1_schedule_equals_the_closed_form():
    m = model()
    k, T, tau, X = m.kappa, m.horizon, m.tau, m.shares
    expected_x = [math.sinh(k * (T - j * tau)) / math.sinh(k * T) * X for j in range(6)]
    expected_n = [
        2 * math.sinh(0.5 * k * tau) / math.sinh(k * T) * math.cosh(k * (T - (j - 0.5) * tau)) * X
        for j in range(1, 6)
    ]
    assert m.holdings() == pytest.approx(expected_x, rel=1e-12, abs=1e-6)
    assert m.trades() == pytest.approx(expected_n, rel=1e-12)
    # n_j = x_{j-1} - x_j, the trajectory starts at X and ends flat, front-loaded
    x = m.holdings()
    assert m.trades() == pytest.approx([a - b for a, b in pairwise(x)], rel=1e-9)
    assert x[0] == X and x[-1] == 0
    assert all(a > b for a, b in pairwise(m.trades()))


@pytest.mark.parametrize("lam", [1e-6, 2e-7, 1e-5])
def test_closed_form_cost_and_variance_equal_direct_summation(lam):
    m = model(risk_aversion=lam)
    e, v = direct_cost(m, m.trades(), m.holdings())
    assert m.expected_cost() == pytest.approx(e, rel=1e-9)
    assert m.variance() == pytest.approx(v, rel=1e-9)
    assert m.cost_std() == pytest.approx(math.sqrt(v), rel=1e-9)


def test_lambda_to_zero_is_twap():
    twap = model(risk_aversion=0.0)
    assert twap.kappa == 0
    assert twap.trades() == pytest.approx([2e5] * 5)
    e, v = direct_cost(twap, twap.trades(), twap.holdings())
    assert twap.expected_cost() == pytest.approx(e, rel=1e-12)
    assert twap.variance() == pytest.approx(v, rel=1e-12)
    # and the continuous limit: a tiny λ is already linear to within a share
    tiny = model(risk_aversion=1e-14)
    assert tiny.holdings() == pytest.approx(twap.holdings(), abs=1.0)
    assert tiny.expected_cost() == pytest.approx(twap.expected_cost(), rel=1e-6)
    assert tiny.variance() == pytest.approx(twap.variance(), rel=1e-6)


def test_higher_risk_aversion_trades_variance_for_cost():
    low, high = model(risk_aversion=1e-7), model(risk_aversion=1e-5)
    assert high.variance() < low.variance()
    assert high.expected_cost() > low.expected_cost()
    assert high.holdings()[1] < low.holdings()[1]  # sells more up front


def test_sell_all_at_once_limit():
    # N = 1: one trade of X, E = ½γX² + εX + η̃X²/τ = εX + ηX²/τ (η̃ = η − ½γτ), V = 0
    m = model(periods=1, horizon=1.0)
    X = m.shares
    assert m.expected_cost() == pytest.approx(m.epsilon * X + m.eta * X**2 / m.tau, rel=1e-9)
    assert m.variance() == pytest.approx(0, abs=1e-6)


@pytest.mark.parametrize(
    "field,value,name",
    [
        ("sigma", -1.0, "sigma"),
        ("eta", 0.0, "eta"),
        ("periods", 0, "periods"),
        ("risk_aversion", -1e-6, "lambda"),
        ("horizon", 0.0, "days"),
    ],
)
def test_bad_parameters_name_the_parameter(field, value, name):
    with pytest.raises(ParameterError) as info:
        model(**{field: value})
    assert info.value.parameter == name
    assert f"--{name}" in str(info.value)


def textbook(m: AlmgrenChriss) -> tuple[list[float], list[float], float, float]:
    """The paper's sinh/cosh forms verbatim (E overflows once κT > 355, x once κT > 710)."""
    k, T, N, tau, X = m.kappa, m.horizon, m.periods, m.tau, m.shares
    s = math.sinh(k * T)
    x = [math.sinh(k * (T - j * tau)) / s * X for j in range(N + 1)]
    n = [
        2 * math.sinh(0.5 * k * tau) / s * math.cosh(k * (T - (j - 0.5) * tau)) * X
        for j in range(1, N + 1)
    ]
    e = (
        0.5 * m.gamma * X**2
        + m.epsilon * X
        + m.eta_tilde
        * X**2
        * math.tanh(0.5 * k * tau)
        * (tau * math.sinh(2 * k * T) + 2 * T * math.sinh(k * tau))
        / (2 * tau**2 * s**2)
    )
    v = (
        0.5
        * m.sigma**2
        * X**2
        * (tau * s * math.cosh(k * (T - tau)) - T * math.sinh(k * tau))
        / (s**2 * math.sinh(k * tau))
    )
    return x, n, e, v


@pytest.mark.parametrize("lam", [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2])
@pytest.mark.parametrize("periods", [5, 50, 390])
def test_overflow_safe_forms_equal_the_textbook_ones_where_those_work(lam, periods):
    m = model(risk_aversion=lam, periods=periods)
    assert m.kappa * m.horizon < 350  # sinh(2κT) still fits in a float here
    x, n, e, v = textbook(m)
    assert m.holdings() == pytest.approx(x, rel=1e-12, abs=1e-9 * m.shares)
    assert m.trades() == pytest.approx(n, rel=1e-12, abs=1e-9 * m.shares)
    assert m.expected_cost() == pytest.approx(e, rel=1e-12)
    assert m.variance() == pytest.approx(v, rel=1e-9)


@pytest.mark.parametrize("lam", [10.0, 1e3, 1e308])
def test_extreme_risk_aversion_front_loads_towards_selling_everything_at_once(lam):
    # a whole day of one-minute periods (τ = 1/390 day): κT is far past sinh's range
    m = model(risk_aversion=lam, horizon=1.0, periods=390)
    assert math.isfinite(m.kappa) and m.kappa * m.horizon > 710
    x, n, X = m.holdings(), m.trades(), m.shares
    assert x[0] == X and x[-1] == 0
    assert all(a >= b >= 0 for a, b in pairwise(x))
    assert sum(n) == pytest.approx(X, rel=1e-12)
    # x_1 = X e^{−κτ}(1 − e^{−2(N−1)κτ})/(1 − e^{−2Nκτ}) = X e^{−κτ} to double precision
    left = math.exp(-m.kappa * m.tau)
    assert n[0] == pytest.approx(X * (1 - left), rel=1e-12)
    # towards the paper's sell-everything-now limit: E = εX + ηX²/τ, V = 0
    assert m.expected_cost() == pytest.approx(
        m.epsilon * X + m.eta * X**2 / m.tau, rel=2 * left + 1e-12
    )
    assert 0 <= m.variance() <= 2 * left**2 * m.sigma**2 * X**2 * m.tau
    f = m.completed_fractions()
    assert f[0] == 0 and f[1] == pytest.approx(1 - left, rel=1e-12) and f[-1] == 1


@pytest.mark.parametrize(
    "field,value,name",
    [
        ("risk_aversion", math.inf, "lambda"),
        ("sigma", math.nan, "sigma"),
        ("shares", math.inf, "shares"),
        ("horizon", math.inf, "days"),
        ("sigma", 1e200, "sigma"),
        ("shares", 1e300, "shares"),
        ("epsilon", 1e308, "epsilon"),
        ("horizon", 1e-320, "days"),
    ],
)
def test_non_finite_inputs_and_overflowing_results_are_refused(field, value, name):
    with pytest.raises(ParameterError) as info:
        model(**{field: value})
    assert info.value.parameter == name
