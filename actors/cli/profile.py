"""``smart-exec profile SCENARIO [--days K] [--seed N] [--bins B] [--out FILE]``:
estimate a VWAP volume profile from the scenario market's own history.

Simulates ``--days`` sessions of the scenario's lit venues (their background flow only, no
orders; the days a run with ``--seed`` would call its history, as ``vwap_profile =
"history"`` does) and prints the profile as JSON in the shipped profile file's format, or
writes it to ``--out``. A scenario (``vwap_profile = "FILE"``) or ``smart-exec schedule vwap
--profile FILE`` then uses it.
"""

from __future__ import annotations

import argparse
import json
import sys

import scenarios
from engine.messages import VenueKind
from engine.scenario import ScenarioError, load
from engine.venues.volume_history import DEFAULT_BINS, estimated_profile, profile_document

EXIT_BAD_INPUT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario",
        help="scenario TOML file or a shipped scenario's name: its instrument, session, venues",
    )
    parser.add_argument("--days", type=int, default=3, help="simulated days of history (3)")
    parser.add_argument("--seed", type=int, default=None, help="the run's seed (the scenario's)")
    parser.add_argument(
        "--bins",
        type=int,
        default=DEFAULT_BINS,
        help=f"bins over the session ({DEFAULT_BINS}: half hours)",
    )
    parser.add_argument("--out", help="write the profile here instead of printing it")


def main(args: argparse.Namespace) -> int:
    try:
        if args.days < 1 or args.bins < 1:
            raise ValueError(f"--days and --bins must be >= 1 (got {args.days}, {args.bins})")
        scenario = load(scenarios.locate(args.scenario))
        seed = scenario.seed if args.seed is None else args.seed
        instrument, session, venues = scenario.market()
        days = [10_000 * seed + day for day in range(1, args.days + 1)]
        profile = estimated_profile(instrument, session, venues, days, args.bins)
        doc = profile_document(
            profile,
            session,
            name=f"{scenario.name}-history",
            source=f"smart-exec profile: {args.days} simulated days of {instrument.symbol} "
            f"before seed {seed}, lit venues {[v.name for v in venues if v.kind is VenueKind.LIT]}",
        )
        text = json.dumps(doc, indent=2)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        else:
            print(text)
    except (ScenarioError, ValueError, OSError) as exc:
        print(f"smart-exec profile: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0
