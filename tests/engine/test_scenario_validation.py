"""Scenario validation at load: a bad scenario file fails with a
``ScenarioError`` naming the field and the problem, before anything runs, instead of
being cut down, ignored, or failing mid-run with a traceback."""

import pytest

from engine.scenario import ScenarioError, loads

BASE = """
name = "t"
[session]
date = "2026-11-23"
open = "09:30"
close = "16:00"
[instrument]
symbol = "XYZ"
ref_price = "100.00"
lot = 100
[[venues]]
name = "LIT1"
[[venues]]
name = "DARK1"
kind = "dark"
"""

ORDER = '[[orders]]\nid = "o1"\nside = "buy"\nat = "10:00"\n'
STREAM = '[[streams]]\nid_prefix = "S"\nside = "buy"\n'


def scenario(top="", tables=""):
    """BASE with top-level keys (before any table) and tables appended."""
    return top + BASE + tables


def test_the_base_scenario_loads():
    s = loads(
        scenario(
            tables=ORDER
            + "quantity = 200\n"
            + STREAM
            + 'count = 3\ntotal_quantity = 300\nstart = "09:30"\nend = "09:30"\n'
        )
    )
    assert sum(o.quantity for _, o in s.client_orders()) == 500


@pytest.mark.parametrize(
    "tables, message",
    [
        # 1. streams: whole lots, enough lots for the count
        (
            STREAM + 'count = 3\ntotal_quantity = 1050\nstart = "09:30"\nend = "09:45"\n',
            r"streams\[0\]\.total_quantity: 1050 is not a whole number of lots of 100",
        ),
        (
            STREAM + 'count = 30\ntotal_quantity = 1000\nstart = "09:30"\nend = "09:45"\n',
            r"streams\[0\]\.count: 1000 shares are 10 lots of 100, too few for 30 orders",
        ),
        (
            STREAM + 'count = 0\ntotal_quantity = 1000\nstart = "09:30"\nend = "09:45"\n',
            r"streams\[0\]\.count: 0 is not a positive number of orders",
        ),
        # 2. times of day, everywhere a time is
        (
            ORDER.replace("10:00", "24:00") + "quantity = 100\n",
            r"orders\[0\]\.at: '24:00' is not a time of day",
        ),
        (
            ORDER.replace("10:00", "10:75") + "quantity = 100\n",
            r"orders\[0\]\.at: '10:75' is not a time of day",
        ),
        (
            ORDER + 'quantity = 100\nmandate = { end = "10:60" }\n',
            r"orders\[0\]\.mandate\.end: '10:60' is not a time of day",
        ),
        (
            STREAM + 'count = 3\ntotal_quantity = 300\nstart = "09:30"\nend = "24:30"\n',
            r"streams\[0\]\.end: '24:30' is not a time of day",
        ),
        (
            STREAM + 'count = 3\ntotal_quantity = 300\nstart = "9:61"\nend = "10:30"\n',
            r"streams\[0\]\.start: '9:61' is not a time of day",
        ),
        (
            STREAM + 'count = 3\ntotal_quantity = 300\nstart = "11:00"\nend = "10:00"\n',
            r"streams\[0\]\.start: '11:00' is after end '10:00'",
        ),
        (
            '[[faults]]\nvenue = "LIT1"\nfault = "down"\nat = "30:00"\n',
            r"faults\[0\]\.at: '30:00' is not a time of day",
        ),
        (
            '[[faults]]\nvenue = "LIT1"\nfault = "down"\nat = "10:00"\nduration_s = -5\n',
            r"faults\[0\]\.duration_s: -5\.0 is not a positive number of seconds",
        ),
        (
            '[[faults]]\nvenue = "LIT1"\nfault = "down"\nat = "10:00"\nduration_s = 0\n',
            r"faults\[0\]\.duration_s: 0\.0 is not a positive number of seconds \(leave it out",
        ),
        (
            '[[crashes]]\nactor = "routr"\nat = "10:00"\n',
            r"crashes\[0\]\.actor: 'routr' is not \"router\", \"desk\", a venue \(LIT1, DARK1\) or a parent",
        ),
        (
            '[[crashes]]\nactor = "P1"\nat = "10:00:60"\n',
            r"crashes\[0\]\.at: '10:00:60' is not a time of day",
        ),
        ('[mandate]\nend = "25:00"\n', r"mandate\.end: '25:00' is not a time of day"),
        (
            '[mandate]\nstart = "11:00"\nend = "10:00"\n',
            r"mandate\.start: '11:00' is not before end",
        ),
        ("[mandate]\npov_rate = 1.5\n", r"mandate\.pov_rate: 1\.5 is not a rate in \(0, 1\]"),
        # 3. unknown keys in nested tables
        (
            "[router]\nsequential_timeout = 5\n",
            r"router: Object contains unknown field `sequential_timeout`",
        ),
        ("[desk]\nwindw_ns = 5\n", r"desk: Object contains unknown field `windw_ns`"),
        (
            '[[venues]]\nname = "LIT2"\nflow = { rate_scal = 0.2 }\n',
            r"venues\[2\]\.flow: Object contains unknown field `rate_scal`",
        ),
        (
            '[[venues]]\nname = "D2"\nkind = "dark"\ndark = { arival_rate = 0.2 }\n',
            r"venues\[2\]\.dark: Object contains unknown field `arival_rate`",
        ),
        # 4. the baseline venue: a lit venue of the scenario
        (
            '[baseline]\nvenue = "NOPE"\n',
            r"baseline\.venue: 'NOPE' is not a lit venue of the scenario \(LIT1\)",
        ),
        ('[baseline]\nvenue = "DARK1"\n', r"baseline\.venue: 'DARK1' is not a lit venue"),
        # 5. order quantities and prices, naming the order
        (
            ORDER + "quantity = -100\n",
            r"orders\[0\]\.quantity: -100 is not a positive number of shares \(order 'o1'\)",
        ),
        (
            ORDER + "quantity = 0\n",
            r"orders\[0\]\.quantity: 0 is not a positive number of shares \(order 'o1'\)",
        ),
        (
            ORDER + "quantity = 150\n",
            r"orders\[0\]\.quantity: 150 is not a whole number of lots of 100 \(order 'o1'\)",
        ),
        (
            ORDER + 'quantity = 100\nlimit = "-5"\n',
            r"orders\[0\]\.limit: '-5' is not a positive price \(order 'o1'\)",
        ),
        (
            ORDER + 'quantity = 100\nlimit = "0"\n',
            r"orders\[0\]\.limit: '0' is not a positive price",
        ),
        (
            ORDER + 'quantity = 100\nlimit = "abc"\n',
            r"orders\[0\]\.limit: 'abc' is not a decimal price",
        ),
        (
            ORDER + 'quantity = 100\nlimit = "100.005"\n',
            r"orders\[0\]\.limit: '100\.005' is not on the tick grid of 0\.01",
        ),
        (
            STREAM
            + 'count = 3\ntotal_quantity = 300\nstart = "09:30"\nend = "10:00"\nlimit = "-1"\n',
            r"streams\[0\]\.limit: '-1' is not a positive price",
        ),
    ],
)
def test_a_bad_table_is_refused_naming_the_field(tables, message):
    with pytest.raises(ScenarioError, match=message):
        loads(scenario(tables=tables))


@pytest.mark.parametrize(
    "text, message",
    [
        (scenario(top='run_until = "99:00"\n'), r"run_until: '99:00' is not a time of day"),
        (
            scenario().replace('open = "09:30"', 'open = "09:60"'),
            r"session\.open: '09:60' is not a time of day",
        ),
        (
            scenario().replace('close = "16:00"', 'close = "24:00"'),
            r"session\.close: '24:00' is not a time of day",
        ),
        (
            scenario().replace('"100.00"', '"-100.00"'),
            r"instrument\.ref_price: '-100\.00' is not a positive price",
        ),
        (
            scenario().replace('name = "LIT1"', 'name = "LIT1"\nlatency_us = -1'),
            r"venues\[0\]\.latency_us: -1 must be",
        ),
    ],
)
def test_a_bad_top_level_or_session_value_is_refused_naming_the_field(text, message):
    with pytest.raises(ScenarioError, match=message):
        loads(text)


def test_crash_actors_router_desk_venue_or_parent_id_are_accepted():
    for actor in ("router", "desk", "LIT1", "DARK1", "P1", "P12"):
        loads(scenario(tables=f'[[crashes]]\nactor = "{actor}"\nat = "10:00"\n'))
    for actor in ("P0", "p1", "P", "LIT9"):
        with pytest.raises(ScenarioError, match=r"crashes\[0\]\.actor"):
            loads(scenario(tables=f'[[crashes]]\nactor = "{actor}"\nat = "10:00"\n'))


def test_known_nested_keys_still_load():
    s = loads(
        scenario(
            tables='[router]\nsequential_timeout_ns = 5\n[baseline]\nvenue = "LIT1"\n'
            '[[faults]]\nvenue = "LIT1"\nfault = "down"\nat = "10:00"\n'
            "duration_s = 0.5\n"
        )
    )
    assert s.router.sequential_timeout_ns == 5 and s.baseline.venue == "LIT1"


# Poison input: values the trail cannot hold, rates that make no sense, orders that could
# never run. Each is refused at load with the field that holds it.
@pytest.mark.parametrize(
    "text, message",
    [
        (
            scenario().replace('"100.00"', '"1e30"'),
            r"instrument\.ref_price: '1e30' is above the largest price \(9,223,372,036,854\)",
        ),
        (
            scenario().replace('"100.00"', '"Infinity"'),
            r"instrument\.ref_price: 'Infinity' is not a finite price",
        ),
        (
            scenario().replace('"100.00"', '"NaN"'),
            r"instrument\.ref_price: 'NaN' is not a finite price",
        ),
        (
            scenario().replace('"100.00"', '"1e999999999"'),
            r"instrument\.ref_price: '1e999999999' is above the largest price",
        ),
        (
            scenario().replace("lot = 100", "lot = 100000000000000000000"),
            r"instrument\.lot: 100,000,000,000,000,000,000 is more shares than",
        ),
        (
            scenario(tables=ORDER + 'quantity = 100\nlimit = "1e30"\n'),
            r"orders\[0\]\.limit: '1e30' is above the largest price .* \(order 'o1'\)",
        ),
        (
            scenario(tables=ORDER + "quantity = 100000000000000000000\n"),
            r"orders\[0\]\.quantity: 100,000,000,000,000,000,000 is more shares than the "
            r"9,223,372,036,854,775,807 accepted \(order 'o1'\)",
        ),
        (
            scenario(
                tables=STREAM + 'count = 3\ntotal_quantity = 1e20\nstart = "09:30"\nend = "10:00"\n'
            ),
            r"streams\[0\]\.total_quantity: Expected `int`, got `float`",
        ),
        (
            scenario(
                tables=STREAM + "count = 3\ntotal_quantity = 100000000000000000000\n"
                'start = "09:30"\nend = "10:00"\n'
            ),
            r"streams\[0\]\.total_quantity: 100,000,000,000,000,000,000 is more shares than",
        ),
        (
            scenario(
                tables=STREAM + "count = 2000000\ntotal_quantity = 200000000\n"
                'start = "09:30"\nend = "10:00"\n'
            ),
            r"streams\[0\]\.count: 2,000,000 is more orders than the 1,000,000 accepted",
        ),
        (
            scenario().replace('name = "LIT1"', 'name = "LIT1"\nflow = { rate_scale = -0.3 }'),
            r"venues\[0\]\.flow\.rate_scale: -0\.3 must be finite and ≥ 0",
        ),
        (
            scenario().replace('name = "LIT1"', 'name = "LIT1"\nflow = { market_rate = -1.0 }'),
            r"venues\[0\]\.flow\.market_rate: -1\.0 must be finite and ≥ 0",
        ),
        (
            scenario().replace(
                'name = "LIT1"', 'name = "LIT1"\nflow = { limit_rates = [1.0, -0.5] }'
            ),
            r"venues\[0\]\.flow\.limit_rates\[1\]: -0\.5 must be finite and ≥ 0",
        ),
        (
            scenario().replace('name = "LIT1"', 'name = "LIT1"\nflow = { value_period_s = 0.0 }'),
            r"venues\[0\]\.flow\.value_period_s: 0\.0 must be finite and > 0",
        ),
        (
            scenario().replace('name = "LIT1"', 'name = "LIT1"\nflow = { impact_y = -1.0 }'),
            r"venues\[0\]\.flow\.impact_y: -1\.0 must be finite and ≥ 0",
        ),
        (
            scenario().replace(
                'name = "LIT1"', 'name = "LIT1"\nflow = { volume_day_sigma = -0.2 }'
            ),
            r"venues\[0\]\.flow\.volume_day_sigma: -0\.2 must be finite and ≥ 0",
        ),
        (
            scenario().replace('kind = "dark"', 'kind = "dark"\ndark = { arrival_rate = -0.1 }'),
            r"venues\[1\]\.dark\.arrival_rate: -0\.1 must be finite and ≥ 0",
        ),
        (
            scenario(tables=ORDER.replace("10:00", "16:30") + "quantity = 100\n"),
            r"orders\[0\]\.at: '16:30' is after the close 16:00 \(order 'o1'\)",
        ),
        (
            scenario(
                tables=STREAM + 'count = 3\ntotal_quantity = 300\nstart = "15:30"\nend = "16:01"\n'
            ),
            r"streams\[0\]\.end: '16:01' is after the close 16:00",
        ),
        (
            scenario(tables='[[faults]]\nvenue = "LIT9"\nfault = "down"\nat = "10:00"\n'),
            r"faults\[0\]\.venue: unknown venue 'LIT9'",
        ),
        (
            scenario(
                tables='[[faults]]\nvenue = "LIT1"\nfault = "down"\nat = "10:00"\n'
                "duration_s = 1e-12\n"
            ),
            r"faults\[0\]\.duration_s: 1e-12 is not between a nanosecond and "
            r"9,223,372,036 seconds",
        ),
        (
            scenario(
                tables='[[faults]]\nvenue = "LIT1"\nfault = "down"\nat = "10:00"\n'
                "duration_s = 1e300\n"
            ),
            r"faults\[0\]\.duration_s: 1e\+300 is not between a nanosecond",
        ),
        (
            scenario(tables='[[faults]]\nvenue = "LIT1"\nfault = "melt"\nat = "10:00"\n'),
            r"faults\[0\]\.fault: Invalid enum value 'melt' \(one of: down, up, degrade, "
            r"reject_orders, drop_cancels, stale_data, .*, link_reorder\)",
        ),
        (
            scenario().replace('kind = "dark"', 'kind = "drak"'),
            r"venues\[1\]\.kind: Invalid enum value 'drak' \(one of: lit, dark\)",
        ),
    ],
)
def test_poison_input_is_refused_naming_the_field(text, message):
    with pytest.raises(ScenarioError, match=message):
        loads(text)


def test_an_order_at_the_close_and_a_stream_ending_at_it_still_load():
    loads(
        scenario(
            tables=ORDER.replace("10:00", "16:00")
            + "quantity = 100\n"
            + STREAM
            + 'count = 3\ntotal_quantity = 300\nstart = "15:30"\nend = "16:00"\n'
        )
    )


def test_crash_parent_ids_follow_the_desks_prefix():
    loads(
        scenario(tables='[desk]\nparent_id_prefix = "Q"\n[[crashes]]\nactor = "Q3"\nat = "10:00"\n')
    )
    with pytest.raises(ScenarioError, match=r'crashes\[0\]\.actor: .* a parent id like "Q1"'):
        loads(
            scenario(
                tables='[desk]\nparent_id_prefix = "Q"\n[[crashes]]\nactor = "P3"\nat = "10:00"\n'
            )
        )


@pytest.mark.parametrize(
    "bad, field",
    [
        ('ref_price = "100.00"', 'ref_price = "1e30"'),
        ('[[venues]]\nname = "LIT1"', '[[venues]]\nname = "LIT1"\nflow = { rate_scale = -1.0 }'),
        ("", '[[orders]]\nid = "late"\nside = "buy"\nquantity = 100\nat = "17:00"\n'),
    ],
)
def test_smart_exec_run_refuses_a_poisoned_file_with_one_line(tmp_path, capsys, bad, field):
    from actors.cli import main

    path = tmp_path / "poison.toml"
    text = scenario() + field if not bad else scenario().replace(bad, field)
    path.write_text(text)
    status = main(["run", str(path), "--quiet", "--no-baseline", "--audit", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("smart-exec run: error: ")
    assert not (tmp_path / "a").exists()
