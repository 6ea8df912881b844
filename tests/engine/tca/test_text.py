from datetime import datetime

import pytest

from engine.clock import HOUR, SECOND
from engine.tca.text import (
    FILLS_CSV_COLUMNS,
    csv_time,
    fills_csv_rows,
    format_local,
    format_time,
    run_fills_text,
    run_report_text,
    zone_label,
)
from tests.engine.tca.test_html import small_report

NOON_UTC = 19_000 * 24 * HOUR + 12 * HOUR


def test_a_session_local_time_carries_its_offset():
    assert zone_label(-5) == "UTC-05:00" and zone_label(9) == "UTC+09:00"
    assert format_local(NOON_UTC, -5) == "07:00:00-05:00"
    assert format_local(NOON_UTC + SECOND + 250_000_000, 0) == "12:00:01.250+00:00"
    # the reports print the same clock time, without the offset
    assert format_local(NOON_UTC, 9) == format_time(NOON_UTC, 9) + "+09:00"


def test_a_csv_time_is_the_instant_with_the_session_offset():
    ts = NOON_UTC + SECOND + 250_000_000
    assert csv_time(ts, -5) == "2022-01-08T07:00:01.250000-05:00"
    assert datetime.fromisoformat(csv_time(ts, -5)).timestamp() == ts / SECOND
    assert csv_time(90 * SECOND) == "00:01:30"  # a bare time of day stays one


def test_the_run_report_is_the_parent_summaries_and_the_fills_are_apart():
    parent = small_report().parents[0]
    report = run_report_text([parent])
    assert report.startswith("Parent P1") and "C1 " not in report and "Total/Avg" not in report
    fills = run_fills_text([parent])
    assert fills.startswith("Fills of P1\nChild Order ID") and "Total/Avg" in fills
    assert [line.split()[0] for line in fills.splitlines()[3:5]] == ["C1", "C2"]


def test_the_csv_rows_carry_what_smart_exec_tca_needs_and_the_parent():
    [first, second] = fills_csv_rows(small_report().parents)
    row = dict(zip(FILLS_CSV_COLUMNS, first, strict=True))
    assert row["child_id"] == "C1" and row["parent_id"] == "P1" and row["side"] == "buy"
    assert row["price"] == "100.010000" and row["quantity"] == "100"
    bps = small_report().parents[0].rows[0].performance_bps
    assert float(row["performance_bps"]) == pytest.approx(bps, abs=1e-4)
    assert dict(zip(FILLS_CSV_COLUMNS, second, strict=True))["venue"] == "DARK1"
