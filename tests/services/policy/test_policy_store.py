"""The policy store on real Kafka and Redis (SPEC §2): refusals write nothing, one of two
racing writers wins, reads survive a Redis outage, the cache resyncs within 1 s, and no
restart makes a version go backwards."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from schemas.catalogue import POLICY_COMMAND, POLICY_UPDATED, TopicNames
from schemas.enums import PolicyCommandKind
from schemas.keys import policy_cache_key
from schemas.serde import AvroSerde
from services.bus.commands import Answer
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.cli.main import cli
from services.policy.client import PolicyClient
from services.policy.exceptions import CommandRefusedError, PolicyUnavailableError
from services.policy.store import PolicyStore
from services.testing import Servers
from services.testing.workers import running_worker
from tests.services.policy.conftest import Deployment, wait_for

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]


def _ends(deployment: Deployment) -> tuple[int, int]:
    consumer = Consumer({"bootstrap.servers": deployment.stack.kafka, "group.id": "ends"})
    try:
        return tuple(  # type: ignore[return-value]
            consumer.get_watermark_offsets(
                TopicPartition(deployment.names.name(spec), 0), timeout=10
            )[1]
            for spec in (POLICY_COMMAND, POLICY_UPDATED)
        )
    finally:
        consumer.close()


def _policy(deployment: Deployment, *args: str) -> Any:
    return CliRunner().invoke(cli, ["policy", *args], env=deployment.env)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["normal", "max_drawdown=nan"], "max_drawdown"),
        (["normal", "max_drawdown=inf"], "max_drawdown"),
        (["normal", "max_leverage=-inf"], "max_leverage"),
        (["normal", "position_size_cap=-5"], "position_size_cap"),
        (["normal", "max_daily_loss=1.2"], "max_daily_loss"),
        (["normal", "breach_confirmations=11"], "breach_confirmations"),
        (["normal", "max_open_positions=2.5"], "max_open_positions"),
        (["normal", "allow_new_positions=maybe"], "allow_new_positions"),
        (["normal", "colour=red"], "colour"),
        (["reckless", "max_leverage=2"], "reckless"),
        (["normal", "max_leverage=4", "--expect-version", "7"], "expected version 7"),
    ],
)
def test_set_when_input_invalid_then_refused_naming_it_and_nothing_written(
    deployment: Deployment, args: list[str], named: str
) -> None:
    before = _ends(deployment)

    result = _policy(deployment, "set", *args, "--by", "tester", "--reason", "refusal test")

    assert result.exit_code != 0
    assert named in str(result.exception)
    assert _ends(deployment) == before


def test_two_writers_when_same_expected_version_then_exactly_one_wins(
    deployment: Deployment, producer: EventProducer
) -> None:
    client = PolicyClient(
        {"bootstrap.servers": deployment.stack.kafka}, deployment.names, deployment.serde, producer
    )
    outcomes: list[Any] = []
    current = deployment.view().state().versions["normal"].version

    def write(value: str) -> None:
        try:
            outcomes.append(
                client.submit(
                    {
                        "kind": PolicyCommandKind.SET.value,
                        "profile": "normal",
                        "scope": "global",
                        "changes": {"max_drawdown": value},
                        "expected_version": current,
                        "by": f"writer-{value}",
                        "reason": "race",
                    }
                )
            )
        except CommandRefusedError as refused:
            outcomes.append(refused)

    writers = [threading.Thread(target=write, args=(v,)) for v in ("0.09", "0.08")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)

    won = [o for o in outcomes if isinstance(o, Answer)]
    lost = [o for o in outcomes if isinstance(o, CommandRefusedError)]
    assert len(won) == 1
    assert won[0].record["version"] == current + 1
    assert len(lost) == 1
    assert lost[0].error_type == "StaleVersionError"


@pytest.mark.localstack
def test_reader_when_redis_down_then_reads_continue_changes_visible_and_cache_resyncs_in_1s(
    deployment: Deployment,
) -> None:
    local = deployment.stack.local
    assert local is not None
    store = deployment.store()
    assert store.active().source == "redis"
    local.kill("redis")
    try:
        during = store.active()
        # A value no other test writes: a write of the value in force is answered
        # "unchanged" and makes no version (the racing writers above leave 0.09 or 0.08).
        changed = _policy(
            deployment,
            "set",
            "normal",
            "max_drawdown=0.0875",
            "--by",
            "t",
            "--reason",
            "changed while Redis is down",
        )
        assert changed.exit_code == 0, changed.output + str(changed.exception)
        assert wait_for(lambda: store.active().version.version == during.version.version + 1, 10)
    finally:
        local.start("redis")
    back = time.monotonic()
    key = policy_cache_key(deployment.names.prefix, "profile:normal")
    cache = redis.Redis.from_url(deployment.stack.redis)

    target = f'"version": {during.version.version + 1}'.encode()
    resynced = wait_for(lambda: target in (cache.get(key) or b""), 5)
    took = time.monotonic() - back

    assert during.source == "view"
    assert resynced
    assert took < 1.0
    assert store.active().source == "redis"
    assert store.active().version.version == during.version.version + 1


def test_worker_and_reader_when_restarted_then_nothing_lost_nor_reseeded_nor_older(
    deployment: Deployment,
) -> None:
    store = deployment.store()
    assert (
        _policy(
            deployment,
            "set",
            "defensive",
            "max_leverage=2.5",
            "--by",
            "t",
            "--reason",
            "before restart",
        ).exit_code
        == 0
    )
    assert wait_for(lambda: store.active() is not None)
    seen = [store.active()]
    command_end, updated_end = _ends(deployment)

    with running_worker(deployment.env, deployment.app_id, deployment.log):
        time.sleep(8)  # a second worker joins, the group rebalances, tables recover
        seen.extend(store.active() for _ in range(50))
    fresh = deployment.store("fresh")

    assert _ends(deployment) == (command_end, updated_end)  # no re-seed, no rewrite
    assert fresh.active().version.version == seen[-1].version.version
    ranks = [(r.activation.version, r.version.version) for r in seen]
    assert ranks == sorted(ranks)
    assert deployment.view().state().versions["defensive"].values.max_leverage == 2.5


def test_sole_worker_when_stopped_and_started_again_then_table_recovered_without_reseed(
    stack: Servers, serde: AvroSerde, tmp_path: Path
) -> None:
    """The only worker stops; its successor rebuilds the table from the changelog, writes
    no seed and no version, and readers (old and new) keep the latest version."""
    names = TopicNames(f"rst{uuid.uuid4().hex[:8]}.")
    provision(AdminClient({"bootstrap.servers": stack.kafka}), names.specs())
    deployment = Deployment(stack, names, serde, f"{names.prefix}streams", tmp_path / "w.log")
    with running_worker(deployment.env, deployment.app_id, deployment.log):
        store = deployment.store()
        assert wait_for(lambda: _has_active(store), 90), deployment.log.read_text()[-2000:]
        assert (
            _policy(
                deployment,
                "set",
                "normal",
                "max_leverage=4",
                "--by",
                "t",
                "--reason",
                "before restart",
            ).exit_code
            == 0
        )
        assert wait_for(lambda: store.active().version.version == 2)
    ends = _ends(deployment)

    with running_worker(deployment.env, deployment.app_id, deployment.log):
        changed = _policy(
            deployment,
            "set",
            "normal",
            "max_leverage=3",
            "--by",
            "t",
            "--reason",
            "after restart",
            "--expect-version",
            "2",
        )
        fresh = deployment.store("restarted-reader")

    assert changed.exit_code == 0, str(changed.exception)  # the new owner knew version 2
    assert _ends(deployment) == (ends[0] + 1, ends[1] + 1)  # that change, and no re-seed
    assert fresh.active().version.version == 3
    assert store.active().version.version == 3
    for view in deployment.views:
        view.close()


def _has_active(store: PolicyStore) -> bool:
    try:
        store.active()
    except PolicyUnavailableError:
        return False
    return True
