"""A client order sent again under an id its source has used: the same order is answered
with its current state and nothing else happens (a client retrying after a timeout or a
restart must not get a second order); another order under that id is refused."""

from engine.desk.intake import RejectReason
from engine.messages import ExecType, ExecutionReport, OrdStatus
from tests.engine.desk.test_intake import NOW, assert_rejected, desk, order, snapshot
from tests.engine.desk.test_recovery import Run, T
from tests.engine.desk.test_recovery import order as recovery_order
from tests.engine.desk.test_recovery import snapshot as desk_state


def test_the_same_order_again_is_answered_with_its_state_and_nothing_else():
    d = desk()
    (ack,) = d.submit(order(), NOW)
    d.close_window(NOW + 1_000)
    before = holdings(d)
    (status,) = d.submit(order(), NOW + 2_000)
    assert isinstance(status, ExecutionReport)
    assert (status.exec_type, status.ord_status) == (ExecType.ORDER_STATUS, OrdStatus.NEW)
    assert (status.order_qty, status.cum_qty, status.leaves_qty) == (100, 0, 100)
    assert status.exec_id != ack.exec_id and status.parent_id == "P1"
    assert holdings(d) == before  # no second order, no parent resized
    assert len(list(d.orders())) == 1 and len(d.parents) == 1


def holdings(d) -> tuple:
    """The orders and parents (not the exec id counter: the status report takes one)."""
    orders = [(o.order, o.qty, o.leaves, o.cum_qty, o.status) for o in d.orders()]
    return orders, [(p.parent_id, p.target, p.open, p.filled) for p in d.parents.values()]


def test_a_finished_order_sent_again_reports_it_finished():
    d = desk()
    d.submit(order(), NOW)
    d.cancel("OMS", "c1", NOW + 1)
    (status,) = d.submit(order(), NOW + 2)
    assert (status.exec_type, status.ord_status) == (ExecType.ORDER_STATUS, OrdStatus.CANCELED)
    assert status.leaves_qty == 0 and len(list(d.orders())) == 1


def test_another_order_under_a_used_id_is_refused_and_changes_nothing():
    d = desk()
    d.submit(order(), NOW)
    for other in (order(quantity=200), order(account="A2"), order(limit_price=100_000_000)):
        before = snapshot(d)
        assert_rejected(d.submit(other, NOW), RejectReason.DUPLICATE_ID_DIFFERENT_CONTENT)
        assert snapshot(d) == before
    assert RejectReason.DUPLICATE_ID_DIFFERENT_CONTENT.value == "duplicate_id_different_content"


def test_a_desk_rebuilt_after_a_resubmission_has_nothing_left_to_answer():
    """The status report answers the resubmission: a restarted desk neither answers it
    again nor takes it for a second order."""
    run = Run()
    run.submit(recovery_order("c1", 300), T)
    run.close(T + 100)
    (pid,) = run.parents()
    run.fill(pid, 100, T + 200)
    [status] = run.submit(recovery_order("c1", 300), T + 300)
    assert isinstance(status, ExecutionReport)
    assert (status.exec_type, status.cum_qty, status.leaves_qty) == (
        ExecType.ORDER_STATUS,
        100,
        200,
    )
    fresh, recovered = run.rebuilt()
    assert recovered.unanswered == [] and desk_state(fresh) == desk_state(run.desk)
