"""``smart-exec resume TRAIL [--report DIR] [--fills-csv PATH] [--fills] [--overwrite]``.

Continues a ``smart-exec run`` that was killed or interrupted: its trail keeps the
scenario and seed, so the run is replayed from the start (the simulated venues died with
the process; a seeded run is rebuilt by running it again), checked against the trail
record for record, and goes on writing the same trail past its last committed record. A
replay that differs from the trail stops at once with one line naming the first seq that
differs, and the trail is left as it was. Once the run ends it is reported as ``run``
reports it, ``audit-digest`` last: the digest an uninterrupted run of the scenario and
seed prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from actors.cli.run import (
    SCENARIO_RUN,
    ScenarioRun,
    add_output_arguments,
    clear_fills_csv_path,
    execute,
    fills_csv_beside,
)
from engine.audit.journal import Journal, TrailDamaged
from engine.scenario import ScenarioError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trail", help="audit trail of a killed or interrupted smart-exec run")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a file already at the fills CSV path"
    )
    add_output_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """A trail that cannot be resumed (missing, damaged, complete, not a scenario run's,
    or one the replay does not reproduce) ends with one line on stderr and status 2."""
    try:
        return _resume(args)
    except (ScenarioError, OSError, ValueError) as exc:  # TrailDamaged, ReplayMismatch too
        print(f"smart-exec resume: error: {exc}", file=sys.stderr)
        return 2


def _resume(args: argparse.Namespace) -> int:
    audit = Path(args.trail)
    if not audit.is_file():
        raise FileNotFoundError(f"no audit trail at {audit}")
    journal = _open(audit)
    try:
        run = journal.run_info(SCENARIO_RUN, ScenarioRun)
        if run is None:
            raise ValueError(
                f"audit trail {str(audit)!r} does not keep the scenario it ran (not written "
                "by smart-exec run): an engine embedded in Python resumes with Engine.resume"
            )
        fills_csv = Path(args.fills_csv) if args.fills_csv else fills_csv_beside(audit)
        clear_fills_csv_path(fills_csv, audit, audit, overwrite=args.overwrite)
    except BaseException:
        journal.close()
        raise
    print(
        f"smart-exec resume: {run.scenario.name} seed {run.seed}: replaying the "
        f"{journal.resumed_at:,} records of {audit}, then going on",
        file=sys.stderr,
    )
    return execute(args, run, journal, fills_csv)


def _open(audit: Path) -> Journal:
    try:
        return Journal(str(audit), resume=True)
    except TrailDamaged as damage:
        raise ValueError(
            f"{damage} (smart-exec audit --salvage keeps the records before it)"
        ) from None
