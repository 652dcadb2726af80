"""Reading a batch without waiting for it to fill.

``Consumer.consume(n, timeout)`` returns when ``n`` messages are there *or* the timeout
has run out: with fewer than ``n`` waiting it holds the ones it has for the whole timeout
(librdkafka's ``rd_kafka_consume_batch_queue``; confluent-kafka-python issue 407, "by
design"; measured on 2.16.0 against the local broker: a lone record came back 101 ms after
it was produced from ``consume(500, 0.1)`` and 700 ms from ``consume(500, 1.0)``,
``tests/services/bus/test_polling.py``). Every loop of hfos asks for hundreds and usually
gets a few, so each added its whole timeout to every record: the paper exchange's fills
(0.1 s), the position monitor's decisions (0.05 s), the policy and ESS views (0.1 s).

:func:`take` waits for the first record only, then takes what else is already queued.
"""

from __future__ import annotations

from confluent_kafka import Consumer, Message


def take(consumer: Consumer, max_records: int, timeout: float) -> list[Message]:
    """Up to ``max_records`` messages (records, or errors such as a partition's EOF),
    returning as soon as one is there; empty when none came within ``timeout`` seconds."""
    first = consumer.poll(timeout)
    if first is None:
        return []
    if max_records <= 1:
        return [first]
    return [first, *consumer.consume(max_records - 1, 0)]
