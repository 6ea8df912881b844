"""The journal's per-class row builders agree with ``index_columns`` for every message class,
and ``extend`` writes exactly what the same ``append`` calls write."""

import hashlib

import msgspec

from engine import messages as m
from engine.audit.journal import _ROWS, Journal
from engine.audit.record import EXTRACTORS, index_columns
from tests.engine.audit.test_journal import sample_run


def _stored(value: object) -> object:
    """What SQLite stores for a bound row value: ``NULLIF(?, 0)`` on the index columns
    makes the integer 0 NULL; a bytearray payload is the same BLOB as its bytes."""
    if value == 0 and type(value) is int:
        return None
    return bytes(value) if isinstance(value, bytearray) else value


TS = 12_345


class _Anything:
    """Answers any attribute with its own name (nested for ``order``; a time for ``ts``,
    which the row builder checks is one)."""

    def __getattr__(self, name: str) -> object:
        if name == "ts":
            return TS
        return _Anything() if name == "order" else name


def test_row_builders_extract_the_same_columns_for_every_message_class(monkeypatch):
    for cls in m.ALL_MESSAGES:
        row = _ROWS[cls]
        monkeypatch.setitem(row.__globals__, "encode", lambda msg: b"payload")
        fake = _Anything()
        built = row(7, fake)
        # index_columns dispatches on type(msg): call the class's extractor directly
        assert tuple(map(_stored, built[3:9])) == EXTRACTORS[cls](fake), cls.__name__
        assert built[:3] == (7, TS, cls.__name__) and _stored(built[9]) == b"payload"
        assert all(type(v) in (int, str, bytearray) for v in built), cls.__name__


def test_rows_of_real_messages_match_index_columns_and_encoding():
    for seq, msg in enumerate(sample_run(), 1):
        row = _ROWS[type(msg)](seq, msg)
        assert row[:3] == (seq, msg.ts, type(msg).__name__)
        assert tuple(map(_stored, row[3:])) == (*index_columns(msg), m.encode(msg))


def test_written_rows_are_chained_by_sha256_over_the_one_before_and_the_payload():
    j = Journal(":memory:", batch_size=5)
    j.extend(sample_run() * 3)
    j.flush()
    prev = bytes(32)
    for payload, stored in j._db.execute("SELECT payload, chain FROM journal ORDER BY seq"):
        prev = hashlib.sha256(prev + payload).digest()
        assert stored == prev


def test_stored_columns_are_the_index_columns_nulls_and_empty_strings_included():
    msgs = [
        *sample_run(),
        m.ExecutionReport(
            source="",
            account="A",
            client_order_id="c0",
            exec_id="E0",
            exec_type=m.ExecType.NEW,
            ord_status=m.OrdStatus.NEW,
            instrument="XYZ",
            side=m.Side.BUY,
            order_qty=1,
            cum_qty=0,
            leaves_qty=1,
            cum_notional=0,
            msg_id=99,
            ts=99,
        ),
        m.InternalCrossExecuted(
            cross_id="X2",
            instrument="XYZ",
            quantity=1,
            price=1,
            buy_parent_id=None,
            sell_parent_id="P2",
            msg_id=98,
            ts=98,
        ),
    ]
    j = Journal(":memory:")
    j.extend(msgs)
    stored = [
        (r.source, r.client_order_id, r.parent_id, r.counter_parent_id, r.child_id, r.venue)
        for r in j.query()
    ]
    assert stored == [index_columns(msg) for msg in msgs]
    assert stored[-2][:3] == ("", "c0", None) and stored[-1][2:4] == (None, "P2")
    payloads = [p for (p,) in j._db.execute("SELECT payload FROM journal ORDER BY seq")]
    assert payloads == [m.encode(msg) for msg in msgs]  # the journal's own encoder agrees
    assert all(type(p) is bytes for p in payloads)


def test_extend_equals_appends():
    msgs = sample_run() * 5
    one, many = Journal(":memory:", batch_size=3), Journal(":memory:", batch_size=3)
    for msg in msgs:
        one.append(msg)
    many.extend(msgs[:4])
    many.extend(msgs[4:])
    assert len(one) == len(many) == len(msgs)
    assert one.digest() == many.digest()
    assert [r.child_id for r in one.query()] == [r.child_id for r in many.query()]


def test_chunked_multi_row_inserts_store_what_single_rows_store():
    msgs = [msgspec.structs.replace(msg, msg_id=i) for i, msg in enumerate(sample_run() * 48)]
    single, chunked, flushed = (
        Journal(":memory:", batch_size=1),
        Journal(":memory:", batch_size=70),
        Journal(":memory:"),
    )
    for j in (single, chunked, flushed):
        j.extend(msgs)
    flushed.flush()  # 336 buffered rows: ten 32-row chunks and 16 single rows
    rows = [
        list(j._db.execute("SELECT * FROM journal ORDER BY seq"))
        for j in (single, chunked, flushed)
    ]
    assert len(rows[0]) == len(msgs) and rows[0] == rows[1] == rows[2]
    assert single.digest() == chunked.digest() == flushed.digest()


def test_a_failed_batch_write_rolls_back_and_keeps_every_record_buffered(monkeypatch):
    import sqlite3

    import pytest

    import engine.audit.journal as journal_module

    msgs = [msgspec.structs.replace(msg, msg_id=i) for i, msg in enumerate(sample_run() * 10)]
    j = Journal(":memory:")
    good = journal_module._ROWS[m.VenueOrderFilled]
    monkeypatch.setitem(
        journal_module._ROWS,
        m.VenueOrderFilled,
        lambda seq, msg: (*good(seq, msg)[:3], object(), *good(seq, msg)[4:]),
    )  # an unbindable query column
    j.extend(msgs)  # 70 records: two 32-row chunks, then 6 rows; the bad ones in each part
    with pytest.raises(sqlite3.Error):
        j.flush()
    assert j._db.execute("SELECT COUNT(*) FROM journal").fetchone() == (0,)
    j._pending = [
        row if row[3].__class__ is not object else good(row[0], msgs[row[0] - 1])
        for row in j._pending
    ]
    j.flush()
    assert list(j.replay()) == msgs
