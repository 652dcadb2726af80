"""Deleting what a session left: every topic under one prefix (``hfos topics delete``).

``hfos up`` and ``./scripts/demo`` give each session fresh topics under a prefix of its
own (the whole catalogue, 52 topics, plus the worker's changelogs); nothing else removes
them. A prefix is required (an empty one would be every topic) and Kafka's and Faust's
own ``_``-topics are never touched.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

_TIMEOUT = 30.0


def topics_under_prefix(admin: AdminClient, prefix: str) -> list[str]:
    """Existing topics whose names start with ``prefix`` (never ``_``-topics), sorted."""
    if not prefix:
        raise ValueError("a prefix is required")
    names = admin.list_topics(timeout=_TIMEOUT).topics
    return sorted(name for name in names if name.startswith(prefix) and not name.startswith("_"))


def delete_topics(admin: AdminClient, names: list[str]) -> int:
    """Delete ``names``; a topic already gone counts as deleted. Returns how many."""
    futures = admin.delete_topics(names, operation_timeout=_TIMEOUT)
    for future in futures.values():
        try:
            future.result(_TIMEOUT * 2)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise
    return len(names)
