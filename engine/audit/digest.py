"""What the audit digest hashes for one message: its canonical JSON and a newline, as the
message reads back from the trail.

The digest is defined over the stored records, so a trail reopened from its file gives
the digest its writer computed. Hashing at append time (no decode of what was just
written) gives the same bytes for every message type whose values survive the msgpack
round trip unchanged. A float field does not: an ``int`` put in it (``Mandate(
max_participation=1)``) is stored as ``1`` and reads back as ``1.0``. Messages of a type
with a float anywhere in it are hashed as they read back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from engine import messages as m

DigestLine = Callable[[m.Message], bytes]


def _has_float(info: Any, seen: set[int]) -> bool:
    """Whether a ``msgspec.inspect`` type has a float in it, anywhere."""
    if isinstance(info, msgspec.inspect.FloatType):
        return True
    if id(info) in seen:
        return False
    seen.add(id(info))
    parts: list[Any] = []
    if isinstance(info, msgspec.inspect.StructType):
        parts = [f.type for f in info.fields]
    elif isinstance(info, msgspec.inspect.UnionType):
        parts = list(info.types)
    elif isinstance(info, msgspec.inspect.TupleType):
        parts = list(info.item_types)
    elif isinstance(info, msgspec.inspect.DictType):
        parts = [info.key_type, info.value_type]
    elif hasattr(info, "item_type"):  # list, set, frozenset, variadic tuple
        parts = [info.item_type]
    return any(_has_float(p, seen) for p in parts)


def _as_stored(msg: m.Message) -> bytes:
    return m.canonical(m.decode(m.encode(msg))) + b"\n"


def _as_given(msg: m.Message) -> bytes:
    return m.canonical(msg) + b"\n"


def _line_for(cls: type[m.Message]) -> DigestLine:
    return _as_stored if _has_float(msgspec.inspect.type_info(cls), set()) else _as_given


DIGEST_LINES: dict[type, DigestLine] = {cls: _line_for(cls) for cls in m.ALL_MESSAGES}
"""Message class → the bytes the audit digest hashes for one of its messages."""


def digest_line(msg: m.Message) -> bytes:
    return DIGEST_LINES[type(msg)](msg)
