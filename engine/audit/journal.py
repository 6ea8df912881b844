"""The durable audit trail: an append-only journal of messages in embedded SQLite.

Every record is one message, numbered by ``seq`` in append order, stored as its msgpack
encoding next to the query columns of ``engine.audit.record``. ``replay()`` decodes every
record through the tagged union (recovery is event sourcing); ``digest()`` is a sha256 over
the canonical encoding of every record in order, so batching and the wall clock never
change it.

``append`` buffers; a batch is written in one transaction once ``batch_size`` records are
buffered, on ``flush()``, before any query or digest (read your own writes) and on
``close()``. A record is acknowledged once a flush returns; a failed write rolls back and
keeps the batch. The storage settings and the append path's shape are explained in
``docs/audit.md``.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from typing import Any

import msgspec

from engine import messages as m
from engine.audit.record import EXTRACTED, Record, index_columns, type_names
from engine.audit.shorthands import QueryShorthands

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PATH",
    "Journal",
    "Record",
    "check_record",
    "index_columns",
]

DEFAULT_PATH = "audit.sqlite"
DEFAULT_BATCH_SIZE = 4096

_TABLE = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    type TEXT NOT NULL,
    source TEXT,
    client_order_id TEXT,
    parent_id TEXT,
    counter_parent_id TEXT,
    child_id TEXT,
    venue TEXT,
    payload BLOB NOT NULL
)
"""

# Built in bulk at ``close()`` (or ``build_indexes()``): maintaining seven b-trees on
# every insert costs far more than one bulk build.
_INDEXES = """
CREATE INDEX IF NOT EXISTS journal_client ON journal(source, client_order_id)
    WHERE client_order_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS journal_parent ON journal(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS journal_counter ON journal(counter_parent_id)
    WHERE counter_parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS journal_child ON journal(child_id) WHERE child_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS journal_venue ON journal(venue) WHERE venue IS NOT NULL;
CREATE INDEX IF NOT EXISTS journal_type ON journal(type, ts);
CREATE INDEX IF NOT EXISTS journal_ts ON journal(ts);
"""

# A row binds 0 for a NULL query column (see ``_row_builder``); NULLIF stores it as NULL.
_ROW_VALUES = "(?,?,?,NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),?)"
_ROW_WIDTH = 10
_INSERT = f"INSERT INTO journal VALUES {_ROW_VALUES}"
# One multi-row INSERT per _CHUNK rows pays sqlite3's per-statement overhead once a chunk.
_CHUNK = 32
_INSERT_CHUNK = f"INSERT INTO journal VALUES {','.join([_ROW_VALUES] * _CHUNK)}"
_PAGE = 10_000
_COLUMNS = "seq, ts, type, source, client_order_id, parent_id, counter_parent_id, child_id, venue"


# ----------------------------------------------------------------------- the append path

# One generated function per message class builds the whole row with plain attribute
# loads; it stores exactly ``index_columns`` (tests check every class). A row holds only
# values sqlite3 binds without its adapter lookup: 0 for None, a bytearray payload.
_RowBuilder = Callable[[int, m.Message], tuple[Any, ...]]
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


def _nz(value: Any) -> Any:
    """An optional column's bound value: ``0`` (stored as NULL) for None."""
    return _NULL if value is None else value


def _optional(cls: type[m.Message], field: str) -> bool:
    hint = cls.__annotations__.get(field, "")
    return "None" in str(hint) or "Optional" in str(hint)


def _row_builder(cls: type[m.Message]) -> _RowBuilder:
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


_ROWS: dict[type, _RowBuilder] = {cls: _row_builder(cls) for cls in m.ALL_MESSAGES}

# What a row builder raises on a message that cannot be stored (not a message, a value
# msgpack cannot encode, an int beyond 64 bits, a missing nested struct, a bad column).
_UNENCODABLE = (KeyError, AttributeError, TypeError, ValueError, OverflowError)


def _refused(msg: object, exc: BaseException) -> ValueError:
    detail = str(exc)[:200].encode("unicode_escape").decode("ascii")
    return ValueError(
        f"journal record refused: {type(msg).__name__} cannot be encoded "
        f"({type(exc).__name__}: {detail}); nothing was appended"
    )


def check_record(msg: m.Message) -> None:
    """Raise ``ValueError`` if ``msg`` cannot be stored as a journal record (what
    ``Journal.append`` refuses)."""
    try:
        _ROWS[type(msg)](0, msg)
    except _UNENCODABLE as exc:
        raise _refused(msg, exc) from exc


def _as_is(value: Any) -> Any:
    return value


# For values that still need adapting (a row built elsewhere): a dict hit instead of
# sqlite3's failed adapter-protocol lookup; what is stored is unchanged.
sqlite3.register_adapter(bytes, bytes)  # bytes(b) is b for exact bytes
sqlite3.register_adapter(type(None), _as_is)


# ----------------------------------------------------------------------------- journal


def _open_readonly(path: str) -> sqlite3.Connection:
    if path == ":memory:" or not os.path.isfile(path):
        raise FileNotFoundError(f"no journal at {path}")
    uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=ro"
    db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    try:
        db.execute("SELECT seq FROM journal LIMIT 1")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise FileNotFoundError(f"{path} is not a journal ({exc})") from None
    return db


class Journal(QueryShorthands):
    """Append-only message journal. ``Journal(":memory:")`` for tests.

    Meant to be owned by one actor; a lock keeps it consistent if threads share it.
    """

    def __init__(
        self,
        path: str = DEFAULT_PATH,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        readonly: bool = False,
    ) -> None:
        """``readonly``: open an existing journal for queries only (e.g. while a run is
        still writing it); a missing file or table raises ``FileNotFoundError``."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.path = str(path)
        self.batch_size = batch_size
        self.readonly = readonly
        # Created by one thread, used by the owning actor's thread: allowed, lock below.
        if readonly:
            self._db = _open_readonly(self.path)
        else:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            # WAL: readers (the audit command on a live run) never block the writer;
            # NORMAL: a commit survives a process crash, only a power loss can drop one.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_TABLE)
        self._lock = threading.RLock()
        self._pending: list[tuple[Any, ...]] = []
        (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()
        self._next_seq = last + 1
        self._hashed_seq = 0  # digest covers seq <= _hashed_seq
        self._hasher = hashlib.sha256()
        self._closed = False

    # ---------------------------------------------------------------- writing

    def append(self, msg: m.Message) -> int:
        """Buffer ``msg``; returns its sequence number. Written at the next batch/flush.
        A message that cannot be stored raises ``ValueError`` here, and nothing changes:
        it never reaches a batch, so it can never make a batch's write fail."""
        with self._lock:
            if self._closed or self.readonly:
                raise ValueError("journal is closed" if self._closed else "journal is read-only")
            seq = self._next_seq
            try:
                row = _ROWS[type(msg)](seq, msg)
            except _UNENCODABLE as exc:
                raise _refused(msg, exc) from exc
            self._next_seq = seq + 1
            self._pending.append(row)
            if len(self._pending) >= self.batch_size:
                self._write_pending()
        return seq

    def extend(self, msgs: Iterable[m.Message]) -> None:
        """``append`` each of ``msgs`` in order, under one lock acquisition (the simulated
        runtime hands over a wave's records this way). The batch is written once at
        least ``batch_size`` records are buffered, so a write may hold a few more.

        As with ``append``, a message that cannot be stored raises ``ValueError``: the
        ones before it are kept, it and the ones after it are not."""
        with self._lock:
            if self._closed or self.readonly:
                raise ValueError("journal is closed" if self._closed else "journal is read-only")
            seq = self._next_seq
            rows = _ROWS
            pending = self._pending
            try:
                for msg in msgs:
                    try:
                        row = rows[type(msg)](seq, msg)
                    except _UNENCODABLE as exc:
                        raise _refused(msg, exc) from exc
                    pending.append(row)
                    seq += 1
            finally:
                self._next_seq = seq
                if len(pending) >= self.batch_size:
                    self._write_pending()

    def flush(self) -> None:
        """Write every buffered record in one transaction; they are acknowledged on return."""
        with self._lock:
            self._write_pending()

    def _write_pending(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        db = self._db
        db.execute("BEGIN")
        try:
            full = len(batch) - len(batch) % _CHUNK
            if full:  # each chunk's values in one flat tuple, grouped in C by zip
                values = chain.from_iterable(islice(batch, full))
                db.executemany(_INSERT_CHUNK, zip(*[values] * (_CHUNK * _ROW_WIDTH), strict=True))
            if full < len(batch):
                db.executemany(_INSERT, islice(batch, full, None))
        except BaseException:
            db.execute("ROLLBACK")
            self._pending = batch + self._pending  # nothing is lost on a failed write
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        """Flush, checkpoint the WAL into the database file, close. Idempotent."""
        with self._lock:
            if self._closed:
                return
            if not self.readonly:
                self._write_pending()
                self._db.executescript(_INDEXES)
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
            self._closed = True

    def build_indexes(self) -> None:
        """Build the query indexes now (``close()`` does it). Until then a filtered query
        scans the table: correct, just slower; later appends then maintain the indexes."""
        with self._lock:
            if not self.readonly:
                self._write_pending()
                self._db.executescript(_INDEXES)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- reading

    def __len__(self) -> int:
        with self._lock:
            return self._next_seq - 1

    def digest(self) -> str:
        """sha256 hex over ``canonical(msg) + b"\\n"`` of every record in seq order.

        Incremental: records already hashed are not decoded again.
        """
        with self._lock:
            self._write_pending()
            rows = self._db.execute(
                "SELECT seq, payload FROM journal WHERE seq > ? ORDER BY seq", (self._hashed_seq,)
            )
            for seq, payload in rows:
                self._hasher.update(m.canonical(m.decode(payload)))
                self._hasher.update(b"\n")
                self._hashed_seq = seq
            return self._hasher.copy().hexdigest()

    def replay(self) -> Iterator[m.Message]:
        """Every message in append order, decoded through the tagged union."""
        for record in self.query():
            yield record.message

    def query(
        self,
        *,
        source: str | None = None,
        client_order_id: str | None = None,
        parent_id: str | None = None,
        child_id: str | None = None,
        venue: str | None = None,
        types: str | list[str] | None = None,
        since: int | None = None,
        until: int | None = None,
    ) -> Iterator[Record]:
        """Records matching every given filter, in seq order. ``since``/``until`` are
        inclusive ns bounds on ``ts``; ``parent_id`` also matches the other side of a
        cross. Unknown message type names raise ``ValueError``."""
        where: list[str] = []
        params: list[Any] = []

        def add(clause: str, *values: Any) -> None:
            where.append(clause)
            params.extend(values)

        if source is not None:
            add("source = ?", source)
        if client_order_id is not None:
            add("client_order_id = ?", client_order_id)
        if parent_id is not None:
            add("(parent_id = ? OR counter_parent_id = ?)", parent_id, parent_id)
        if child_id is not None:
            add("child_id = ?", child_id)
        if venue is not None:
            add("venue = ?", venue)
        if types is not None:
            names = type_names(types)
            add(f"type IN ({','.join('?' * len(names))})", *names)
        if since is not None:
            add("ts >= ?", since)
        if until is not None:
            add("ts <= ?", until)
        # Keyset pages: memory stays bounded and the lock is not held while the caller
        # consumes records (it may append meanwhile; those come in later pages).
        sql = f"SELECT {_COLUMNS}, payload FROM journal WHERE seq > ?"
        for clause in where:
            sql += " AND " + clause
        sql += f" ORDER BY seq LIMIT {_PAGE}"
        return self._pages(sql, params)

    def _pages(self, sql: str, params: list[Any]) -> Iterator[Record]:
        last = 0
        while True:
            with self._lock:
                self._write_pending()  # read your own writes
                rows = self._db.execute(sql, [last, *params]).fetchall()
            for row in rows:
                yield _record(row)
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]


def _record(row: tuple[Any, ...]) -> Record:
    (
        seq,
        ts,
        type_,
        source,
        client_order_id,
        parent_id,
        counter_parent_id,
        child_id,
        venue,
        payload,
    ) = row
    return Record(
        seq=seq,
        ts=ts,
        type=type_,
        source=source,
        client_order_id=client_order_id,
        parent_id=parent_id,
        counter_parent_id=counter_parent_id,
        child_id=child_id,
        venue=venue,
        message=m.decode(payload),
    )
