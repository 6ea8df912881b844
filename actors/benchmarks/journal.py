"""Audit-trail throughput: appends per wall second into a file journal (WAL), including
the batched writes, plus the one-off cost of closing (flush, index build, checkpoint).
Also per CPU second of this process: steadier than wall time on a shared machine.

Durable appends: records acknowledged per second when each must be committed before it
is acknowledged (as a client's report is), committed in groups the size a simulated
wave releases, with the default durability (commits survive the process's death) and
with ``synchronous="FULL"`` (they survive a power loss too)."""

from __future__ import annotations

import os
import tempfile
import time

from engine import messages as m
from engine.audit.journal import Journal


def _fills(n: int) -> list[m.Message]:
    # A realistic record: a child fill with every indexed column set.
    return [
        m.ChildOrderFilled(
            parent_id=f"P{i % 50}",
            child_id=f"C{i}",
            fill_id=f"F{i}",
            venue=f"LIT{i % 3}",
            quantity=100,
            price=100_010_000 + i % 100,
            liquidity=m.Liquidity.MAKER,
            msg_id=i,
            ts=i * 1_000,
        )
        for i in range(1, n + 1)
    ]


# Records per commit: about what one simulated wave that releases a report commits.
DURABLE_GROUP = 32


def _durable_rate(path: str, msgs: list[m.Message], synchronous: str) -> float:
    """Records per second, appended and committed ``DURABLE_GROUP`` at a time."""
    journal = Journal(path, synchronous=synchronous)
    start = time.perf_counter()
    for i in range(0, len(msgs), DURABLE_GROUP):
        journal.extend(msgs[i : i + DURABLE_GROUP])
        journal.flush()  # committed: now they may be acknowledged
    elapsed = time.perf_counter() - start
    journal.close()
    return len(msgs) / elapsed


def run(quick: bool = False) -> dict[str, float]:
    n = 50_000 if quick else 300_000
    msgs = _fills(n)
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(os.path.join(tmp, "bench.sqlite"))
        start, cpu = time.perf_counter(), time.process_time()
        for msg in msgs:
            journal.append(msg)
        journal.flush()
        appended, cpu = time.perf_counter(), time.process_time() - cpu
        journal.close()
        closed = time.perf_counter()
        reopened = Journal(os.path.join(tmp, "bench.sqlite"))
        replay_start = time.perf_counter()
        replayed = sum(1 for _ in reopened.replay())
        replay_s = time.perf_counter() - replay_start
        reopened.close()
        durable = _durable_rate(os.path.join(tmp, "durable.sqlite"), msgs, "NORMAL")
        full = _durable_rate(os.path.join(tmp, "full.sqlite"), msgs[: n // 10], "FULL")
    assert replayed == n
    return {
        "journal_appends_per_s": round(n / (appended - start)),
        "journal_appends_per_cpu_s": round(n / cpu),
        "journal_durable_appends_per_s": round(durable),
        "journal_durable_full_appends_per_s": round(full),
        "journal_close_s": round(closed - appended, 3),
        "journal_replay_per_s": round(n / replay_s),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=False)))
