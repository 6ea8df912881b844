"""``MemoryTrail`` against ``Journal``: the same appends give the same records, the same
query answers and the same digest."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import messages as m
from engine.audit import AuditTrail, Journal, MemoryTrail
from tests.engine.audit.test_journal import fill, sample_run

PARENTS = ["P1", "P2", "P3", ""]
CHILDREN = ["C1", "C2", "C4"]
VENUES = ["LIT1", "LIT2", "DARK1"]
SOURCES = ["OMS", "FIX", ""]
CLIENT_ORDERS = ["c1", "c2"]
TYPES = sorted({type(msg).__name__ for msg in sample_run()})


def both_conform(journal: Journal, memory: MemoryTrail) -> tuple[AuditTrail, AuditTrail]:
    """mypy checks that both implement the interface (this file type-checks)."""
    return journal, memory


@st.composite
def messages(draw: st.DrawFn) -> m.Message:
    msg = draw(st.sampled_from(sample_run()))
    changes: dict[str, Any] = {"ts": draw(st.integers(0, 100))}
    fields = set(msg.__struct_fields__)
    for field, values in (
        ("parent_id", PARENTS),
        ("buy_parent_id", PARENTS),
        ("sell_parent_id", PARENTS),
        ("child_id", CHILDREN),
        ("venue", VENUES),
        ("source", SOURCES),
        ("client_order_id", CLIENT_ORDERS),
    ):
        if field in fields:
            changes[field] = draw(st.sampled_from(values))
    if isinstance(msg, m.SubmitClientOrder):
        order = msgspec.structs.replace(
            msg.order,
            source=draw(st.sampled_from(SOURCES)),
            client_order_id=draw(st.sampled_from(CLIENT_ORDERS)),
        )
        changes["order"] = order
    if isinstance(msg, m.InternalCrossExecuted) and draw(st.booleans()):
        changes["buy_parent_id"] = None  # an optional side
    return msgspec.structs.replace(msg, **changes)


def filters() -> st.SearchStrategy[dict[str, Any]]:
    optional = {
        "source": st.sampled_from(SOURCES),
        "client_order_id": st.sampled_from(CLIENT_ORDERS),
        "parent_id": st.sampled_from(PARENTS),
        "child_id": st.sampled_from(CHILDREN),
        "venue": st.sampled_from(VENUES),
        "types": st.one_of(st.sampled_from(TYPES), st.lists(st.sampled_from(TYPES), max_size=3)),
        "since": st.integers(0, 100),
        "until": st.integers(0, 100),
    }
    return st.fixed_dictionaries({}, optional=optional)


def trails(batches: list[list[m.Message]]) -> tuple[Journal, MemoryTrail]:
    journal, memory = Journal(":memory:", batch_size=5), MemoryTrail()
    for batch in batches:
        if len(batch) == 1:
            assert journal.append(batch[0]) == memory.append(batch[0])
        else:
            journal.extend(batch)
            memory.extend(batch)
    return journal, memory


@given(st.lists(st.lists(messages(), min_size=1, max_size=6), max_size=8), filters())
def test_same_appends_give_the_same_records_answers_and_digest(batches, query):
    journal, memory = trails(batches)
    assert len(journal) == len(memory)
    assert list(journal.query(**query)) == list(memory.query(**query))
    assert list(journal.replay()) == list(memory.replay())
    assert journal.digest() == memory.digest()


@given(st.lists(messages(), max_size=20), st.sampled_from(PARENTS), st.sampled_from(VENUES))
def test_shorthand_queries_agree(msgs, parent, venue):
    journal, memory = trails([msgs])
    for trail in (journal, memory):
        assert isinstance(trail, AuditTrail)
    pairs = [
        (journal.by_parent(parent), memory.by_parent(parent)),
        (journal.by_venue(venue), memory.by_venue(venue)),
        (journal.by_client_order("OMS", "c1"), memory.by_client_order("OMS", "c1")),
        (journal.by_type(*TYPES[:2]), memory.by_type(*TYPES[:2])),
        (journal.between(20, 60), memory.between(20, 60)),
    ]
    for from_journal, from_memory in pairs:
        assert list(from_journal) == list(from_memory)
    for types in [(), (m.ChildOrderFilled,), (m.RouteDecided, m.SubmitClientOrder)]:
        assert list(journal.messages(*types)) == list(memory.messages(*types))


def test_the_digest_is_incremental_and_equals_the_journals():
    msgs = sample_run()
    memory = MemoryTrail(msgs[:3])
    memory.digest()
    memory.extend(msgs[3:])
    journal = Journal(":memory:")
    journal.extend(msgs)
    assert memory.digest() == journal.digest() == MemoryTrail(msgs).digest()
    assert MemoryTrail(msgs[::-1]).digest() != journal.digest()


def test_the_cross_is_found_from_either_side():
    memory = MemoryTrail(sample_run())
    assert [r.type for r in memory.by_parent("P2")] == ["InternalCrossExecuted"]
    assert [r.seq for r in memory.by_parent("P1")] == [2, 3, 4, 5, 6]


def test_unknown_type_names_raise_when_queried_not_when_iterated():
    for trail in (MemoryTrail(), Journal(":memory:")):
        with pytest.raises(ValueError, match="NoSuchThing"):
            trail.query(types=["ChildOrderFilled", "NoSuchThing"])
        with pytest.raises(ValueError, match="NoSuchThing"):
            trail.by_type("NoSuchThing")


def test_records_appended_while_a_query_is_consumed_come_too():
    memory = MemoryTrail([fill(1)])
    seen = []
    for record in memory.query(types="ChildOrderFilled"):
        seen.append(record.seq)
        if record.seq < 3:
            memory.append(fill(record.seq + 1))
    assert seen == [1, 2, 3]


def test_a_closed_trail_refuses_appends_and_stays_readable():
    with MemoryTrail([fill(1)]) as memory:
        pass
    memory.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        memory.append(fill(2))
    with pytest.raises(ValueError, match="closed"):
        memory.extend([fill(2)])
    assert [msg.msg_id for msg in memory.replay()] == [1]
    memory.flush()
