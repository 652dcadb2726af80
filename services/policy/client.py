"""Submitting policy commands to the owner (the stream app) and waiting for its answer:
the ``policy.updated``/``policy.activated`` record the command caused, the
``policy.unchanged`` record of one that changed nothing, or its refusal."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from schemas.catalogue import (
    POLICY_ACTIVATED,
    POLICY_COMMAND,
    POLICY_UNCHANGED,
    POLICY_UPDATED,
    TopicNames,
)
from schemas.envelope import envelope
from schemas.serde import AvroSerde
from services.bus.commands import Answer, CommandClient
from services.bus.producer import EventProducer


class PolicyClient:
    def __init__(
        self,
        client_config: Mapping[str, str],
        names: TopicNames,
        serde: AvroSerde,
        producer: EventProducer,
        service: str = "hfos-cli",
    ) -> None:
        self._client = CommandClient(
            client_config,
            names,
            serde,
            producer,
            POLICY_COMMAND,
            (POLICY_UPDATED, POLICY_ACTIVATED),
            POLICY_UNCHANGED,
        )
        self._service = service

    def submit(self, command: Mapping[str, Any], timeout: float = 30.0) -> Answer:
        """Send ``command`` (a ``PolicyCommand`` without envelope); return the owner's
        answer, or raise ``CommandRefusedError`` / ``NoAnswerError``."""
        command_id = str(uuid.uuid4())
        record = {
            **command,
            "envelope": envelope(self._service, int(time.time() * 1000), event_id=command_id),
        }
        return self._client.submit(str(command["profile"]), record, command_id, timeout)
