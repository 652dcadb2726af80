"""The worker's Kafka security settings for Faust, from the same variables as every other
client (``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_*``, ``KAFKA_SSL_*``)."""

from __future__ import annotations

import ssl

import faust
from aiokafka.helpers import create_ssl_context

from services.settings import SecurityProtocol, Settings


def faust_credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """None for PLAINTEXT; SSL or SASL (SCRAM/PLAIN, over TLS for SASL_SSL) otherwise."""
    protocol = settings.kafka_security_protocol
    if protocol is SecurityProtocol.PLAINTEXT:
        return None
    context = _ssl_context(settings) if protocol in _TLS else None
    if protocol is SecurityProtocol.SSL:
        return faust.SSLCredentials(context)
    password = settings.kafka_sasl_password
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=password.get_secret_value() if password else None,
        mechanism=settings.kafka_sasl_mechanism.value if settings.kafka_sasl_mechanism else "PLAIN",
        ssl_context=context,
    )


_TLS = frozenset({SecurityProtocol.SSL, SecurityProtocol.SASL_SSL})


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    key_password = settings.kafka_ssl_key_password
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.kafka_ssl_ca_location,
        certfile=settings.kafka_ssl_certificate_location,
        keyfile=settings.kafka_ssl_key_location,
        password=key_password.get_secret_value() if key_password else None,
    )
    return context
