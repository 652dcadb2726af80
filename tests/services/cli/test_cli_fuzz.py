"""Random arguments through the real ``hfos`` entry point against a running worker
(issue 13, acceptance): ``policy set``, ``ess trip|reduce|reset`` and ``strategy switch``.

Each example builds a command from parts drawn valid or invalid, and knows which parts are
invalid without asking the code under test: names by the documented rule (1-64 of
``A-Z a-z 0-9 . _ - @ + /``, starting with a letter or digit), text by "printable, not
blank, bounded", versions by "a whole number in [0, 2^63 - 1]", policy values by the
SPEC §2 ranges. Then, whatever the draw:

- never a traceback, and the exit status is 0, 1 or 2;
- never an unanswered command: a valid command ends in a change, "unchanged" or a typed
  refusal within a few seconds, never ``NoAnswerError``;
- never a write for an invalid argument: the command topics' end offsets do not move;
- every refusal of an invalid argument names one of the invalid arguments.
"""

from __future__ import annotations

import string
import time
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from schemas.catalogue import ESS_COMMAND, POLICY_COMMAND, STRATEGY_SWITCHED
from tests.services.cli.conftest import Desk

pytestmark = [pytest.mark.stack, pytest.mark.timeout(600)]

EXAMPLES = 120
"""About a second per valid command (a round trip to the worker), milliseconds per
refusal: the module runs in one to two minutes on the project's machine."""

ANSWER_SECONDS = 15.0
WRITE_TOPICS = (ESS_COMMAND, POLICY_COMMAND, STRATEGY_SWITCHED)
NAME_FIRST = string.ascii_letters + string.digits
NAME_REST = NAME_FIRST + "._-@+/"
NASTY = "\x00\x01\x07\x08\x1b\x7f\u200b\u200e\u202e\u2066\ufeff\u00a0\n\t :"
STRATEGIES = ["conservative", "moderate", "aggressive", "defensive"]
PROFILES = ["aggressive_small_account", "normal", "defensive"]


@dataclass
class Case:
    argv: list[str]
    invalid: set[str] = field(default_factory=set)
    """The arguments (option or field names) drawn invalid."""


valid_names = st.builds(
    lambda head, tail: head + tail,
    st.sampled_from(NAME_FIRST),
    st.text(alphabet=NAME_REST, max_size=63),
)
invalid_names = st.one_of(
    st.just(""),
    st.builds(lambda n: n + "x" * 64, valid_names),  # too long
    st.builds(lambda n: "x" * 70_000 + n, valid_names),
    st.builds(
        lambda a, bad, b: a + bad + b, valid_names, st.sampled_from(NASTY), st.text(max_size=3)
    ),
    st.builds(lambda bad, n: bad + n, st.sampled_from("._-@+/"), valid_names),  # bad first char
)


def _valid(drawn: str | None) -> tuple[str | None, bool]:
    return drawn, True


def _invalid(drawn: str) -> tuple[str, bool]:
    return drawn, False


@st.composite
def scopes(draw: st.DrawFn, kinds: tuple[str, ...]) -> tuple[str, bool]:
    """A scope and whether it is valid for a command taking ``kinds``."""
    if draw(st.booleans()):
        kind = draw(st.sampled_from(kinds))
        if kind == "global":
            return "global", True
        name = draw(st.sampled_from(STRATEGIES)) if kind == "strategy" else draw(valid_names)
        return f"{kind}:{name}", True
    bad = draw(
        st.one_of(
            st.builds(lambda n: f"account:{n}", invalid_names),
            st.builds(lambda n: f"symbol:{n}", invalid_names),
            st.builds(lambda n: f"planet:{n}", valid_names),
            st.just("global:"),
            st.just("strategy:reckless"),
            st.text(max_size=20).filter(lambda t: t != "global" and ":" not in t),
        )
    )
    return bad, False


def texts(limit: int) -> st.SearchStrategy[tuple[str | None, bool]]:
    printable = st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")),
        min_size=1,
        max_size=limit,
    ).filter(lambda t: t.strip() != "" and t.isprintable())
    bad = st.one_of(
        st.just(""),
        st.just("   "),
        st.builds(lambda t, c: t + c, printable, st.sampled_from(NASTY[:9])),
        st.builds(lambda t: t * (limit + 1), printable),
    ).filter(lambda t: not (t.strip() and t.isprintable() and len(t) <= limit))
    return st.one_of(printable.map(_valid), bad.map(_invalid))


versions = st.one_of(
    st.none().map(_valid),
    st.integers(0, 2**63 - 1).map(str).map(_valid),
    st.one_of(
        st.integers(max_value=-1).map(str),
        st.integers(min_value=2**63).map(str),
        st.sampled_from(["1e3", "NaN", "", "0x10", "1.0", "v3", "\u0663"]),
    ).map(_invalid),
)


def _common(draw: st.DrawFn, case: Case, version: bool = True) -> None:
    for option, limit in (("--by", 64), ("--reason", 500)):
        text, ok = draw(texts(limit))
        case.argv += [option, str(text)]
        if not ok:
            case.invalid.add(option)
    if version:
        text, ok = draw(versions)
        if text is not None:
            case.argv += ["--expect-version", text]
        if not ok:
            case.invalid.add("--expect-version")


@st.composite
def ess_cases(draw: st.DrawFn) -> Case:
    scope, ok = draw(scopes(("global", "account", "strategy", "symbol")))
    case = Case(["ess", draw(st.sampled_from(["trip", "reduce", "reset"])), "--scope", scope])
    if not ok:
        case.invalid.add("--scope")
    _common(draw, case)
    return case


@st.composite
def switch_cases(draw: st.DrawFn) -> Case:
    scope, ok = draw(scopes(("global", "account")))
    strategy = draw(
        st.one_of(st.sampled_from(STRATEGIES), st.sampled_from(["turbo", "", "MODERATE"]))
    )
    case = Case(["strategy", "switch", strategy, "--scope", scope])
    if strategy not in STRATEGIES:
        case.invalid.add("NAME")
    if not ok:
        case.invalid.add("--scope")
    _common(draw, case, version=False)
    return case


RANGES = {  # SPEC §2: field -> (valid values, invalid values)
    "max_leverage": (st.floats(0.01, 125), ["0", "-1", "125.5", "1e9"]),
    "max_drawdown": (st.floats(0.001, 1), ["0", "1.01", "-0.1"]),
    "warn_fraction": (st.floats(0.01, 0.99), ["1", "0", "2"]),
    "min_confidence": (st.sampled_from([0.0, -0.0, 0.5, 1.0]), ["1.5", "-0.01"]),
    "breach_confirmations": (st.integers(1, 10), ["0", "11", "2.5"]),
    "max_open_positions": (st.integers(1, 100), ["0", "101"]),
    "allow_new_positions": (st.sampled_from(["true", "false"]), ["maybe", "2"]),
    "stale_after_seconds": (st.integers(1, 3600), ["0", "3601"]),
}
EVERYWHERE_INVALID = ["nan", "NaN", "inf", "-inf", "", "abc", "1,5", "\x1b[31m1"]


@st.composite
def assignments(draw: st.DrawFn) -> tuple[str, str | None]:
    """``FIELD=VALUE`` and the field it names when it is invalid (None when valid)."""
    name = draw(st.sampled_from(sorted(RANGES)))
    good, bad = RANGES[name]
    if draw(st.booleans()):
        return f"{name}={draw(good)}", None
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return f"{name}={draw(st.sampled_from(bad + EVERYWHERE_INVALID))}", name
    if choice == 1:
        unknown = draw(st.one_of(st.sampled_from(["colour", "max_levrage"]), invalid_names))
        # "=1" names no field at all: refused as not an assignment (drawn once in CI).
        return f"{unknown}=1", "unknown field" if unknown else "not an assignment"
    return name, name  # no '='


@st.composite
def policy_cases(draw: st.DrawFn) -> Case:
    profile = draw(st.one_of(st.sampled_from(PROFILES), st.sampled_from(["reckless", "NORMAL"])))
    drawn = draw(
        st.lists(assignments(), min_size=1, max_size=3, unique_by=lambda a: a[0].split("=")[0])
    )
    case = Case(["policy", "set", profile, *[text for text, _ in drawn]])
    if profile not in PROFILES:
        case.invalid.add("profile")
    case.invalid |= {named for _, named in drawn if named is not None}
    _common(draw, case)
    return case


def _names_an_invalid_argument(case: Case, stderr: str) -> bool:
    return any(
        f"'{name}'" in stderr if name.startswith("--") else name in stderr or name.upper() in stderr
        for name in case.invalid
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=st.one_of(policy_cases(), ess_cases(), switch_cases()))
def test_cli_when_driven_with_random_arguments_then_answers_refuses_cleanly_writes_nothing_bad(
    desk: Desk, case: Case
) -> None:
    before = desk.ends(*WRITE_TOPICS) if case.invalid else {}
    started = time.monotonic()

    result = desk.hfos(*case.argv)  # an exception main lets through fails the test here

    seconds = time.monotonic() - started
    event(f"{case.argv[0]} {'refused' if case.invalid else 'valid'}: exit {result.exit_code}")
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1, 2), result.output
    assert "NoAnswerError" not in result.stderr
    assert seconds < ANSWER_SECONDS, result.output
    if case.invalid:
        assert result.exit_code != 0, (case.invalid, result.output)
        assert _names_an_invalid_argument(case, result.stderr), (case.invalid, result.stderr)
        assert desk.ends(*WRITE_TOPICS) == before
    elif result.exit_code != 0:  # a valid command may only be refused for its version
        assert "--expect-version" in case.argv, result.output
        assert "expected" in result.stderr
        assert "version" in result.stderr
    else:
        assert result.stdout.strip()  # answered: a change or "unchanged", printed
