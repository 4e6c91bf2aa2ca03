"""tox.ini names every column sslconform knows: envlist, an environment each, report and gate.

A backend folder added without its tox environment would silently be left out of
`tox -p`, and a `depends` list that misses it would build the report (or run the gate)
before its results exist.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from conformance.registry import all_backends

TOX_INI = Path(__file__).resolve().parent.parent / "tox.ini"
# Environments that are not columns: what they are for.
NOT_COLUMNS = {"report", "gate", "tests", "lint"}


def _names(value: str) -> list[str]:
    """A tox list: comma or newline separated."""
    return [part.strip() for part in re.split(r"[,\n]", value) if part.strip()]


def _expand(section: str) -> list[str]:
    """tox's brace groups: testenv:{a,b} is testenv:a and testenv:b."""
    found = re.search(r"\{([^{}]*)\}", section)
    if not found:
        return [section]
    head, tail = section[: found.start()], section[found.end() :]
    return [n for part in found[1].split(",") for n in _expand(head + part.strip() + tail)]


@pytest.fixture(scope="module")
def tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    assert parser.read(TOX_INI), f"cannot read {TOX_INI}"
    return parser


@pytest.fixture(scope="module")
def columns() -> set[str]:
    known = set(all_backends())
    assert "reference" in known and "openssl" in known  # the registry found the folders
    known.discard("exec")  # declared by $SSLCONFORM_EXEC for one run, never an environment
    return known


def _environments(tox: configparser.ConfigParser) -> set[str]:
    return {
        name.removeprefix("testenv:")
        for section in tox.sections()
        for name in _expand(section)
        if name.startswith("testenv:")
    }


def test_envlist_is_every_column_and_the_report(
    tox: configparser.ConfigParser, columns: set[str]
) -> None:
    envlist = _names(tox["tox"]["envlist"])
    assert len(envlist) == len(set(envlist)), "a name listed twice"
    assert set(envlist) - NOT_COLUMNS == columns
    assert "report" in envlist


def test_every_column_has_its_environment(
    tox: configparser.ConfigParser, columns: set[str]
) -> None:
    assert columns <= _environments(tox)
    assert _environments(tox) - columns <= NOT_COLUMNS


@pytest.mark.parametrize("env", ["report", "gate"])
def test_report_and_gate_depend_on_every_column(
    env: str, tox: configparser.ConfigParser, columns: set[str]
) -> None:
    depends = _names(tox[f"testenv:{env}"]["depends"])
    assert len(depends) == len(set(depends)), "a name listed twice"
    assert set(depends) == columns


def test_the_gate_checks_the_results_folder_against_expected(
    tox: configparser.ConfigParser,
) -> None:
    commands = tox["testenv:gate"]["commands"]
    assert "sslconform check {toxinidir}/reports/results" in commands
    assert "--expected {toxinidir}/expected" in commands


def test_brace_groups_expand() -> None:
    assert _expand("testenv:{a,b}") == ["testenv:a", "testenv:b"]
    assert _expand("testenv:x") == ["testenv:x"]
