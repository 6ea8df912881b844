"""One audit-trail record and the columns every trail extracts from a message for queries.

Both trails (the SQLite ``Journal`` and the in-memory ``MemoryTrail``) build their
``Record`` columns and check type names here, so a query means the same in each.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import messages as m

MESSAGE_TYPES: frozenset[str] = frozenset(cls.__name__ for cls in m.ALL_MESSAGES)

EXTRACTED = ("source", "client_order_id", "parent_id", "counter_parent_id", "child_id", "venue")
"""The columns a record carries besides its position, time and type, in this order."""

Columns = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Record:
    """One trail record: its position, the query columns and the message."""

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


def record_of(seq: int, msg: m.Message) -> Record:
    """The record of ``msg`` appended at position ``seq``."""
    source, client_order_id, parent_id, counter_parent_id, child_id, venue = index_columns(msg)
    return Record(
        seq=seq,
        ts=msg.ts,
        type=type(msg).__name__,
        source=source,
        client_order_id=client_order_id,
        parent_id=parent_id,
        counter_parent_id=counter_parent_id,
        child_id=child_id,
        venue=venue,
        message=msg,
    )


def type_names(types: str | list[str]) -> list[str]:
    """``types`` as a list of message class names; an unknown name raises ``ValueError``."""
    names = [types] if isinstance(types, str) else list(types)
    unknown = sorted(set(names) - MESSAGE_TYPES)
    if unknown:
        raise ValueError(f"unknown message type(s): {', '.join(unknown)}")
    return names


# ------------------------------------------------------------------ column extraction

_Extractor = Callable[[m.Message], Columns]


# The two special cases take ``Any``: ``EXTRACTORS`` dispatches on the exact class.
def _submit_columns(msg: Any) -> Columns:
    return (msg.order.source, msg.order.client_order_id, None, None, None, None)


def _cross_columns(msg: Any) -> Columns:
    # A cross belongs to both sides: a query by either parent finds it.
    return (None, None, msg.buy_parent_id, msg.sell_parent_id, None, None)


def _generic_extractor(cls: type[m.Message]) -> _Extractor:
    fields = set(cls.__struct_fields__)
    present = [f for f in EXTRACTED if f in fields]
    if not present:
        return lambda msg: (None,) * len(EXTRACTED)
    getter = operator.attrgetter(*present)
    slots = [f in fields for f in EXTRACTED]

    def extract(msg: m.Message) -> Columns:
        values = getter(msg)
        it = iter(values if len(present) > 1 else (values,))
        return tuple(next(it) if has else None for has in slots)

    return extract


EXTRACTORS: dict[type[m.Message], _Extractor] = {
    cls: _generic_extractor(cls) for cls in m.ALL_MESSAGES
}
EXTRACTORS[m.SubmitClientOrder] = _submit_columns
EXTRACTORS[m.InternalCrossExecuted] = _cross_columns


def index_columns(msg: m.Message) -> Columns:
    """(source, client_order_id, parent_id, counter_parent_id, child_id, venue) of ``msg``."""
    return EXTRACTORS[type(msg)](msg)
