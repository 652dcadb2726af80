"""Safe promotion on the real stack (SPEC §6): the worker's coordinator, the position
monitor and the executor as model consumers, promotions through the CLI and past it."""

from __future__ import annotations

import itertools
import json
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.catalogue import MODEL_PROMOTED
from schemas.ids import derived_id
from schemas.serde import AvroSerde
from schemas.values import iso_millis
from services.bus.producer import EventProducer
from services.testing import Servers
from services.testing.desk import running_executor
from services.testing.models import built_model, http_server, pickle_bomb
from services.testing.workers import running_worker, stop_worker
from tests.services.models.harness import (
    EXIT,
    PromotionDesk,
    acked_by,
    running_monitor,
    start_monitor_process,
    verdict,
)

pytestmark = [pytest.mark.stack, pytest.mark.timeout(300)]


@pytest.fixture
def desk(
    stack: Servers, serde: AvroSerde, producer: EventProducer, tmp_path: Path
) -> Iterator[PromotionDesk]:
    made = PromotionDesk(stack, serde, producer, tmp_path / "worker.log")
    yield made
    made.close()


class Flow:
    """Prices and position changes for a few accounts, and BUY signals naming the exit
    model's current version, from a thread until stopped."""

    def __init__(self, desk: PromotionDesk, accounts: list[str]) -> None:
        self.desk, self.accounts = desk, accounts
        self.version = "1"
        self.signals: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flow", daemon=True)

    def __enter__(self) -> Flow:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        for step in itertools.count():
            if self._stop.is_set():
                return
            price = 100.0 + (step % 7) * 0.1
            self.desk.price("BTC", price)
            account = self.accounts[step % len(self.accounts)]
            # a new position every turn: entry differs, so the monitor decides anew
            self.desk.position(account, "BTC", 1.0 + step / 1000, price * (1 - 0.002 * (step % 5)))
            if step % 3 == 0:
                version = self.version
                signal_id = self.desk.signal(
                    account,
                    "ETH",
                    "BUY",
                    confidence=0.9,
                    notional=20.0,
                    model_name=EXIT,
                    model_version=version,
                )
                self.signals.append((signal_id, version))
            time.sleep(0.03)


def test_promotion_when_every_consumer_loads_v2_then_acknowledged_and_decisions_switch_once(
    desk: PromotionDesk,
) -> None:
    """v1 live with signals and positions flowing; v2 promoted by the CLI: the monitor and
    the executor acknowledge it, the monitor's decisions go v1…v1 v2…v2 at one point, and
    neither consumer decides with a version it had not loaded."""
    desk.policy()
    desk.start_heartbeats()
    desk.price("ETH", 100.0)
    for account in ("a1", "a2"):
        desk.balance(account, 10_000.0)
    v1, v2 = built_model(EXIT, "1"), built_model(EXIT, "2")
    desk.promote(EXIT, "1")
    with (
        running_worker(desk.env, desk.app_id, desk.log),
        running_monitor(desk, model=EXIT, threshold=0.0) as (monitor, decisions),
        running_executor(desk, heartbeat_bound_ms=10_000),
        Flow(desk, ["a1", "a2"]) as flow,
    ):
        desk.wait_for("v1 loaded by both", lambda v: acked_by(v, EXIT, 2))
        time.sleep(1.5)
        promoted = desk.cli(
            *("model", "promote", EXIT, "--version", "2", "--uri", v2.uri),
            *("--sha256", v2.sha256, "--metric", "accuracy=0.99", "--by", "test"),
            *("--reason", "better exits"),
        )
        assert promoted.exit_code == 0, promoted.output
        flow.version = "2"  # the signal source moves over at once: some come too early
        view = desk.wait_for(
            "v2 acknowledged",
            lambda v: verdict(v, EXIT, "2", "ACKNOWLEDGED") and acked_by(v, EXIT, 2),
        )
        time.sleep(1.5)
        status = desk.cli("model", "status", EXIT, "--json")
        before_rollback = len(decisions)
        rolled = desk.cli("model", "rollback", EXIT, "--by", "test", "--reason", "drill")
        assert rolled.exit_code == 0, rolled.output
        back = desk.wait_for(
            "the operator's rollback loaded",
            lambda v: v.latest[EXIT].version == "1" and acked_by(v, EXIT, 2),
        )
    acks = desk.acks()
    decided = desk.decision_list(settle=1.0)

    assert back.latest[EXIT].rollback_of == "2"
    assert decisions[-1].version == "1"  # and back to v1 after the operator's rollback
    latest = view.latest[EXIT]
    assert (latest.previous_version, latest.previous_sha256) == ("1", v1.sha256)
    report = json.loads(status.output)
    assert report["verdict"] == "ACKNOWLEDGED"
    assert {c["state"] for c in report["consumers"]} == {"loaded"}
    assert {c["consumer"].split("/")[0] for c in report["consumers"]} == {
        "hfos-monitor",
        "hfos-executor",
    }

    # The monitor: one switch point, and only versions it acknowledged loading.
    versions = [d.version for d in decisions[:before_rollback]]
    assert versions[0] == "1"
    assert versions[-1] == "2"
    switches = sum(1 for a, b in itertools.pairwise(versions) if a != b)
    assert switches == 1
    own = {
        a["version"]
        for a in acks
        if a["service"] == "hfos-monitor" and a["instance"] == monitor._config.instance
    }
    assert set(versions) <= own == {"1", "2"}

    # The executor: a v2 BUY decided before it had loaded v2 was refused at the model gate;
    # once one passed that gate, none after it was refused there (one switch point).
    executor_loaded = {a["version"] for a in acks if a["service"] == "hfos-executor"}
    assert executor_loaded == {"1", "2"}
    by_signal = {d["signal_id"]: d for d in decided}
    outcomes = [by_signal[s]["outcome"] for s, v in flow.signals if v == "2" and s in by_signal]
    known = list(itertools.dropwhile(lambda o: o == "UNKNOWN_MODEL_VERSION", outcomes))
    assert known
    assert "UNKNOWN_MODEL_VERSION" not in known
    for decision in decided:
        opening = decision["outcome"] == "ACCEPTED" and not decision["reduce_only"]
        if opening and decision["model_name"] == EXIT:
            assert decision["model_version"] in executor_loaded


def _produced_past_the_cli(desk: PromotionDesk, version: str, uri: str, sha256: str) -> str:
    """A promotion published with ``hfos topics produce`` (no verification); its id."""
    v1 = built_model(EXIT, "1")
    event_id = str(uuid.uuid4())
    value = {
        "envelope": {
            "event_id": event_id,
            "event_time": iso_millis(int(time.time() * 1000)),
            "producer": "operator",
            "correlation_id": None,
            "causation_id": None,
        },
        "model_name": EXIT,
        "version": version,
        "artifact_uri": uri,
        "sha256": sha256,
        "format": "ONNX",
        "metrics": {},
        "promoted_by": "operator",
        "previous_version": "1",
        "rollback_of": None,
        "previous_artifact_uri": v1.uri,
        "previous_sha256": v1.sha256,
        "previous_format": "ONNX",
        "reason": "past the CLI",
    }
    line = json.dumps({"key": EXIT, "value": value})
    produced = desk.cli("topics", "produce", desk.names.name(MODEL_PROMOTED), stdin=line + "\n")
    assert produced.exit_code == 0, produced.output
    return event_id


def test_promotion_when_artifact_wrong_unreachable_or_pickle_then_refused_and_one_rollback_each(
    desk: PromotionDesk, tmp_path: Path
) -> None:
    """Published past the CLI: every consumer refuses with the typed error, v1 keeps
    serving, one rollback follows each; the pickle's payload never runs."""
    desk.policy()
    desk.start_heartbeats()
    v1, v2 = built_model(EXIT, "1"), built_model(EXIT, "2")
    pwned = tmp_path / "pwned"
    pickle_path, pickle_sha = pickle_bomb(tmp_path, pwned)
    bad = {
        "2": (v2.uri, v1.sha256, "DIGEST_MISMATCH"),
        "3": ((tmp_path / "gone.onnx").as_uri(), v2.sha256, "FETCH_FAILED"),
        "4": (pickle_path.as_uri(), pickle_sha, "UNSUPPORTED_FORMAT"),
    }
    desk.promote(EXIT, "1")
    promotion_ids = {}
    with (
        running_worker(desk.env, desk.app_id, desk.log),
        running_monitor(desk, model=EXIT) as (monitor, _decisions),
        running_executor(desk, heartbeat_bound_ms=10_000) as executor,
    ):
        desk.wait_for("v1 loaded by both", lambda v: acked_by(v, EXIT, 2))
        time.sleep(1.5)  # both registered by their heartbeats
        for version, (uri, sha256, _error) in bad.items():
            promotion_ids[version] = _produced_past_the_cli(desk, version, uri, sha256)
            desk.wait_for(
                f"rollback of {version}",
                lambda v, version=version: v.latest[EXIT].rollback_of == version,
            )
            desk.wait_for("v1 loaded again", lambda v: acked_by(v, EXIT, 2))
            served = monitor.models.served(EXIT)
            assert served is not None
            assert served.version == "1"
            assert executor.control.models[EXIT] >= {"1"}
            assert "2" not in executor.control.models[EXIT]
        promotions = desk.promotions(settle=3.0)
    refusals = desk.refusals()

    rollbacks = [p for p in promotions if p["rollback_of"]]
    assert sorted(p["rollback_of"] for p in rollbacks) == ["2", "3", "4"]
    for rollback in rollbacks:
        cause = promotion_ids[rollback["rollback_of"]]
        assert rollback["envelope"]["event_id"] == derived_id("model.rollback", cause)
        assert (rollback["version"], rollback["sha256"]) == ("1", v1.sha256)
    for version, (_uri, _sha, error) in bad.items():
        answers = {
            (r["service"], r["error"], r["kept_version"])
            for r in refusals
            if r["version"] == version
        }
        assert answers == {("hfos-monitor", error, "1"), ("hfos-executor", error, "1")}
    assert not pwned.exists()


def test_promotion_when_consumer_killed_before_ack_and_worker_restarted_then_one_rollback(
    desk: PromotionDesk, tmp_path: Path
) -> None:
    """The monitor is SIGKILLed while it fetches v2 (a slow artifact store); the worker is
    SIGKILLed and restarted inside the deadline: after the deadline, exactly one rollback,
    from the pending promotion the restarted worker found in its table."""
    desk.env["HFOS_MODEL_ACK_TIMEOUT_SECONDS"] = "12"
    v1, v2 = built_model(EXIT, "1"), built_model(EXIT, "2")
    shutil.copy(v2.path, tmp_path / "2.onnx")
    desk.promote(EXIT, "1")
    monitor_log = tmp_path / "monitor.log"
    with http_server(tmp_path, delay_seconds=120) as slow:
        with running_worker(desk.env, desk.app_id, desk.log) as first:
            monitor = start_monitor_process(desk, monitor_log, "--model", EXIT)
            try:
                desk.wait_for("v1 loaded by the monitor", lambda v: acked_by(v, EXIT, 1))
                time.sleep(1.5)  # registered by its heartbeats
                record = desk.promote(EXIT, "2", uri=f"{slow}/2.onnx", previous=v1)
                promoted_at = time.monotonic()
                time.sleep(1.0)
                monitor.send_signal(signal.SIGKILL)
                monitor.wait(10)
                status = desk.cli("model", "status", EXIT, "--json")
            finally:
                stop_worker(monitor, signal.SIGKILL)
            stop_worker(first, signal.SIGKILL)
        assert time.monotonic() - promoted_at < 12  # restarted inside the deadline
        with running_worker(desk.env, desk.app_id, desk.log):
            desk.wait_for("the rollback", lambda v: v.latest[EXIT].rollback_of == "2", seconds=90)
            rolled_back_after = time.monotonic() - promoted_at
            promotions = desk.promotions(settle=5.0)

    pending = json.loads(status.output)
    assert (pending["live"], pending["verdict"], pending["pending"]) == ("2", "PENDING", True)
    assert [(c["state"], c["registered"]) for c in pending["consumers"]] == [("missing", True)]
    rollbacks = [p for p in promotions if p["rollback_of"]]
    assert len(rollbacks) == 1
    [rollback] = rollbacks
    assert rollback["envelope"]["event_id"] == derived_id(
        "model.rollback", record["envelope"]["event_id"]
    )
    assert "not acknowledged within 12 s by hfos-monitor/" in rollback["reason"]
    assert rolled_back_after >= 12
    assert not desk.refusals()  # nobody refused: it was the silence that rolled it back
