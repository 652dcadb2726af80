"""A trading desk of its own on the real stack, for executor tests and benchmarks.

Topics under a fresh prefix, and one method per kind of event the executor reads (policy,
ESS state, strategy switches, promoted models, prices, the venue's account snapshots,
heartbeats, signals), each published and acknowledged before it returns. The desk plays
the venue as a venue does: every change of an account is one ``account.updated`` with the
whole account and the account's next sequence number.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient

from schemas.catalogue import (
    ACCOUNT_UPDATED,
    ESS_STATE,
    MARKET_PRICE,
    MODEL_PROMOTED,
    ORDER_REJECTED,
    ORDER_REQUESTED,
    POLICY_ACTIVATED,
    POLICY_UPDATED,
    STRATEGY_SWITCHED,
    SYSTEM_HEARTBEAT,
    TRADE_SIGNAL,
    TopicNames,
    TopicSpec,
)
from schemas.contracts import contract
from schemas.enums import EssState, EssTrigger, ProfileName, ServiceStatus, StrategyName
from schemas.envelope import envelope
from schemas.serde import AvroSerde
from services.bus.polling import take
from services.bus.producer import EventProducer
from services.bus.topics import provision
from services.executor.service import Executor, ExecutorConfig
from services.testing.models import BuiltModel, built_model
from streams.ess import Scope, ScopeState
from streams.ess.codec import state_record
from streams.policy.records import Activation, activation_record, version_record
from streams.policy.version import apply_change

MODEL = "alpha"
MODEL_VERSION = "v1"


def now_ms() -> int:
    return int(time.time() * 1000)


class VenueAccount:
    """One account as the desk's venue holds it."""

    def __init__(self) -> None:
        self.wallet = 10_000.0
        self.positions: dict[str, tuple[float, float]] = {}
        self.sequence = 0

    def snapshot(self, account: str, reason: str) -> dict[str, Any]:
        self.sequence += 1
        return {
            "envelope": envelope("test-venue", now_ms()),
            "account_id": account,
            "sequence": self.sequence,
            "reason": reason,
            "wallet_balance": self.wallet,
            "equity": self.wallet,
            "positions": [
                {
                    "symbol": symbol,
                    "side": "LONG" if quantity >= 0 else "SHORT",
                    "quantity": abs(quantity),
                    "entry_price": mark,
                    "mark_price": mark,
                    "unrealized_pnl": 0.0,
                    "leverage": 1.0,
                }
                for symbol, (quantity, mark) in sorted(self.positions.items())
            ],
            "closed": [],
            "order_id": None,
        }


class Desk:
    def __init__(
        self,
        kafka: str,
        serde: AvroSerde,
        producer: EventProducer,
        prefix: str | None = None,
        provision_topics: Iterable[TopicSpec] | None = None,
    ) -> None:
        self.kafka, self.serde, self.producer = kafka, serde, producer
        self.names = TopicNames(prefix or f"exe{uuid.uuid4().hex[:8]}.")
        self.admin = AdminClient({"bootstrap.servers": kafka})
        specs = self.names.specs() if provision_topics is None else list(provision_topics)
        if specs:
            provision(self.admin, specs)
        self._beating = threading.Event()
        self._beats: threading.Thread | None = None
        self._policy_versions: dict[ProfileName, Any] = {}
        self._activations = 0
        self._reader: DecisionReader | None = None
        self._decided: dict[str, dict[str, Any]] = {}
        self._venue: dict[str, VenueAccount] = {}

    def provision_all(self) -> None:
        provision(self.admin, self.names.specs())

    def send(self, spec: TopicSpec, key: str, record: Mapping[str, Any]) -> None:
        self.producer.send(contract(spec, self.names), key, record)
        if self.producer.flush(30):
            raise AssertionError(f"{spec.name} not acknowledged within 30 s")

    # -- control plane ---------------------------------------------------------------

    def policy(self, profile: ProfileName = ProfileName.NORMAL, **changes: object) -> str:
        """Publish the next version of ``profile`` (with ``changes``) and activate it
        globally; returns the version's hash."""
        current = self._policy_versions.get(profile)
        version = apply_change(
            current,
            None if current is None else current.version,
            dict(changes),
            author="test",
            reason="test desk",
            now=now_ms(),
            profile=profile.value,
        )
        self._policy_versions[profile] = version
        self.send(POLICY_UPDATED, profile.value, version_record(version, "test", None))
        self._activations += 1
        activation = Activation(
            scope="global",
            profile=profile,
            profile_version=version.version,
            profile_hash=version.hash,
            version=self._activations,
            by="test",
            reason="test desk",
            at=now_ms(),
        )
        self.send(POLICY_ACTIVATED, "global", activation_record(activation, "test", None))
        return version.hash

    def ess(self, scope: str, state: EssState, version: int) -> None:
        held = ScopeState(
            scope=Scope.parse(scope),
            state=state,
            version=version,
            since=now_ms(),
            trigger=EssTrigger.MANUAL,
        )
        self.send(ESS_STATE, scope, state_record(held, "test", now_ms()))

    def switch(self, strategy: StrategyName, version: int, scope: str = "global") -> None:
        record = {
            "envelope": envelope("test", now_ms()),
            "scope": scope,
            "strategy": strategy.value,
            "version": version,
            "previous": None,
            "by": "test",
            "reason": "test desk",
        }
        self.send(STRATEGY_SWITCHED, scope, record)

    def promote(
        self,
        model: str = MODEL,
        version: str = MODEL_VERSION,
        *,
        uri: str | None = None,
        sha256: str | None = None,
        artifact_format: str = "ONNX",
        previous: BuiltModel | None = None,
    ) -> dict[str, Any]:
        """Publish a promotion of a real ONNX model built for ``model`` ``version``
        (``uri``/``sha256``/``artifact_format`` override what is published, as a promotion
        made past the CLI could); ``previous`` is its rollback target. Returns the record."""
        built = built_model(model, version)
        record = {
            "envelope": envelope("test", now_ms()),
            "model_name": model,
            "version": version,
            "artifact_uri": uri or built.uri,
            "sha256": sha256 or built.sha256,
            "format": artifact_format,
            "metrics": {},
            "promoted_by": "test",
            "previous_version": previous.version if previous else None,
            "rollback_of": None,
            "previous_artifact_uri": previous.uri if previous else None,
            "previous_sha256": previous.sha256 if previous else None,
            "previous_format": "ONNX" if previous else None,
            "reason": "test desk",
        }
        self.send(MODEL_PROMOTED, model, record)
        return record

    def heartbeat(self, status: ServiceStatus = ServiceStatus.HEALTHY) -> None:
        record = {
            "envelope": envelope("hfos-streams", now_ms()),
            "service": "hfos-streams",
            "instance": "test",
            "status": status.value,
            "sequence": 1,
            "started_at": now_ms(),
            "models": [],
        }
        self.send(SYSTEM_HEARTBEAT, "hfos-streams/test", record)

    def start_heartbeats(self, interval: float = 0.3) -> None:
        """Beat every ``interval`` seconds from a thread until :meth:`stop_heartbeats`."""
        self._beating.set()

        def beat() -> None:
            while self._beating.is_set():
                try:
                    self.heartbeat()
                except AssertionError:
                    continue  # not acknowledged (the broker is away): a missed beat, no more
                time.sleep(interval)

        self._beats = threading.Thread(target=beat, name="desk-heartbeats", daemon=True)
        self._beats.start()

    def stop_heartbeats(self) -> None:
        self._beating.clear()
        if self._beats is not None:
            self._beats.join(5)

    # -- market and accounts -----------------------------------------------------------

    def price(self, symbol: str, price: float) -> None:
        record = {"envelope": envelope("test", now_ms()), "symbol": symbol, "price": price}
        self.send(MARKET_PRICE, symbol, record)

    def balance(self, account: str, wallet: float) -> None:
        """The venue's account ``account`` now holds ``wallet`` (equity = wallet, as every
        position of the desk is marked at its entry)."""
        venue = self._venue.setdefault(account, VenueAccount())
        venue.wallet = wallet
        self.send(ACCOUNT_UPDATED, account, venue.snapshot(account, "TRANSFER"))

    def position(self, account: str, symbol: str, quantity: float, mark: float) -> None:
        """The venue's account ``account`` now holds ``quantity`` (signed; 0 closes) of
        ``symbol`` marked at ``mark``."""
        venue = self._venue.setdefault(account, VenueAccount())
        if quantity == 0:
            venue.positions.pop(symbol, None)
        else:
            venue.positions[symbol] = (quantity, mark)
        self.send(ACCOUNT_UPDATED, account, venue.snapshot(account, "FILL"))

    def ready_market(self, accounts: Iterable[str], symbols: Iterable[str]) -> None:
        """A tradeable desk: the normal policy, a promoted model, heartbeats, a price of
        100 for every symbol and 10 000 of equity for every account."""
        self.policy()
        self.promote()
        self.start_heartbeats()
        for symbol in symbols:
            self.price(symbol, 100.0)
        for account in accounts:
            self.balance(account, 10_000.0)

    # -- signals and decisions ---------------------------------------------------------

    def signal_record(  # noqa: PLR0913 - a signal's fields
        self,
        account: str,
        symbol: str,
        action: str = "BUY",
        confidence: float = 0.9,
        *,
        model_name: str = MODEL,
        model_version: str = MODEL_VERSION,
        quantity: float | None = None,
        notional: float | None = None,
        signal_id: str | None = None,
    ) -> dict[str, Any]:
        return {
            "envelope": envelope("test", now_ms()),
            "signal_id": signal_id or str(uuid.uuid4()),
            "account_id": account,
            "symbol": symbol,
            "action": action,
            "confidence": confidence,
            "model_name": model_name,
            "model_version": model_version,
            "strategy": None,
            "quantity": quantity,
            "notional": notional,
        }

    def signal(self, account: str, symbol: str, action: str = "BUY", **fields: Any) -> str:
        record = self.signal_record(account, symbol, action, **fields)
        self.send(TRADE_SIGNAL, account, record)
        return str(record["signal_id"])

    def decisions(self, expected: int, timeout: float = 30.0) -> dict[str, dict[str, Any]]:
        """The first committed decision of every signal seen so far, once ``expected``
        signals have one (see :meth:`decision_list` for every decision, duplicates too)."""
        by_signal = self._decided
        deadline = time.monotonic() + timeout
        while len(by_signal) < expected and time.monotonic() < deadline:
            for decision in self.reader.poll(0.2):
                by_signal.setdefault(decision["signal_id"], decision)
        return by_signal

    def decision_list(self, settle: float = 1.0) -> list[dict[str, Any]]:
        """Every committed decision so far (read from the beginning by a new reader), after
        ``settle`` seconds with nothing new."""
        reader = DecisionReader(self.kafka, self.serde, self.names)
        try:
            found: list[dict[str, Any]] = []
            quiet_until = time.monotonic() + settle
            while time.monotonic() < quiet_until:
                batch = reader.poll(0.2)
                if batch:
                    found.extend(batch)
                    quiet_until = time.monotonic() + settle
            return found
        finally:
            reader.close()

    @property
    def reader(self) -> DecisionReader:
        if self._reader is None:
            self._reader = DecisionReader(self.kafka, self.serde, self.names)
        return self._reader

    def close(self) -> None:
        self.stop_heartbeats()
        if self._reader is not None:
            self._reader.close()


class DecisionReader:
    """``order.requested`` and ``order.rejected`` as committed (read_committed), from the
    beginning; each decision gets ``outcome``: ACCEPTED or the reject reason."""

    def __init__(self, kafka: str, serde: AvroSerde, names: TopicNames) -> None:
        self._serde = serde
        self._contracts = {
            names.name(spec): contract(spec, names) for spec in (ORDER_REQUESTED, ORDER_REJECTED)
        }
        self._consumer = Consumer(
            {
                "bootstrap.servers": kafka,
                "group.id": f"decisions-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 10,
            }
        )
        self._consumer.subscribe(list(self._contracts))

    def poll(self, timeout: float) -> list[dict[str, Any]]:
        out = []
        for message in take(self._consumer, 1000, timeout):
            if message.error() is not None:
                continue
            target = self._contracts[str(message.topic())]
            record = self._serde.decode(target, message.value())
            record["outcome"] = record.get("reason") or "ACCEPTED"
            out.append(record)
        return out

    def close(self) -> None:
        self._consumer.close()


@contextmanager
def running_executor(desk: Desk, **config: Any) -> Iterator[Executor]:
    """An executor deciding the desk's signals in a thread until the block ends."""
    executor = Executor(
        {"bootstrap.servers": desk.kafka},
        desk.serde,
        ExecutorConfig(names=desk.names, instance=f"test-{uuid.uuid4().hex[:6]}", **config),
    )
    stop = threading.Event()
    failure: list[BaseException] = []

    def loop() -> None:
        try:
            executor.run(stop.is_set)
        except BaseException as error:  # surfaced in the test below
            failure.append(error)
            raise

    thread = threading.Thread(target=loop, name="executor", daemon=True)
    thread.start()
    try:
        yield executor
    finally:
        stop.set()
        thread.join(30)
    if failure:
        raise AssertionError(f"the executor died: {failure[0]!r}") from failure[0]


def start_executor_process(
    environ: Mapping[str, str], desk: Desk, log: Path, instance: str
) -> subprocess.Popen[bytes]:
    """``hfos executor run`` for the desk's topics as a child process (as deployed), its
    output appended to ``log``; ``environ`` carries the server addresses."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "executor", "run", "--instance", instance],
            env={**os.environ, **environ, "HFOS_TOPIC_PREFIX": desk.names.prefix},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
