"""The durable audit trail: an append-only journal of messages in embedded SQLite.

Every record is one message, numbered by ``seq`` in append order, stored as its msgpack
encoding next to the query columns of ``engine.audit.record`` and its link in the trail's
hash chain (``engine.audit.chain``). ``replay()`` decodes every record through the tagged
union (recovery is event sourcing); ``digest()`` is a sha256 over the canonical encoding
of every record in order, so batching, the chain and the wall clock never change it.

``append`` buffers; a batch is written in one transaction once ``batch_size`` records are
buffered, on ``flush()``, before any query or digest (read your own writes) and on
``close()``. A record is committed once a flush returns (durable against the process's
death, or against a power loss with ``synchronous="FULL"``); a failed write rolls back and
keeps the batch. Opening an existing trail verifies its chain. The storage settings and
the append path's shape are explained in ``docs/audit.md``.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import urllib.parse
import warnings
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

import msgspec

from engine import messages as m
from engine.audit.chain import (
    CLOSE_HEAD,
    HEAD_TABLE,
    MOVE_HEAD,
    NEW_HEAD,
    Head,
    TrailDamaged,
    corrupt,
    torn_log,
    unreadable,
    verify,
)
from engine.audit.digest import DIGEST_LINES
from engine.audit.record import Record, index_columns, type_names
from engine.audit.replay import (
    ReplayMismatch,
    Reproduction,
    chain_at,
    course_end,
    stored_run_info,
)
from engine.audit.rows import (
    CHUNK,
    GENESIS,
    INSERT,
    INSERT_CHUNK,
    ROW_WIDTH,
    ROWS,
    UNENCODABLE,
    chained,
    check_record,
    refused,
)
from engine.audit.shorthands import QueryShorthands

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_PATH",
    "SYNCHRONOUS",
    "Journal",
    "Record",
    "ReplayMismatch",
    "TrailDamaged",
    "check_record",
    "index_columns",
]

_ROWS = ROWS  # the row builders, by message class (tests patch them here)

DEFAULT_PATH = "audit.sqlite"
DEFAULT_BATCH_SIZE = 4096
_INDEX_COUNT = 7

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
    payload BLOB NOT NULL,
    chain BLOB NOT NULL
)
"""

# NORMAL: in WAL mode a commit is in the log file when it returns, so it survives the
# process's death; only an OS crash or power loss can drop the last commits. FULL also
# fsyncs the log at every commit: it survives those too, at the price of a disk flush.
SYNCHRONOUS = ("NORMAL", "FULL")

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

# What a run needs to be replayed (its configuration, its scenario), by key, as JSON:
# outside the records, so the records and the digest are the run's messages alone.
_RUN_TABLE = """
CREATE TABLE IF NOT EXISTS journal_run (key TEXT PRIMARY KEY, value BLOB NOT NULL)
"""

_PAGE = 10_000
_COLUMNS = "seq, ts, type, source, client_order_id, parent_id, counter_parent_id, child_id, venue"
_NO_LIMIT = (1 << 63) - 1


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
        if corrupt(exc):
            raise unreadable(path, exc) from None
        raise FileNotFoundError(f"{path} is not a journal ({exc})") from None
    return db


def _open_writable(path: str, synchronous: str) -> sqlite3.Connection:
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    try:
        # WAL: readers (the audit command on a live run) never block the writer.
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("BEGIN")
        db.execute(_TABLE)
        db.execute(HEAD_TABLE)
        db.execute(NEW_HEAD, (GENESIS,))
        db.execute(_RUN_TABLE)
        db.execute("COMMIT")
        if not _checksummed(db):
            raise ValueError(
                f"audit trail {path!r} was written without checksums (an older version): "
                "open it readonly=True to read it"
            )
    except sqlite3.DatabaseError as exc:
        db.close()
        if corrupt(exc):
            raise unreadable(path, exc) from None
        raise
    except BaseException:
        db.close()
        raise
    return db


def _checksummed(db: sqlite3.Connection) -> bool:
    columns = {row[1] for row in db.execute("PRAGMA table_info(journal)")}
    return "chain" in columns


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
        synchronous: str = "NORMAL",
        salvage: bool = False,
        resume: bool = False,
    ) -> None:
        """``readonly``: open an existing journal for queries only (e.g. while a run is
        still writing it); a missing file or table raises ``FileNotFoundError``.

        ``synchronous``: ``"NORMAL"`` (commits survive the process's death) or ``"FULL"``
        (they survive a power loss too); see ``SYNCHRONOUS``.

        An existing trail's hash chain is verified first: a damaged one raises
        ``TrailDamaged`` naming the first bad seq, unless ``salvage``: then it opens with
        a warning and only the records before that seq (a writable journal drops the
        rest, a read-only one stops reading there; ``damage`` holds the error).

        ``resume``: continue a trail its run never closed, replaying the run from its
        start: appends are checked against the stored records (``ReplayMismatch`` names
        the first difference), reads see what was reproduced so far; past the trail's
        end appends are written (``docs/audit.md``, "Resuming a run")."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.path = str(path)
        self.batch_size = batch_size
        self.readonly = readonly
        self.damage: TrailDamaged | None = None
        self._limit = _NO_LIMIT  # reads see seq <= _limit (a salvaged trail's good part)
        # Created by one thread, used by the owning actor's thread: allowed, lock below.
        torn = torn_log(self.path)  # before SQLite opens (and may reset) the log
        self._db = _open_readonly(self.path) if readonly else _open_writable(self.path, synchronous)
        self._lock = threading.RLock()
        self._pending: list[tuple[Any, ...]] = []
        try:
            head = self._verified_head(salvage)
        except BaseException:
            self._db.close()
            raise
        if torn:
            _warn_torn(self.path, head.seq)
        self.closed_cleanly = head.closed
        """False: the writer never closed the trail (it died, or is still writing it)."""
        self._next_seq = head.seq + 1
        self._chain = head.chain  # the chain value of the last written record
        self._hashed_seq = 0  # digest covers seq <= _hashed_seq
        self._hasher = hashlib.sha256()
        self._taps: list[Callable[[m.Message], None]] = []
        self._closed = False
        if not readonly and head.seq and not self.indexed:
            self._db.executescript(_INDEXES)  # a trail its writer never closed
        self._replay: Reproduction | None = None
        self.resumed_at = 0  # the seq a resumed trail ended at when opened (0: not resumed)
        if resume:
            self._start_replay(head)

    def _start_replay(self, head: Head) -> None:
        if self.readonly:
            self._db.close()
            raise ValueError("a read-only journal cannot be resumed")
        if head.closed and head.seq:
            self._db.close()
            raise ValueError(
                f"audit trail {self.path!r} was closed by its run: it is complete, "
                "there is nothing to resume"
            )
        end = course_end(self._db, head.seq)
        self.resumed_at = end
        self._replay = Reproduction(self._db, self.path, end, head.seq)
        self._next_seq = 1
        self._limit = 0
        self._chain = chain_at(self._db, end)  # where the trail goes on once replayed
        if not end:
            self._replayed()

    def _replayed(self) -> None:
        """The replay has reached the trail's course end: drop the stop records after it
        (if any), and append from there on."""
        replay = self._replay
        assert replay is not None
        self._replay, self._limit = None, _NO_LIMIT
        if replay.end < replay.held:
            self._drop_after(Head(replay.end, self._chain, False))

    @property
    def replaying(self) -> bool:
        """True while a resumed trail's replay has not reached the trail's end yet."""
        return self._replay is not None

    def check_replayed(self) -> None:
        """Raise ``ReplayMismatch`` if the replay stopped short of the trail's end."""
        if self._replay is not None:
            raise self._replay.ended_early()

    def _reproduce(self, msgs: Iterator[m.Message]) -> Iterator[m.Message]:
        """Check replayed messages against the stored records until the trail's end;
        the rest of ``msgs`` is new."""
        replay = self._replay
        assert replay is not None
        for msg in msgs:
            seq = self._next_seq
            try:
                payload = _ROWS[type(msg)](seq, msg)[-1]
            except UNENCODABLE as exc:
                raise refused(msg, exc) from exc
            replay.check(seq, payload, msg)
            self._next_seq, self._limit = seq + 1, seq
            self._taken(seq, msg)
            if replay.done:
                self._replayed()
                break
        return msgs

    def _verified_head(self, salvage: bool) -> Head:
        if not _checksummed(self._db):  # read-only, written before records had checksums
            (last,) = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM journal").fetchone()
            return Head(last, GENESIS, True)
        try:
            return verify(self._db, self.path)
        except TrailDamaged as damage:
            if not salvage or damage.seq is None:
                raise
            self.damage = damage
            good = Head(damage.seq - 1, damage.good_chain, False)
            warnings.warn(f"{damage}; kept the {good.seq:,} records before it", stacklevel=3)
            if self.readonly:
                self._limit = good.seq
            else:
                self._drop_after(good)
            return good

    def _drop_after(self, good: Head) -> None:
        db = self._db
        db.execute("BEGIN")
        db.execute("DELETE FROM journal WHERE seq > ?", (good.seq,))
        db.execute(MOVE_HEAD, (good.seq, good.chain))
        db.execute("COMMIT")

    @property
    def indexed(self) -> bool:
        """Whether the query indexes exist (built at ``close()``)."""
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'journal'"
            " AND name LIKE 'journal_%'"
        ).fetchone()
        return bool(count >= _INDEX_COUNT)

    # ---------------------------------------------------------------- writing

    def append(self, msg: m.Message) -> int:
        """Buffer ``msg``; returns its sequence number. Written at the next batch/flush.
        A message that cannot be stored raises ``ValueError`` here, and nothing changes:
        it never reaches a batch, so it can never make a batch's write fail."""
        with self._lock:
            if self._closed or self.readonly:
                raise ValueError("journal is closed" if self._closed else "journal is read-only")
            seq = self._next_seq
            if self._replay is not None:
                self._reproduce(iter((msg,)))
                return seq
            try:
                row = _ROWS[type(msg)](seq, msg)
            except UNENCODABLE as exc:
                raise refused(msg, exc) from exc
            self._next_seq = seq + 1
            self._pending.append(row)
            self._taken(seq, msg)
            if len(self._pending) >= self.batch_size:
                self._write_pending()
        return seq

    def tap(self, observer: Callable[[m.Message], None]) -> None:
        """Show ``observer`` every message the trail takes from now on, in seq order, as
        it is appended (or reproduced, on a resumed trail): what a reader of the whole
        trail would compute, without reading it back. ``observer`` must not raise."""
        with self._lock:
            self._taps.append(observer)

    def _taken(self, seq: int, msg: m.Message) -> None:
        """Hash a record as it is taken (the digest then never reads it back), unless a
        record before it is not hashed yet (a trail opened with records in it)."""
        if seq == self._hashed_seq + 1:
            self._hasher.update(DIGEST_LINES[type(msg)](msg))
            self._hashed_seq = seq
        for observer in self._taps:
            observer(msg)

    def extend(self, msgs: Iterable[m.Message]) -> None:
        """``append`` each of ``msgs`` in order, under one lock acquisition (the simulated
        runtime hands over a wave's records this way). The batch is written once at
        least ``batch_size`` records are buffered, so a write may hold a few more.

        As with ``append``, a message that cannot be stored raises ``ValueError``: the
        ones before it are kept, it and the ones after it are not."""
        with self._lock:
            if self._closed or self.readonly:
                raise ValueError("journal is closed" if self._closed else "journal is read-only")
            if self._replay is not None:
                msgs = self._reproduce(iter(msgs))
            seq = self._next_seq
            rows, lines, taps = _ROWS, DIGEST_LINES, self._taps
            pending = self._pending
            hashing = seq == self._hashed_seq + 1
            update = self._hasher.update
            try:
                for msg in msgs:
                    try:
                        row = rows[type(msg)](seq, msg)
                    except UNENCODABLE as exc:
                        raise refused(msg, exc) from exc
                    pending.append(row)
                    if hashing:
                        update(lines[type(msg)](msg))
                    for observer in taps:
                        observer(msg)
                    seq += 1
            finally:
                self._next_seq = seq
                if hashing:
                    self._hashed_seq = seq - 1
                if len(pending) >= self.batch_size:
                    self._write_pending()

    def flush(self) -> None:
        """Write every buffered record in one transaction: committed on return."""
        with self._lock:
            self._write_pending()

    def _write_pending(self) -> None:
        if not self._pending:
            return
        batch = self._pending
        values, last_chain = chained(batch, self._chain)
        self._pending = []
        db = self._db
        db.execute("BEGIN")
        try:
            full = len(batch) - len(batch) % CHUNK
            flat = iter(values)
            if full:  # each chunk's values in one flat tuple, grouped in C by zip
                chunks = zip(*[islice(flat, full * ROW_WIDTH)] * (CHUNK * ROW_WIDTH), strict=True)
                db.executemany(INSERT_CHUNK, chunks)
            if full < len(batch):
                db.executemany(INSERT, zip(*[flat] * ROW_WIDTH, strict=True))
            db.execute(MOVE_HEAD, (batch[-1][0], last_chain))  # the head commits with them
        except BaseException:
            db.execute("ROLLBACK")
            self._pending = batch + self._pending  # nothing is lost on a failed write
            raise
        db.execute("COMMIT")
        self._chain = last_chain

    def close(self, *, complete: bool = True) -> None:
        """Flush, mark the trail closed, checkpoint the WAL into the database file, close.
        Idempotent. ``complete=False`` (a run stopped early) leaves the head open: the
        trail reads as an interrupted run, and ``resume`` can continue it. A resumed
        trail whose replay has not reached its end is left as it was."""
        with self._lock:
            if self._closed:
                return
            if not self.readonly and self._replay is None:
                self._write_pending()
                self._db.executescript(_INDEXES)
                if complete:
                    self._db.execute(CLOSE_HEAD)
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

    def set_run_info(self, key: str, value: Any) -> None:
        """Keep ``value`` (anything msgspec encodes as JSON) under ``key``: what a replay
        of the run needs (its configuration, scenario and seed), written at once. On a
        resumed trail the value must be the one stored (``ReplayMismatch`` otherwise)."""
        encoded = msgspec.json.encode(value)
        with self._lock:
            stored = stored_run_info(self._db, key)
            if self._replay is not None and stored is not None:
                if stored != encoded:
                    raise ReplayMismatch(self.path, None, f"its {key!r} is not the trail's")
                return
            self._db.execute(
                "INSERT OR REPLACE INTO journal_run (key, value) VALUES (?, ?)", (key, encoded)
            )

    def run_info(self, key: str, type: Any = Any) -> Any:
        """The value kept under ``key`` decoded as ``type``, or None if there is none."""
        with self._lock:
            raw = stored_run_info(self._db, key)
        return None if raw is None else msgspec.json.decode(raw, type=type)

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
                "SELECT seq, payload FROM journal WHERE seq > ? AND seq <= ? ORDER BY seq",
                (self._hashed_seq, self._limit),
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
        sql = f"SELECT {_COLUMNS}, payload FROM journal WHERE seq > ? AND seq <= ?"
        for clause in where:
            sql += " AND " + clause
        sql += f" ORDER BY seq LIMIT {_PAGE}"
        return self._pages(sql, params)

    def _pages(self, sql: str, params: list[Any]) -> Iterator[Record]:
        last = 0
        while True:
            with self._lock:
                self._write_pending()  # read your own writes
                rows = self._db.execute(sql, [last, self._limit, *params]).fetchall()
            for row in rows:
                yield _record(row)
            if len(rows) < _PAGE:
                return
            last = rows[-1][0]


def _warn_torn(path: str, committed: int) -> None:
    warnings.warn(
        f"audit trail {path!r}: its write-ahead log ends in a torn write (a commit a crash "
        f"cut short, dropped, or one still being written); the {committed:,} committed "
        "records are intact",
        stacklevel=3,
    )


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
