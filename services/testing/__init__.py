"""The public testing module: real servers for tests, found the way STACK.md orders it.

``servers()`` yields the addresses of a Kafka broker, a Confluent-compatible schema
registry and a Redis server, taken in this order from:

1. the environment (``KAFKA_BOOTSTRAP_SERVERS``, ``SCHEMA_REGISTRY_URL``, ``REDIS_URL``);
2. testcontainers, when a Docker engine answers;
3. the local stack (``hfos stack``), started if it is not up and stopped afterwards if it
   was started here.

Only in the third case can a test kill and restart a server (``Servers.local``).
"""

from services.testing.servers import Servers, servers, unique_name

__all__ = ["Servers", "servers", "unique_name"]
