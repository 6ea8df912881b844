"""smart-exec imperative shell: pykka actors, the runtime that delivers their messages
and keeps time, supervision, and the embedded API."""

from actors.api import Engine, MarketConfig

__all__ = ["Engine", "MarketConfig"]
