"""Parent orders: a strategy's schedule turned into child orders (``ParentOrder``), and
the parent on the one contract for hosted engine objects (``HostedParent``). Layout and
recovery: docs/parent.md."""

from engine.parent.config import ParentConfig
from engine.parent.hosted import HostedParent
from engine.parent.lifecycle import TERMINAL, TRANSITIONS, IllegalTransition
from engine.parent.order import ParentOrder

__all__ = [
    "TERMINAL",
    "TRANSITIONS",
    "HostedParent",
    "IllegalTransition",
    "ParentConfig",
    "ParentOrder",
]
