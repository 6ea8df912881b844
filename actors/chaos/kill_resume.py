"""Kill a chaos run's whole process at a random point, resume its trail, compare digests.

    violations = kill_and_resume(case, digest, reports)

The case runs as ``smart-exec chaos --replay SEED --audit TRAIL --trace-reports`` in a
child process, which waits after each report it delivers until told to go on, and is
sent ``SIGKILL`` instead after a number of reports drawn from the seed (1 .. the
uninterrupted run's reports but its last). Its trail is then resumed
(``Engine.resume``: the run replayed from the seed, checked against the trail record for
record, then carried on) with the case's inputs, and must end with the uninterrupted
run's digest (``resume_differs`` if not); every report the client saw before the kill
must be in the trail (``report_not_journaled``); a run that cannot be killed or resumed
is ``kill_failed``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from actors.api import Engine
from actors.chaos.generator import ChaosCase
from actors.chaos.invariants import Violation
from engine.audit.journal import Journal

KILL_CLASSES = ("resume_differs", "kill_failed")
TIMEOUT_S = 120.0  # a chaos run takes a second or two
REPORT_TYPES = ["ExecutionReport", "ClientOrderRejected"]
_TREE = Path(__file__).resolve().parents[2]  # this code's tree, for the child process


def kill_point(seed: int, reports: int) -> int:
    """After how many delivered reports the run of ``seed`` is killed (from the seed):
    before its last, so that the run is still going."""
    return random.Random(f"chaos-kill:{seed}").randint(1, max(reports - 1, 1))


def kill_and_resume(case: ChaosCase, digest: str, reports: int) -> list[Violation]:
    """Kill the case's process after ``kill_point`` reports, resume it, check it."""
    seed = case.seed
    after = kill_point(seed, reports)
    with tempfile.TemporaryDirectory(prefix="chaos-kill-") as tmp:
        trail = Path(tmp) / "trail.sqlite"
        try:
            delivered = _killed(seed, trail, after)
            kept, complete = _reports_in(trail)
            # killed as it was closing, its trail complete: the digest is there already
            resumed = _digest(trail) if complete else resume_case(case, trail)
        except Exception as exc:  # a failure here is the finding
            return [Violation(seed, "kill_failed", f"killed after {after} reports: {exc!r}"[:300])]
    out = []
    lost = [r for r in delivered if r not in kept]
    if lost:
        shown = ", ".join(map(str, lost[:5]))
        out.append(
            Violation(
                seed, "report_not_journaled", f"killed after {after}: {len(lost)} lost: {shown}"
            )
        )
    if resumed != digest:
        detail = (
            f"killed after {after} reports: resumed {resumed[:12]}, uninterrupted {digest[:12]}"
        )
        out.append(Violation(seed, "resume_differs", detail))
    return out


def _killed(seed: int, trail: Path, after: int) -> list[int]:
    """Run the case in a child process and ``SIGKILL`` it after ``after`` reports; the
    message ids of the reports it delivered."""
    env = {**os.environ, "PYTHONPATH": str(_TREE)}
    cmd = [sys.executable, "-m", "actors.cli", "chaos", "--replay", str(seed)]
    cmd += ["--audit", str(trail), "--trace-reports", "--step-reports"]
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    watchdog = threading.Timer(TIMEOUT_S, proc.kill)
    watchdog.start()
    delivered: list[int] = []
    try:
        assert proc.stdout is not None and proc.stdin is not None
        for line in proc.stdout:
            if not line.startswith("report "):
                continue
            delivered.append(int(line.split()[1]))
            if len(delivered) >= after:  # it waits for us: killed right after this report
                proc.send_signal(signal.SIGKILL)
                break
            proc.stdin.write("\n")
            proc.stdin.flush()
        proc.wait()
    finally:
        watchdog.cancel()
    if proc.returncode != -signal.SIGKILL:
        raise RuntimeError(f"the run ended (status {proc.returncode}) before it was killed")
    return delivered


def _reports_in(trail: Path) -> tuple[set[int], bool]:
    """The message ids of the reports in the trail, and whether its run closed it."""
    with Journal(str(trail), readonly=True) as journal:
        ids = {r.message.msg_id for r in journal.query(types=REPORT_TYPES)}
        return ids, journal.closed_cleanly


def _digest(trail: Path) -> str:
    with Journal(str(trail), readonly=True) as journal:
        return journal.digest()


def resume_case(case: ChaosCase, trail: Path) -> str:
    """Resume the killed run of ``case`` from ``trail`` to its end; the trail's digest."""
    from actors.chaos.runner import advance, schedule  # here: the runner imports this module

    engine = Engine.resume(str(trail))
    try:
        schedule(engine, case)
        if advance(engine, case.end_ns):
            raise RuntimeError("the resumed run went over its wave budget")
    finally:
        engine.close()
    return _digest(trail)
