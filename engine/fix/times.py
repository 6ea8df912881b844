"""FIX UTCTimestamp text (``YYYYMMDD-HH:MM:SS[.sss]``) to and from ns since the epoch."""

from __future__ import annotations

import calendar
import functools
import re
from datetime import UTC, datetime

from engine.clock import SECOND

_TIMESTAMP = re.compile(r"(\d{4})(\d\d)(\d\d)-(\d\d):(\d\d):(\d\d)(?:\.(\d{3}|\d{6}|\d{9}))?")


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
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a UTCTimestamp")
    year, month, day, hh, mm, ss, frac = match.groups()
    y, mo, d, h, mi, s = int(year), int(month), int(day), int(hh), int(mm), int(ss)
    if not (1 <= mo <= 12 and 1 <= d <= calendar.monthrange(y, mo)[1] and h < 24 and mi < 60):
        raise ValueError(f"{text!r} is not a UTCTimestamp")
    if s > 60:  # 60: a leap second
        raise ValueError(f"{text!r} is not a UTCTimestamp")
    seconds = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    return seconds * SECOND + int((frac or "0").ljust(9, "0"))
