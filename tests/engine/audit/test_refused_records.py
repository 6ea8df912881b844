"""A message that cannot be stored is refused when it is appended, never when its batch
is written: the batch, and every record acknowledged before it, survive; the trail still
replays and its digest computes."""

import msgspec
import pytest

from engine import messages as m
from engine.audit import Journal, MemoryTrail
from tests.engine.audit.test_journal import fill, sample_run

GOOD = m.ClientOrder(
    source="OMS",
    account="A",
    client_order_id="c9",
    instrument="XYZ",
    side=m.Side.BUY,
    quantity=500,
)


def unencodable() -> list[m.Message]:
    """One of each way a message can fail to be stored (built unchecked, as msgspec
    allows at construction)."""
    return [
        m.SubmitClientOrder(order=msgspec.structs.replace(GOOD, quantity=2**64), ts=1),
        m.SubmitClientOrder(order=None, ts=1),
        msgspec.structs.replace(fill(1), ts=2**63),  # encodes, but SQLite has no room
        msgspec.structs.replace(fill(1), venue=["LIT1"]),  # a column SQLite cannot bind
        msgspec.structs.replace(fill(1), price=object()),
    ]


@pytest.mark.parametrize("bad", unencodable(), ids=["qty2**64", "none", "ts2**63", "list", "obj"])
@pytest.mark.parametrize("trail_kind", ["journal", "memory"])
def test_append_refuses_it_and_the_batch_survives(bad, trail_kind, tmp_path):
    trail = (
        Journal(str(tmp_path / "t.sqlite"), batch_size=4)
        if trail_kind == "journal"
        else (MemoryTrail())
    )
    before = sample_run()[:3]
    trail.extend(before)
    with pytest.raises(ValueError, match="refused"):
        trail.append(bad)
    after = sample_run()[3:]
    trail.extend(after)
    trail.flush()
    assert list(trail.replay()) == [*before, *after]
    assert trail.digest() == MemoryTrail(sample_run()).digest()
    assert [r.seq for r in trail.query()] == list(range(1, len(sample_run()) + 1))
    trail.close()


@pytest.mark.parametrize("trail_kind", ["journal", "memory"])
def test_extend_keeps_the_records_before_a_refused_one_in_sequence(trail_kind):
    trail = Journal(":memory:", batch_size=2) if trail_kind == "journal" else MemoryTrail()
    good = sample_run()
    with pytest.raises(ValueError, match="SubmitClientOrder cannot be encoded"):
        trail.extend([*good[:3], unencodable()[0], *good[3:]])
    trail.extend(good[3:])
    assert list(trail.replay()) == good
    assert len(trail) == len(good)
    assert trail.digest() == MemoryTrail(good).digest()


def test_the_refusal_does_not_echo_a_huge_value():
    huge = msgspec.structs.replace(fill(1), venue="V" * 1_000_000, ts=2**63)
    with pytest.raises(ValueError) as refused:
        Journal(":memory:").append(huge)
    assert len(str(refused.value)) < 400
