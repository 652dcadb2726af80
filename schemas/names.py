"""The one rule for names that enter hfos: account ids, symbols, strategy and model names,
service instances, and the name part of an emergency-stop scope (SPEC §0).

A name is 1 to :data:`NAME_MAX_LENGTH` characters of ASCII letters, digits and
``. _ - @ + /``, starting with a letter or a digit. That covers what venues use (``acc-7``,
``BTCUSDT``, ``BTC/USDT``, ``ES_F``, ``desk@fund``) and nothing a terminal interprets:
control characters (ESC paints an operator's terminal), invisible ones (a zero-width space
makes ``account:\u200b`` print as ``account:``), right-to-left overrides, whitespace, and
``:``, which separates a scope's kind from its name (``account::`` is not an account).

It is checked where a name enters — the CLI, before anything is sent — and again by every
consumer, which dead-letters a record whose name breaks it (``schemas.values``).
"""

from __future__ import annotations

import re
import unicodedata

from schemas.errors import HfosError

NAME_MAX_LENGTH = 64
"""Longer than any venue's account id or symbol seen in practice, short enough to print
in one column of ``hfos ess status``."""

ALLOWED = "letters A-Z a-z, digits 0-9 and . _ - @ + /"
_FIRST = re.compile(r"[A-Za-z0-9]")
_REST = re.compile(r"[A-Za-z0-9._@+/-]")
_SHOWN = 40
"""Characters of a refused name repeated in its error (a 100 000-character id is not)."""


class InvalidNameError(HfosError):
    """A name that breaks the rule; ``what`` says which name (``account id``, ``symbol``)."""

    def __init__(self, what: str, text: str, problem: str) -> None:
        super().__init__(f"{what} {shown(text)}: {problem}")
        self.what = what
        self.text = text
        self.problem = problem


def name_problem(text: str) -> str | None:
    """Why ``text`` is not a valid name, or None when it is."""
    if not text:
        return "is empty"
    if len(text) > NAME_MAX_LENGTH:
        return f"is {len(text)} characters long; at most {NAME_MAX_LENGTH} are allowed"
    for position, char in enumerate(text):
        pattern = _FIRST if position == 0 else _REST
        if not pattern.fullmatch(char):
            return f"has {describe(char)} at position {position}; allowed: {ALLOWED}" + (
                ", starting with a letter or a digit" if position == 0 else ""
            )
    return None


def check_name(what: str, text: str) -> str:
    """``text`` when it is a valid name, else :class:`InvalidNameError` naming ``what``."""
    problem = name_problem(text)
    if problem is not None:
        raise InvalidNameError(what, text, problem)
    return text


def describe(char: str) -> str:
    """A character as an operator can read it, even when it is invisible."""
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    if char.isprintable() and not char.isspace():
        return f"{char!r} ({code}{' ' + name if name else ''})"
    category = unicodedata.category(char)
    kind = {"Cc": "control", "Cf": "invisible format", "Zs": "space"}.get(category, "unprintable")
    return f"a {kind} character {code}{' ' + name if name else ''}"


def shown(text: str) -> str:
    """``text`` quoted for a message: escaped to ASCII and cut after a few characters."""
    head = text[:_SHOWN]
    rest = f"... ({len(text)} characters)" if len(text) > _SHOWN else ""
    return ascii(head) + rest


SCOPE_KINDS = ("account", "strategy", "symbol")
"""Scope kinds that take a name; ``global`` takes none (``streams.ess.scope`` owns scopes,
this is their wire rule for consumers, which may not import the stream app)."""


def scope_problem(text: str) -> str | None:
    """Why ``text`` is not an emergency-stop scope's wire form, or None when it is."""
    if text == "global":
        return None
    kind, separator, name = text.partition(":")
    if not separator or kind not in SCOPE_KINDS:
        return f"is not global or one of {', '.join(k + ':<name>' for k in SCOPE_KINDS)}"
    problem = name_problem(name)
    return None if problem is None else f"its {kind} name {problem}"


def text_problem(text: str, max_length: int) -> str | None:
    """Why ``text`` is not acceptable free text (an operator's who or why), or None.

    Free text may hold spaces and any printable letter, but nothing a terminal interprets
    or hides (control, format and separator characters other than the plain space): it is
    printed again by ``hfos ess status`` and carried in audit events."""
    if not text.strip():
        return "is blank"
    if len(text) > max_length:
        return f"is {len(text)} characters long; at most {max_length} are allowed"
    for position, char in enumerate(text):
        if not char.isprintable():
            return f"has {describe(char)} at position {position}; only printable text is allowed"
    return None
