"""VWAP profiles estimated from the simulated market's own history, and their use: the
parent's schedule, a scenario's ``vwap_profile``, the ``smart-exec profile`` command."""

import itertools
import json

import pytest

from actors.cli import main
from engine.clock import MINUTE
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    BookLevel,
    Mandate,
    MarketDataUpdated,
    ParentOrderCreated,
    Side,
    StrategyName,
    VenueKind,
    VenueStatus,
)
from engine.parent.order import ParentConfig, ParentOrder
from engine.prices import to_price
from engine.scenario import ScenarioError, load, loads
from engine.strategies.vwap import VolumeProfile, default_profile, load_profile
from engine.venues.volume_history import day_volume, estimated_profile, profile_document

SESSION = SessionConfig()
XYZ = Instrument(symbol="XYZ", ref_price=to_price("100"), lot=100)
VENUES = [
    VenueConfig(name="L1"),
    VenueConfig(name="L2"),
    VenueConfig(name="D1", kind=VenueKind.DARK),
]


@pytest.fixture(scope="module")
def history():
    return estimated_profile(XYZ, SESSION, VENUES, seeds=[1, 2])


def test_the_simulated_market_s_history_is_u_shaped_and_repeats_by_seed(history):
    w = history.weights
    assert len(w) == 13 and sum(w) == pytest.approx(1.0)
    middle = sum(w[4:9]) / 5
    assert w[0] > 1.3 * middle and w[-1] > 1.3 * middle
    assert history != default_profile()  # measured, not the shipped profile copied
    hour = SessionConfig(open_ns=SESSION.open_ns, close_ns=SESSION.open_ns + 60 * MINUTE)
    day = day_volume(XYZ, hour, VENUES, seed=1)
    assert day == day_volume(XYZ, hour, VENUES, seed=1) != day_volume(XYZ, hour, VENUES, seed=3)
    assert [t for t, _ in day] == [hour.open_ns + k * MINUTE for k in range(1, 61)]
    assert all(a <= b for (_, a), (_, b) in itertools.pairwise(day))  # cumulative


def test_a_profile_document_reads_back_as_the_same_profile(history, tmp_path):
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile_document(history, SESSION, "h", "test")))
    loaded = load_profile(str(path))
    assert loaded.weights == pytest.approx(history.weights, rel=1e-12)
    assert loaded.edges == pytest.approx(history.edges, rel=1e-12)


def _vwap_target_at_midday(config: ParentConfig) -> int:
    order = ParentOrderCreated(
        parent_id="P1",
        instrument="XYZ",
        side=Side.BUY,
        quantity=10_000,
        limit_price=None,
        mandate=Mandate(strategy=StrategyName.VWAP, end_ns=SESSION.close_ns),
    )
    parent = ParentOrder(order, XYZ, SESSION, config)
    market = MarketView("XYZ")
    market.update(
        MarketDataUpdated(
            venue="L1",
            instrument="XYZ",
            kind=VenueKind.LIT,
            status=VenueStatus.UP,
            bids=[BookLevel(to_price("99.99"), 1_000)],
            asks=[BookLevel(to_price("100.01"), 1_000)],
        )
    )
    parent.start(SESSION.open_ns, market)
    return parent.strategy.scheduled(SESSION.open_ns + SESSION.length_ns // 2, 0)


def test_the_parent_schedules_vwap_by_its_configured_profile():
    # all of the day's volume in the afternoon: nothing is due by midday
    afternoon = VolumeProfile((0.0, 0.5, 1.0), (0.0, 1.0))
    assert _vwap_target_at_midday(ParentConfig(vwap_profile=afternoon)) == 0
    assert _vwap_target_at_midday(ParentConfig()) > 5_000  # the U-shape: over half by noon


SCENARIO = """
name = "p"
instrument = {symbol = "XYZ", ref_price = "100.00"}
venues = [{name = "L1"}]
"""


def test_a_scenario_s_profile_default_history_or_file(tmp_path):
    assert loads(SCENARIO).profile() is None
    history = loads(SCENARIO + 'vwap_profile = "history"\nhistory_days = 1\n').profile(seed=5)
    assert history == loads(SCENARIO + 'vwap_profile = "history"\nhistory_days = 1\n').profile(
        seed=5
    )
    assert sum(history.weights) == pytest.approx(1.0)
    (tmp_path / "afternoon.json").write_text(
        json.dumps(
            profile_document(
                VolumeProfile((0.0, 0.5, 1.0), (0.0, 1.0)), SESSION, "afternoon", "test"
            )
        )
    )
    (tmp_path / "s.toml").write_text(SCENARIO + 'vwap_profile = "afternoon.json"\n')
    assert load(tmp_path / "s.toml").profile().weights == pytest.approx((0.0, 1.0))  # beside it
    with pytest.raises(ScenarioError, match="history_days"):
        loads(SCENARIO + "history_days = 0\n")
    with pytest.raises(ScenarioError, match="vwap_profile: cannot load"):
        loads(SCENARIO + f'vwap_profile = "{tmp_path / "none.json"}"\n').profile()


def test_the_profile_command_writes_a_file_the_schedule_command_reads(tmp_path, capsys):
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "profile.json"
    assert main(["profile", str(scenario), "--days", "1", "--out", str(out)]) == 0
    assert len(json.loads(out.read_text())["bins"]) == 13
    assert main(["schedule", "vwap", "--shares", "10000", "--profile", str(out), "--json"]) == 0
    assert sum(json.loads(capsys.readouterr().out)["trades"]) == 10_000
    assert main(["profile", str(scenario), "--days", "0"]) == 2
    assert main(["profile", str(tmp_path / "missing.toml")]) == 2
    assert "error" in capsys.readouterr().err
