"""The journal's append path: one SQLite row per message, checksummed and chained.

A row is ``(seq, ts, type, source, client_order_id, parent_id, counter_parent_id,
child_id, venue, payload, chain)``: the query columns of ``engine.audit.record``, the
message's msgpack encoding, and the record's link in the trail's hash chain
(``engine.audit.chain``). Its shape follows what the sqlite3 module does per value and
per statement (``docs/audit.md``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgspec

from engine import messages as m
from engine.audit.record import EXTRACTED

# A row binds 0 for a NULL query column (see ``_row_builder``); NULLIF stores it as NULL.
ROW_VALUES = "(?,?,?,NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),?,?)"
ROW_WIDTH = 11  # a built row and its chain value
INSERT = f"INSERT INTO journal VALUES {ROW_VALUES}"
# One multi-row INSERT per CHUNK rows pays sqlite3's per-statement overhead once a chunk.
CHUNK = 32
INSERT_CHUNK = f"INSERT INTO journal VALUES {','.join([ROW_VALUES] * CHUNK)}"

GENESIS = bytes(32)
"""The chain value before the first record."""

# One generated function per message class builds the whole row with plain attribute
# loads; it stores exactly ``index_columns`` (tests check every class). A row holds only
# values sqlite3 binds without its adapter lookup: 0 for None, a bytearray payload. The
# chain value is added when the batch is written (``chained``): off the append path,
# which runs inside the handlers of a live engine.
RowBuilder = Callable[..., tuple[Any, ...]]
_SPECIAL_COLUMNS = {
    m.SubmitClientOrder: ("msg.order.source", "msg.order.client_order_id", "0", "0", "0", "0"),
    m.InternalCrossExecuted: (
        "0",
        "0",
        "_nz(msg.buy_parent_id)",
        "_nz(msg.sell_parent_id)",
        "0",
        "0",
    ),
}

# ``messages.encode``'s encoding (tests check the bytes agree), as the C method itself.
_encode = msgspec.msgpack.Encoder().encode

_NULL = 0


def link(prev: bytes | bytearray, payload: bytes | bytearray) -> bytes:
    """A record's chain value: sha256 over the previous record's value and its payload."""
    return hashlib.sha256(prev + payload).digest()


def chained(rows: list[tuple[Any, ...]], prev: bytes | bytearray) -> tuple[list[Any], bytes]:
    """The values of ``rows`` in one flat list, each row followed by its chain value
    (from ``prev``, the value of the record before), and the last chain value."""
    flat: list[Any] = []
    add_row, add = flat.extend, flat.append
    sha256 = hashlib.sha256
    for row in rows:
        prev = bytearray(sha256(prev + row[-1]).digest())
        add_row(row)
        add(prev)
    return flat, bytes(prev)


def _nz(value: Any) -> Any:
    """An optional column's bound value: ``0`` (stored as NULL) for None."""
    return _NULL if value is None else value


def _optional(cls: type[m.Message], field: str) -> bool:
    hint = cls.__annotations__.get(field, "")
    return "None" in str(hint) or "Optional" in str(hint)


def _row_builder(cls: type[m.Message]) -> RowBuilder:
    fields = set(cls.__struct_fields__)
    cols = _SPECIAL_COLUMNS.get(cls) or tuple(
        ("0" if f not in fields else f"_nz(msg.{f})" if _optional(cls, f) else f"msg.{f}")
        for f in EXTRACTED
    )
    names = [f"c{i}" for i in range(len(cols))]
    # What SQLite could not bind at the batch's write is refused here: a time beyond
    # int64, a query column that is not text (0 stands for NULL).
    unbindable = "".join(
        f" or ({c}.__class__ is not str and {c} is not _NULL)"
        for c, col in zip(names, cols, strict=True)
        if col != "0"
    )
    source = (
        "def row(seq, msg):\n"
        "    ts = msg.ts\n"
        + "".join(f"    {c} = {col}\n" for c, col in zip(names, cols, strict=True))
        + f"    if ts.__class__ is not int or not _MIN <= ts <= _MAX{unbindable}:\n"
        f"        raise ValueError('a time or a query column SQLite cannot store')\n"
        f"    return (seq, ts, {cls.__name__!r}, {', '.join(names)},\n"
        f"            bytearray(encode(msg)))\n"
    )
    namespace: dict[str, Any] = {
        "encode": _encode,
        "_nz": _nz,
        "_NULL": _NULL,
        "_MIN": -(1 << 63),
        "_MAX": (1 << 63) - 1,
    }
    exec(source, namespace)
    return namespace["row"]


ROWS: dict[type, RowBuilder] = {cls: _row_builder(cls) for cls in m.ALL_MESSAGES}

# What a row builder raises on a message that cannot be stored (not a message, a value
# msgpack cannot encode, an int beyond 64 bits, a missing nested struct, a bad column).
UNENCODABLE = (KeyError, AttributeError, TypeError, ValueError, OverflowError)


def refused(msg: object, exc: BaseException) -> ValueError:
    detail = str(exc)[:200].encode("unicode_escape").decode("ascii")
    return ValueError(
        f"journal record refused: {type(msg).__name__} cannot be encoded "
        f"({type(exc).__name__}: {detail}); nothing was appended"
    )


def check_record(msg: m.Message) -> None:
    """Raise ``ValueError`` if ``msg`` cannot be stored as a journal record (what
    ``Journal.append`` refuses)."""
    try:
        ROWS[type(msg)](0, msg)
    except UNENCODABLE as exc:
        raise refused(msg, exc) from exc
