"""Actors driven on the simulation loop's thread."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from actors.logs import log_failure
from engine.messages import Message

if TYPE_CHECKING:
    from actors.actor import EngineActor


class InlineRef:
    """An actor driven on the simulation loop's thread, with pykka's failure semantics:
    an exception in a handler runs ``on_failure`` and the actor is dead; ``stop`` runs
    ``on_stop``. Same actor class, same handlers, same message order as on a pykka
    thread, minus the thread handoff (several times the cost of a handler), which is
    what makes a simulated day take seconds instead of minutes."""

    __slots__ = ("actor", "alive", "deliver")

    def __init__(self, actor: EngineActor) -> None:
        self.actor = actor
        self.alive = True
        self.deliver = actor.deliver  # the handler, for the simulation loop to call

    def start(self) -> InlineRef:
        try:
            self.actor.on_start()
        except Exception:
            self.alive = False  # EngineActor already reported it to the runtime
        except BaseException:
            self.alive = False  # as in ``tell``: the runtime halts the run
        return self

    def failed(self, msg: Message, exc: Exception) -> None:
        """The actor's handler raised ``exc`` on ``msg`` (delivered by a direct call of
        ``deliver``): as ``EngineActor.on_receive`` then pykka do, report it and run
        ``on_failure``; the actor is dead."""
        self.actor.report_failure(msg, exc)
        self.alive = False
        self.actor.on_failure(*sys.exc_info())

    def halted(self, exc: BaseException) -> None:
        """The actor's handler raised a BaseException: the runtime halts the run."""
        self.actor.runtime.halted(self.actor.name, exc)
        self.alive = False

    def tell(self, message: Any) -> None:
        if not self.alive:
            import pykka

            raise pykka.ActorDeadError(f"{self.actor.name} is dead")
        try:
            self.actor.on_receive(message)
        except Exception:
            self.alive = False
            self.actor.on_failure(*sys.exc_info())
        except BaseException:
            self.alive = False  # the runtime halts the run (EngineActor reported it)

    def is_alive(self) -> bool:
        return self.alive

    def stop(self, block: bool = True) -> None:
        if self.alive:
            self.alive = False
            try:
                self.actor.on_stop()
            except Exception as exc:  # pykka logs it and the actor is stopped all the same
                log_failure(
                    "ERROR", "{!r} raised in on_stop; stopped anyway", self.actor.name, exc=exc
                )
