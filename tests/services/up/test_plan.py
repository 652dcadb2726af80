"""The plan of ``hfos up``: start order, readiness, what each part is told, metrics ports."""

from __future__ import annotations

from services.up.plan import (
    Heartbeat,
    LogLine,
    SessionConfig,
    Started,
    part_environ,
    plan,
    stop_order,
)


def test_plan_when_default_then_worker_first_and_simulator_last() -> None:
    names = [part.name for part in plan(SessionConfig())]

    assert names == ["worker", "executor", "exchange", "monitor", "simulator"]


def test_stop_order_when_planned_then_reverse_of_start() -> None:
    parts = plan(SessionConfig())

    assert [p.name for p in stop_order(parts)] == [
        "simulator",
        "monitor",
        "exchange",
        "executor",
        "worker",
    ]


def test_plan_when_default_then_worker_waits_for_its_heartbeat_and_simulator_for_nothing() -> None:
    ready = {part.name: part.ready for part in plan(SessionConfig())}

    assert ready["worker"] == Heartbeat("hfos-streams")
    assert isinstance(ready["executor"], LogLine)
    assert ready["exchange"] == LogLine("paper exchange ready")
    assert ready["monitor"] == LogLine("position monitor started")
    assert ready["simulator"] == Started()


def test_plan_when_accounts_given_then_exchange_funds_exactly_those_the_simulator_signals() -> None:
    parts = {p.name: p.args for p in plan(SessionConfig(accounts=("a-1", "a-2")))}

    assert parts["exchange"] == ("exchange", "run", "--account", "a-1", "--account", "a-2")
    simulator = parts["simulator"]
    assert simulator[simulator.index("--accounts") + 1] == "a-1,a-2"


def test_plan_when_model_given_then_simulator_signals_name_it() -> None:
    args = plan(SessionConfig(model="m", model_version="7"))[-1].args

    assert args[args.index("--model-name") + 1] == "m"
    assert args[args.index("--model-version") + 1] == "7"


def test_part_environ_when_metrics_port_set_then_serving_parts_get_consecutive_ports() -> None:
    parts = plan(SessionConfig())
    environ = {"HFOS_METRICS_PORT": "9100", "HFOS_TOPIC_PREFIX": "x."}

    ports = {p.name: part_environ(environ, parts, p).get("HFOS_METRICS_PORT") for p in parts}

    assert ports == {
        "worker": "9100",
        "executor": "9101",
        "exchange": "9102",
        "monitor": "9103",
        "simulator": None,
    }
    assert all(part_environ(environ, parts, p)["HFOS_TOPIC_PREFIX"] == "x." for p in parts)


def test_part_environ_when_no_metrics_port_then_none_given() -> None:
    parts = plan(SessionConfig())

    assert all("HFOS_METRICS_PORT" not in part_environ({}, parts, p) for p in parts)
