"""Setting values from the table's domains as hypothesis strategies, and script pieces
made through a `Draw` (conformance.explore)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from conformance.library import Json
from conformance.script import Op, OpName
from conformance.settings import (
    BY_NAME,
    METHODS,
    Domain,
    Fields,
    IntRange,
    OneOf,
    Setting,
    SubsetOf,
)

if TYPE_CHECKING:
    from conformance.explore import Draw


# The ops that take an SSL out of its initial state: a handshake started (a ClientHello
# sent, no server), and one completed with the harness's server that resumes a session.
LEAVING_INITIAL: tuple[OpName, ...] = ("handshake", "resume")


def leaving_initial(method: str | None) -> tuple[OpName, ...]:
    """Those of LEAVING_INITIAL an SSL of `method` can run: a server-only method cannot
    connect, so it completes no handshake as a client."""
    return ("handshake",) if method == "tls-server" else LEAVING_INITIAL


def values(domain: Domain) -> st.SearchStrategy[Json]:
    match domain:
        case OneOf(choices):
            return st.sampled_from(choices)
        case IntRange(lo, hi):
            return st.integers(lo, hi)
        case SubsetOf(names, min_size, max_size, ordered):
            lists = st.lists(
                st.sampled_from(names), min_size=min_size, max_size=max_size, unique=True
            )
            chosen: st.SearchStrategy[Json] = lists if ordered else lists.map(_sorted)
            return chosen
        case Fields(fields):
            keys = [k for k, _ in fields]
            return (
                st.fixed_dictionaries({}, optional={k: values(d) for k, d in fields})
                .filter(bool)
                .map(lambda d: {k: d[k] for k in keys if k in d})
            )
    raise TypeError(f"unknown domain {domain!r}")


def _sorted(names: list[str]) -> Json:
    return sorted(names)


def setting_value(setting: Setting) -> st.SearchStrategy[Json]:
    assert setting.domain is not None, f"{setting.name} is not settable"
    return values(setting.domain)


def setting_value_with(setting: Setting, part: str | None) -> st.SearchStrategy[Json]:
    """A value for the setting; for a rule about one field of a Fields setting, a value
    that sets that field (and maybe others)."""
    if part is None:
        return setting_value(setting)
    assert isinstance(setting.domain, Fields), f"{setting.name} has no fields"
    keys = [k for k, _ in setting.domain.fields]

    def with_part(pair: tuple[dict[str, Json], Json]) -> Json:
        merged = {**pair[0], part: pair[1]}
        return {k: merged[k] for k in keys if k in merged}  # the table's field order

    field_values = values(dict(setting.domain.fields)[part])
    return st.tuples(setting_value(setting), field_values).map(with_part)


def form(d: Draw, setting: Setting) -> str | None:
    """Which setter a set uses: None for the setting's own, or one of its other forms."""
    if not setting.forms:
        return None
    return d.choice((None, *(f.name for f in setting.forms)))


def methods_for(setting: Setting) -> tuple[str, ...]:
    """Methods under which an SSL can show the setting (a client to start a handshake)."""
    if setting.role == "client":
        return ("tls", "tls-client")
    if setting.role == "server":  # a client-only method cannot accept: nothing would show
        return ("tls", "tls-server")
    return METHODS


def sets(d: Draw, op: str, target: int, names: Collection[str], max_count: int = 3) -> list[Op]:
    """A few ctx_set or ssl_set operations of random settings among `names` (a different
    few each script: swarm testing)."""
    if not names:
        return []
    on_ctx = op == "ctx_set"
    return [
        Op(
            op,  # type: ignore[arg-type]
            ctx=target if on_ctx else None,
            ssl=None if on_ctx else target,
            setting=name,
            value=d.value(BY_NAME[name]),
            via=form(d, BY_NAME[name]),
        )
        for name in d.names(names, max_count)
    ]
