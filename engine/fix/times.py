"""FIX UTCTimestamp text (``YYYYMMDD-HH:MM:SS[.sss]``) to and from ns since the epoch."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from engine.clock import SECOND

_TIMESTAMP = re.compile(r"(\d{8})-(\d\d):(\d\d):(\d\d)(?:\.(\d{3}|\d{6}|\d{9}))?")


def utc_timestamp(ns: int) -> str:
    """Millisecond precision, as FIX 4.4 writes SendingTime and TransactTime."""
    seconds, rest = divmod(ns, SECOND)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y%m%d-%H:%M:%S}.{rest // 1_000_000:03d}"


def parse_utc_timestamp(text: str) -> int:
    """ns since the epoch; milliseconds (or micro, nano) optional. ``ValueError`` if the
    text is not a UTCTimestamp."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a UTCTimestamp")
    day, hh, mm, ss, frac = match.groups()
    when = datetime.strptime(f"{day}{hh}{mm}{ss}", "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    fraction = int((frac or "0").ljust(9, "0"))
    return int(when.timestamp()) * SECOND + fraction
