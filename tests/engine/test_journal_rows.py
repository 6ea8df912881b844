"""The journal's per-class row builders agree with ``index_columns`` for every message class,
and ``extend`` writes exactly what the same ``append`` calls write."""

from engine import messages as m
from engine.journal import _EXTRACTORS, _ROWS, Journal, index_columns
from tests.engine.test_journal import sample_run


class _Anything:
    """Answers any attribute with its own name (nested for ``order``)."""

    def __getattr__(self, name: str) -> object:
        return _Anything() if name == "order" else name


def test_row_builders_extract_the_same_columns_for_every_message_class(monkeypatch):
    for cls in m.ALL_MESSAGES:
        row = _ROWS[cls]
        monkeypatch.setitem(row.__globals__, "encode", lambda msg: b"payload")
        fake = _Anything()
        built = row(7, fake)
        # index_columns dispatches on type(msg): call the class's extractor directly
        assert built[3:9] == _EXTRACTORS[cls](fake), cls.__name__
        assert built[:3] == (7, "ts", cls.__name__) and built[9] == b"payload"


def test_rows_of_real_messages_match_index_columns_and_encoding():
    for seq, msg in enumerate(sample_run(), 1):
        assert _ROWS[type(msg)](seq, msg) == (
            seq, msg.ts, type(msg).__name__, *index_columns(msg), m.encode(msg)
        )


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
