"""The audit trail: an append-only journal of messages in embedded SQLite.

Every record is one message, numbered by ``seq`` in append order, stored as its msgpack
encoding next to a few columns extracted for queries (client order, parent, child,
venue, type, time). ``replay()`` decodes every record through the tagged union, so an
actor can rebuild its state after a restart (event sourcing); ``digest()`` is a sha256
over the canonical encoding of every record in order, so the same run gives the same
digest whatever the wall clock or batching did.

Speed: a batch goes in as one transaction, 32 rows per multi-row INSERT, each row made
of values sqlite3 binds without its adapter protocol (see ``_ROWS``), and the query
indexes are built in bulk at ``close()`` (see ``_INDEXES``): about 1.6 us per record into
``:memory:`` (childbench rows), well above 200k appends per CPU second into a file.

Durability: ``append`` buffers; a batch is written in one transaction once
``batch_size`` records are buffered, on ``flush()``, before any query or digest (read
your own writes) and on ``close()``; a failed write rolls back and keeps the batch. A record is *acknowledged*
once a flush returns; a clean ``close()`` therefore loses nothing. Storage settings:

- ``journal_mode=WAL``: appends are sequential writes to the log, and readers (the
  ``audit`` command on a live run) never block the writer.
- ``synchronous=NORMAL``: in WAL mode a commit survives a process crash; only a power
  loss can drop the last commits. FULL would fsync every batch and cost ~10x for a
  simulator whose journal can be regenerated from the seed.

One writer: the journal is meant to be owned by one actor. A lock still guards the
buffer so that a journal shared between threads stays consistent.
"""

from __future__ import annotations

import hashlib
import operator
import os
import sqlite3
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any as AnyType

import msgspec

from engine import messages as m

DEFAULT_PATH = "audit.sqlite"
DEFAULT_BATCH_SIZE = 4096

MESSAGE_TYPES: frozenset[str] = frozenset(cls.__name__ for cls in m.ALL_MESSAGES)

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

# Secondary indexes are built in bulk by ``build_indexes()`` (at ``close()``), not kept
# up to date on every insert: incremental maintenance of seven b-trees cut appends from
# ~200k/s to ~50k/s, a bulk build of 1M rows takes about a second.
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

# Index columns are bound as 0 for NULL (see the row builders below).
_ROW_VALUES = "(?,?,?,NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),NULLIF(?,0),?)"
_ROW_WIDTH = 10
_INSERT = f"INSERT INTO journal VALUES {_ROW_VALUES}"
# Rows go in _CHUNK at a time through one multi-row INSERT (the rest one by one):
# sqlite3's per-execution work (statement reset, GIL release around each step, VDBE
# start) is paid once per chunk. 300k childbench rows into :memory:: 2.2 -> 1.6 us/row.
_CHUNK = 32
_INSERT_CHUNK = f"INSERT INTO journal VALUES {','.join([_ROW_VALUES] * _CHUNK)}"
_PAGE = 10_000
_COLUMNS = "seq, ts, type, source, client_order_id, parent_id, counter_parent_id, child_id, venue"


@dataclass(frozen=True, slots=True)
class Record:
    """One journal row: its position, the indexed columns and the decoded message."""

    seq: int
    ts: int
    type: str
    source: str | None
    client_order_id: str | None
    parent_id: str | None
    counter_parent_id: str | None
    child_id: str | None
    venue: str | None
    message: m.Message


# ------------------------------------------------------------------ column extraction


_EXTRACTED = ("source", "client_order_id", "parent_id", "counter_parent_id", "child_id", "venue")
_Extractor = Callable[[m.Message], tuple[AnyType, ...]]


def _submit_columns(msg: m.SubmitClientOrder) -> tuple[AnyType, ...]:
    return (msg.order.source, msg.order.client_order_id, None, None, None, None)


def _cross_columns(msg: m.InternalCrossExecuted) -> tuple[AnyType, ...]:
    # A cross belongs to both sides: a query by either parent finds it.
    return (None, None, msg.buy_parent_id, msg.sell_parent_id, None, None)


def _generic_extractor(cls: type[m.Message]) -> _Extractor:
    fields = set(cls.__struct_fields__)
    present = [f for f in _EXTRACTED if f in fields]
    if not present:
        return lambda msg: (None,) * 6
    getter = operator.attrgetter(*present)
    slots = [f in fields for f in _EXTRACTED]

    def extract(msg: m.Message) -> tuple[AnyType, ...]:
        values = getter(msg)
        it = iter(values if len(present) > 1 else (values,))
        return tuple(next(it) if has else None for has in slots)

    return extract


_EXTRACTORS: dict[type, _Extractor] = {cls: _generic_extractor(cls) for cls in m.ALL_MESSAGES}
_EXTRACTORS[m.SubmitClientOrder] = _submit_columns  # type: ignore[assignment]
_EXTRACTORS[m.InternalCrossExecuted] = _cross_columns  # type: ignore[assignment]


def index_columns(msg: m.Message) -> tuple[AnyType, ...]:
    """(source, client_order_id, parent_id, counter_parent_id, child_id, venue) of ``msg``."""
    return _EXTRACTORS[type(msg)](msg)


# The append path: one function per message class builds the whole row (seq, ts, type,
# the six index columns, payload) with plain attribute loads — the generic extractor
# above costs a tuple, an iterator and a generator per record, which at several hundred
# thousand records per run was a tenth of the loop. Same stored values as
# ``index_columns`` (tests/engine/test_journal_rows.py checks every class).
#
# Binding, measured (callgrind/perf on a child-dense run's 300k rows): sqlite3 binds exact
# int/float/str/bytearray values directly but sends anything else — ``None`` (most index
# columns of most rows) and ``bytes`` (every payload) — through its adapter protocol: a
# key tuple built with Py_BuildValue, hashed, looked up, an adapter called: about a third
# of the whole insert (3.1 -> 2.0 us/row without it). So a row never holds them:
#
# - a column the class does not have (or an optional one that is None) is the int ``0``,
#   and the insert stores ``NULLIF(?, 0)``: NULL, exactly as before. The six index columns
#   are ``str`` fields, so a real value is never the integer 0;
# - the payload is a ``bytearray`` of the same msgpack bytes: stored as the same BLOB (and
#   read back as ``bytes``).
_RowBuilder = Callable[[int, m.Message], tuple[AnyType, ...]]
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


# ``messages.encode``'s encoding (a default msgpack Encoder: the tests check the bytes
# agree), called as the C method itself: one Python frame less per record.
_encode = msgspec.msgpack.Encoder().encode


def _nz(value: AnyType) -> AnyType:
    """An optional column's bound value: ``0`` (stored as NULL) for None."""
    return 0 if value is None else value


def _optional(cls: type[m.Message], field: str) -> bool:
    hint = cls.__annotations__.get(field, "")
    return "None" in str(hint) or "Optional" in str(hint)


def _row_builder(cls: type[m.Message]) -> _RowBuilder:
    fields = set(cls.__struct_fields__)
    cols = _SPECIAL_COLUMNS.get(cls) or tuple(
        ("0" if f not in fields else f"_nz(msg.{f})" if _optional(cls, f) else f"msg.{f}")
        for f in _EXTRACTED
    )
    source = (
        f"def row(seq, msg):\n"
        f"    return (seq, msg.ts, {cls.__name__!r}, {', '.join(cols)},\n"
        f"            bytearray(encode(msg)))\n"
    )
    namespace: dict[str, AnyType] = {"encode": _encode, "_nz": _nz}
    exec(source, namespace)
    return namespace["row"]  # type: ignore[no-any-return]


_ROWS: dict[type, _RowBuilder] = {cls: _row_builder(cls) for cls in m.ALL_MESSAGES}

# Left for values that still need adapting (a row built elsewhere, an optional column
# this module does not know is optional): identity adapters make that a dict hit instead
# of a raised-and-formatted AttributeError (sqlite3's failed PrepareProtocol.__adapt__
# lookup); what is stored is unchanged (bytes as the same BLOB, None as NULL).
sqlite3.register_adapter(bytes, bytes)  # bytes(b) is b for exact bytes
sqlite3.register_adapter(type(None), {}.get)  # {}.get(None) is None


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


class Journal:
    """Append-only message journal. ``Journal(":memory:")`` for tests."""

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
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_TABLE)
        self._lock = threading.RLock()
        self._pending: list[tuple[AnyType, ...]] = []
        (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()
        self._next_seq = last + 1
        self._hashed_seq = 0  # digest covers seq <= _hashed_seq
        self._hasher = hashlib.sha256()
        self._closed = False

    # ---------------------------------------------------------------- writing

    def append(self, msg: m.Message) -> int:
        """Buffer ``msg``; returns its sequence number. Written at the next batch/flush."""
        with self._lock:
            if self._closed or self.readonly:
                raise ValueError("journal is closed" if self._closed else "journal is read-only")
            seq = self._next_seq
            self._next_seq = seq + 1
            self._pending.append(_ROWS[type(msg)](seq, msg))
            if len(self._pending) >= self.batch_size:
                self._write_pending()
        return seq

    def extend(self, msgs: Iterable[m.Message]) -> None:
        """``append`` each of ``msgs`` in order, under one lock acquisition (the simulated
        runtime hands over a wave's records this way). The batch is written once at
        least ``batch_size`` records are buffered, so a write may hold a few more."""
        with self._lock:
            if self._closed or self.readonly:
                raise ValueError("journal is closed" if self._closed else "journal is read-only")
            seq = self._next_seq
            rows = _ROWS
            pending = self._pending
            for msg in msgs:
                pending.append(rows[type(msg)](seq, msg))
                seq += 1
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
                db.executemany(_INSERT_CHUNK, zip(*[values] * (_CHUNK * _ROW_WIDTH)))
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
        params: list[AnyType] = []

        def add(clause: str, *values: AnyType) -> None:
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
            names = [types] if isinstance(types, str) else list(types)
            unknown = sorted(set(names) - MESSAGE_TYPES)
            if unknown:
                raise ValueError(f"unknown message type(s): {', '.join(unknown)}")
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

    def _pages(self, sql: str, params: list[AnyType]) -> Iterator[Record]:
        last = 0
        while True:
            with self._lock:
                self._write_pending()  # read your own writes
                rows = self._db.execute(sql, [last, *params]).fetchall()
            for *cols, payload in rows:
                yield Record(*cols, message=m.decode(payload))
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]

    def by_client_order(self, source: str, client_order_id: str) -> Iterator[Record]:
        return self.query(source=source, client_order_id=client_order_id)

    def by_parent(self, parent_id: str) -> Iterator[Record]:
        return self.query(parent_id=parent_id)

    def by_venue(self, venue: str) -> Iterator[Record]:
        return self.query(venue=venue)

    def by_type(self, *types: str) -> Iterator[Record]:
        return self.query(types=list(types))

    def between(self, since: int | None, until: int | None) -> Iterator[Record]:
        return self.query(since=since, until=until)

    def messages(self, *types: type[m.Message]) -> Iterator[m.Message]:
        """Messages of the given classes, in order — typed convenience for consumers."""
        return (r.message for r in self.query(types=[t.__name__ for t in types]))
