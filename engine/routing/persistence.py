"""The venue scorecard across restarts and runs.

The router journals its scorecard (``ScorecardSaved``) periodically and when it stops.
A router restarted by its supervisor takes the last save whole and replays the trail
after it (``engine.routing.recovery.replay_scorecard``); a new run takes only what was
learnt (``learnt_only``), from its own trail or from a previous run's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from engine.audit.journal import Journal
from engine.audit.trail import AuditTrail
from engine.messages import ScorecardSaved
from engine.routing.scorecard import Scorecard, ScorecardState

ScorecardSource = Scorecard | ScorecardState | Journal | str | Path | None
"""Where a run's first scorecard comes from: a previous run's journal (or its path), a
``Scorecard`` or a ``ScorecardState``; None: a blank one."""


def latest_saved(trail: AuditTrail, router: str | None = None) -> ScorecardSaved | None:
    """The last ``ScorecardSaved`` in ``trail`` (of ``router`` if given)."""
    latest = None
    for msg in trail.messages(ScorecardSaved):
        if isinstance(msg, ScorecardSaved) and (router is None or msg.router == router):
            latest = msg
    return latest


def latest_scorecard(trail: AuditTrail, router: str | None = None) -> ScorecardState | None:
    """The state of the last ``ScorecardSaved`` in ``trail`` (of ``router`` if given)."""
    latest = latest_saved(trail, router)
    if latest is None:
        return None
    return msgspec.json.decode(latest.state, type=ScorecardState)


def load_scorecard(source: ScorecardSource) -> ScorecardState | None:
    """A scorecard state from a previous run: its journal (or the journal's path), a
    ``Scorecard`` or a ``ScorecardState``."""
    if source is None or isinstance(source, ScorecardState):
        return source
    if isinstance(source, Scorecard):
        return source.to_state()
    if isinstance(source, Journal):
        return latest_scorecard(source)
    with Journal(str(source), readonly=True) as journal:
        return latest_scorecard(journal)


def learnt_only(state: ScorecardState) -> ScorecardState:
    """What carries over to another run: the per-venue statistics. Open orders, pending
    markouts, venue status and the last traded-volume reading belong to the session that
    saved them (the venues' order ids and volumes start afresh in a new one)."""
    venues: list[Any] = [
        msgspec.structs.replace(v, last_volume=None, reject_streak=0, outflows=list(v.outflows))
        for v in state.venues
    ]
    return ScorecardState(markout_horizon_ns=state.markout_horizon_ns, venues=venues)


def restore_scorecard(
    trail: AuditTrail | None, router: str, *, restarted: bool, initial: ScorecardSource
) -> tuple[Scorecard, ScorecardSaved | None]:
    """The scorecard a router starts with, and the save it was restored from if the trail
    after that save must be replayed on it (a restart). The router's own latest save in
    ``trail``: whole after a restart, its statistics in a new run; without one, the
    ``initial`` source's statistics; without that, a blank scorecard."""
    saved = None if trail is None else latest_saved(trail, router)
    if saved is not None:
        state = msgspec.json.decode(saved.state, type=ScorecardState)
        if restarted:
            return Scorecard.from_state(state), saved
        return Scorecard.from_state(learnt_only(state)), None
    loaded = load_scorecard(initial)
    return (Scorecard() if loaded is None else Scorecard.from_state(learnt_only(loaded))), None
