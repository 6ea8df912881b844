"""The live runtime: the wall clock, with a scheduler thread for what is due later."""

from __future__ import annotations

import datetime as dt
import heapq
import os
import threading
import zoneinfo

from actors.runtime.base import Callback, Runtime, RuntimeHalted
from actors.runtime.endpoint import Endpoint
from actors.runtime.release import Releaser
from engine.audit.trail import AuditTrail
from engine.clock import SECOND, LiveClock
from engine.config import SessionConfig
from engine.messages import Message

DEFAULT_ZONE = "America/New_York"
GROUP_COMMIT_MAX = 256  # held messages an actor releases at the latest, queue or not


def session_today(
    open: str = "09:30",
    close: str = "16:00",
    zone: str = DEFAULT_ZONE,
    date: dt.date | None = None,
) -> SessionConfig:
    """The trading day ``date`` (today in ``zone`` by default) from ``open`` to ``close``,
    wall-clock times in ``zone`` (an IANA name such as ``Europe/London``; daylight saving
    is the zone's)."""
    tz = zoneinfo.ZoneInfo(zone)
    day = date or dt.datetime.now(tz).date()

    def at(clock: str) -> int:
        when = dt.datetime.combine(day, dt.time.fromisoformat(clock), tz)
        return int(when.timestamp()) * SECOND

    session = SessionConfig(open_ns=at(open), close_ns=at(close))
    if session.close_ns <= session.open_ns:
        raise ValueError(f"close {close} is not after open {open}")
    return session


def session_from_now(hours: float, now_ns: int | None = None) -> SessionConfig:
    """A session that opens now and lasts ``hours``: a live engine out of market hours
    (a demonstration, a test, a simulated market)."""
    if not hours > 0:
        raise ValueError(f"a session lasts a positive number of hours, not {hours!r}")
    start = LiveClock().now() if now_ns is None else now_ns
    return SessionConfig(open_ns=start, close_ns=start + int(hours * 3_600 * SECOND))


class LiveRuntime(Runtime):
    """Wall-clock runtime: a scheduler thread delivers due messages and timers.

    ``cpu``: run every engine thread (the scheduler and each actor's) on this one CPU.
    Python threads take turns on the GIL anyway, so a second core buys them nothing, while
    each handoff between threads on different cores waits for the other core to wake,
    which on a virtual machine's idle vCPU can take longer than the handler itself.
    Threads the application creates are left alone; call ``pin_thread()`` from one that
    talks to the engine at high rate to put it on the same core.
    """

    clock: LiveClock

    def __init__(
        self, seed: int = 0, journal: AuditTrail | None = None, cpu: int | None = None
    ) -> None:
        if cpu is not None:
            if not hasattr(os, "sched_setaffinity"):
                raise ValueError("cpu: pinning threads needs os.sched_setaffinity (Linux)")
            allowed = sorted(os.sched_getaffinity(0))
            if cpu not in allowed:
                raise ValueError(f"cpu {cpu!r} is not one this process may run on: {allowed}")
        self.cpu = cpu
        lock = threading.RLock()
        super().__init__(LiveClock(), seed=seed, journal=journal, lock=lock)
        self._heap: list[tuple[int, int, str, str, Message]] = []  # (due, order, dest, ...)
        self._queued: dict[tuple[str, str], int] = {}  # per link: in the heap or being delivered
        self._wakeup = threading.Condition(lock)
        self._running = True
        self._stop_requested = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="smart-exec-scheduler", daemon=True)
        self._thread.start()
        self._releaser = Releaser(self)  # messages for callbacks, held until a commit

    def _enqueue(self, due: int, order: int, dest: str, sender: str, msg: Message) -> bool:
        # Due now and nothing earlier on this link still on its way: the sender hands it
        # over itself, sparing the scheduler thread's handoff (FIFO per link holds).
        link = (sender, dest)
        if due <= self.clock.now() and not self._queued.get(link):
            return True
        self._queued[link] = self._queued.get(link, 0) + 1
        heapq.heappush(self._heap, (due, order, dest, sender, msg))
        self._wakeup.notify()
        return False

    def _record(self, sink: AuditTrail, ep: Endpoint, msg: Message) -> None:
        with self._lock:
            sink.append(msg)

    def _hold(self, callback: Callback, msg: Message, sender: str) -> None:
        self._releaser.hold(callback, msg, sender)

    def _requeue(self, held: list[tuple[Callback, Message, str]]) -> None:
        self._releaser.requeue(held)

    def actor_thread(self) -> None:
        self._releaser.actor_thread()

    def handled(self, name: str) -> None:
        super().handled(name)
        # What this handler held is released on its thread once nothing more is queued
        # for the actor (group commit: a burst of orders is one commit and one wake-up,
        # not one each), or once a bound is held, so a busy actor still releases.
        held = self._releaser.held
        if held and (not self._endpoints[name].outstanding or len(held) >= GROUP_COMMIT_MAX):
            self._releaser.release()

    def failed(self, name: str, exc: BaseException) -> None:
        super().failed(name, exc)
        self._releaser.wake()  # what the handler held before it raised

    def _failure(self, name: str, exc: BaseException) -> None:
        # Restart off the failing actor's thread: pykka is still unwinding it.
        threading.Thread(target=self._supervise, args=(name, exc), daemon=True).start()

    def _supervise(self, name: str, exc: BaseException) -> None:
        self.pin_thread()
        if self.supervisor is not None:
            try:
                self.supervisor.child_failed(name, exc)
            except RuntimeHalted as halt:
                self._halt = halt

    def pin_thread(self) -> None:
        """Put the calling thread on ``cpu`` (no-op without one)."""
        if self.cpu is not None:
            os.sched_setaffinity(0, {self.cpu})  # 0: the calling thread, on Linux

    def _loop(self) -> None:
        self.pin_thread()
        while True:
            with self._lock:
                while self._running and (not self._heap or self._heap[0][0] > self.clock.now()):
                    timeout = None
                    if self._heap:
                        timeout = max(self._heap[0][0] - self.clock.now(), 0) / 1e9
                    self._wakeup.wait(timeout)
                if not self._running:
                    return
                _, _, dest, sender, msg = heapq.heappop(self._heap)
            self._deliver(dest, sender, msg)
            with self._lock:
                self._queued[(sender, dest)] -= 1

    def request_stop(self) -> None:
        """Ask whoever waits in ``wait_for_stop`` to return (safe from a signal handler
        and from any thread)."""
        self._stop_requested.set()

    def wait_for_stop(self, until_ns: int | None = None) -> bool:
        """Block until ``request_stop`` or a halt (True) or the wall clock reaches
        ``until_ns`` (False). Waits in short slices so that the main thread still sees
        signals."""
        while not self._stop_requested.is_set() and self._halt is None:
            if until_ns is not None and self.clock.now() >= until_ns:
                return False
            left = 0.2 if until_ns is None else (until_ns - self.clock.now()) / SECOND
            self._stop_requested.wait(min(max(left, 0.0), 0.2))
        return True

    def shutdown(self) -> None:
        with self._lock:
            self._running = False
            self._wakeup.notify()
        self._thread.join(timeout=5)
        self.stop()
        self._releaser.shutdown()  # what is still held is committed and handed over
