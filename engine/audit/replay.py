"""Resuming a trail: a run replayed from its start must reproduce the trail record for
record before it may write after the trail's end.

A simulated run is a pure function of its inputs and seed, so the way back to the state a
killed run had (venues included, which died with the process) is to run it again from the
start. ``Reproduction`` holds the records the trail already has and checks each record
the replay makes against the stored one at the same seq (the payload is the whole
message: time, ids and contents). The first difference is a ``ReplayMismatch`` naming
that seq: the replay is not the run that wrote the trail (another scenario, seed, config
or code), and nothing is written.

A run stopped early (Ctrl-C) journals what its actors record as they stop (a router's
scorecard at stop): that is the end of a run, not part of its course, and a run that goes
on past that point never wrote it. ``course_end`` leaves such trailing records out of what
the replay must reproduce; the journal drops them once the replay has reached them.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

import msgspec

from engine import messages as m
from engine.audit.rows import GENESIS

_PAGE = 10_000
_STOP_RECORD_TYPE = "ScorecardSaved"  # with reason "stop": journaled by a stopping router


class ReplayMismatch(ValueError):
    """The replay made something else than the trail holds at ``seq`` (or ended before
    the trail's end): it is not the run that wrote the trail."""

    def __init__(self, path: str, seq: int | None, detail: str) -> None:
        where = "" if seq is None else f" at seq {seq}"
        super().__init__(f"audit trail {path!r}: the replay differs{where}: {detail}")
        self.path = path
        self.seq = seq


def course_end(db: sqlite3.Connection, last: int) -> int:
    """The last seq up to ``last`` that is not one of the trailing stop records."""
    rows = db.execute(
        "SELECT seq, type, payload FROM journal WHERE seq <= ? ORDER BY seq DESC", (last,)
    )
    for seq, type_, payload in rows:
        if type_ != _STOP_RECORD_TYPE or getattr(m.decode(payload), "reason", None) != "stop":
            return int(seq)
    return 0


def stored_run_info(db: sqlite3.Connection, key: str) -> bytes | None:
    """The run info kept under ``key`` (``Journal.set_run_info``), as stored."""
    try:
        row = db.execute("SELECT value FROM journal_run WHERE key = ?", (key,)).fetchone()
    except sqlite3.OperationalError:  # a trail written before runs kept their info
        return None
    return None if row is None else bytes(row[0])


def chain_at(db: sqlite3.Connection, seq: int) -> bytes:
    """The chain value of record ``seq`` (the genesis value for 0)."""
    row = db.execute("SELECT chain FROM journal WHERE seq = ?", (seq,)).fetchone()
    return GENESIS if row is None else bytes(row[0])


class Reproduction:
    """The stored records ``1..end`` of a trail, checked one by one against a replay;
    ``held`` is the trail's last seq (records after ``end`` are stop records)."""

    def __init__(self, db: sqlite3.Connection, path: str, end: int, held: int) -> None:
        self.db, self.path, self.end, self.held = db, path, end, held
        self.position = 0  # the last seq reproduced
        self._stored: deque[tuple[int, bytes]] = deque()

    @property
    def done(self) -> bool:
        return self.position >= self.end

    def check(self, seq: int, payload: bytes | bytearray, msg: m.Message) -> None:
        """``msg`` (encoded as ``payload``) is the replay's record ``seq``: it must be the
        stored one."""
        stored_seq, stored = self._next_stored()
        if stored_seq != seq or stored != payload:
            raise ReplayMismatch(self.path, seq, _difference(stored, msg))
        self.position = seq

    def ended_early(self) -> ReplayMismatch:
        """The error for a replay that stopped before the trail's end."""
        return ReplayMismatch(
            self.path,
            self.position + 1,
            f"the replay ended after {self.position:,} records, the trail holds {self.end:,}",
        )

    def _next_stored(self) -> tuple[int, bytes]:
        if not self._stored:
            rows = self.db.execute(
                "SELECT seq, payload FROM journal WHERE seq > ? AND seq <= ? ORDER BY seq "
                f"LIMIT {_PAGE}",
                (self.position, self.end),
            ).fetchall()
            self._stored.extend(rows)
        return self._stored.popleft()


def _difference(stored: bytes, made: m.Message) -> str:
    """What differs, in a line: the types, or the first field that differs."""
    was = m.decode(stored)
    if type(was) is not type(made):
        return f"the trail holds {_brief(was)}, the replay made {_brief(made)}"
    old, new = msgspec.structs.asdict(was), msgspec.structs.asdict(made)
    field = next((f for f in old if old[f] != new[f]), "?")
    return (
        f"{type(made).__name__}.{field} is {_short(old.get(field))} in the trail, "
        f"{_short(new.get(field))} in the replay"
    )


def _brief(msg: m.Message) -> str:
    return f"{type(msg).__name__} at ts {msg.ts}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
