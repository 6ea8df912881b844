"""What the planner hands the router: venue placements, the reason, the values used."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.messages import VenueKind, VenuePlacement


@dataclass(frozen=True, slots=True)
class VenueInfo:
    name: str
    kind: VenueKind
    maker_fee: int
    taker_fee: int
    instruments: frozenset[str] = frozenset()  # the symbols it trades (empty: all)

    def trades(self, symbol: str) -> bool:
        return not self.instruments or symbol in self.instruments


@dataclass(frozen=True, slots=True)
class Placement:
    placement: VenuePlacement
    timeout_ns: int | None  # cancel and move on if still resting after this


@dataclass(slots=True)
class Plan:
    placements: list[Placement] = field(default_factory=list)
    reason: str = ""
    considered: list[str] = field(default_factory=list)
    extra: dict[str, dict[str, float]] = field(default_factory=dict)
    wait: bool = False  # nothing possible now: retry on market data / status change
    give_up: bool = False  # nothing possible for this child any more
