"""``smart-exec audit`` on a damaged trail and on one its writer never closed."""

import sqlite3

import msgspec

from actors.cli import main
from engine.audit.journal import Journal
from tests.engine.audit.test_journal import sample_run

MSGS = [msgspec.structs.replace(msg, msg_id=i) for i, msg in enumerate(sample_run() * 10, 1)]


def _trail(path, close=True):
    journal = Journal(str(path))
    journal.extend(MSGS)
    journal.flush()
    digest = journal.digest()
    if close:
        journal.close()
    else:
        journal._db.close()  # the writer dies: no close, no indexes, the head left open
    return digest


def _alter(path, seq):
    db = sqlite3.connect(path)
    db.execute("UPDATE journal SET payload = CAST(payload || x'00' AS BLOB) WHERE seq = ?", (seq,))
    db.commit()
    db.close()


def test_a_damaged_trail_is_refused_with_its_first_bad_seq(tmp_path, capsys):
    path = tmp_path / "t.sqlite"
    _trail(path)
    _alter(path, 17)
    assert main(["audit", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "damaged at seq 17: checksum mismatch" in captured.err
    assert "--salvage" in captured.err and "Traceback" not in captured.err


def test_salvage_reads_the_records_before_the_damage_with_a_warning(tmp_path, capsys):
    path = tmp_path / "t.sqlite"
    _trail(path)
    _alter(path, 17)
    assert main(["audit", str(path), "--salvage"]) == 0
    captured = capsys.readouterr()
    assert "warning: audit trail" in captured.err and "kept the 16 records" in captured.err
    assert len(captured.out.splitlines()) == 16 and "16 record(s)" in captured.err


def test_an_interrupted_runs_trail_gives_its_digest_and_says_it_is_incomplete(tmp_path, capsys):
    path = tmp_path / "killed.sqlite"
    digest = _trail(path, close=False)
    assert main(["audit", str(path), "--digest"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"audit-digest: {digest}\n"
    assert f"incomplete: interrupted run (its writer never closed the trail; {len(MSGS)}" in (
        captured.err
    )
    closed = tmp_path / "closed.sqlite"
    assert main(["audit", str(closed)]) == 2  # no such file
    assert _trail(closed) == digest
    capsys.readouterr()
    assert main(["audit", str(closed), "--digest"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"audit-digest: {digest}\n" and "incomplete" not in captured.err
