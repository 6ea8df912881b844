import sqlite3

import msgspec
import pytest

from engine import messages as m
from engine.audit.journal import Journal
from engine.audit.memory import MemoryTrail
from engine.prices import to_price

PX = to_price("100.01")


def fill(i: int, parent: str = "P1", venue: str = "LIT1") -> m.ChildOrderFilled:
    return m.ChildOrderFilled(
        parent_id=parent,
        child_id=f"C{i}",
        fill_id=f"F{i}",
        venue=venue,
        quantity=100,
        price=PX + i,
        liquidity=m.Liquidity.MAKER,
        msg_id=i,
        ts=10 * i,
    )


def sample_run() -> list[m.Message]:
    order = m.ClientOrder(
        source="OMS",
        account="A",
        client_order_id="c1",
        instrument="XYZ",
        side=m.Side.BUY,
        quantity=500,
    )
    return [
        m.SubmitClientOrder(order=order, msg_id=1, ts=10),
        m.ParentOrderCreated(
            parent_id="P1",
            instrument="XYZ",
            side=m.Side.BUY,
            quantity=500,
            limit_price=None,
            mandate=m.Mandate(),
            arrival_mid=PX,
            msg_id=2,
            ts=20,
        ),
        m.RouteDecided(
            parent_id="P1",
            child_id="C1",
            logic=m.RoutingLogic.PARALLEL,
            placements=[
                m.VenuePlacement(venue="LIT1", quantity=100, order_type=m.OrderType.LIMIT, price=PX)
            ],
            reason="best score",
            scorecard={"LIT1": {"fill_prob": 0.42}},
            msg_id=3,
            ts=30,
        ),
        fill(4),
        m.InternalCrossExecuted(
            cross_id="X1",
            instrument="XYZ",
            quantity=50,
            price=PX,
            buy_parent_id="P1",
            sell_parent_id="P2",
            msg_id=5,
            ts=50,
        ),
        m.ExecutionReport(
            source="OMS",
            account="A",
            client_order_id="c1",
            exec_id="E1",
            exec_type=m.ExecType.TRADE,
            ord_status=m.OrdStatus.PARTIALLY_FILLED,
            instrument="XYZ",
            side=m.Side.BUY,
            order_qty=500,
            cum_qty=100,
            leaves_qty=400,
            cum_notional=100 * PX,
            last_qty=100,
            last_price=PX,
            parent_id="P1",
            venue="LIT1",
            msg_id=6,
            ts=60,
        ),
        m.VenueOrderFilled(
            venue="DARK1",
            order_id="V9",
            fill_id="F9",
            quantity=10,
            price=PX,
            liquidity=m.Liquidity.MIDPOINT,
            msg_id=7,
            ts=70,
        ),
    ]


def journal_of(msgs, path=":memory:", **kw) -> Journal:
    j = Journal(str(path), **kw)
    for msg in msgs:
        j.append(msg)
    return j


def test_replay_roundtrips_every_message_in_order():
    msgs = sample_run()
    j = journal_of(msgs)
    assert list(j.replay()) == msgs
    assert len(j) == len(msgs)


def test_digest_is_stable_and_independent_of_batching(tmp_path):
    msgs = sample_run()
    a = journal_of(msgs, batch_size=1).digest()
    b = journal_of(msgs, batch_size=1000).digest()
    c = journal_of(msgs, tmp_path / "c.sqlite", batch_size=3)
    c.close()
    assert a == b == Journal(str(tmp_path / "c.sqlite")).digest()
    assert len(a) == 64 and int(a, 16) >= 0


def test_digest_is_incremental_and_matches_a_fresh_computation():
    msgs = sample_run()
    j = journal_of(msgs[:3])
    j.digest()
    for msg in msgs[3:]:
        j.append(msg)
    assert j.digest() == journal_of(msgs).digest()


def test_digest_differs_when_any_record_differs():
    msgs = sample_run()
    base = journal_of(msgs).digest()
    changed = list(msgs)
    changed[3] = fill(4, venue="LIT2")
    assert journal_of(changed).digest() != base
    assert journal_of(msgs[::-1]).digest() != base  # order matters
    assert journal_of(msgs[:-1]).digest() != base


def test_batched_appends_survive_a_clean_close(tmp_path):
    path = tmp_path / "audit.sqlite"
    j = Journal(str(path), batch_size=64)
    for i in range(1, 1001):  # not a multiple of the batch: the tail sits in the buffer
        assert j.append(fill(i)) == i
    j.close()
    j.close()  # idempotent
    with pytest.raises(ValueError):
        j.append(fill(0))
    (count,) = sqlite3.connect(path).execute("SELECT COUNT(*) FROM journal").fetchone()
    assert count == 1000
    reopened = Journal(str(path))
    assert [msg.msg_id for msg in reopened.replay()] == list(range(1, 1001))
    assert reopened.append(fill(1001)) == 1001  # seq continues after a restart


def test_flush_acknowledges_without_close(tmp_path):
    path = tmp_path / "live.sqlite"
    j = Journal(str(path), batch_size=10_000)
    j.append(fill(1))
    j.flush()
    reader = Journal(str(path))  # another connection, as the audit command on a live run
    assert [r.seq for r in reader.query()] == [1]
    j.close()


def test_queries_by_client_order_parent_venue_type_and_time():
    j = journal_of(sample_run())
    assert [r.type for r in j.by_client_order("OMS", "c1")] == [
        "SubmitClientOrder",
        "ExecutionReport",
    ]
    assert [r.seq for r in j.by_parent("P1")] == [2, 3, 4, 5, 6]
    assert [r.type for r in j.by_parent("P2")] == ["InternalCrossExecuted"]  # other side
    assert [r.seq for r in j.by_venue("LIT1")] == [4, 6]
    assert [r.seq for r in j.by_type("VenueOrderFilled", "ChildOrderFilled")] == [4, 7]
    assert [r.seq for r in j.between(30, 60)] == [3, 4, 5, 6]
    assert [r.seq for r in j.query(parent_id="P1", venue="LIT1", since=45)] == [6]
    assert [type(x).__name__ for x in j.messages(m.RouteDecided)] == ["RouteDecided"]
    rec = next(j.query(child_id="C4"))
    assert (rec.parent_id, rec.venue, rec.ts, rec.message) == ("P1", "LIT1", 40, fill(4))


def test_queries_use_indexes_after_build_and_give_the_same_answers(tmp_path):
    path = tmp_path / "q.sqlite"
    j = journal_of(sample_run(), path)
    before = [r.seq for r in j.by_parent("P1")]
    j.build_indexes()
    assert [r.seq for r in j.by_parent("P1")] == before
    plan = j._db.execute(
        "EXPLAIN QUERY PLAN SELECT seq FROM journal WHERE venue = 'LIT1'"
    ).fetchall()
    assert "journal_venue" in str(plan)


def test_query_pages_through_large_results():
    j = journal_of([fill(i) for i in range(1, 25_001)], batch_size=5_000)
    assert sum(1 for _ in j.replay()) == 25_000


def test_unknown_type_is_a_clear_error():
    with pytest.raises(ValueError, match="NoSuchThing"):
        Journal(":memory:").query(types="NoSuchThing")


def test_readonly_journal_reads_a_live_journal_and_refuses_writes(tmp_path):
    path = tmp_path / "ro.sqlite"
    writer = journal_of(sample_run(), path)
    writer.flush()
    reader = Journal(str(path), readonly=True)
    assert list(reader.replay()) == sample_run()
    assert reader.digest() == writer.digest()
    with pytest.raises(ValueError, match="read-only"):
        reader.append(fill(1))
    reader.close()
    writer.close()
    with pytest.raises(FileNotFoundError):
        Journal(str(tmp_path / "absent.sqlite"), readonly=True)


def test_the_digest_hashed_at_append_is_the_digest_of_the_stored_records(tmp_path):
    # an int in a float field is stored as an int and reads back as a float: the digest
    # computed while writing must be the one a reader of the file computes
    submitted = sample_run()[0]
    assert isinstance(submitted, m.SubmitClientOrder)
    mandate = m.Mandate(max_participation=1, pov_rate=0.1)  # type: ignore[arg-type]
    order = msgspec.structs.replace(submitted.order, client_order_id="c0", mandate=mandate)
    msgs = [msgspec.structs.replace(submitted, order=order, msg_id=0), *sample_run()]
    path = tmp_path / "t.sqlite"
    writer = journal_of(msgs, path)
    live = writer.digest()
    writer.close()
    assert Journal(str(path), readonly=True).digest() == live
    assert live == MemoryTrail(msgs).digest()
    assert live != journal_of(msgs[1:]).digest()


def test_a_tap_sees_every_record_in_order_the_reproduced_ones_of_a_resume_too(tmp_path):
    msgs = sample_run()
    path = str(tmp_path / "t.sqlite")
    first = Journal(path)
    seen: list[m.Message] = []
    first.tap(seen.append)
    for msg in msgs[:4]:
        first.append(msg)
    first.extend(msgs[4:6])
    assert seen == msgs[:6]
    first.close(complete=False)  # killed mid-run: resumed from the start
    resumed = Journal(path, resume=True)
    again: list[m.Message] = []
    resumed.tap(again.append)
    resumed.extend(msgs[:6])  # the replay, checked against the stored records
    assert not resumed.replaying
    for msg in msgs[6:]:
        resumed.append(msg)
    assert again == msgs
    assert resumed.digest() == journal_of(msgs).digest()
