"""Logs a desk can run with: off in an embedding application until enabled, one line per
failure (the traceback only at DEBUG), no order contents at INFO, names escaped."""

import io

import pytest
from loguru import logger

from actors import Engine, MarketConfig, logs
from actors.cli import build_parser, main
from actors.runtime import EXTERNAL, SimRuntime
from actors.supervisor import ChildSpec, Supervisor
from engine import messages as m
from engine.clock import MINUTE, SECOND
from engine.config import VenueConfig
from engine.instruments import Instrument
from engine.prices import to_price
from tests.actors.test_runtime import Crasher
from tests.actors.test_scenarios import SMALL

MARKET = MarketConfig(
    instrument=Instrument(symbol="XYZ", ref_price=to_price("100"), lot=100),
    venues=[VenueConfig(name="LIT1"), VenueConfig(name="LIT2")],
)
OPEN = MARKET.session.open_ns
SECRET = "ACCT-7731-SECRET-ORDER"


@pytest.fixture
def configured():
    """``logs.configure(level)`` into a buffer; the output's lines. Undone afterwards."""
    out = io.StringIO()

    def configure(level):
        logs.configure(level, sink=out)
        return out

    yield configure
    logs.disable()
    if logs._handler is not None:
        logger.remove(logs._handler)
        logs._handler = None


def crash_the_desk_while_an_order_works():
    with Engine(MARKET, seed=5) as engine:
        engine.submit(
            m.ClientOrder(
                source="OMS",
                account=SECRET,
                client_order_id=SECRET,
                instrument="XYZ",
                side=m.Side.BUY,
                quantity=2_000,
                mandate=m.Mandate(end_ns=OPEN + 10 * MINUTE),
            ),
            at_ns=OPEN + SECOND,
        )
        engine.inject_crash("desk", at_ns=OPEN + 2 * MINUTE)
        engine.run_until(OPEN + 15 * MINUTE)
        assert engine.runtime.stats["restarts"] == 1


def test_an_actor_crash_is_one_line_without_traceback_at_the_default_level(configured):
    out = configured(logs.DEFAULT_LEVEL)
    crash_the_desk_while_an_order_works()
    lines = out.getvalue().splitlines()
    failures = [line for line in lines if "ERROR" in line]
    assert len(failures) == 1, lines
    assert "actor 'desk' failed handling InjectActorFailure: InjectedFailure(" in failures[0]
    assert any("WARNING" in line and "restarts 'desk'" in line for line in lines)
    assert "Traceback" not in out.getvalue()


def test_the_traceback_of_a_crash_is_logged_at_debug_without_variable_values(configured):
    out = configured("DEBUG")
    crash_the_desk_while_an_order_works()
    text = out.getvalue()
    assert "Traceback" in text and "InjectedFailure: desk: injected failure" in text
    assert SECRET not in text  # diagnose=False: no locals in the traceback


def test_no_order_contents_at_info(configured):
    out = configured("INFO")
    crash_the_desk_while_an_order_works()
    assert out.getvalue() and SECRET not in out.getvalue()


def test_an_embedding_applications_sinks_get_nothing_until_it_enables_the_engine():
    lines = []
    sink = logger.add(lines.append, level="DEBUG")
    try:
        crash_the_desk_while_an_order_works()
        assert lines == []
        logs.enable()
        crash_the_desk_while_an_order_works()
        assert any("failed handling InjectActorFailure" in line for line in lines)
    finally:
        logs.disable()
        logger.remove(sink)


def test_a_callers_actor_name_is_logged_escaped_on_one_line(configured):
    out = configured("WARNING")
    rt = SimRuntime(seed=1)
    sup = Supervisor(rt)
    name = "evil\nERROR forged line"
    sup.start_child(ChildSpec(name, Crasher))
    rt.send(EXTERNAL, name, m.CancelParentOrder(parent_id="go"))
    try:
        rt.run()
    finally:
        rt.stop()
    lines = out.getvalue().splitlines()
    assert not any(line.startswith("ERROR forged") for line in lines)
    assert any(repr(name) in line and "failed handling" in line for line in lines)


def test_the_command_line_takes_a_log_level_before_the_command(
    configured, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the run's default trail goes there
    assert build_parser().parse_args(["run", "x.toml"]).log_level == "WARNING"
    assert build_parser().parse_args(["--log-level", "debug", "run", "x"]).log_level == "DEBUG"
    scenario = tmp_path / "small.toml"
    scenario.write_text(SMALL)
    code = main(["--log-level", "DEBUG", "run", str(scenario), "--quiet", "--no-baseline"])
    assert code == 0 and logs._handler is not None
    capsys.readouterr()
    with pytest.raises(SystemExit) as bad:
        main(["--log-level", "LOUD", "run", "brief_vwap"])
    assert bad.value.code == 2
    assert "--log-level" in capsys.readouterr().err


def test_a_failing_report_subscriber_is_one_line_without_the_report(configured):
    out = configured(logs.DEFAULT_LEVEL)

    def broken(report):
        raise RuntimeError("downstream is down")

    with Engine(MARKET, seed=5) as engine:
        engine.on_report(broken)
        engine.submit(
            m.ClientOrder(
                source="OMS",
                account=SECRET,
                client_order_id=SECRET,
                instrument="XYZ",
                side=m.Side.BUY,
                quantity=200,
                mandate=m.Mandate(end_ns=OPEN + 10 * MINUTE),
            ),
            at_ns=OPEN + SECOND,
        )
        engine.run_until(OPEN + 2 * MINUTE)
        assert engine.subscriber_errors >= 1
    text = out.getvalue()
    lines = [line for line in text.splitlines() if "report subscriber" in line]
    assert len(lines) == engine.subscriber_errors
    assert "RuntimeError('downstream is down')" in lines[0]
    assert SECRET not in text and "Traceback" not in text
