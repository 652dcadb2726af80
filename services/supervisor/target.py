"""Which state an escalation asks for: the active policy's ``supervisor_escalation_state``.

Read when an escalation happens (not before), through the policy store: Redis, or this
process's own view of the policy topics when Redis is down. With no policy at all the
escalation asks for TRIPPED: the supervisor cannot read what the operators chose, and
the stricter state is the one that cannot loosen anything (SPEC §0, fail closed).
"""

from __future__ import annotations

import logging

from schemas.enums import EssState
from services.policy.exceptions import PolicyUnavailableError
from services.policy.store import PolicyStore

log = logging.getLogger(__name__)
WITHOUT_POLICY = EssState.TRIPPED


class PolicyEscalationState:
    def __init__(self, store: PolicyStore) -> None:
        self._store = store

    def __call__(self) -> EssState:
        try:
            read = self._store.active()
        except PolicyUnavailableError as missing:
            log.warning("supervisor: %s; escalating to %s", missing, WITHOUT_POLICY.value)
            return WITHOUT_POLICY
        return EssState(read.version.values.supervisor_escalation_state)
