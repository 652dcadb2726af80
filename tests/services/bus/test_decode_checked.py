"""Every consumer outside Faust checks a record's key as well as its value (issue 11.1):
the key must be UTF-8 and, on a keyed topic, the value's own key field."""

from __future__ import annotations

import pytest
from confluent_kafka import Message
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas.catalogue import BALANCE_UPDATED, SYSTEM_HEARTBEAT
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.recordkey import InvalidKeyError
from schemas.serde import AvroSerde
from services.bus.consumer import decode_checked

SERDE = AvroSerde(SchemaRegistryClient.new_client({"url": "mock://decode-checked"}))


def _message(spec: object, key: bytes | None, **changes: object) -> Message:
    target = contract(spec)  # type: ignore[arg-type]
    record = {**example_record(target.schema_name), **changes}
    return Message(
        topic=target.topic, partition=0, offset=7, key=key, value=SERDE.encode(target, record)
    )


def test_decode_checked_when_key_is_the_account_then_key_and_value() -> None:
    key, value = decode_checked(
        SERDE, contract(BALANCE_UPDATED), _message(BALANCE_UPDATED, b"acc-1", account_id="acc-1")
    )
    assert key == "acc-1"
    assert value["account_id"] == "acc-1"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (b"\xff\xfe\xfd", "is not UTF-8"),
        (b"acc-2", "'acc-2' is not the value's account_id 'acc-1'"),
        (None, "is missing; it must be the value's account_id"),
    ],
)
def test_decode_checked_when_key_not_utf8_other_or_missing_then_invalid_key(
    key: bytes | None, problem: str
) -> None:
    with pytest.raises(InvalidKeyError) as raised:
        decode_checked(
            SERDE, contract(BALANCE_UPDATED), _message(BALANCE_UPDATED, key, account_id="acc-1")
        )
    assert problem in str(raised.value)


def test_decode_checked_when_topic_key_is_free_then_any_utf8_key_passes() -> None:
    key, _ = decode_checked(
        SERDE, contract(SYSTEM_HEARTBEAT), _message(SYSTEM_HEARTBEAT, b"svc/host-1")
    )
    assert key == "svc/host-1"
