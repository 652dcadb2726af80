"""The stream worker gets the same Kafka security settings as every other client."""

from __future__ import annotations

import faust

from services.faust_auth import faust_credentials
from services.settings import load_settings

BASE = {
    "KAFKA_BOOTSTRAP_SERVERS": "broker:9093",
    "SCHEMA_REGISTRY_URL": "https://registry",
    "REDIS_URL": "rediss://:pw@redis:6380/0",
}


def test_credentials_when_plaintext_then_none() -> None:
    assert faust_credentials(load_settings(BASE, use_local_stack=False)) is None


def test_credentials_when_sasl_scram_then_username_password_and_mechanism_passed() -> None:
    settings = load_settings(
        {
            **BASE,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "hfos",
            "KAFKA_SASL_PASSWORD": "s3cret",
        },
        use_local_stack=False,
    )

    credentials = faust_credentials(settings)

    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.username == "hfos"
    assert credentials.password == "s3cret"  # noqa: S105 - the test's own fake secret
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert credentials.ssl_context is None


def test_credentials_when_sasl_ssl_then_tls_context_attached() -> None:
    settings = load_settings(
        {
            **BASE,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
            "KAFKA_SASL_USERNAME": "hfos",
            "KAFKA_SASL_PASSWORD": "pw",
        },
        use_local_stack=False,
    )

    credentials = faust_credentials(settings)

    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.ssl_context is not None


def test_credentials_when_ssl_then_ssl_credentials() -> None:
    settings = load_settings({**BASE, "KAFKA_SECURITY_PROTOCOL": "SSL"}, use_local_stack=False)
    assert isinstance(faust_credentials(settings), faust.SSLCredentials)
