"""Copied, not promised: settings SSL_dup copies though the page does not list them.

The page's list of what SSL_dup copies is a promise; a library may copy more. For each
setting of the table with no `dup` line and no inheritance sentence (no rule), a run
sets it on s, duplicates s, and says whether the duplicate shows s's value or the one a
fresh object of the same context shows. These are observations, never failures.
"""

from __future__ import annotations

from conformance.library import Json
from conformance.results import Observed
from conformance.script import Op, Script, Trace
from conformance.settings import SETTINGS, IntRange, OneOf, Setting, SubsetOf
from conformance.worker import Runner, WorkerCrashed, WorkerTimedOut

ROLE_STATE = {"server": "accept", "client": "connect"}


def unlisted() -> list[Setting]:
    """Settings an SSL has that the page promises nothing about."""
    return [s for s in SETTINGS if s.dup is None and s.inherit is None and s.domain is not None]


def _value(entry: Setting) -> Json:
    """A value unlikely to be any library's default: the last of the domain."""
    match entry.domain:
        case OneOf(values):
            return values[-1]
        case IntRange(lo, hi):
            return hi - 1 if hi - 1 > lo else hi
        case SubsetOf(names, _, max_size, _):
            return list(reversed(names))[:max_size]
    raise TypeError(f"no plain value for {entry.name}")


def script(entry: Setting) -> Script:
    """ssl 0: set and duplicated (ssl 1); ssl 2: a fresh object, for the default."""

    def role(ssl: int) -> list[Op]:
        if entry.role not in ROLE_STATE:
            return []
        return [
            Op("ssl_set", ssl=ssl, setting="accept-connect-state", value=ROLE_STATE[entry.role])
        ]

    method = "tls-client" if entry.role == "client" else "tls"
    return Script(
        (
            Op("ctx_new", method=method),
            Op("ssl_new", ctx=0),
            *role(0),
            Op("ssl_set", ssl=0, setting=entry.name, value=_value(entry)),
            Op("ssl_dup", ssl=0),
            Op("ssl_new", ctx=0),
            *role(2),
            Op("ssl_get", ssl=0, setting=entry.name),
            Op("ssl_get", ssl=1, setting=entry.name),
            Op("ssl_get", ssl=2, setting=entry.name),
        )
    )


def verdict(entry: Setting, run: Script, trace: Trace) -> str:
    """One sentence: copied, not copied, or why it could not be seen."""
    how = entry.how.split(";")[0].split(" / ")[0]
    for op, obs in zip(run.ops, trace, strict=False):
        if obs.absent:
            return f"{entry.name}: not observed, the library lacks {', '.join(obs.absent)}"
        if obs.unobservable:
            return f"{entry.name}: not observed at {op.op}: {obs.unobservable}"
    if len(trace) != len(run.ops):
        return f"{entry.name}: not observed, the backend stopped early"
    dup = next(obs for op, obs in zip(run.ops, trace, strict=False) if op.op == "ssl_dup")
    if dup.null:
        return f"{entry.name}: not observed, SSL_dup returned NULL"
    original, copied, fresh = (obs.value for obs in trace[-3:])
    if original == fresh:
        return (
            f"{entry.name}: not observed, s shows the default {fresh!r} after "
            f"{_value(entry)!r} was set ({how})"
        )
    if copied == original:
        return (
            f"{entry.name}: SSL_dup copies it though the page does not list it ({how}): {copied!r}"
        )
    if copied == fresh:
        return (
            f"{entry.name}: SSL_dup does not copy it ({how}): s {original!r}, duplicate {copied!r}"
        )
    return f"{entry.name}: the duplicate shows {copied!r}, s {original!r}, a fresh object {fresh!r}"


def observations(runner: Runner) -> list[Observed]:
    """What the backend's SSL_dup does with every setting the page does not list."""
    answer = runner.missing(
        [f"{op}:ssl:{s.name}" for s in unlisted() for op in ("set", "get")]
        + ["ssl_dup", "ctx_new", "ssl_new"]
    )
    if answer.get("ssl_dup"):
        return []  # no SSL_dup: nothing is copied or not
    found: list[Observed] = []
    for entry in unlisted():
        needs = [answer.get(f"{op}:ssl:{entry.name}") for op in ("set", "get")]
        if any(n is None for n in needs):
            continue  # the adapter does not map it: nothing to say
        run = script(entry)
        if any(needs):
            lacking = sorted({m for n in needs for m in n or []})
            summary = f"{entry.name}: not observed, the library lacks {', '.join(lacking)}"
            found.append(Observed(f"dup.unlisted.{entry.name}", summary, None))
            continue
        try:
            trace = runner.run(run)
        except (WorkerCrashed, WorkerTimedOut) as exc:
            summary = f"{entry.name}: not observed, the worker {type(exc).__name__}: {exc}"
            found.append(Observed(f"dup.unlisted.{entry.name}", summary, run.to_json()))
            continue
        found.append(
            Observed(f"dup.unlisted.{entry.name}", verdict(entry, run, trace), run.to_json())
        )
    return found
