"""Who may connect: ``SESSIONS.toml``, decoded by msgspec.

```toml
host = "127.0.0.1"          # optional: the address the acceptor binds
store_dir = "fix-store"     # optional: sequence numbers and sent messages
fsync = true                # optional: false trades power-loss safety for ack latency

[[sessions]]
sender_comp_id = "OMS1"      # the client's SenderCompID
target_comp_id = "SMARTEXEC" # ours
password = "change-me"       # Logon 554 (553 = Username is not checked)
heartbeat_s = 30             # used when the Logon's HeartBtInt (108) is 0
role = "order-entry"         # or "drop-copy"
[sessions.tags]              # the client's vendor tags for algorithm parameters
urgency = 7001
```
"""

from __future__ import annotations

import enum
from pathlib import Path

import msgspec


class Role(enum.StrEnum):
    ORDER_ENTRY = "order-entry"
    DROP_COPY = "drop-copy"


VENDOR_PARAMETERS = ("strategy", "urgency", "max_participation", "risk_aversion", "routing")
"""Mandate fields a client may send in its own (vendor) tags, mapped in ``tags``."""


class SessionSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sender_comp_id: str
    target_comp_id: str = "SMARTEXEC"
    password: str = ""  # empty: no password asked (a drop copy on loopback, tests)
    heartbeat_s: int = 30  # when the Logon's HeartBtInt is 0; else the client's is echoed
    role: Role = Role.ORDER_ENTRY
    account: str = ""  # the account of this session's orders; empty: its SenderCompID
    tags: dict[str, int] = {}
    max_messages_per_s: int = 2_000  # a client over it is logged out
    instrument: str = ""  # orders for other symbols are rejected; empty: the engine's

    def __post_init__(self) -> None:
        if self.heartbeat_s <= 0:
            raise ValueError(f"heartbeat_s must be positive, not {self.heartbeat_s}")
        unknown = set(self.tags) - set(VENDOR_PARAMETERS)
        if unknown:
            raise ValueError(
                f"tags: unknown parameter(s) {sorted(unknown)} (known: {VENDOR_PARAMETERS})"
            )

    @property
    def key(self) -> tuple[str, str]:
        """(their SenderCompID, our SenderCompID) as a client's Logon carries them."""
        return (self.sender_comp_id, self.target_comp_id)

    def __repr__(self) -> str:  # never the password
        return f"SessionSettings({self.sender_comp_id}->{self.target_comp_id}, {self.role})"


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sessions: list[SessionSettings]
    host: str = "127.0.0.1"
    store_dir: str = "fix-store"
    # fsync each batch before its bytes go out. False: written to the OS only (survives
    # kill -9, not a power loss), and acks no longer wait for the disk.
    fsync: bool = True
    sending_time_tolerance_s: int = 120

    def __post_init__(self) -> None:
        keys = [s.key for s in self.sessions]
        if len(set(keys)) != len(keys):
            raise ValueError("two sessions with the same sender_comp_id and target_comp_id")


def load_sessions(path: str | Path) -> GatewaySettings:
    """``ValueError`` with the file's name for anything a set-up script got wrong."""
    try:
        return msgspec.toml.decode(Path(path).read_bytes(), type=GatewaySettings)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
