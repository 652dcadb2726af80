"""The two schema-registry calls the serde makes, over the standard library: for the CLI.

Services talk to the registry through confluent-kafka's ``SchemaRegistryClient``
(STACK.md). Importing it costs ~0.35 s on this project's 2-core machine (it loads an OAuth
library, httpx and a JOSE implementation for its async twin), which was a third of what
``hfos policy show`` took. A command-line tool that registers one schema and fetches two
needs none of that: :class:`RestRegistryClient` makes the same two requests of the
Confluent REST API with ``urllib`` — ``POST /subjects/{subject}/versions`` and
``GET /schemas/ids/{id}`` — with the same basic auth. A stack test checks that both
clients see the same ids and schemas on the real registry.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.errors import HfosError

TIMEOUT_SECONDS = 10.0
"""A local registry answers in milliseconds; a remote one that takes 10 s is down."""


class RegistryError(HfosError):
    """The registry refused a request or could not be reached; ``status`` is the HTTP
    status (0 when there was no answer)."""

    def __init__(self, url: str, status: int, problem: str) -> None:
        super().__init__(f"schema registry {url}: {problem}")
        self.url = url
        self.status = status
        self.problem = problem

    @property
    def http_status_code(self) -> int:
        """The name confluent-kafka's ``SchemaRegistryError`` gives the status, which the
        serde reads to remember an unknown id."""
        return self.status


@dataclass(frozen=True)
class SchemaText:
    """What the serde hands the client and gets back: the schema's JSON text."""

    schema_str: str
    schema_type: str = "AVRO"


class RestRegistryClient:
    """``register_schema`` and ``get_schema`` of the Confluent REST API (the serde's
    :class:`schemas.serde.RegistryClient`), from the same settings as confluent-kafka's
    client (``url``, ``basic.auth.user.info``)."""

    def __init__(self, config: Mapping[str, str], timeout: float = TIMEOUT_SECONDS) -> None:
        self._url = config["url"].rstrip("/")
        self._timeout = timeout
        self._headers = {
            "Accept": "application/vnd.schemaregistry.v1+json, application/json",
            "Content-Type": "application/vnd.schemaregistry.v1+json",
        }
        user_info = config.get("basic.auth.user.info")
        if user_info:
            token = base64.b64encode(user_info.encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"
        self._by_id: dict[int, SchemaText] = {}

    def __repr__(self) -> str:  # never the credentials
        return f"RestRegistryClient({self._url!r})"

    def register_schema(self, subject_name: str, schema: SchemaText) -> int:
        """The id of ``schema`` under ``subject_name``, registering it if it is new."""
        subject = urllib.parse.quote(subject_name, safe="")
        body: dict[str, Any] = {"schema": schema.schema_str}
        if schema.schema_type != "AVRO":
            body["schemaType"] = schema.schema_type
        answer = self._request("POST", f"/subjects/{subject}/versions", body)
        schema_id = int(answer["id"])
        self._by_id.setdefault(schema_id, schema)
        return schema_id

    def get_schema(self, schema_id: int) -> SchemaText:
        """The schema registered under ``schema_id`` (ids never change: cached)."""
        found = self._by_id.get(schema_id)
        if found is None:
            answer = self._request("GET", f"/schemas/ids/{int(schema_id)}", None)
            found = SchemaText(str(answer["schema"]), str(answer.get("schemaType") or "AVRO"))
            self._by_id[schema_id] = found
        return found

    def _request(self, method: str, path: str, body: Mapping[str, Any] | None) -> Any:
        url = f"{self._url}{path}"
        if not url.startswith(("http://", "https://")):
            raise RegistryError(self._url, 0, "the URL must start with http:// or https://")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, headers=self._headers, method=method)  # noqa: S310 - scheme checked above
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise RegistryError(self._url, error.code, _message(error)) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RegistryError(self._url, 0, f"no answer ({reason})") from None


def _message(error: urllib.error.HTTPError) -> str:
    try:
        detail = json.loads(error.read() or b"{}").get("message")
    except (ValueError, AttributeError):
        detail = None
    return f"HTTP {error.code}{': ' + str(detail) if detail else ''}"
