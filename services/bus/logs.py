"""The logger librdkafka's own lines go through (every client is built with
``"logger": LIBRDKAFKA_LOG``), in a module of its own so that a reader needing only it —
a view's follower — does not import the producer and its metrics (~0.1 s of start-up)."""

from __future__ import annotations

import logging

LIBRDKAFKA_LOG = logging.getLogger("hfos.librdkafka")
