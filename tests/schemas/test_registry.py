"""The CLI's registry client makes the same two calls as confluent-kafka's, with the same
result, on the real registry; its errors are typed and never show the credentials."""

from __future__ import annotations

import json
import socket
import uuid

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastavro.schema import to_parsing_canonical_form

from schemas.catalogue import ESS_TRANSITION, TopicNames
from schemas.contracts import contract
from schemas.examples import example_record
from schemas.registry import RegistryError, RestRegistryClient, SchemaText
from schemas.serde import AvroSerde, codec_schema
from services.testing import Servers


@pytest.mark.stack
def test_rest_client_when_registering_and_fetching_then_same_as_confluent_client(
    stack: Servers,
) -> None:
    subject = f"reg-{uuid.uuid4().hex[:8]}-value"
    text = contract(ESS_TRANSITION, TopicNames()).schema_str
    confluent = SchemaRegistryClient({"url": stack.registry})
    rest = RestRegistryClient({"url": stack.registry})

    by_rest = rest.register_schema(subject, SchemaText(text))
    by_confluent = confluent.register_schema(subject, Schema(text, "AVRO"))
    fetched = RestRegistryClient({"url": stack.registry}).get_schema(by_confluent)

    assert by_rest == by_confluent
    assert to_parsing_canonical_form(codec_schema_of(fetched.schema_str)) == (
        to_parsing_canonical_form(codec_schema_of(confluent.get_schema(by_rest).schema_str or ""))
    )


@pytest.mark.stack
def test_serde_when_through_rest_client_then_reads_what_confluent_client_wrote(
    stack: Servers,
) -> None:
    names = TopicNames(f"reg{uuid.uuid4().hex[:8]}.")
    target = contract(ESS_TRANSITION, names)
    record = example_record("hfos.EssTransition", seed=3)
    written = AvroSerde(SchemaRegistryClient({"url": stack.registry})).encode(target, record)

    read = AvroSerde(RestRegistryClient({"url": stack.registry}), schema_of=SchemaText).decode(
        target, written
    )

    assert read == record


@pytest.mark.stack
def test_rest_client_when_id_unknown_then_typed_error_with_status(stack: Servers) -> None:
    with pytest.raises(RegistryError) as refused:
        RestRegistryClient({"url": stack.registry}).get_schema(2_000_000_000)

    assert refused.value.status == 404


def test_rest_client_when_registry_unreachable_then_typed_error_without_credentials() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = RestRegistryClient(
        {"url": f"http://127.0.0.1:{port}", "basic.auth.user.info": "svc:s3cret"}, timeout=2
    )

    with pytest.raises(RegistryError) as refused:
        client.get_schema(1)

    assert refused.value.status == 0
    assert "s3cret" not in str(refused.value)
    assert "s3cret" not in repr(client)


def codec_schema_of(text: str) -> object:
    return codec_schema(json.loads(text))
