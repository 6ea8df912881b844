"""What a FIX session keeps across connections and restarts: its sequence numbers and the
messages it sent (for resends).

``FileStore`` is one append-only log per session. ``commit()`` fsyncs it, and the session
commits before it hands out bytes to send: after ``kill -9`` the session resumes at the
numbers the counterparty saw and can replay every message it sent. A second process on the
same store is refused (an exclusive ``flock``), so two gateways never share a sequence.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class MemoryStore:
    """Sequence numbers and sent messages, in memory (tests, a session without a path)."""

    def __init__(self) -> None:
        self.next_out = 1
        self.next_in = 1
        self._sent: dict[int, bytes] = {}

    def sent(self, seq: int, raw: bytes) -> None:
        self._sent[seq] = raw
        self.next_out = seq + 1

    def received(self, seq: int) -> None:
        self.next_in = max(self.next_in, seq + 1)

    def set_next_in(self, seq: int) -> None:
        self.next_in = seq

    def reset(self) -> None:
        self.next_out = self.next_in = 1
        self._sent.clear()

    def messages(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """Sent messages from ``begin`` to ``end`` inclusive (0: to the last)."""
        last = self.next_out - 1 if end == 0 else min(end, self.next_out - 1)
        return [(seq, self._sent[seq]) for seq in range(begin, last + 1) if seq in self._sent]

    def commit(self) -> None:
        """Make everything recorded so far durable."""
        self.write_durable(self.take_pending())

    def take_pending(self) -> bytes:
        """The records not yet durable, handed over (under the caller's lock) so that
        ``write_durable`` can run outside it; one writer only."""
        return b""

    def write_durable(self, records: bytes, sync: bool = True) -> None:
        """Append ``records`` and fsync (nothing to do in memory). ``sync`` False: to the
        OS only, for records no bytes on the wire depend on yet (the next synced write
        covers them: one file)."""

    def close(self) -> None:
        """Release the store."""


class FileStore(MemoryStore):
    """A ``MemoryStore`` backed by an append-only log at ``path``, fsynced at each
    commit unless ``fsync`` is False: then a commit reaches the OS (it survives the
    process being killed, not the machine losing power) and costs no disk round trip."""

    def __init__(self, path: str | Path, fsync: bool = True) -> None:
        super().__init__()
        self.path = Path(path)
        self.fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+b")  # noqa: SIM115 (held for the session's life)
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise RuntimeError(
                f"FIX session store {self.path} is in use by another process"
            ) from None
        self._replay()
        self._pending: list[bytes] = []
        self._unsynced = False  # written to the OS, not synced yet

    def _replay(self) -> None:
        self._file.seek(0)
        data = self._file.read()
        pos = 0
        while pos < len(data):
            nl = data.find(b"\n", pos)
            if nl < 0:
                break  # a record cut short by a crash: never committed, never sent
            kind, *args = data[pos:nl].split(b" ")
            pos = nl + 1
            if kind == b"O":
                seq, size = int(args[0]), int(args[1])
                if pos + size > len(data):
                    break
                MemoryStore.sent(self, seq, data[pos : pos + size])
                pos += size
            elif kind == b"I":
                MemoryStore.set_next_in(self, int(args[0]))
            elif kind == b"R":
                MemoryStore.reset(self)
        self._file.truncate(pos)  # drop a torn tail so that new records follow whole ones

    def sent(self, seq: int, raw: bytes) -> None:
        super().sent(seq, raw)
        self._pending.append(b"O %d %d\n%s" % (seq, len(raw), raw))

    def received(self, seq: int) -> None:
        super().received(seq)
        self._pending.append(b"I %d\n" % self.next_in)

    def set_next_in(self, seq: int) -> None:
        super().set_next_in(seq)
        self._pending.append(b"I %d\n" % seq)

    def reset(self) -> None:
        super().reset()
        self._pending.append(b"R\n")

    def take_pending(self) -> bytes:
        records = b"".join(self._pending)
        self._pending.clear()
        return records

    def write_durable(self, records: bytes, sync: bool = True) -> None:
        if records:
            self._file.seek(0, os.SEEK_END)
            self._file.write(records)
            self._file.flush()
            self._unsynced = True
        if sync and self._unsynced:  # this write's records, and any written unsynced
            if self.fsync:
                os.fsync(self._file.fileno())
            self._unsynced = False

    def close(self) -> None:
        if not self._file.closed:
            self.commit()
            self._file.close()


def next_incarnation(directory: str | Path) -> int:
    """A number one higher each time a gateway starts on ``directory`` (fsynced): ExecIDs
    and OrderIDs carry it, so they stay unique across restarts."""
    path = Path(directory) / "incarnation"
    path.parent.mkdir(parents=True, exist_ok=True)
    current = int(path.read_text() or 0) if path.exists() else 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(str(current + 1))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return current + 1
