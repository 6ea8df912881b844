"""Scenarios of many instruments: the generated universe, the rebalance's orders, and
``restricted_to`` (a shard's part of a scenario)."""

import statistics

import pytest

import scenarios
from engine.prices import PRICE_SCALE
from engine.scenario import ScenarioError, load, loads
from engine.universe import UniverseSpec, universe

MANY = """
name = "many"
seed = 4
[[instruments]]
symbol = "AAA"
ref_price = "50.00"
daily_volume = 3000000
[universe]
instruments = 6
[rebalance]
orders = 120
[[venues]]
name = "L1"
[[venues]]
name = "L2"
instruments = ["AAA", "U002"]
[[venues]]
name = "D1"
kind = "dark"
"""


def test_a_universe_is_seeded_and_its_first_n_instruments_are_the_universe_of_n():
    big = universe(UniverseSpec(instruments=200, seed=3))
    assert universe(UniverseSpec(instruments=50, seed=3)) == big[:50]
    assert universe(UniverseSpec(instruments=50, seed=4)) != big[:50]
    assert len({i.symbol for i in big}) == 200


def test_a_universe_spreads_its_parameters_as_equities_do():
    big = universe(UniverseSpec(instruments=300))
    prices = [i.ref_price / PRICE_SCALE for i in big]
    volumes = [i.daily_volume for i in big]
    vols = [i.volatility for i in big]
    assert 25 < statistics.median(prices) < 80 and min(prices) >= 3
    assert max(volumes) / min(volumes) > 20  # a heavy right tail
    assert 1_000_000 < statistics.median(volumes) < 4_000_000
    assert 0.012 < statistics.median(vols) < 0.025
    assert all(i.ref_price % i.tick == 0 for i in big)


def test_listed_and_generated_instruments_and_the_venues_that_trade_them():
    s = loads(MANY)
    assert [i.symbol for i in s.instruments()] == ["AAA", *(f"U00{k}" for k in range(1, 7))]
    assert s.many and s.venues[1].config().trades("U002")
    assert not s.venues[1].config().trades("U003")


def test_restricted_to_keeps_those_instruments_and_their_orders_as_drawn_in_the_whole():
    s = loads(MANY)
    whole = s.client_orders()
    part = s.restricted_to(["U004", "AAA"])
    assert [i.symbol for i in part.instruments()] == ["AAA", "U004"]
    assert part.client_orders() == [t for t in whole if t[1].instrument in ("AAA", "U004")]
    assert {o.instrument for _, o in whole} == {i.symbol for i in s.instruments()}
    assert {o.side for _, o in whole} == {1, -1}
    with pytest.raises(ScenarioError, match="only: unknown instrument 'ZZZ'"):
        s.restricted_to(["ZZZ"])


def test_the_shipped_single_instrument_scenarios_are_their_own_restriction():
    s = load(scenarios.path("brief_vwap"))
    assert not s.many and [i.symbol for i in s.instruments()] == ["XYZ"]
    assert s.restricted_to(["XYZ"]).client_orders() == s.client_orders()


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ('[instrument]\nsymbol = "X"\nref_price = "1.00"', "give one \\[instrument\\]"),
        ('[[orders]]\nid = "o"\nside = "buy"\nquantity = 1\nat = "10:00"', "which instrument"),
        (
            '[[orders]]\nid = "o"\nside = "buy"\nquantity = 1\nat = "10:00"\ninstrument = "Q"',
            "unknown instrument 'Q'",
        ),
    ],
)
def test_many_instrument_scenarios_are_checked(change, error):
    with pytest.raises(ScenarioError, match=error):
        loads(MANY + "\n" + change)


def test_a_venue_listing_an_unknown_symbol_is_refused():
    with pytest.raises(ScenarioError, match="venues\\[1\\].instruments: unknown instrument"):
        loads(MANY.replace('["AAA", "U002"]', '["AAA", "NOPE"]'))
