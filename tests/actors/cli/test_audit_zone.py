"""``smart-exec audit`` reads and prints times in the session's zone, which it takes from
the trail itself: a Tokyo session's trail is listed in Tokyo time with no option."""

from __future__ import annotations

from actors import Engine, MarketConfig
from actors.cli import main
from actors.cli.audit import trail_zone
from actors.scenario_runner import run_scenario
from engine.audit.journal import Journal
from engine.config import VenueConfig
from engine.instruments import Instrument
from engine.prices import to_price
from engine.scenario import loads

TOKYO = """
name = "tokyo"
seed = 3
run_until = "09:20"
[session]
date = "2026-11-24"
open = "09:00"
close = "09:30"
utc_offset_hours = 9
[instrument]
symbol = "XYZ"
ref_price = "100.00"
lot = 100
[mandate]
strategy = "TWAP"
end = "09:15"
[[venues]]
name = "LIT1"
[[orders]]
id = "o1"
side = "buy"
quantity = 2000
at = "09:05"
"""


def audit(capsys, *args: object) -> tuple[int, str, str]:
    code = main(["audit", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_run_trail_is_listed_in_its_session_zone(tmp_path, capsys):
    scenario, trail = tmp_path / "tokyo.toml", tmp_path / "tokyo.sqlite"
    scenario.write_text(TOKYO)
    assert main(["run", str(scenario), "--audit", str(trail), "--no-baseline", "--quiet"]) == 0
    capsys.readouterr()
    code, out, err = audit(capsys, trail, "--type", "SubmitClientOrder")
    assert code == 0 and "UTC+09:00 (the trail's session)" in err
    assert out.split()[1] == "09:05:00+09:00"  # the order's time as the scenario says
    # a session-local window, in that zone, finds it; the New York default would not
    code, out, err = audit(
        capsys, trail, "--since", "09:04", "--until", "09:06", "--type", "SubmitClientOrder"
    )
    assert code == 0 and "1 record(s)" in err
    code, out, err = audit(capsys, trail, "--utc-offset", "-5", "--type", "SubmitClientOrder")
    assert "UTC-05:00 (--utc-offset)" in err and out.split()[1] == "19:05:00-05:00"


def test_the_zone_is_kept_by_every_scenario_run_and_said_missing_otherwise(tmp_path, capsys):
    trail = tmp_path / "t.sqlite"
    run_scenario(loads(TOKYO), audit=trail).journal.close()
    with Journal(str(trail), readonly=True) as journal:
        assert trail_zone(journal) == 9
    market = MarketConfig(
        instrument=Instrument(symbol="XYZ", ref_price=to_price("100"), lot=100),
        venues=[VenueConfig(name="LIT1")],
    )
    bare = tmp_path / "engine.sqlite"
    with Engine(market, audit=str(bare)) as engine:
        engine.run_until(engine.now + 1)
    code, _, err = audit(capsys, bare)
    assert code == 0 and "UTC-05:00 (the trail records no zone" in err
