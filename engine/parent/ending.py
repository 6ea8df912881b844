"""How a parent ends: it is reported done only once every child of it is done, i.e.
every venue order of it is settled (its late fills are still its clients').

A parent that ends (cancelled, expired, completed) pulls its open children and waits
for them, working in all but name: it places nothing more, and fills keep flowing to
the desk. The wait is bounded by the session: DAY orders die at their venue's close,
so at the close plus ``ParentConfig.settle_wait_ns`` (the messages a venue sent before
its close have arrived) the parent tells the router the venues are closed
(``CancelChildOrder`` with reason ``VENUES_CLOSED``): the router books what it still
holds as expired at the close, unconfirmed, and finishes the children. If a child is
still not done one retry later (a router restarting, say), the parent ends anyway:
the end of the session ends every run. Either way the end carries
``ExpiryReason.UNSETTLED_AT_VENUE``, which the client's final report shows.

A mixin of ``ParentOrder``: it reads the parent's children and makes its transition.
"""

from __future__ import annotations

from engine.config import SessionConfig
from engine.messages import (
    VENUES_CLOSED,
    CancelChildOrder,
    ExpiryReason,
    Message,
    ParentOrderCreated,
    ParentState,
    ParentStateChanged,
)
from engine.parent.children import ChildBook
from engine.parent.config import ParentConfig
from engine.parent.lifecycle import TERMINAL

UNSETTLED = "unsettled at venue"  # the end's reason, once it gave up waiting


class Ending:
    # the parent's state this reads (set by ``ParentOrder.__init__``)
    config: ParentConfig
    session: SessionConfig
    order: ParentOrderCreated
    state: ParentState
    book: ChildBook
    end_ns: int
    next_wake_ns: int | None
    # the end it waits for: (state, reason, cause), None while it works
    _ending: tuple[ParentState, str, ExpiryReason | None] | None
    _closed_sent: bool  # the venues-closed cancel went out
    _capped_ns: int | None  # when max participation last held back a shortfall

    @property
    def leaves(self) -> int:
        raise NotImplementedError

    def _timing(self) -> tuple[int, int, int]:
        raise NotImplementedError

    def _transition(
        self,
        target: ParentState,
        now_ns: int,
        reason: str,
        expiry: ExpiryReason | None = None,
    ) -> ParentStateChanged:
        raise NotImplementedError

    @property
    def is_ending(self) -> bool:
        """Heading for a terminal state, waiting for its children to settle."""
        return self._ending is not None and self.state not in TERMINAL

    def _end(
        self, state: ParentState, now_ns: int, why: str, cause: ExpiryReason | None = None
    ) -> list[Message]:
        """End in ``state`` once no child is left (the caller pulled the open ones)."""
        if self._ending is None or state is ParentState.COMPLETED:
            self._ending = (state, why, cause)  # a fill that completes it says so
        return self._settle(now_ns)

    def _settle(self, now_ns: int) -> list[Message]:
        """The end, if every child is done; else the wait, bounded by the venues' close."""
        assert self._ending is not None
        if self.state in TERMINAL:
            return []
        state, why, cause = self._ending
        left = self._children_left()
        deadline = self._settle_deadline()
        if left and now_ns < deadline:
            self.next_wake_ns = deadline
            return []
        if left and self._closed_sent and now_ns < deadline + self.config.settle_retry_ns:
            # told the router the venues are closed: it may ask a venue still up where
            # an order stands before it books the rest expired, so one child can finish
            # before another; the wait is still bounded by one retry
            self.next_wake_ns = deadline + self.config.settle_retry_ns
            return []
        if left and not self._closed_sent:
            self._closed_sent = True
            self.next_wake_ns = now_ns + self.config.settle_retry_ns
            return [
                CancelChildOrder(
                    ts=now_ns, parent_id=self.book.parent_id, child_id=cid, reason=VENUES_CLOSED
                )
                for cid in left
            ]
        if left or self._closed_sent:
            why, cause = f"{why}; {UNSETTLED}", ExpiryReason.UNSETTLED_AT_VENUE
        self.next_wake_ns = None
        return [self._transition(state, now_ns, why, cause)]

    def _expired_before_start(self, now_ns: int) -> ParentStateChanged:
        why = "end time before start"
        return self._transition(ParentState.EXPIRED, now_ns, why, ExpiryReason.END_TIME)

    def _expire(self, now_ns: int) -> list[Message]:
        """End time: whatever is left expires, open children are pulled. The cause the
        client sees: max participation if it held back the final window's trading."""
        cause = ExpiryReason.END_TIME
        if self._capped_ns is not None and self._capped_ns >= self._timing()[1]:
            cause = ExpiryReason.PARTICIPATION_CAP
        if self.state is ParentState.PAUSED:
            why = f"end time reached while paused: leaves {self.leaves}"
        elif cause is ExpiryReason.PARTICIPATION_CAP:
            why = f"end time reached, held back by max participation: leaves {self.leaves}"
        elif self.order.mandate.must_complete:
            why = f"must-complete order not filled by its end time: leaves {self.leaves}"
        else:
            why = f"end time reached: leaves {self.leaves} (best effort)"
        out = self.book.cancel_open(now_ns, "parent expired")
        return out + self._end(ParentState.EXPIRED, now_ns, why, cause)

    def _children_left(self) -> list[str]:
        """Children not done: the router still holds a venue order of each."""
        return [cid for cid, c in self.book.children.items() if not c.done]

    def _settle_deadline(self) -> int:
        """When the venues are closed and what they sent before has arrived."""
        return max(self.end_ns, self.session.close_ns) + self.config.settle_wait_ns
