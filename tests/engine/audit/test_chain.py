"""The trail's hash chain: an altered, removed or torn record is found when the trail is
opened, by seq; a trail its writer never closed still opens, verified, with its indexes."""

import os
import shutil
import sqlite3

import msgspec
import pytest

from engine import messages as m
from engine.audit.journal import Journal, TrailDamaged
from engine.audit.rows import GENESIS, link
from tests.engine.audit.test_journal import sample_run

MSGS = [msgspec.structs.replace(msg, msg_id=i) for i, msg in enumerate(sample_run() * 30, 1)]
N = len(MSGS)


@pytest.fixture
def trail(tmp_path):
    path = str(tmp_path / "trail.sqlite")
    with Journal(path, batch_size=64) as journal:
        journal.extend(MSGS)
        digest = journal.digest()
    return path, digest


def _sql(path, statement, *params):
    db = sqlite3.connect(path)
    db.execute(statement, params)
    db.commit()
    db.close()


def _damage(path, *, readonly):
    with pytest.raises(TrailDamaged) as raised:
        Journal(path, readonly=readonly)
    return raised.value


def test_a_clean_trail_verifies_and_its_chain_is_sha256_over_each_payload(trail):
    path, digest = trail
    with Journal(path, readonly=True) as journal:
        assert len(journal) == N and journal.digest() == digest
        assert journal.closed_cleanly and journal.indexed and journal.damage is None
    db = sqlite3.connect(path)
    chain = GENESIS
    for payload, stored in db.execute("SELECT payload, chain FROM journal ORDER BY seq"):
        chain = link(chain, payload)
        assert stored == chain
    assert db.execute("SELECT seq, chain, closed FROM journal_head").fetchone() == (N, chain, 1)


@pytest.mark.parametrize("readonly", [True, False])
def test_a_flipped_byte_in_the_file_names_the_record(trail, readonly):
    path, _ = trail
    target = MSGS[99]  # seq 100
    payload = m.encode(target)
    with open(path, "r+b") as handle:
        data = handle.read()
        at = data.index(payload)  # the record's bytes as SQLite stored them
        assert data.count(payload) == 1
        handle.seek(at + len(payload) - 1)
        handle.write(bytes([data[at + len(payload) - 1] ^ 0x01]))
    damage = _damage(path, readonly=readonly)
    assert damage.seq == 100 and "checksum mismatch" in str(damage)
    assert "at seq 100" in str(damage) and path in str(damage)


def test_a_deleted_record_is_named_wherever_it_was(trail, tmp_path):
    path, _ = trail
    last = str(tmp_path / "last.sqlite")
    shutil.copy(path, last)
    _sql(path, "DELETE FROM journal WHERE seq = 57")
    assert _damage(path, readonly=True).seq == 57
    _sql(last, "DELETE FROM journal WHERE seq = ?", N)  # the last: only the head knows it
    damage = _damage(last, readonly=True)
    assert damage.seq == N and f"{N}..{N} missing" in str(damage)


def test_a_rewritten_record_with_a_recomputed_checksum_breaks_the_next_link(trail):
    path, _ = trail
    forged = m.encode(msgspec.structs.replace(MSGS[9], msg_id=999_999))
    db = sqlite3.connect(path)
    (prev,) = db.execute("SELECT chain FROM journal WHERE seq = 9").fetchone()
    db.execute(
        "UPDATE journal SET payload = ?, chain = ? WHERE seq = 10", (forged, link(prev, forged))
    )
    db.commit()
    db.close()
    assert _damage(path, readonly=True).seq == 11


def test_salvage_keeps_the_records_before_the_damage(trail):
    path, _ = trail
    _sql(path, "UPDATE journal SET payload = CAST(payload || x'00' AS BLOB) WHERE seq = 40")
    with pytest.warns(UserWarning, match="damaged at seq 40.*kept the 39 records"):
        reader = Journal(path, readonly=True, salvage=True)
    assert reader.damage is not None and reader.damage.seq == 40
    assert list(reader.replay()) == MSGS[:39] and len(reader) == 39
    assert [r.seq for r in reader.query(types="ExecutionReport")] == [
        i for i, msg in enumerate(MSGS[:39], 1) if type(msg) is m.ExecutionReport
    ]
    reader.close()
    with pytest.warns(UserWarning):
        writer = Journal(path, salvage=True)  # drops the tail, then the chain goes on
    writer.extend(MSGS[39:])
    writer.close()
    with Journal(path, readonly=True) as journal:
        assert list(journal.replay()) == MSGS


def test_a_torn_log_tail_loses_only_the_uncommitted_transaction(tmp_path):
    """A writer killed mid-commit leaves a partial frame at the end of the write-ahead
    log: SQLite drops that transaction (the head with it) and the rest verifies."""
    path = str(tmp_path / "killed.sqlite")
    writer = Journal(path)
    writer.extend(MSGS[:100])
    writer.flush()
    writer.extend(MSGS[100:])
    writer.flush()
    copy = str(tmp_path / "copy.sqlite")  # the files as a killed writer leaves them
    shutil.copy(path, copy)
    shutil.copy(path + "-wal", copy + "-wal")
    writer.close()
    wal_size = os.path.getsize(copy + "-wal")
    with open(copy + "-wal", "r+b") as handle:
        handle.truncate(wal_size - 1024)  # the last commit's frame, torn
    with pytest.warns(UserWarning, match="torn write.*the 100 committed records are intact"):
        journal = Journal(copy, readonly=True)
    assert not journal.closed_cleanly
    assert list(journal.replay()) == MSGS[:100]
    journal.close()


def test_a_truncated_database_file_is_refused_by_name(trail):
    path, _ = trail
    page = 4096
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) - page)
    for readonly in (True, False):
        damage = _damage(path, readonly=readonly)
        assert damage.seq is None and "unreadable by SQLite" in str(damage)
        assert "malformed" in str(damage)


def test_a_trail_its_writer_never_closed_opens_verified_and_gets_its_indexes(tmp_path):
    path = str(tmp_path / "open.sqlite")
    writer = Journal(path)
    writer.extend(MSGS)
    writer.flush()
    digest = writer.digest()
    with Journal(path, readonly=True) as reader:
        assert not reader.closed_cleanly and not reader.indexed
        assert reader.digest() == digest and len(reader) == N
    writer._db.close()  # the writer dies without closing: no indexes, head still open
    reopened = Journal(path)
    assert reopened.indexed and not reopened.closed_cleanly and len(reopened) == N
    reopened.close()


def test_durability_levels(tmp_path):
    for level, value in (("NORMAL", 1), ("FULL", 2)):
        with Journal(str(tmp_path / f"{level}.sqlite"), synchronous=level) as journal:
            assert journal._db.execute("PRAGMA synchronous").fetchone() == (value,)
    with pytest.raises(ValueError, match="synchronous must be one of"):
        Journal(str(tmp_path / "off.sqlite"), synchronous="OFF")


def test_a_trail_without_checksums_is_read_but_not_appended_to(tmp_path):
    path = str(tmp_path / "old.sqlite")
    with Journal(path) as journal:
        journal.extend(MSGS[:5])
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE journal DROP COLUMN chain")
    db.execute("DROP TABLE journal_head")
    db.commit()
    db.close()
    with Journal(path, readonly=True) as journal:
        assert list(journal.replay()) == MSGS[:5]
    with pytest.raises(ValueError, match="without checksums"):
        Journal(path)
