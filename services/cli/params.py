"""Argument types every command shares: each refuses bad input before anything touches the
network, and its refusal names the argument (click prints ``Invalid value for '--scope':
...`` and exits 2).

- :data:`NAME`-like types follow the one name rule of :mod:`schemas.names` (account ids,
  symbols, model and instance names): 1-64 ASCII letters, digits and ``. _ - @ + /``.
- :class:`ScopeParam` is an emergency-stop or strategy scope (``global``,
  ``account:<id>``, ...), parsed by :class:`streams.ess.scope.Scope`.
- :class:`TextParam` is free text an operator types (who, why): printable, bounded.
- :data:`VERSION` is a compare-and-set version: a whole number an Avro ``long`` holds.
"""

from __future__ import annotations

from typing import Any

import click

from schemas.names import name_problem, shown, text_problem

AVRO_LONG_MAX = 2**63 - 1
"""Versions travel as Avro ``long``; a larger number fails at encoding, after the CLI has
read state from Kafka, with an error about the schema instead of the option."""


class VersionParam(click.ParamType):
    """A compare-and-set version: a whole number in [0, 2^63 - 1]."""

    name = "VERSION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            if not text.isascii() or not text.isdigit():
                self.fail(f"{shown(str(value))} is not a version: {_VERSIONS}", param, ctx)
            number = int(text)
        if not 0 <= number <= AVRO_LONG_MAX:
            self.fail(f"{number} is out of range for a version: {_VERSIONS}", param, ctx)
        return number


_VERSIONS = f"a whole number in [0, {AVRO_LONG_MAX}]"
VERSION = VersionParam()


class NameParam(click.ParamType):
    """One name (an account id, a symbol, a model or instance name)."""

    name = "NAME"

    def __init__(self, what: str) -> None:
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        problem = name_problem(text)
        if problem is not None:
            self.fail(f"{self.what} {shown(text)} {problem}", param, ctx)
        return text


class NameListParam(click.ParamType):
    """Distinct names, comma-separated (``--accounts acc-1,acc-2``)."""

    name = "NAME,..."

    def __init__(self, what: str, *, allow_empty: bool = False) -> None:
        self.what = what
        self.allow_empty = allow_empty

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        found = tuple(part.strip() for part in str(value).split(",") if part.strip())
        if not found and not self.allow_empty:
            self.fail(f"give at least one {self.what}, comma-separated", param, ctx)
        for part in found:
            problem = name_problem(part)
            if problem is not None:
                self.fail(f"{self.what} {shown(part)} {problem}", param, ctx)
        if len(set(found)) != len(found):
            self.fail(f"{shown(str(value))} names a {self.what} twice", param, ctx)
        return found


class ScopeParam(click.ParamType):
    """A scope: ``global``, ``account:<id>``, ``strategy:<name>``, ``symbol:<sym>``;
    ``kinds`` narrows the kinds a command accepts (a strategy switch takes two)."""

    name = "SCOPE"

    def __init__(self, kinds: tuple[str, ...] = ("global", "account", "strategy", "symbol")):
        self.kinds = kinds

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from streams.ess.exceptions import ScopeError  # noqa: PLC0415 - start-up time
        from streams.ess.scope import Scope  # noqa: PLC0415 - start-up time

        text = str(value)
        try:
            scope = Scope.parse(text)
        except ScopeError as error:
            self.fail(str(error), param, ctx)
        if scope.kind.value not in self.kinds:
            allowed = " or ".join(k if k == "global" else f"{k}:<name>" for k in self.kinds)
            self.fail(f"scope {shown(text)}: this command takes {allowed}", param, ctx)
        return str(scope)


class TextParam(click.ParamType):
    """Free text an operator types (``--by``, ``--reason``): printed later by ``hfos ess
    status`` and carried in audit events, so nothing a terminal interprets."""

    name = "TEXT"

    def __init__(self, what: str, max_length: int) -> None:
        self.what = what
        self.max_length = max_length

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value)
        problem = text_problem(text, self.max_length)
        if problem is not None:
            self.fail(f"{self.what} {shown(text)} {problem}", param, ctx)
        return text


BY = TextParam("who", 64)
"""Who: an operator's identity as the audit trail shows it (``alice``, ``ops@desk``)."""

REASON = TextParam("why", 500)
"""Why, in words; 500 characters is a ticket reference and two sentences."""

ACCOUNT = NameParam("account id")
INSTANCE = NameParam("instance name")
MODEL = NameParam("model name")

__all__ = [
    "ACCOUNT",
    "AVRO_LONG_MAX",
    "BY",
    "INSTANCE",
    "MODEL",
    "REASON",
    "VERSION",
    "NameListParam",
    "NameParam",
    "ScopeParam",
    "TextParam",
]
