"""The audit trail's interface: what the runtime writes to and recovery reads from.

Two implementations stand behind it: the SQLite ``Journal`` (durable, queryable by the
``audit`` command) and ``MemoryTrail`` (a list, for tests and throwaway runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from engine.audit.record import Record
from engine.messages import Message


@runtime_checkable
class AuditTrail(Protocol):
    """Append-only, in order; queries return records in append order."""

    def append(self, msg: Message) -> int:
        """Add one record; its position (``seq``, from 1)."""
        ...

    def extend(self, msgs: Iterable[Message]) -> None:
        """Add records in order (one batch)."""
        ...

    def flush(self) -> None:
        """Make every appended record durable (a no-op where nothing is durable)."""
        ...

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
        """Records matching every given filter (``since``/``until`` inclusive on ``ts``;
        ``parent_id`` also matches the other side of a cross)."""
        ...

    def by_parent(self, parent_id: str) -> Iterator[Record]: ...

    def by_client_order(self, source: str, client_order_id: str) -> Iterator[Record]: ...

    def by_venue(self, venue: str) -> Iterator[Record]: ...

    def by_type(self, *types: str) -> Iterator[Record]: ...

    def messages(self, *types: type[Message]) -> Iterator[Message]:
        """Every message (of ``types`` if given), in order."""
        ...

    def replay(self) -> Iterator[Message]:
        """Every message, in order."""
        ...

    def digest(self) -> str:
        """sha256 over the canonical encoding of every record, in order."""
        ...

    def close(self) -> None: ...
