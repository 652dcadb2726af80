"""Settings come from the environment, are validated, and never leak a secret."""

from __future__ import annotations

import pytest

from schemas.errors import ConfigError
from services.settings import Settings, load_settings, mask_url

GOOD = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    "SCHEMA_REGISTRY_URL": "http://127.0.0.1:8080/apis/ccompat/v7/",
    "REDIS_URL": "redis://:hunter2@127.0.0.1:6379/0",
}


def test_load_when_environment_complete_then_values_parsed() -> None:
    settings = load_settings(GOOD)
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.schema_registry_url == "http://127.0.0.1:8080/apis/ccompat/v7"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KAFKA_BOOTSTRAP_SERVERS", "no-port-here"),
        ("SCHEMA_REGISTRY_URL", "ftp://registry"),
        ("REDIS_URL", "http://not-redis"),
        ("KAFKA_SECURITY_PROTOCOL", "CARRIER_PIGEON"),
        ("HFOS_METRICS_PORT", "70000"),
    ],
)
def test_load_when_value_invalid_then_error_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({**GOOD, variable: value})
    assert raised.value.variable == variable
    assert variable in str(raised.value)


def test_load_when_address_missing_and_no_stack_then_error_says_how_to_start_one() -> None:
    environ = {k: v for k, v in GOOD.items() if k != "REDIS_URL"}
    with pytest.raises(ConfigError, match="hfos stack up") as raised:
        load_settings(environ, use_local_stack=False)
    assert raised.value.variable == "REDIS_URL"


def test_repr_when_secrets_set_then_they_are_masked() -> None:
    settings = load_settings(
        {**GOOD, "KAFKA_SASL_PASSWORD": "s3cret-sasl", "SCHEMA_REGISTRY_PASSWORD": "s3cret-reg"}
    )
    text = repr(settings) + str(settings)
    assert "s3cret-sasl" not in text
    assert "s3cret-reg" not in text
    assert "hunter2" not in text
    assert "hunter2" not in settings.redis_url_masked


def test_kafka_client_config_when_sasl_set_then_passes_credentials_to_librdkafka() -> None:
    settings = load_settings(
        {
            **GOOD,
            "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "KAFKA_SASL_USERNAME": "hfos",
            "KAFKA_SASL_PASSWORD": "pw",
        }
    )
    config = settings.kafka_client_config()
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert config["sasl.password"] == "pw"


def test_registry_config_when_credentials_set_then_basic_auth_configured() -> None:
    settings = load_settings(
        {**GOOD, "SCHEMA_REGISTRY_USERNAME": "u", "SCHEMA_REGISTRY_PASSWORD": "p"}
    )
    assert settings.registry_client_config()["basic.auth.user.info"] == "u:p"


def test_mask_url_when_no_password_then_url_unchanged() -> None:
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_settings_when_constructed_then_frozen() -> None:
    settings = load_settings(GOOD)
    with pytest.raises(ValueError, match="frozen"):
        settings.hfos_topic_prefix = "other."
    assert isinstance(settings, Settings)
