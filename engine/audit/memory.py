"""An audit trail held in a list: for tests and throwaway runs.

Same records, filters and digest as a ``Journal`` holding the same messages (the tests
check one against the other); nothing is durable, so ``flush`` does nothing. It stays
readable after ``close``; appending then raises, as on a closed journal. A message a
journal would refuse (it cannot be encoded) is refused here too, at ``append``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator

from engine import messages as m
from engine.audit.digest import digest_line
from engine.audit.journal import check_record
from engine.audit.record import Record, record_of, type_names
from engine.audit.shorthands import QueryShorthands

_Filter = Callable[[Record], bool]


class MemoryTrail(QueryShorthands):
    """Append-only message trail in memory."""

    def __init__(self, msgs: Iterable[m.Message] = ()) -> None:
        self._records: list[Record] = []
        self._hasher = hashlib.sha256()
        self._hashed = 0  # the digest covers the first _hashed records
        self._closed = False
        self.extend(msgs)

    # ---------------------------------------------------------------- writing

    def append(self, msg: m.Message) -> int:
        """Add ``msg``; its sequence number (from 1)."""
        self._check_open()
        check_record(msg)
        seq = len(self._records) + 1
        self._records.append(record_of(seq, msg))
        return seq

    def extend(self, msgs: Iterable[m.Message]) -> None:
        """``append`` each of ``msgs`` in order (up to one that is refused)."""
        self._check_open()
        records = self._records
        for msg in msgs:
            check_record(msg)
            records.append(record_of(len(records) + 1, msg))

    def flush(self) -> None:
        """Nothing to make durable."""

    def close(self) -> None:
        """Refuse further appends (records stay readable). Idempotent."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("journal is closed")

    def __enter__(self) -> MemoryTrail:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- reading

    def __len__(self) -> int:
        return len(self._records)

    def digest(self) -> str:
        """sha256 hex over ``canonical(msg) + b"\\n"`` of every record in order."""
        for record in self._records[self._hashed :]:
            self._hasher.update(digest_line(record.message))
        self._hashed = len(self._records)
        return self._hasher.copy().hexdigest()

    def replay(self) -> Iterator[m.Message]:
        """Every message in append order."""
        return (record.message for record in self._scan([]))

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
        cross. Unknown message type names raise ``ValueError`` (here, not when iterated)."""
        tests: list[_Filter] = []
        if source is not None:
            tests.append(lambda r: r.source == source)
        if client_order_id is not None:
            tests.append(lambda r: r.client_order_id == client_order_id)
        if parent_id is not None:
            tests.append(lambda r: parent_id in (r.parent_id, r.counter_parent_id))
        if child_id is not None:
            tests.append(lambda r: r.child_id == child_id)
        if venue is not None:
            tests.append(lambda r: r.venue == venue)
        if types is not None:
            names = frozenset(type_names(types))
            tests.append(lambda r: r.type in names)
        if since is not None:
            tests.append(lambda r: r.ts >= since)
        if until is not None:
            tests.append(lambda r: r.ts <= until)
        return self._scan(tests)

    def _scan(self, tests: list[_Filter]) -> Iterator[Record]:
        # By index, not by iterator: records appended while the caller consumes come too,
        # as they do from a journal's later pages.
        records = self._records
        i = 0
        while i < len(records):
            record = records[i]
            i += 1
            if all(test(record) for test in tests):
                yield record
