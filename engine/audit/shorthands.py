"""The audit trail's shorthand queries, written once over ``query`` for every trail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from engine.audit.record import Record
from engine.messages import Message


class _Queryable(Protocol):
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
    ) -> Iterator[Record]: ...


class QueryShorthands:
    """Mixed into a trail that implements ``query`` (keyword filters, records in order)."""

    def by_client_order(self: _Queryable, source: str, client_order_id: str) -> Iterator[Record]:
        return self.query(source=source, client_order_id=client_order_id)

    def by_parent(self: _Queryable, parent_id: str) -> Iterator[Record]:
        return self.query(parent_id=parent_id)

    def by_venue(self: _Queryable, venue: str) -> Iterator[Record]:
        return self.query(venue=venue)

    def by_type(self: _Queryable, *types: str) -> Iterator[Record]:
        return self.query(types=list(types))

    def between(self: _Queryable, since: int | None, until: int | None) -> Iterator[Record]:
        return self.query(since=since, until=until)

    def messages(self: _Queryable, *types: type[Message]) -> Iterator[Message]:
        """Messages of the given classes (every message if none), in order."""
        query = self.query(types=[t.__name__ for t in types]) if types else self.query()
        return (record.message for record in query)
