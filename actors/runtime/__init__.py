"""The runtime: delivers messages between actors and keeps time.

Actors never call each other; they ``send`` through the runtime, which owns names, link
latency, timers and the clock. Two implementations behind one interface (``Runtime``):

- ``SimRuntime``: virtual time, deliveries in deterministic waves; a run is a pure
  function of the scenario and seed (see ``actors.runtime.sim``).
- ``LiveRuntime``: the wall clock; a scheduler thread delivers what is due later.
"""

from actors.runtime.base import EXTERNAL, Runtime, RuntimeHalted
from actors.runtime.inline import InlineRef
from actors.runtime.live import LiveRuntime
from actors.runtime.seeds import derive_seed, link_seed, named_seed
from actors.runtime.sim import SimRuntime

__all__ = [
    "EXTERNAL",
    "InlineRef",
    "LiveRuntime",
    "Runtime",
    "RuntimeHalted",
    "SimRuntime",
    "derive_seed",
    "link_seed",
    "named_seed",
]
