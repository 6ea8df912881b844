"""`smart-exec schedule`: the preview, parsed from its JSON output."""

import itertools
import json
import math

import pytest

from actors.cli import main


def run(capsys, *argv):
    code = main(["schedule", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_is_json_matches_the_closed_form(capsys):
    code, out, _ = run(
        capsys,
        "IS",
        "--shares",
        "1e6",
        "--days",
        "5",
        "--periods",
        "5",
        "--sigma",
        "0.95",
        "--eta",
        "2.5e-6",
        "--gamma",
        "2.5e-7",
        "--epsilon",
        "0.0625",
        "--lambda",
        "1e-6",
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    X, T, N = 1e6, 5.0, 5
    tau = T / N
    eta_t = 2.5e-6 - 0.5 * 2.5e-7 * tau
    kappa = math.acosh(1 + 0.5 * (1e-6 * 0.95**2 / eta_t) * tau**2) / tau
    x = [math.sinh(kappa * (T - j * tau)) / math.sinh(kappa * T) * X for j in range(N + 1)]
    n = [a - b for a, b in itertools.pairwise(x)]
    assert doc["holdings"] == pytest.approx(x, abs=1e-6)
    assert doc["trades"] == pytest.approx(n, rel=1e-9)
    e = 0.5 * 2.5e-7 * X**2 + 0.0625 * sum(n) + eta_t / tau * sum(v * v for v in n)
    var = 0.95**2 * sum(tau * v * v for v in x[1:])
    assert doc["expected_cost"] == pytest.approx(e, rel=1e-9)
    assert doc["cost_std"] == pytest.approx(math.sqrt(var), rel=1e-9)


def test_is_defaults_are_the_papers_example_and_lambda_zero_is_twap(capsys):
    code, out, _ = run(capsys, "is", "--lambda", "0", "--json")
    assert code == 0
    assert json.loads(out)["trades"] == pytest.approx([2e5] * 5)


def test_table_output(capsys):
    code, out, _ = run(capsys, "is")
    assert code == 0
    assert "expected cost E" in out and "1,000,000.0" in out


def test_twap_and_vwap_json_in_lots(capsys):
    for strategy in ("twap", "vwap"):
        code, out, _ = run(capsys, strategy, "--shares", "10000", "--lot", "100", "--json")
        doc = json.loads(out)
        assert code == 0
        assert sum(doc["trades"]) == 10_000 and doc["holdings"][0] == 10_000
        assert all(t % 100 == 0 for t in doc["trades"])
    assert doc["trades"][0] > doc["trades"][6] < doc["trades"][-1]  # VWAP's U


def test_pov_preview_reports_expected_leaves(capsys):
    code, out, _ = run(
        capsys, "pov", "--shares", "200000", "--rate", "0.1", "--daily-volume", "1000000", "--json"
    )
    doc = json.loads(out)
    assert code == 0
    assert doc["expected_leaves"] == 100_000 == doc["holdings"][-1]


@pytest.mark.parametrize(
    "argv,name",
    [
        (["is", "--sigma", "-1"], "--sigma"),
        (["is", "--eta", "0"], "--eta"),
        (["is", "--periods", "0"], "--periods"),
        (["is", "--lambda", "nan"], "--lambda"),
        (["twap", "--shares", "10.5"], "--shares"),
        (["twap", "--end", "09:00"], "--end"),
        (["pov", "--rate", "1.5"], "--rate"),
        # finite but out of range: the cost or its variance would overflow
        (["is", "--sigma", "1e200"], "--sigma"),
        (["is", "--shares", "1e300"], "--shares"),
        (["is", "--epsilon", "1e308"], "--epsilon"),
        (["is", "--days", "1e-320"], "--days"),
        (["is", "--lambda", "inf"], "--lambda"),
        (["is", "--periods", "1000000000"], "--periods"),
        (["twap", "--periods", "1000000000"], "--periods"),
    ],
)
def test_bad_parameters_exit_2_naming_the_parameter(capsys, argv, name):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert name in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not out


def _strict_json(text: str) -> dict:
    def refuse(constant: str):
        raise AssertionError(f"{constant} in the JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "argv",
    [
        ["--periods", "100", "--lambda", "1"],
        ["--lambda", "1e308"],
        ["--periods", "390", "--days", "1", "--lambda", "10"],
    ],
)
def test_is_with_a_huge_risk_aversion_sells_at_once_in_finite_numbers(capsys, argv):
    code, out, _ = run(capsys, "is", *argv, "--json")
    assert code == 0
    doc = _strict_json(out)
    assert doc["holdings"][0] == 1e6 and doc["holdings"][-1] == 0
    assert sum(doc["trades"]) == pytest.approx(1e6)
    assert doc["trades"][0] > 0.8e6


def test_unparseable_parameter_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["schedule", "is", "--sigma", "abc"])
    assert info.value.code == 2
    assert "--sigma" in capsys.readouterr().err
