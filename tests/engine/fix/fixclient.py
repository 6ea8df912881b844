"""A scripted counterparty for the session unit tests: builds client messages as bytes."""

from engine.clock import SECOND
from engine.fix.codec import Field, FixMessage, Framer, encode
from engine.fix.times import utc_timestamp

T0 = 1_796_000_000 * SECOND


class Client:
    def __init__(self, sender: str = "OMS1", target: str = "SMARTEXEC") -> None:
        self.sender, self.target = sender, target
        self.seq = 1

    def msg(
        self,
        msg_type: str,
        *body: Field,
        seq: int | None = None,
        now: int = T0,
        header: tuple[Field, ...] = (),
    ) -> bytes:
        number = self.seq if seq is None else seq
        if seq is None:
            self.seq += 1
        return encode(
            [
                (35, msg_type),
                (49, self.sender),
                (56, self.target),
                (34, number),
                (52, utc_timestamp(now)),
                *header,
                *body,
            ]
        )

    def logon(self, password: str = "pw", hb: int = 30, **kw: object) -> bytes:
        return self.msg("A", (98, 0), (108, hb), (554, password), **kw)  # type: ignore[arg-type]


def parse(data: list[bytes]) -> list[FixMessage]:
    framer = Framer()
    out = [m for chunk in data for m in framer.feed(chunk)]
    assert all(isinstance(m, FixMessage) for m in out), out
    return out  # type: ignore[return-value]


def kinds(data: list[bytes]) -> list[str]:
    return [m.msg_type for m in parse(data)]
