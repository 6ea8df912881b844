"""FIX tag=value framing and encoding.

``Framer`` cuts a byte stream into messages. It checks what a codec such as simplefix
leaves out: BodyLength (9) must land exactly on the CheckSum (10) field, the CheckSum must
match, and the first three fields must be 8, 9, 35. Anything else is garbled: dropped, and
the stream resynchronised on the next ``8=FIX``. Messages longer than ``max_bytes`` are
garbled too, so one client cannot make the gateway buffer without bound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

SOH = b"\x01"
BEGIN = b"8=FIX"
MAX_MESSAGE_BYTES = 64 * 1024
_BODY_LENGTH = re.compile(rb"8=[^\x01]{1,16}\x019=(\d{1,9})\x01")
_CHECKSUM = re.compile(rb"10=(\d{3})\x01")
_FIELD = re.compile(r"(?<![^\x01])([0-9]+)=([^\x01]*)\x01")
_END_THEN_BEGIN = re.compile(rb"\x0110=\d{3}\x018=FIX")

Field = tuple[int, str | int]  # what ``encode`` takes
Pair = tuple[int, str]  # what ``decode`` gives


class Garbled(ValueError):
    """Bytes that are not a well-formed FIX message (they are dropped)."""


class FixMessage:
    """A decoded message: its fields in wire order, tag numbers as ints, values as text;
    ``index``: the first value of each tag (a repeated tag is a session reject anyway)."""

    __slots__ = ("fields", "index", "msg_type", "raw")

    def __init__(self, fields: list[Pair], raw: bytes = b"") -> None:
        self.fields = fields
        self.raw = raw
        self.index = dict(reversed(fields))
        self.msg_type = fields[2][1] if len(fields) > 2 else ""

    def get(self, tag: int, default: str | None = None) -> str | None:
        """The first value of ``tag``."""
        return self.index.get(tag, default)

    def __contains__(self, tag: int) -> bool:
        return tag in self.index

    def __repr__(self) -> str:
        return "|".join(f"{t}={v}" for t, v in self.fields)


def checksum(data: bytes | bytearray) -> int:
    return sum(data) % 256


def encode(fields: Iterable[Field], begin_string: str = "FIX.4.4") -> bytes:
    """A whole message from its fields after BodyLength (35 first, 10 left out)."""
    body = "".join([f"{tag}={value}\x01" for tag, value in fields]).encode("latin-1")
    head = b"8=%s\x019=%d\x01" % (begin_string.encode(), len(body))
    return b"%s%s10=%03d\x01" % (head, body, checksum(head + body))


def decode(raw: bytes) -> FixMessage:
    """Fields of one framed message (``Framer`` has checked length and checksum)."""
    text = raw.decode("latin-1")
    pairs = _FIELD.findall(text)
    if len(pairs) != text.count("\x01"):  # fields start at a SOH: none skipped
        raise Garbled("a field is not tag=value")
    fields = [(int(t), v) for t, v in pairs]
    if [t for t, _ in fields[:3]] != [8, 9, 35] or fields[-1][0] != 10:
        raise Garbled("the first three fields are not 8, 9, 35 or the last is not 10")
    return FixMessage(fields, raw)


class Framer:
    """Bytes in, framed messages (or ``Garbled`` for each dropped run of bytes) out."""

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._buffer = bytearray()
        self.max_bytes = max_bytes

    def feed(self, data: bytes) -> Iterator[FixMessage | Garbled]:
        self._buffer += data
        while True:
            item = self._next()
            if item is None:
                return
            yield item

    def _next(self) -> FixMessage | Garbled | None:
        buf = self._buffer
        start = buf.find(BEGIN)
        if start < 0:
            del buf[: max(len(buf) - len(BEGIN) + 1, 0)]  # keep a possible partial 8=FIX
            return None
        if start > 0:
            del buf[:start]
            return Garbled(f"{start} bytes before 8=FIX")
        match = _BODY_LENGTH.match(buf)
        if match is None:
            if buf.count(SOH, 0, 40) < 2 and len(buf) < 40:
                return None  # the header is still arriving
            return self._skip("no BodyLength after BeginString")
        end = match.end() + int(match.group(1))
        if end - match.end() > self.max_bytes:
            return self._skip(f"BodyLength {int(match.group(1)):,} is over the limit")
        if len(buf) < end + 7:
            # A message end followed by the next message inside the claimed body: the
            # BodyLength is wrong (waiting would swallow the messages after it).
            if _END_THEN_BEGIN.search(buf, match.end(), end) is not None:
                return self._skip("BodyLength runs past the end of the message")
            return None
        trailer = _CHECKSUM.match(buf, end)
        if trailer is None:
            return self._skip("BodyLength does not end at the CheckSum field")
        if int(trailer.group(1)) != checksum(buf[:end]):
            return self._skip("CheckSum mismatch")
        raw = bytes(buf[: end + 7])
        del buf[: end + 7]
        try:
            return decode(raw)
        except Garbled as exc:
            return exc

    def _skip(self, why: str) -> Garbled:
        """Drop up to the next 8=FIX (resynchronise)."""
        nxt = self._buffer.find(BEGIN, 1)
        del self._buffer[: nxt if nxt > 0 else len(self._buffer)]
        return Garbled(why)
