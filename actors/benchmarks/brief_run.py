"""``brief_run_wall_s``: ``smart-exec run scenarios/brief_vwap.toml`` end to end, wall
seconds: the engine's day, the baseline run, the TCA summary, the fills CSV and the HTML
report, in a child process as a user starts it (interpreter start-up and imports
included). One run; skipped under ``--quick`` (it takes tens of seconds).

``brief_run_cpu_s`` is the same run's CPU time (user + system), its baseline worker's
included: the baseline and counterfactual market run in a forked worker beside the
engine (``actors.baseline_job``), so on two free cores the wall time is the engine's
part plus the report, below the CPU time; on a shared machine the wall time also
includes waiting for a core.

Where the time goes: ``py-spy record -f raw -o run.raw -- python -m actors.cli run
brief_vwap --quiet`` (a sampling profiler: cProfile's per-call cost distorts a run of
half a million small handler calls), or ``python -m cProfile -s tottime`` for call counts.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BRIEF = "brief_vwap"


def run(quick: bool) -> dict[str, float]:
    if quick:
        return {}
    wall, cpu = run_seconds(BRIEF)
    return {"brief_run_wall_s": round(wall, 2), "brief_run_cpu_s": round(cpu, 2)}


def run_seconds(scenario: str | Path) -> tuple[float, float]:
    """(wall, CPU) seconds of ``smart-exec run SCENARIO --report DIR`` (audit, CSV and
    report in a scratch directory); a run that fails raises ``RuntimeError``."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "actors.cli", "run", str(scenario), "--quiet"]
        command += ["--audit", str(Path(scratch, "run.audit.sqlite"))]
        command += ["--report", str(Path(scratch, "report"))]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        before = _children_cpu_s()
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=scratch, capture_output=True, text=True)
        wall = time.perf_counter() - started
        cpu = _children_cpu_s() - before
    if done.returncode != 0 or "audit-digest: " not in done.stdout:
        raise RuntimeError(f"smart-exec run {scenario} failed ({done.returncode}): {done.stderr}")
    return wall, cpu


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
