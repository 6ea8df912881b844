"""The ``[[faults]]`` of a scenario: a fault plan in a file (``docs/faults.md``).

    [[faults]]                      # a venue's own fault, at a time
    venue = "LIT1"
    fault = "down"
    at = "10:00"
    duration_s = 60

    [[faults]]                      # a link fault, on an event
    fault = "link_drop"
    sender = "router"
    receiver = "LIT1"
    message = "CancelVenueOrder"
    count = 1
    at = "09:30"
    after = { event = "fill", count = 3, parent = "P1" }

Each entry is checked where it stands (times, numbers) and against the scenario's venues
and actors (``check``), with the same rules as ``Engine.inject_fault``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import msgspec

from engine.clock import MS, SECOND
from engine.desk.intake import INT64_MAX
from engine.faults import FaultPlanError, fault_command
from engine.messages import FaultKind, FaultTrigger
from engine.scenario_fields import optional_time


class TriggerSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``after``: the ``count``-th ``event`` ("fill" or "child") of ``parent``/at ``venue``,
    counted from the fault's ``at``."""

    event: str
    count: int = 1
    parent: str = ""
    venue: str = ""


class FaultSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    fault: FaultKind
    at: str
    venue: str = ""  # a venue's fault, a latency spike
    sender: str = ""  # a link fault: from this actor ...
    receiver: str = ""  # ... to this one
    duration_s: float | None = None
    delay_ms: float = 0.0  # link_delay, link_reorder, latency_spike
    count: int = 0  # a link fault: the messages it hits (0: all while it is on)
    message: str = ""  # a link fault: only messages of this type
    after: TriggerSpec | None = None

    def __post_init__(self) -> None:
        optional_time(self.at, "at")
        # None (left out) is the open-ended fault; 0 would read as "no fault at all" to one
        # reader and "open-ended" to another, so it is refused rather than guessed.
        if self.duration_s is not None and not (
            math.isfinite(self.duration_s) and self.duration_s > 0
        ):
            raise ValueError(
                f"duration_s: {self.duration_s} is not a positive number of "
                "seconds (leave it out for a fault with no set end)"
            )
        if self.duration_s is not None and not 1 <= self.duration_s * SECOND < 2**63:
            raise ValueError(
                f"duration_s: {self.duration_s} is not between a nanosecond and "
                f"{INT64_MAX // SECOND:,} seconds"
            )
        if not (math.isfinite(self.delay_ms) and 0 <= self.delay_ms * MS < 2**63):
            raise ValueError(f"delay_ms: {self.delay_ms} is not a delay in milliseconds")

    @property
    def duration_ns(self) -> int | None:
        return None if self.duration_s is None else int(self.duration_s * SECOND)

    def plan(self) -> dict[str, Any]:
        """What ``Engine.inject_fault`` takes beyond venue, kind, time and duration."""
        trigger = self.after
        link = (self.sender, self.receiver) if self.sender or self.receiver else None
        return {
            "link": link,
            "delay_ns": round(self.delay_ms * MS),
            "count": self.count,
            "message": self.message,
            "after": None if trigger is None else FaultTrigger(**msgspec.structs.asdict(trigger)),
        }

    def check(self, venues: Sequence[str], parent_prefix: str) -> None:
        """``FaultPlanError`` if the scenario's engine could not inject this fault."""
        fault_command(
            self.fault,
            venues=venues,
            parent_prefix=parent_prefix,
            venue=self.venue,
            duration_ns=self.duration_ns,
            **self.plan(),
        )


def check_faults(faults: Sequence[FaultSpec], venues: Sequence[str], parent_prefix: str) -> None:
    for i, fault in enumerate(faults):
        try:
            fault.check(venues, parent_prefix)
        except FaultPlanError as exc:
            field = {"duration": "duration_s", "delay": "delay_ms"}.get(exc.field, exc.field)
            raise ValueError(f"faults[{i}].{field}: {exc}") from None
