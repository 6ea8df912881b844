"""A desk under test whose outboxes read as their messages only (where each message goes
is checked by the desk's addressing tests)."""

from __future__ import annotations

from typing import Any

from engine.desk.desk import OrderDesk

SENDING = frozenset(
    {"submit", "cancel", "amend", "close_window", "on_parent_fill", "on_parent_state"}
    | {"net_working", "handle", "on_wake", "on_market_data", "on_parent_released"}
    | {"on_resize_settled"}
)


class MessagesOnly:
    def __init__(self, desk: OrderDesk) -> None:
        self.desk = desk

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "desk":  # copy and pickle probe these first
            raise AttributeError(name)
        attr = getattr(self.desk, name)
        if name not in SENDING:
            return attr
        return lambda *args, **kwargs: [msg for _, msg in attr(*args, **kwargs)]
