"""FIX UTCTimestamp text (``YYYYMMDD-HH:MM:SS[.sss]``) to and from ns since the epoch."""

from __future__ import annotations

import calendar
import functools
import re
from datetime import UTC, datetime

from engine.clock import SECOND

_SECOND = re.compile(r"(\d{4})(\d\d)(\d\d)-(\d\d):(\d\d):(\d\d)")


@functools.lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    return f"{datetime.fromtimestamp(seconds, UTC):%Y%m%d-%H:%M:%S}"


def utc_timestamp(ns: int) -> str:
    """Millisecond precision, as FIX 4.4 writes SendingTime and TransactTime."""
    seconds, rest = divmod(ns, SECOND)
    return f"{_second(seconds)}.{rest // 1_000_000:03d}"


def parse_utc_timestamp(text: str) -> int:
    """ns since the epoch; milliseconds (or micro, nano) optional. ``ValueError`` if the
    text is not a UTCTimestamp."""
    head, fraction = text[:17], text[17:]
    if fraction and not (
        len(fraction) in (4, 7, 10)
        and fraction[0] == "."
        and fraction[1:].isascii()
        and fraction[1:].isdigit()
    ):
        raise ValueError(f"{text!r} is not a UTCTimestamp")
    return _epoch_second(head) * SECOND + int(fraction[1:].ljust(9, "0") or 0)


@functools.lru_cache(maxsize=256)  # timestamps of one second in a row: parsed once
def _epoch_second(text: str) -> int:
    match = _SECOND.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a UTCTimestamp")
    y, mo, d, h, mi, s = (int(part) for part in match.groups())
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h < 24 and mi < 60):
        raise ValueError(f"{text!r} is not a UTCTimestamp")
    if s > 60:  # 60: a leap second
        raise ValueError(f"{text!r} is not a UTCTimestamp")
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
