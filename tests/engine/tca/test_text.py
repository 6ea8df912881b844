from engine.clock import HOUR, SECOND
from engine.tca.text import format_local, format_time, zone_label

NOON_UTC = 19_000 * 24 * HOUR + 12 * HOUR


def test_a_session_local_time_carries_its_offset():
    assert zone_label(-5) == "UTC-05:00" and zone_label(9) == "UTC+09:00"
    assert format_local(NOON_UTC, -5) == "07:00:00-05:00"
    assert format_local(NOON_UTC + SECOND + 250_000_000, 0) == "12:00:01.250+00:00"
    # the reports print the same clock time, without the offset
    assert format_local(NOON_UTC, 9) == format_time(NOON_UTC, 9) + "+09:00"
