"""Deterministic ids: every effect is keyed by an id derived from its cause (SPEC §0).

A redelivered input yields the same derived id, so whoever applies the effect recognises
the second attempt and does nothing. uuid5 over a fixed namespace keeps ids valid UUIDs
(the envelope's ``event_id`` is one) and stable across processes, hosts and versions.
"""

from __future__ import annotations

import uuid

# Fixed forever: changing it would make every replayed effect look new.
NAMESPACE = uuid.UUID("5b0e3f2c-6a57-4c1e-9d51-0f0d5c7b1a60")


def derived_id(purpose: str, *cause: str) -> str:
    """The id of the effect ``purpose`` (e.g. ``"order"``) of the cause identified by
    ``cause`` (e.g. a signal id, or an account and an episode number)."""
    return str(uuid.uuid5(NAMESPACE, "\x1f".join((purpose, *cause))))
