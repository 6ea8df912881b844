"""The simulated venues: a lit exchange (``LitVenue``) and a dark pool (``DarkVenue``).

Both are engine objects on the one host contract (``engine.contract.Hosted``), built on
``SimulatedVenue``; ``docs/venues.md`` describes what they do and how.
"""

from __future__ import annotations

from engine.config import SessionConfig, VenueConfig
from engine.contract import FEED
from engine.instruments import Instrument
from engine.messages import VenueKind
from engine.venues.dark import DarkVenue
from engine.venues.lit import LitVenue
from engine.venues.simulated import FAULTS, OurOrder, SimulatedVenue, VenueReject

__all__ = [
    "FAULTS",
    "FEED",
    "DarkVenue",
    "LitVenue",
    "OurOrder",
    "SimulatedVenue",
    "VenueReject",
    "make_venue",
]


def make_venue(
    config: VenueConfig,
    instrument: Instrument,
    session: SessionConfig,
    seed: int,
    *,
    fundamental_seed: int | None = None,
    epoch: int = 0,
) -> LitVenue | DarkVenue:
    """The venue of ``config.kind``. ``fundamental_seed`` draws the instrument's
    fundamental value, shared by every lit venue of the market (and known ahead by a dark
    pool's informed contra); ``epoch`` is the venue's restarts so far."""
    if config.kind is VenueKind.DARK:
        return DarkVenue(
            config, instrument, session, seed, fundamental_seed=fundamental_seed, epoch=epoch
        )
    return LitVenue(
        config, instrument, session, seed, fundamental_seed=fundamental_seed, epoch=epoch
    )
