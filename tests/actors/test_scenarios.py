"""Shipped scenarios on the real actors: they load, run, repeat their digest, and keep
the invariants (no client overfilled, every child terminal, venue outages avoided)."""

import pathlib
from collections import Counter

import msgspec
import pytest

import scenarios
from actors.cli import main
from actors.scenario_runner import run_scenario
from engine import messages as m
from engine.desk.desk import EXCESS_SOURCE
from engine.scenario import ScenarioError, load, loads

SCENARIOS = [scenarios.path(name) for name in scenarios.shipped()]


def shortened(path, run_until, **changes):
    """A shipped scenario cut short (the tests stay fast; the shape stays real)."""
    scenario = load(path)
    return msgspec.structs.replace(scenario, run_until=run_until, **changes)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_is_valid(path):
    scenario = load(path)
    orders = scenario.client_orders()
    assert orders and all(o.quantity > 0 for _, o in orders)
    assert [t for t, _ in orders] == sorted(t for t, _ in orders)


def test_same_seed_same_digest_other_seed_differs():
    path = next(p for p in SCENARIOS if p.stem == "brief_vwap")
    scenario = shortened(path, "10:00")
    a = run_scenario(scenario, seed=7)
    b = run_scenario(scenario, seed=7)
    c = run_scenario(scenario, seed=8)
    assert a.digest == b.digest != c.digest
    assert len(a.journal) > 1_000 and a.fills


def check_invariants(result):
    """Per client: filled ≤ ordered; Σ allocations = Σ parent fills (+ excess);
    every child placed reaches exactly one terminal ChildOrderDone."""
    ordered = {
        (o.source, o.client_order_id): o.quantity for _, o in result.scenario.client_orders()
    }
    cum = Counter()
    for r in result.fills:
        if r.source != EXCESS_SOURCE:
            cum[(r.source, r.client_order_id)] += r.last_qty
            assert r.cum_qty <= r.order_qty
    assert all(cum[k] <= q for k, q in ordered.items())
    journal = result.journal
    parent_fills = sum(f.quantity for f in journal.messages(m.ParentOrderFilled))
    crossed = sum(r.last_qty for r in result.fills if r.internal)
    excess = sum(q for q, _ in result.excess.values())
    assert sum(cum.values()) == parent_fills + crossed - excess
    placed = {c.child_id for c in journal.messages(m.PlaceChildOrder)}
    done = Counter(d.child_id for d in journal.messages(m.ChildOrderDone))
    assert set(done) <= placed and all(n == 1 for n in done.values())
    return placed, done


def test_parallel_sweep_never_overfills_and_finishes_every_child():
    path = next(p for p in SCENARIOS if p.stem == "parallel_sweep")
    result = run_scenario(load(path))
    placed, done = check_invariants(result)
    assert placed == set(done)  # the order completed: every child is terminal
    assert result.cost.quantity == result.cost.ordered
    assert not result.excess
    venues = {v.venue for v in result.journal.messages(m.PlaceVenueOrder)}
    assert len(venues) >= 2  # swept in parallel


def test_venue_outage_is_avoided_while_down():
    path = next(p for p in SCENARIOS if p.stem == "venue_outage")
    scenario = shortened(path, "10:40")
    result = run_scenario(scenario)
    check_invariants(result)
    journal = result.journal
    down = [s for s in journal.messages(m.VenueStatusChanged) if s.venue == "NYSE"]
    assert [s.status for s in down] == [m.VenueStatus.DOWN, m.VenueStatus.UP]
    start, end = down[0].ts, down[1].ts
    # The router learns of the outage one market-data/latency hop later; after that,
    # nothing new goes to NYSE until it is back.
    grace = 5_000_000_000
    sent = [
        o
        for o in journal.messages(m.PlaceVenueOrder)
        if o.venue == "NYSE" and start + grace < o.ts < end
    ]
    assert sent == []
    assert any(o.venue == "NYSE" and o.ts > end for o in journal.messages(m.PlaceVenueOrder))


def test_bad_scenario_file_names_the_field(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\n[instrument]\nsymbol = "X"\nref_price = "100"\n'
        '[[venues]]\nname = "A"\nkind = "lti"\n'
    )
    assert main(["run", str(bad), "--quiet"]) == 2
    assert "venues[0].kind: Invalid enum value 'lti'" in capsys.readouterr().err
    with pytest.raises(ScenarioError, match=r"instrument\.ref_price: '1\.0000001'"):
        loads(
            'name = "x"\n[instrument]\nsymbol = "X"\nref_price = "1.0000001"\n'
            '[[venues]]\nname = "A"\n'
        )
    with pytest.raises(ScenarioError, match="not valid TOML"):
        loads("name = [")


SMALL = """
name = "small"
seed = 3
run_until = "09:40"
[session]
date = "2026-11-23"
open = "09:30"
close = "10:00"
[instrument]
symbol = "XYZ"
ref_price = "100.00"
lot = 100
[mandate]
strategy = "TWAP"
end = "09:38"
[[venues]]
name = "LIT1"
[[venues]]
name = "LIT2"
[[orders]]
id = "o1"
side = "buy"
quantity = 2000
at = "09:31"
"""


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            '[[orders]]\nid = "o2"\nside = "buy"\nquantity = 100\nat = "24:00"\n',
            "orders[1].at: '24:00' is not a time of day",
        ),
        ('vwap_profile = "nope.json"\n', "vwap_profile: cannot load"),
    ],
)
def test_run_refuses_a_bad_scenario_with_one_line_and_status_2(tmp_path, capsys, extra, message):
    """A scenario that fails only when the run builds it (a time, a profile file) ends
    with one line on stderr and exit status 2, not a traceback."""
    text = SMALL.replace("seed = 3\n", "seed = 3\n" + extra) if "vwap" in extra else SMALL + extra
    (tmp_path / "bad.toml").write_text(text)
    assert (
        main(
            [
                "run",
                str(tmp_path / "bad.toml"),
                "--quiet",
                "--no-baseline",
                "--audit",
                str(tmp_path / "a.sqlite"),
            ]
        )
        == 2
    )
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smart-exec run: error: ")
    assert message in lines[0] and "Traceback" not in captured.err
    assert not (tmp_path / "a.sqlite").exists()  # refused before anything ran


def test_ordered_quantity_counts_only_accepted_client_orders():
    """Rejected client orders are not ordered quantity. Intake rejects what a file cannot
    rule out (a client order id used twice by one source): those shares were never
    working, so the fill rate is over the accepted orders only."""
    scenario = loads(SMALL + '[[orders]]\nid = "o1"\nside = "buy"\nquantity = 500\nat = "09:32"\n')
    result = run_scenario(scenario)
    assert result.client_orders == 2 and result.rejected == 1
    assert result.cost.ordered == 2000
    assert result.cost.quantity == 2000 and result.cost.fill_rate == 1.0


def test_pykka_threads_and_inline_simulation_write_the_same_audit_trail():
    """The whole engine (venues, router, desk, parents spawned mid-run) on real pykka
    threads, wave-synchronous, and driven inline: byte-identical audit trails."""
    path = next(p for p in SCENARIOS if p.stem == "parallel_sweep")
    scenario = shortened(path, "09:36")
    inline = run_scenario(scenario, threaded=False)
    threaded = run_scenario(scenario, threaded=True)
    assert len(inline.journal) > 1_000
    assert inline.digest == threaded.digest


def test_run_to_an_audit_file_prints_the_tca_and_a_digest_the_file_repeats(tmp_path, capsys):
    """The CLI end to end with a file trail (the default for users): the engine is closed
    before the report reads the trail, so the runner must own it."""
    from engine.audit.journal import Journal

    (tmp_path / "s.toml").write_text(SMALL)
    audit = tmp_path / "a.sqlite"
    assert (
        main(
            [
                "run",
                str(tmp_path / "s.toml"),
                "--quiet",
                "--audit",
                str(audit),
                "--report",
                str(tmp_path / "report"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    digest = out.strip().splitlines()[-1].removeprefix("audit-digest: ")
    assert "Parent P1" in out and len(digest) == 64
    assert Journal(str(audit), readonly=True).digest() == digest
    assert (tmp_path / "report" / "report.html").exists()
    with pytest.raises(ValueError, match="already holds"):  # one run per trail
        run_scenario(loads(SMALL), audit=audit)


SOURCE_FOLDER = pathlib.Path(__file__).resolve().parents[2] / "scenarios"


def test_shipped_scenarios_are_the_scenarios_folder_found_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing relative to the working directory
    names = scenarios.shipped()
    assert names == sorted(p.stem for p in SOURCE_FOLDER.glob("*.toml"))
    for name in names:
        assert scenarios.path(name).read_bytes() == (SOURCE_FOLDER / f"{name}.toml").read_bytes()
    assert scenarios.path("brief_vwap.toml") == scenarios.path("brief_vwap")


def test_an_unknown_scenario_name_lists_the_shipped_ones():
    with pytest.raises(LookupError, match=r"no shipped scenario 'nope'.*brief_vwap"):
        scenarios.path("nope")


def test_a_named_scenario_is_a_file_first_then_a_shipped_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert scenarios.locate("brief_vwap") == scenarios.path("brief_vwap")
    assert scenarios.locate("routing_thin.toml") == scenarios.path("routing_thin")
    assert scenarios.locate("scenarios/brief_vwap.toml") == pathlib.Path(
        "scenarios/brief_vwap.toml"
    )
    (tmp_path / "brief_vwap").write_text(SMALL)  # a file of that name wins over the shipped one
    assert scenarios.locate("brief_vwap") == pathlib.Path("brief_vwap")
    assert scenarios.locate("nope") == pathlib.Path("nope")


def test_run_and_profile_take_a_shipped_scenario_by_name_from_another_directory(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    args = ["run", "routing_thin", "--quiet", "--no-baseline", "--audit", "thin.sqlite"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("scenario routing-thin seed ")
    assert out.strip().splitlines()[-1].startswith("audit-digest: ")
    assert main(["run", "nope", "--quiet"]) == 2
    assert "nope: cannot read" in capsys.readouterr().err
    assert main(["profile", "routing_thin", "--days", "1", "--bins", "2"]) == 0
    assert '"name": "routing-thin-history"' in capsys.readouterr().out
