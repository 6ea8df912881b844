"""``smart-exec compare``: one JSON object of rows over N seeds, the same output whatever
the number of worker processes, and the run's baseline section with the same honest
figures. A small scenario on 2 seeds keeps it fast."""

import contextlib
import io
import json

import pytest

from actors.cli import main
from tests.actors.test_scenarios import SMALL

KEYS = {
    "scenario",
    "logic",
    "seeds",
    "cost_vs_arrival_bps",
    "cost_vs_vwap_bps",
    "drift_adjusted_cost_bps",
    "baseline_cost_bps",
    "baseline_drift_adjusted_cost_bps",
    "drift_adjusted_saving_bps",
    "drift_adjusted_saving_se_bps",
    "drift_adjusted_saving_ci95_bps",
    "passive_taker_share",
    "fill_ratio",
    "median_child_fill_s",
    "median_child_fill_s_by_tactic",
    "fees_bps",
    "baseline_completion_bps",
    "excess_shares",
}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("compare") / "small.toml"
    path.write_text(SMALL)
    return path


def compare(capsys, *args):
    assert main(["compare", *map(str, args)]) == 0
    return capsys.readouterr()


@pytest.fixture(scope="module")
def two_seeds(small):
    """The JSON of 2 seeds, two logics, in 1 process (captured by hand: module scope)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        args = ["compare", str(small), "--seeds", "2", "--logic", "scenario"]
        assert main([*args, "--logic", "parallel", "--json", "--first-seed", "5"]) == 0
    return out.getvalue()


def test_json_rows_carry_every_figure_per_scenario_and_logic(two_seeds):
    data = json.loads(two_seeds)
    assert list(data) == ["rows"]
    rows = data["rows"]
    assert [(r["scenario"], r["logic"]) for r in rows] == [
        ("small", "scenario"),
        ("small", "parallel"),
    ]
    for r in rows:
        assert set(r) >= KEYS
        assert (r["seeds"], r["first_seed"]) == (2, 5)
        for key in ("cost_vs_arrival_bps", "drift_adjusted_cost_bps", "baseline_cost_bps"):
            assert isinstance(r[key], float)
        low, high = r["drift_adjusted_saving_ci95_bps"]
        assert low < r["drift_adjusted_saving_bps"] < high
        assert r["drift_adjusted_saving_se_bps"] > 0
        assert 0 < r["fill_ratio"] <= 1 and 0 <= r["passive_taker_share"] <= 1
        assert r["median_child_fill_s"] > 0 and r["excess_shares"] == 0
    # both logics face the same baseline: it never routes through the engine
    assert rows[0]["baseline_cost_bps"] == rows[1]["baseline_cost_bps"]


def test_two_jobs_print_what_one_job_prints(small, two_seeds, capsys):
    args = ["compare", str(small), "--seeds", "2", "--logic", "scenario", "--logic", "parallel"]
    assert main([*args, "--json", "--first-seed", "5", "--jobs", "2"]) == 0
    assert capsys.readouterr().out == two_seeds


def test_the_table_names_each_row_and_explains_its_columns(small, capsys):
    out = compare(capsys, small, "--seeds", "1", "--first-seed", "5").out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["scenario", "logic", "seeds"]
    assert lines[2].split()[:3] == ["small", "scenario", "1"]
    assert "drift-adj.: against\nthe same seed's market without our orders" in out


def test_unknown_logic_or_scenario_is_one_line_and_status_2(small, capsys):
    assert main(["compare", str(small), "--logic", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("smart-exec compare: unknown logic 'nope' (one of scenario, sequential")
    assert main(["compare", "no_such_scenario.toml"]) == 2
    assert "no_such_scenario.toml" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", str(small), "--seeds", "0"])


def test_the_runs_baseline_section_is_drift_adjusted(small, tmp_path, capsys):
    audit = tmp_path / "a.sqlite"
    assert main(["run", str(small), "--quiet", "--audit", str(audit)]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Client executions"))
    section = lines[at : at + 7]
    assert section[0].startswith("Client executions: 2,000 of 2,000 shares")
    cost = "  cost vs arrival (fees in, unfilled shares at the end price): "
    assert section[1].startswith(cost) and "vs interval VWAP without own fills" in section[1]
    assert section[2].startswith("  drift-adjusted (vs the same seed's market without our")
    assert section[3].startswith("Baseline (each order marketable to the primary venue): ")
    assert "of 2,000 shares" in section[3]
    assert section[4].startswith(cost) and "(opportunity " in section[4]
    assert ", completion " in section[4]
    assert section[5].startswith("Engine saving vs baseline, drift-adjusted: ")
    assert section[6].startswith("Market drift against P1 over its life without our orders")
    assert "our impact on its end mid" in section[6]
