"""The parent order's lifecycle as an explicit table: pending → working ⇄ paused →
completed / cancelled / expired."""

from __future__ import annotations

from engine.messages import ParentState

S = ParentState
TRANSITIONS: dict[ParentState, frozenset[ParentState]] = {
    S.PENDING: frozenset({S.WORKING, S.CANCELED, S.EXPIRED}),
    S.WORKING: frozenset({S.PAUSED, S.COMPLETED, S.CANCELED, S.EXPIRED}),
    S.PAUSED: frozenset({S.WORKING, S.COMPLETED, S.CANCELED, S.EXPIRED}),
    S.COMPLETED: frozenset(),
    S.CANCELED: frozenset(),
    S.EXPIRED: frozenset(),
}
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

NO_MARKET_DATA = "no market data"
"""Why a parent pauses on its own (and resumes on its own once quotes are back)."""


class IllegalTransition(ValueError):
    def __init__(self, parent_id: str, source: ParentState, target: ParentState) -> None:
        super().__init__(f"parent {parent_id}: illegal transition {source} -> {target}")
        self.source, self.target = source, target
