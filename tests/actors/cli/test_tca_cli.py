import json
from pathlib import Path

import pytest

from actors.cli import main

BRIEF = Path(__file__).resolve().parents[2] / "data" / "brief_fills.csv"
HEADER = "child_id,time,venue,order_type,side,quantity,price,benchmark\n"


def run(capsys, *argv):
    code = main(["tca", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_brief_table_reproduces(capsys):
    code, out, _ = run(capsys, BRIEF)
    assert code == 0
    lines = out.splitlines()
    assert "Performance (bps)" in lines[0]
    a001 = next(line for line in lines if line.startswith("A-001"))
    assert a001.split()[-3:] == ["100.005", "100.010", "+0.5"]
    a004 = next(line for line in lines if line.startswith("A-004"))
    assert a004.endswith("-0.5") and "Market" in a004
    total = next(line for line in lines if line.startswith("Total/Avg"))
    assert total.split()[1:] == ["50,000", "100.104", "100.105", "+0.1"]


def test_json_shape_and_sign(capsys):
    code, out, _ = run(capsys, BRIEF, "--json")
    assert code == 0
    doc = json.loads(out)
    assert [r["child_id"] for r in doc["rows"]] == ["A-001", "A-002", "A-003", "A-004", "A-005"]
    first = doc["rows"][0]
    assert first["bps"] == pytest.approx(50 / 100.010)  # performance: + = better
    assert first["slippage_bps"] == pytest.approx(-first["bps"])
    assert (first["price"], first["benchmark"], first["quantity"]) == ("100.005", "100.01", 5000)
    assert doc["total"]["quantity"] == 50_000
    assert doc["total"]["avg_price"] == "100.10425"
    assert doc["total"]["benchmark"] == "100.10495"
    assert round(doc["total"]["bps"], 1) == 0.1


@pytest.mark.parametrize(
    ("row", "column", "fragment"),
    [
        ("A,09:00:00,X,Limit,buy,12x,100.00,100.00", "quantity", "12x"),
        ("A,09:00:00,X,Limit,hold,10,100.00,100.00", "side", "hold"),
        ("A,09:00:00,X,Limit,buy,10,abc,100.00", "price", "abc"),
        ("A,09:00:00,X,Limit,buy,10,100.00,100.0000001", "benchmark", "6 decimals"),
        ("A,25:99,X,Limit,buy,10,100.00,100.00", "time", ""),
        ("A,09:00:00,X,Limit,buy,10,100.00", "benchmark", "too few"),
        ("A,09:00:00,X,Limit,buy,10,Infinity,100.00", "price", "Infinity"),
        ("A,09:00:00,X,Limit,buy,10,100.00,NaN", "benchmark", "NaN"),
        ("A,09:00:00,X,Limit,buy,10,1e400,100.00", "price", "largest price"),
    ],
)
def test_bad_csv_names_row_and_column(tmp_path, capsys, row, column, fragment):
    path = tmp_path / "fills.csv"
    path.write_text(HEADER + "B,09:00:00,X,Limit,sell,10,100.00,100.00\n" + row + "\n")
    code, out, err = run(capsys, path)
    assert code == 2 and out == ""
    assert "line 3" in err and f"column '{column}'" in err and fragment in err


def test_missing_columns_and_missing_file(tmp_path, capsys):
    path = tmp_path / "fills.csv"
    path.write_text("child_id,time,venue\nA,09:00:00,X\n")
    code, _, err = run(capsys, path)
    assert code == 2 and "missing column(s): order_type, side" in err
    code, _, err = run(capsys, tmp_path / "nope.csv")
    assert code == 2 and "cannot read" in err
    path.write_text(HEADER)
    code, _, err = run(capsys, path)
    assert code == 2 and "no fills" in err


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_a_file_that_is_not_utf8_is_refused_cleanly(tmp_path, capsys, encoding):
    path = tmp_path / "fills.csv"
    path.write_bytes((HEADER + "B,09:00:00,Zürich,Limit,sell,10,100.00,100.00\n").encode(encoding))
    code, out, err = run(capsys, path)
    assert code == 2 and out == "" and "not UTF-8 text" in err
