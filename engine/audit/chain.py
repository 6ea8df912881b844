"""The trail's integrity: a running sha256 hash chain over its records, and its head.

Record n stores ``chain_n = sha256(chain_{n-1} + payload_n)`` (``chain_0`` is 32 zero
bytes), computed when its batch is written. The chain value is the record's checksum
and, as it covers the one before, also its position: an altered, torn, reordered or removed record
breaks the chain there. Each commit also writes the head (last seq, its chain value) in
the same transaction, so records lost from the end are detected too, and a clean close
marks the head closed: a trail whose head is still open was left by a run that died (or
is still being written).

``verify`` walks the records in seq order and names the first bad one. The payload is
the whole message (time, type and ids included); the query columns are derived from it
when it is appended and are not covered.
"""

from __future__ import annotations

import os
import sqlite3
import struct
from dataclasses import dataclass

from engine.audit.rows import GENESIS, link

HEAD_TABLE = """
CREATE TABLE IF NOT EXISTS journal_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    chain BLOB NOT NULL,
    closed INTEGER NOT NULL
)
"""
NEW_HEAD = "INSERT OR IGNORE INTO journal_head VALUES (1, 0, ?, 1)"
MOVE_HEAD = "UPDATE journal_head SET seq = ?, chain = ?, closed = 0"
CLOSE_HEAD = "UPDATE journal_head SET closed = 1"


class TrailDamaged(ValueError):
    """A trail whose records fail their checksums: ``seq`` is the first bad record;
    ``good_chain`` the chain value of the last good one (``seq - 1``). ``seq`` is None
    when SQLite cannot read the file at all (a truncated or overwritten database)."""

    def __init__(self, path: str, seq: int | None, reason: str, good_chain: bytes) -> None:
        where = "" if seq is None else f" at seq {seq}"
        super().__init__(f"audit trail {path!r} is damaged{where}: {reason}")
        self.path = path
        self.seq = seq
        self.reason = reason
        self.good_chain = good_chain


@dataclass(frozen=True)
class Head:
    """The last committed record (seq, chain value) and whether its writer closed it."""

    seq: int
    chain: bytes
    closed: bool


def unreadable(path: str, exc: sqlite3.DatabaseError) -> TrailDamaged:
    """The error for a database SQLite reports as corrupt as a whole."""
    return TrailDamaged(path, None, f"unreadable by SQLite ({exc})", GENESIS)


def corrupt(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite found the file damaged (not merely not a database)."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_CORRUPT


_WAL_HEADER = 32  # then frames: a 24-byte header and one page each
_WAL_FRAME_HEADER = 24


def torn_log(path: str) -> bool:
    """Whether the trail's write-ahead log ends part-way through a frame: a write that
    a crash cut short. SQLite ignores the transaction it belonged to (never committed);
    this only says that it happened."""
    try:
        with open(f"{path}-wal", "rb") as log:
            header = log.read(_WAL_HEADER)
            size = os.fstat(log.fileno()).st_size
    except OSError:
        return False
    if len(header) < _WAL_HEADER:
        return bool(header)
    (page_size,) = struct.unpack(">I", header[8:12])
    return (size - _WAL_HEADER) % (_WAL_FRAME_HEADER + page_size) != 0


def read_head(db: sqlite3.Connection) -> Head:
    row = db.execute("SELECT seq, chain, closed FROM journal_head").fetchone()
    if row is None:
        return Head(0, GENESIS, True)
    seq, chain, closed = row
    return Head(seq, bytes(chain), bool(closed))


def verify(db: sqlite3.Connection, path: str) -> Head:
    """Check every record's chain value in seq order, then the head; the verified head,
    or ``TrailDamaged`` naming the first bad record. One read transaction: a writer
    committing meanwhile (a live run) is not seen half-way."""
    db.execute("BEGIN")
    try:
        return _verify(db, path)
    finally:
        if db.in_transaction:
            db.execute("ROLLBACK")


def _verify(db: sqlite3.Connection, path: str) -> Head:
    head = read_head(db)
    expected, chain = 1, GENESIS
    rows = db.cursor()  # closed before an error leaves: a pending statement locks the table
    try:
        for seq, payload, stored in rows.execute(
            "SELECT seq, payload, chain FROM journal ORDER BY seq"
        ):
            if seq != expected:
                raise TrailDamaged(path, expected, f"record missing (next is {seq})", chain)
            value = link(chain, payload)
            if stored != value:
                reason = "checksum mismatch: the record was altered or torn"
                raise TrailDamaged(path, seq, reason, chain)
            chain = value
            expected += 1
    except sqlite3.DatabaseError as exc:
        raise TrailDamaged(path, expected, f"unreadable ({exc})", chain) from None
    finally:
        rows.close()
    last = expected - 1
    if last < head.seq:
        reason = f"records {expected}..{head.seq} missing (committed up to {head.seq})"
        raise TrailDamaged(path, expected, reason, chain)
    if last > head.seq:
        raise TrailDamaged(path, head.seq + 1, "records after the committed head", chain)
    if chain != head.chain:
        reason = "the chain does not end at the committed head (records replaced)"
        raise TrailDamaged(path, 1, reason, GENESIS)
    return head
