"""An independent FIX engine as the gateway's counterparty: a QuickFIX initiator
(``quickfix-py``), its messages collected in queues. QuickFIX kills the process when a
Python callback raises (SWIG calls Py_Exit), so every callback here swallows its errors."""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
from decimal import Decimal
from pathlib import Path

import quickfix as fix

DICTIONARY = Path(sys.prefix) / "share" / "quickfix" / "FIX44.xml"
WAIT_S = 15.0


def fields(text: str) -> dict[int, str]:
    """A FIX message string as {tag: value} (the last value of a repeated tag)."""
    return {int(t): v for t, _, v in (p.partition("=") for p in text.split("\x01") if p)}


class Counterparty(fix.Application):  # type: ignore[misc]
    def __init__(self, password: str) -> None:
        super().__init__()
        self.password = password
        self.app: queue.Queue[dict[int, str]] = queue.Queue()
        self.admin: queue.Queue[dict[int, str]] = queue.Queue()
        self.logged_on = threading.Event()
        self.logged_out = threading.Event()
        self.session_id: fix.SessionID | None = None

    def onCreate(self, session_id: fix.SessionID) -> None:
        self.session_id = session_id

    def onLogon(self, session_id: fix.SessionID) -> None:
        self.logged_out.clear()
        self.logged_on.set()

    def onLogout(self, session_id: fix.SessionID) -> None:
        self.logged_on.clear()
        self.logged_out.set()

    def toAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            if message.getHeader().getField(35) == "A":
                message.setField(554, self.password)
        except Exception:
            pass

    def fromAdmin(self, message: fix.Message, session_id: fix.SessionID) -> None:
        with contextlib.suppress(Exception):
            self.admin.put(fields(message.toString()))

    def toApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        pass

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        with contextlib.suppress(Exception):
            self.app.put(fields(message.toString()))

    # ------------------------------------------------------------ test helpers

    def send(self, *pairs: tuple[int, str | int], msg_type: str) -> None:
        message = fix.Message()
        message.getHeader().setField(35, msg_type)
        for tag, value in pairs:
            message.setField(tag, str(value))
        assert self.session_id is not None
        fix.Session.sendToTarget(message, self.session_id)

    def next_app(self, timeout: float = WAIT_S) -> dict[int, str]:
        return self.app.get(timeout=timeout)

    def until(self, done, timeout: float = WAIT_S) -> list[dict[int, str]]:
        """Application messages until ``done(msg)`` is true for one (included)."""
        got = []
        while True:
            msg = self.next_app(timeout)
            got.append(msg)
            if done(msg):
                return got


def initiator_settings(
    port: int, store: Path, sender: str = "OMS1", heartbeat_s: int = 30, reset: bool = True
) -> str:
    return f"""[DEFAULT]
ConnectionType=initiator
ReconnectInterval=1
FileStorePath={store}
StartTime=00:00:00
EndTime=00:00:00
UseDataDictionary=Y
DataDictionary={DICTIONARY}
HeartBtInt={heartbeat_s}
SocketConnectHost=127.0.0.1
SocketConnectPort={port}
ResetOnLogon={"Y" if reset else "N"}
ValidateUserDefinedFields=N

[SESSION]
BeginString=FIX.4.4
SenderCompID={sender}
TargetCompID=SMARTEXEC
"""


class Initiator:
    """A started QuickFIX initiator; ``stop()`` in every test's teardown."""

    def __init__(self, port: int, store: Path, password: str, **settings: object) -> None:
        store.mkdir(parents=True, exist_ok=True)
        path = store / "initiator.cfg"
        path.write_text(initiator_settings(port, store, **settings))  # type: ignore[arg-type]
        self.app = Counterparty(password)
        config = fix.SessionSettings(str(path))
        self._initiator = fix.SocketInitiator(self.app, fix.FileStoreFactory(config), config)
        self._initiator.start()

    def stop(self) -> None:
        self._initiator.stop(True)


DONE = {"2", "4", "8", "C"}


def check_invariants(reports: list[dict[int, str]]) -> None:
    """CumQty = Σ LastQty, LeavesQty = OrderQty − CumQty (0 once done), AvgPx =
    Σ(LastQty·LastPx)/CumQty, CumQty ≤ OrderQty, ExecIDs unique, OrderID stable."""
    cum, notional = 0, Decimal(0)
    for r in reports:
        if r[150] == "F":
            cum += int(r[32])
            notional += int(r[32]) * Decimal(r[31])
        assert int(r[14]) == cum <= int(r[38])
        leaves = 0 if r[39] in DONE else int(r[38]) - cum
        assert int(r[151]) == leaves
        if cum:
            assert abs(Decimal(r[6]) - notional / cum) < Decimal("1e-8")
    assert len({r[17] for r in reports}) == len(reports)
    assert len({r[37] for r in reports}) == 1
