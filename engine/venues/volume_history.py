"""VWAP volume profiles from the simulated market's own history.

A desk estimates its intraday profile from past days of the instrument. Here the past
days are simulated: the scenario's lit venues, with their configured background flow, each
advanced through a whole session on its own seed (one seed per day, the venues of a day
sharing one fundamental value as in a live run), their cumulative volume sampled every
``step_ns``. ``engine.strategies.vwap.estimate_profile`` turns each day's samples into a
profile, and the days' bins are averaged: every day weighs the same whatever its volume.

The result feeds a VWAP parent (``ParentConfig.vwap_profile``) or, written with
``profile_document``, any tool that reads profile files (``smart-exec schedule vwap
--profile``, a scenario's ``vwap_profile``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from engine.clock import MINUTE, SECOND
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import VenueKind
from engine.strategies.vwap import VolumeProfile, estimate_profile
from engine.venues.venue import LitVenue

DEFAULT_BINS = 13  # half-hour bins over a 6.5-hour session


def day_volume(
    instrument: Instrument,
    session: SessionConfig,
    venues: Sequence[VenueConfig],
    seed: int,
    step_ns: int = MINUTE,
) -> list[tuple[int, int]]:
    """One simulated day: (t_ns, cumulative volume over the lit venues) every ``step_ns``."""
    lit = [
        LitVenue(v, instrument, session, seed * 1_000 + k, fundamental_seed=seed)
        for k, v in enumerate(venues)
        if v.kind is VenueKind.LIT
    ]
    if not lit:
        raise ValueError("a volume history needs at least one lit venue")
    samples = []
    for t in range(session.open_ns + step_ns, session.close_ns + step_ns, step_ns):
        t = min(t, session.close_ns)
        for venue in lit:
            venue.advance_to(t)
        samples.append((t, sum(venue.book.volume for venue in lit)))
    return samples


def estimated_profile(
    instrument: Instrument,
    session: SessionConfig,
    venues: Sequence[VenueConfig],
    seeds: Iterable[int],
    bins: int = DEFAULT_BINS,
) -> VolumeProfile:
    """The average of the days' profiles, one simulated day per seed."""
    days = [
        estimate_profile(
            day_volume(instrument, session, venues, seed), session.open_ns, session.close_ns, bins
        )
        for seed in seeds
    ]
    if not days:
        raise ValueError("a volume history needs at least one day")
    weights = [sum(day.weights[b] for day in days) / len(days) for b in range(bins)]
    return VolumeProfile.from_volumes(days[0].edges, weights)


def profile_document(
    profile: VolumeProfile, session: SessionConfig, name: str, source: str
) -> dict:
    """The profile in the shipped profile file's format (``load_profile`` reads it back):
    bins in minutes from the open, each with its percent of the day's volume."""
    minutes = session.length_ns / (60 * SECOND)
    return {
        "name": name,
        "source": source,
        "session_minutes": minutes,
        "bins": [
            {"start_min": a * minutes, "end_min": b * minutes, "pct": 100.0 * w}
            for a, b, w in zip(profile.edges[:-1], profile.edges[1:], profile.weights, strict=True)
        ],
    }
