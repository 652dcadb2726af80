"""One frozen settings object per process, built from the environment in one place.

Every value comes from an environment variable named after it (``KAFKA_BOOTSTRAP_SERVERS``
…). Validation happens at start-up; a bad value raises :class:`ConfigError` naming the
variable. Secrets are :class:`pydantic.SecretStr`, so ``repr`` and logs show ``**********``.
Where an address is not in the environment, the local stack's state file fills it in, so
``hfos stack up`` followed by any other ``hfos`` command needs no configuration at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from schemas.errors import ConfigError
from services.localstack.state import StackState


class SecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class SaslMechanism(StrEnum):
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


_ADDRESS_VARIABLES = ("KAFKA_BOOTSTRAP_SERVERS", "SCHEMA_REGISTRY_URL", "REDIS_URL")


class Settings(BaseModel):
    """Everything a hfos process reads from its environment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kafka_bootstrap_servers: str
    schema_registry_url: str
    redis_url: SecretStr

    kafka_security_protocol: SecurityProtocol = SecurityProtocol.PLAINTEXT
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_location: str | None = None
    kafka_ssl_certificate_location: str | None = None
    kafka_ssl_key_location: str | None = None
    kafka_ssl_key_password: SecretStr | None = None

    schema_registry_username: str | None = None
    schema_registry_password: SecretStr | None = None

    hfos_env: Environment = Environment.DEVELOPMENT
    hfos_topic_prefix: str = ""
    hfos_metrics_port: int | None = None
    hfos_metrics_host: str = "0.0.0.0"
    """Address the metrics port (/metrics, /healthz, /readyz) listens on: all interfaces,
    so the kubelet's probes and Prometheus reach it from outside the pod."""
    hfos_replication_factor: int = Field(default=1, ge=1, le=32)
    """Replication of the topics a process creates itself (the worker's table changelogs,
    Faust's internal topics); 1 on the local stack, 3 on a production cluster."""
    hfos_worker_data_dir: str | None = None
    """The stream worker's Faust data dir (tables' local stores); default
    /tmp/hfos-worker-<prefix>."""
    hfos_worker_instance: str | None = Field(default=None, min_length=1, max_length=64)
    """A stable name for this stream worker (Kafka static membership, KIP-345): a worker
    restarted under the same name takes its partitions back at once, without a rebalance
    and without waiting out the dead process's 10 s session. Unique per running worker
    (a second one under the same name fences the first); unset: dynamic membership."""
    hfos_worker_stall_exit_seconds: float = Field(default=20.0, ge=0)
    """A stream worker whose watchdog sees a partition stalled this long exits (75) for
    its supervisor to restart it; 0 keeps it running, degraded."""
    hfos_model_ack_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    """SPEC §6: a promotion not acknowledged by every registered model consumer within
    this many seconds is rolled back (read by the worker's coordinator and by
    ``hfos model status``)."""

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port…], got {server!r}")
        return value

    @field_validator("schema_registry_url")
    @classmethod
    def _check_registry(cls, value: str) -> str:
        if urlsplit(value).scheme not in {"http", "https"}:
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _check_redis(cls, value: SecretStr) -> SecretStr:
        if urlsplit(value.get_secret_value()).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("expected a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("hfos_metrics_port")
    @classmethod
    def _check_port(cls, value: int | None) -> int | None:
        if value is not None and not 0 < value < 65536:  # noqa: PLR2004 - TCP port range
            raise ValueError(f"expected a TCP port in [1, 65535], got {value}")
        return value

    @property
    def redis_url_masked(self) -> str:
        """The Redis URL with its password replaced, safe to print."""
        return mask_url(self.redis_url.get_secret_value())

    def kafka_client_config(self) -> dict[str, str]:
        """librdkafka settings shared by every producer, consumer and admin client."""
        config = {
            "bootstrap.servers": self.kafka_bootstrap_servers,
            "security.protocol": self.kafka_security_protocol.value,
        }
        optional = {
            "sasl.mechanism": self.kafka_sasl_mechanism,
            "sasl.username": self.kafka_sasl_username,
            "sasl.password": self.kafka_sasl_password,
            "ssl.ca.location": self.kafka_ssl_ca_location,
            "ssl.certificate.location": self.kafka_ssl_certificate_location,
            "ssl.key.location": self.kafka_ssl_key_location,
            "ssl.key.password": self.kafka_ssl_key_password,
        }
        for key, value in optional.items():
            if value is not None:
                config[key] = _plain(value)
        return config

    def registry_client_config(self) -> dict[str, str]:
        """confluent-kafka ``SchemaRegistryClient`` settings."""
        config = {"url": self.schema_registry_url}
        if self.schema_registry_username and self.schema_registry_password:
            secret = self.schema_registry_password.get_secret_value()
            config["basic.auth.user.info"] = f"{self.schema_registry_username}:{secret}"
        return config


def _plain(value: object) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return str(value)


def mask_url(url: str) -> str:
    """Replace the password of ``scheme://user:password@host`` with ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo = f"{parts.username or ''}:***"
    host = parts.hostname or ""
    netloc = f"{userinfo}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def load_settings(
    environ: Mapping[str, str] | None = None, *, use_local_stack: bool = True
) -> Settings:
    """Build and validate the settings; addresses missing from the environment come from
    the running local stack. Raises :class:`ConfigError` naming the variable at fault."""
    env = dict(os.environ if environ is None else environ)
    if use_local_stack:
        _fill_from_local_stack(env)
    values: dict[str, Any] = {
        key.lower(): value for key, value in env.items() if key.lower() in Settings.model_fields
    }
    try:
        return Settings(**values)
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0]).upper() if first["loc"] else "environment"
        problem = first["msg"]
        if first["type"] == "missing":
            problem = "not set (and no local stack is running: run `hfos stack up`)"
        raise ConfigError(variable, problem) from None


def _fill_from_local_stack(env: dict[str, str]) -> None:
    if all(env.get(name) for name in _ADDRESS_VARIABLES):
        return
    state = StackState.load_default()
    if state is None:
        return
    for name, address in state.addresses().items():
        env.setdefault(name, address)
