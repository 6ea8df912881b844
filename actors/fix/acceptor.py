"""The FIX 4.4 acceptor: sockets around the sans-IO session layer and gateway.

One I/O thread owns every socket (a selector): it accepts, reads, writes, and ticks each
connection's heartbeat timers. Engine reports arrive on the engine's threads; they take the
gateway lock, queue their bytes on the connection and wake the I/O thread. Engine commands
are sent outside the lock. The I/O thread is the only writer of the session stores (it
fsyncs outside the lock, so reports keep coming meanwhile). A client that reads too slowly is disconnected once its queue
passes ``MAX_QUEUED_BYTES`` rather than let it hold the others up.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from pathlib import Path

from loguru import logger

from actors.api import Engine, Report
from engine.fix.config import GatewaySettings, Role
from engine.fix.gateway import Command, Gateway, Outbound
from engine.fix.restart import engine_orders
from engine.fix.session import Closed, Connection, LoggedOn, Phase, Received, Session, Step
from engine.fix.store import FileStore, MemoryStore, next_incarnation
from engine.messages import AmendClientOrder, CancelClientOrder, ExecutionReport, SubmitClientOrder

MAX_QUEUED_BYTES = 16 * 1024 * 1024
_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE


class _Link:
    """One accepted socket and its protocol state."""

    __slots__ = ("closing", "conn", "out", "peer", "sock")

    def __init__(self, sock: socket.socket, conn: Connection, peer: str) -> None:
        self.sock = sock
        self.conn = conn
        self.peer = peer
        self.out = bytearray()
        self.closing = False  # close once ``out`` is written


class FixAcceptor:
    """Accept FIX sessions for ``engine`` (live) as ``settings`` allow.

    ``port`` 0 picks a free port (``address`` says which). ``store_dir`` None keeps
    sequence numbers in memory only (tests); otherwise each session's store is fsynced
    there and a restart resumes it. ``resumed``: ``engine`` was restarted on the trail of
    the run the stores are from (``Engine.restart``), so its orders go on; otherwise the
    orders a previous run left working are reported cancelled."""

    def __init__(
        self,
        engine: Engine,
        settings: GatewaySettings,
        *,
        port: int = 0,
        host: str | None = None,
        store_dir: str | Path | None = None,
        resumed: bool = False,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self._lock = threading.RLock()
        directory = None if store_dir is None else Path(store_dir)
        self.sessions = {
            s.key: Session(s, _store(directory, s.key, settings.fsync)) for s in settings.sessions
        }
        incarnation = next_incarnation(directory) if directory else engine.now // 1_000_000_000
        self.gateway = Gateway(self.sessions.values(), incarnation)
        self._links: dict[Connection, _Link] = {}
        self._running = True
        self._accepting = True
        self._woken = False  # a wake-up is on its way to the I/O thread
        self._listener = socket.create_server((host or settings.host, port))
        self._listener.setblocking(False)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, _READ, "listener")
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, _READ, "waker")
        with self._lock:  # reports wait for the restore: the trail is read after subscribing
            engine.on_report(self._on_report)
            if directory is not None:
                self._restore(resumed)
        self._thread = threading.Thread(target=self._loop, name="fix-acceptor", daemon=True)
        self._thread.start()

    def _restore(self, resumed: bool) -> None:
        """The orders of the run the stores are from (``Gateway.restore``)."""
        trail = self.engine.journal
        orders = None
        if resumed and trail is not None:
            orders = engine_orders(trail.messages(ExecutionReport))
        for session in self.sessions.values():
            if session.settings.role is Role.ORDER_ENTRY:
                self._send(self.gateway.restore(session, self.engine.now, orders))

    # ------------------------------------------------------------------ public

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop accepting, log every session out (waiting for the replies up to
        ``timeout_s``), close the sockets and the stores."""
        with self._lock:
            if not self._running:
                return
            self._accepting = False  # the I/O thread logs the sessions out (it owns the stores)
        self._wake()
        self._thread.join(timeout=timeout_s)
        with self._lock:
            self._running = False
        self._wake()
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            logger.error("the FIX I/O thread did not stop")
        else:
            self._stop_listening()
        for link in list(self._links.values()):
            self._drop(link)
        for session in self.sessions.values():
            session.store.close()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def cancel_working_orders(self, timeout_s: float = 3.0) -> int:
        """Cancel every working FIX order and wait (up to ``timeout_s``) for the engine to
        report them done; the number cancelled."""
        with self._lock:
            cancels = self.gateway.working_orders()
        self._dispatch(list(cancels))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self.gateway.working_orders():
                    break
            time.sleep(0.02)
        return len(cancels)

    def __enter__(self) -> FixAcceptor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ loop

    def _loop(self) -> None:
        pin = getattr(self.engine.runtime, "pin_thread", None)
        if pin is not None:  # on the engine's CPU, if it has one (see LiveRuntime)
            pin()
        while self._running:
            if not self._accepting:
                if self._listener.fileno() != -1:
                    self._stop_listening()
                    self._logout_all()
                if not self._links:
                    return  # shut down and every session closed
            for key, mask in self._selector.select(self._timeout()):
                if key.data == "listener":
                    self._accept()
                elif key.data == "waker":
                    self._drain_waker()
                elif mask & _READ:
                    self._read(key.data)
                if isinstance(key.data, _Link) and mask & _WRITE:
                    self._flush(key.data)
            self._tick()
            for link in list(self._links.values()):
                self._flush(link)
            self._commit_all()

    def _timeout(self) -> float:
        with self._lock:
            deadlines = [link.conn.deadline_ns() for link in self._links.values()]
        if not deadlines:
            return 0.5
        return min(max((min(deadlines) - self.engine.now) / 1e9, 0.0), 0.5)

    def _commit_all(self) -> None:
        """Write what no write has carried yet (numbers of messages received, messages
        for sessions that are not connected): taken under the lock, written outside it.
        To the OS, not synced: none of it is on the wire yet; the sync before the next
        bytes are sent covers it. (An inbound number lost with a power cut is asked for
        again; a report not sent is sent from the engine's trail at the restart.)"""
        with self._lock:
            taken = [(s.store, s.store.take_pending()) for s in self.sessions.values()]
        for store, records in taken:
            store.write_durable(records, sync=False)

    def _logout_all(self) -> None:
        with self._lock:
            now = self.engine.now
            for link in list(self._links.values()):
                self._apply(link, link.conn.logout("the gateway is shutting down", now))

    def _stop_listening(self) -> None:
        if self._listener.fileno() != -1:
            self._selector.unregister(self._listener)
            self._listener.close()

    def _accept(self) -> None:
        try:
            sock, peer = self._listener.accept()
        except BlockingIOError:
            return
        if not self._accepting:
            sock.close()
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tolerance = self.settings.sending_time_tolerance_s * 1_000_000_000
        with self._lock:
            conn = Connection(self.sessions, self.engine.now, tolerance_ns=tolerance)
            conn.autocommit = False  # ``_flush`` and ``_commit_all`` commit, outside the lock
            link = _Link(sock, conn, f"{peer[0]}:{peer[1]}")
            self._links[conn] = link
        self._selector.register(sock, _READ, link)

    def _read(self, link: _Link) -> None:
        try:
            data = link.sock.recv(65_536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(link)
            return
        with self._lock:
            commands = self._apply(link, link.conn.receive(data, self.engine.now))
        self._dispatch(commands)

    def _tick(self) -> None:
        with self._lock:
            now = self.engine.now
            for link in list(self._links.values()):
                if link.conn.deadline_ns() <= now:
                    self._apply(link, link.conn.tick(now))

    # ------------------------------------------------------------ protocol

    def _apply(self, link: _Link, step: Step) -> list[Command]:
        """Queue a step's bytes; its application messages go to the gateway (lock held)."""
        link.out += b"".join(step.data)
        commands: list[Command] = []
        for event in step.events:
            if isinstance(event, Received):
                cmds, replies = self.gateway.on_message(event.session, event.msg, self.engine.now)
                commands += cmds
                self._send(replies)
            elif isinstance(event, LoggedOn):
                logger.info("FIX session {} logged on from {}", event.session.settings, link.peer)
            elif isinstance(event, Closed):
                logger.info("FIX connection {} closed: {}", link.peer, event.reason)
                link.closing = True
        return commands

    def _send(self, replies: list[Outbound]) -> None:
        now = self.engine.now
        for reply in replies:
            raw = reply.session.send(reply.msg_type, reply.body, now, commit=False)
            conn = reply.session.connection
            if raw is not None and conn is not None and conn in self._links:
                self._links[conn].out += raw

    def _on_report(self, report: Report) -> None:
        with self._lock:
            if not self._running:
                return
            self._send(self.gateway.on_report(report, self.engine.now))
            woken, self._woken = self._woken, True
        if not woken:  # one wake-up for the reports that come before the loop runs
            self._wake()

    def _dispatch(self, commands: list[Command]) -> None:
        for cmd in commands:
            try:
                if isinstance(cmd, SubmitClientOrder):
                    self.engine.submit(cmd.order)
                elif isinstance(cmd, CancelClientOrder):
                    self.engine.cancel(cmd.source, cmd.client_order_id)
                elif isinstance(cmd, AmendClientOrder):
                    self.engine.amend(
                        cmd.source,
                        cmd.client_order_id,
                        quantity=cmd.quantity,
                        limit_price=cmd.limit_price,
                    )
            except RuntimeError as exc:  # the engine closed or halted under us
                logger.error("FIX command not delivered: {}", exc)

    # ------------------------------------------------------------ sockets

    def _flush(self, link: _Link) -> None:
        """Write what is queued for ``link``, its records made durable first: taken
        under the lock, fsynced outside it, so reports keep coming in meanwhile."""
        with self._lock:
            out = bytes(link.out)
            link.out.clear()
            session = link.conn.session
            records = session.store.take_pending() if session is not None and out else b""
        if out and session is not None:  # synced before they are sent (``_commit_all``'s too)
            session.store.write_durable(records)
        sent = 0
        if out:
            try:
                sent = link.sock.send(out)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self._drop(link)
                return
        with self._lock:
            link.out[:0] = out[sent:]  # the unsent rest, ahead of anything queued since
            pending, closing = len(link.out), link.closing
        if closing and not pending:
            self._drop(link)
        elif pending > MAX_QUEUED_BYTES:
            logger.warning("FIX connection {} reads too slowly: disconnected", link.peer)
            self._drop(link)
        else:
            self._selector.modify(link.sock, _READ | _WRITE if pending else _READ, link)

    def _drop(self, link: _Link) -> None:
        with self._lock:
            if self._links.pop(link.conn, None) is None:
                return
            if link.conn.phase is not Phase.CLOSED:
                link.conn.lost()
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(link.sock)
        link.sock.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _drain_waker(self) -> None:
        """Read the wake-ups, then take new ones: a report queued in between is flushed
        by this turn of the loop (its flush comes after this)."""
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        with self._lock:
            self._woken = False


def _store(directory: Path | None, key: tuple[str, str], fsync: bool) -> MemoryStore:
    if directory is None:
        return MemoryStore()
    return FileStore(directory / f"{key[0]}-{key[1]}.log", fsync=fsync)
