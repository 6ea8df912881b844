"""Strategy schedules: exact integer targets in whole lots; VWAP follows its profile."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.clock import MINUTE, SECOND
from engine.config import SessionConfig
from engine.messages import Mandate, StrategyName, Urgency
from engine.strategies import PovStrategy, Schedule, build_strategy, default_profile
from engine.strategies.implementation_shortfall import is_schedule
from engine.strategies.schedule import boundaries
from engine.strategies.twap import twap_schedule
from engine.strategies.vwap import VolumeProfile, estimate_profile, load_profile, vwap_schedule

SESSION = SessionConfig()
OPEN, CLOSE = SESSION.open_ns, SESSION.close_ns


def check_schedule(s: Schedule, quantity: int, lot: int) -> None:
    assert s.cumulative[0] == 0 and s.quantity == quantity
    assert sum(s.trades()) == quantity
    assert all(n >= 0 for n in s.trades())
    # whole lots everywhere, except the odd remainder that only the last period may carry
    assert all(c % lot == 0 for c in s.cumulative[:-1])


@given(
    quantity=st.integers(0, 10**7),
    periods=st.integers(1, 400),
    lot=st.sampled_from([1, 10, 100]),
)
def test_twap_and_vwap_sum_exactly_in_lots(quantity, periods, lot):
    check_schedule(twap_schedule(quantity, OPEN, CLOSE, periods, lot), quantity, lot)
    vwap = vwap_schedule(quantity, OPEN, CLOSE, periods, OPEN, CLOSE, lot)
    check_schedule(vwap, quantity, lot)


def test_twap_is_even_to_within_one_lot():
    s = twap_schedule(10_000, OPEN, OPEN + 60 * MINUTE, 60, lot=100)
    assert max(s.trades()) - min(s.trades()) <= 100
    assert s.target_at(OPEN + 30 * MINUTE) == 5_000


def test_target_at_interpolates_in_lots_and_clamps():
    s = twap_schedule(1_000, 0, 10 * SECOND, 2, lot=10)
    assert s.target_at(-1) == 0
    assert s.target_at(0) == 0
    assert s.target_at(2_500_000_000) == 250
    assert s.target_at(2_510_000_000) == 250  # rounded down to the lot
    assert s.target_at(5 * SECOND) == 500
    assert s.target_at(10 * SECOND) == 1_000 == s.target_at(11 * SECOND)
    times = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    values = [s.target_at(t * SECOND) for t in times]
    assert values == sorted(values)


def test_resize_keeps_shape_and_exact_total():
    s = vwap_schedule(10_000, OPEN, CLOSE, 13, OPEN, CLOSE, lot=100)
    for q in (0, 100, 5_000, 20_050, 1_000_000):
        check_schedule(s.resized(q), q, 100)


@given(
    kind=st.sampled_from(["twap", "vwap", "is"]),
    quantity=st.integers(0, 10**7),
    chain=st.lists(st.integers(0, 10**7), min_size=1, max_size=5),
    periods=st.integers(1, 120),
    lot=st.sampled_from([1, 10, 100]),
)
def test_resizes_do_not_compound(kind, quantity, chain, periods, lot):
    # rounding from rounded targets would turn TWAP 20,000 resized to 3 and back into a
    # staircase: every resize rounds from the original shape
    end = OPEN + 2 * 60 * MINUTE
    build = {
        "twap": lambda q: twap_schedule(q, OPEN, end, periods, lot),
        "vwap": lambda q: vwap_schedule(q, OPEN, end, periods, OPEN, CLOSE, lot),
        "is": lambda q: is_schedule(q, OPEN, end, periods, CLOSE - OPEN, 1e-4, lot),
    }[kind]
    s = build(quantity)
    chained = s
    for q in chain:
        chained = chained.resized(q)
    assert chained == s.resized(chain[-1]) == build(chain[-1])
    check_schedule(chained, chain[-1], lot)
    assert chained.resized(quantity) == s  # and back: the original schedule exactly


def test_resize_to_a_few_shares_and_back_keeps_the_twap_shape():
    s = twap_schedule(20_000, OPEN, OPEN + 30 * MINUTE, 30)
    assert s.resized(3).resized(20_000).trades() == s.trades()
    assert set(s.trades()) == {666, 667}


def test_default_profile_is_u_shaped_from_the_published_series():
    p = default_profile()
    assert len(p.weights) == 13  # the 16:00–16:15 bin is after the cash close
    published = [11.32, 9.70, 8.07, 6.63, 5.49, 4.85, 4.56, 5.05, 5.27, 6.23, 6.87, 8.39, 12.31]
    assert p.weights == pytest.approx([x / sum(published) for x in published])
    assert p.weights[0] > p.weights[6] < p.weights[-1]
    assert p.cumulative(0) == 0 and p.cumulative(1) == pytest.approx(1)


def test_vwap_follows_the_profile():
    q = 1_300_000
    s = vwap_schedule(q, OPEN, CLOSE, 13, OPEN, CLOSE, lot=1)
    weights = default_profile().weights
    for trade, w in zip(s.trades(), weights, strict=True):
        assert trade == pytest.approx(q * w, abs=1)


def test_vwap_on_a_partial_horizon_renormalises_the_profile():
    start, end = OPEN + 60 * MINUTE, OPEN + 120 * MINUTE  # bins 3 and 4: 8.07 and 6.63
    s = vwap_schedule(14_700, start, end, 2, OPEN, CLOSE)
    assert s.trades() == [8_070, 6_630]


def test_estimate_profile_measures_the_market_history():
    # a market trading 3× faster in the first half of the day than in the second
    half = (CLOSE - OPEN) // 2
    samples = [(OPEN + half * k // 10, 300 * k) for k in range(1, 11)]
    samples += [(OPEN + half + half * k // 10, 3000 + 100 * k) for k in range(1, 11)]
    p = estimate_profile(samples, OPEN, CLOSE, bins=2)
    assert p.weights == pytest.approx((0.75, 0.25))


def test_estimate_profile_fills_unobserved_bins_from_the_prior():
    prior = VolumeProfile.from_volumes([0.0, 0.5, 1.0], [1, 1])
    half = (CLOSE - OPEN) // 2
    p = estimate_profile([(OPEN + half, 500)], OPEN, CLOSE, bins=2, prior=prior)
    assert p.weights == pytest.approx((0.5, 0.5))
    assert estimate_profile([], OPEN, CLOSE, bins=2, prior=prior) == prior


def test_profile_file_round_trip(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(
        '{"session_minutes": 60, "bins": [{"start_min": 0, "end_min": 30, "pct": 3},'
        ' {"start_min": 30, "end_min": 60, "pct": 1}, {"start_min": 60, "end_min": 90, "pct": 9}]}'
    )
    assert load_profile(str(path)).weights == pytest.approx((0.75, 0.25))


def test_pov_targets_a_fraction_of_market_volume_within_its_band():
    pov = PovStrategy.with_band(10_000, 0.10, max_participation=0.15, lot=100)
    assert (pov.min_rate, pov.rate, pov.max_rate) == pytest.approx((0.08, 0.10, 0.15))
    assert pov.scheduled(0, 25_000) == 2_500
    assert pov.scheduled(0, 25_050) == 2_500  # whole lots
    assert pov.behind_threshold(0, 25_000, 0) == 2_000
    assert pov.scheduled(0, 10**9) == 10_000  # never more than the order
    assert pov.participation_cap() == 0.15
    with pytest.raises(ValueError):
        PovStrategy(100, 0.5, 0.6, 0.7)


def test_pov_rate_above_the_clients_max_participation_trades_at_the_cap():
    # the client's max participation caps the target rate, never the other way round
    pov = build_strategy(
        Mandate(strategy=StrategyName.POV, pov_rate=0.20, max_participation=0.05),
        100_000,
        OPEN,
        CLOSE,
    )
    assert (pov.min_rate, pov.rate, pov.max_rate) == pytest.approx((0.04, 0.05, 0.05))
    assert pov.participation_cap() == 0.05
    assert pov.scheduled(0, 1_000_000) == 50_000


@given(
    rate=st.floats(0.001, 1.0),
    cap=st.none() | st.floats(0.001, 1.0),
    volume=st.integers(0, 10**9),
    lot=st.sampled_from([1, 100]),
)
def test_pov_never_exceeds_the_clients_max_participation(rate, cap, volume, lot):
    pov = PovStrategy.with_band(10**9, rate, cap, lot)
    assert pov.min_rate <= pov.rate <= pov.max_rate <= 1
    if cap is not None:
        assert pov.max_rate == cap and pov.rate == min(rate, cap)
        assert pov.scheduled(0, volume) <= cap * volume
        assert pov.resized(5_000).participation_cap() == cap


def test_is_strategy_front_loads_with_urgency_and_is_twap_without_risk_aversion():
    end = OPEN + 2 * 60 * MINUTE
    linear = is_schedule(12_000, OPEN, end, 12, CLOSE - OPEN, 0.0, lot=100)
    assert linear.trades() == [1_000] * 12
    urgent = is_schedule(12_000, OPEN, end, 12, CLOSE - OPEN, 1e-4, lot=100)
    check_schedule(urgent, 12_000, 100)
    assert urgent.trades()[0] > urgent.trades()[-1]


@pytest.mark.parametrize("name", list(StrategyName))
def test_build_strategy_from_a_mandate(name):
    mandate = Mandate(strategy=name, urgency=Urgency.HIGH, pov_rate=0.2)
    s = build_strategy(mandate, 10_000, OPEN, OPEN + 30 * MINUTE, lot=100, session=SESSION)
    assert s.name is name and s.quantity == 10_000
    if name is StrategyName.POV:
        assert s.scheduled(OPEN, 10_000) == 2_000
    else:
        assert s.scheduled(OPEN + 30 * MINUTE, 0) == 10_000
        assert s.scheduled(OPEN, 0) == 0
    assert s.resized(20_000).quantity == 20_000


def test_boundaries_are_exact():
    b = boundaries(0, 10, 3)
    assert b[0] == 0 and b[-1] == 10 and b == sorted(b)


@given(
    quantity=st.integers(0, 2_000),
    spans=st.lists(st.integers(1, 60), min_size=1, max_size=6),
    cuts=st.lists(st.floats(0, 1), min_size=6, max_size=6),
    lot=st.sampled_from([1, 7, 100]),
    data=st.data(),
)
def test_due_ns_is_the_first_time_target_at_reaches_a_quantity(quantity, spans, cuts, lot, data):
    """``due_ns`` inverts ``target_at`` exactly: the first ns at which it reaches q (what
    lets a parent sleep until its schedule next asks for something)."""
    times = [1_000]
    for span in spans:
        times.append(times[-1] + span)
    fractions = [0.0, *sorted(cuts[: len(spans) - 1]), 1.0]
    s = Schedule.from_fractions(quantity, times, fractions, lot)
    q = data.draw(st.integers(1, quantity + 2))
    due = s.due_ns(q)
    first = next((t for t in range(times[0], times[-1] + 1) if s.target_at(t) >= q), None)
    assert due == first
    strategy = build_strategy(Mandate(strategy=StrategyName.TWAP), quantity, times[0], times[-1])
    assert strategy.due_ns(0) <= times[0]
    assert PovStrategy.with_band(quantity, 0.1).due_ns(q) is None  # volume-driven


@pytest.mark.parametrize("lam", [10.0, 1e3, 1e308])
def test_is_with_extreme_risk_aversion_is_a_valid_schedule_front_loaded(lam):
    session = SessionConfig()
    s = is_schedule(10_000, session.open_ns, session.close_ns, 390, session.length_ns, lam, 100)
    assert s.cumulative[0] == 0 and s.quantity == 10_000 == sum(s.trades())
    assert all(t >= 0 and t % 100 == 0 for t in s.trades())
    assert s.trades()[0] >= 9_600  # κτ >= 3: at least 1 − e^{−3} of it in the first minute
    assert s.trades() == sorted(s.trades(), reverse=True)
    if lam == 1e308:
        assert s.trades()[0] == 10_000
