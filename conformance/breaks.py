"""Breaks: one promise broken at a library's boundary, to show a pass could have failed.

`BreakingLibrary(library, RULE_ID)` is the library itself, driven through its own calls,
except for the one thing the rule's break (`Rule.breaks`, conformance.rules) says it does
differently: SSL_dup returns s itself, SSL_up_ref does not reach the library, the error
queue is drained after a failing call, and so on. It uses only the `Library` protocol,
so it wraps any backend; in a worker it is loaded as an adapter of its own (`load`,
options `break` and `break-adapter`), around the adapter it names.

The engine runs a rule that passed once more over this wrapper: the rule must fail
there, or its pass is not reported as one (Engine.able_to_fail).

This module runs in the worker: it imports no hypothesis.
"""

from __future__ import annotations

import importlib
from collections import Counter
from typing import Any

from conformance.library import Absent, AllocReport, Json, Kind, Library, Unobservable
from conformance.rules import BY_ID, Break
from conformance.settings import BY_NAME, Domain, Fields, IntRange, OneOf, SubsetOf

ADAPTER = "conformance.breaks"
OTHER_METHOD = {"tls": "tls-client", "tls-client": "tls-server", "tls-server": "tls-client"}
KINDS = frozenset(
    {
        "new-same-object",
        "free-first-dropped",
        "free-after-up-ref-dropped",
        "new-extra-ref",
        "up-ref-dropped",
        "threads-extra-free",
        "dup-same-handle",
        "dup-fresh-ctx",
        "dup-started-new",
        "dup-started-no-ref",
        "dup-shared-settings",
        "dup-shared-lifetime",
        "errors-drained-new-null",
        "alloc-errors-dropped",
        "new-null",
        "dup-null",
        "up-ref-fails",
        "new-fresh-ctx",
        "new-other-method",
        "dup-reset",
    }
)


def in_domain(domain: Domain, value: Json) -> bool:
    """Is `value` one the setter takes: of the domain's kind, made of its names? (A list of
    known names of any length maps to flags; the domain's sizes only shape generation.)"""
    match domain:
        case OneOf(choices):
            return value in choices
        case IntRange(lo, hi):
            return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
        case SubsetOf(names, _, _, _):
            return (
                isinstance(value, list)
                and len(set(value)) == len(value)
                and all(v in names for v in value)
            )
        case Fields(fields):
            known = dict(fields)
            return isinstance(value, dict) and all(
                k in known and in_domain(known[k], v) for k, v in value.items()
            )
    return False


class BreakingLibrary:
    """A Library that breaks one rule's promise, through the wrapped library's own calls."""

    def __init__(self, library: Library, rule_id: str) -> None:
        brk = BY_ID[rule_id].breaks
        if brk is None or brk.kind not in KINDS:
            raise KeyError(f"rule {rule_id!r} declares no break this module knows")
        self.library = library
        self.rule_id = rule_id
        self.brk: Break = brk
        self.kind = brk.kind
        self.ctx_method: dict[int, str] = {}  # context handle -> its method
        self.ssl_ctx: dict[int, int] = {}  # SSL handle -> the context it was made from
        self.first_of_ctx: dict[int, int] = {}  # context -> its first SSL (new-same-object)
        self.released: set[int] = set()  # handles the caller gave to SSL_free
        self.held: Counter[int] = Counter()  # references held here, not in the library
        self.dropped: set[int] = set()  # objects whose first SSL_free was dropped
        self.after_up_ref: set[int] = set()  # SSL_up_ref since the last SSL_free
        self.started: set[int] = set()  # objects whose handshake started
        self.twin: dict[int, int] = {}  # s <-> its duplicate, both ways
        self.duplicates: set[int] = set()
        self.kept: list[int] = []  # contexts made here, kept for the objects made on them
        self.defaults: dict[tuple[str, str], Json] = {}
        self.pending_freed: list[int] = []  # the library's free events, own ones removed

    # --- helpers --------------------------------------------------------------------

    def _free_own(self, ssl: int) -> None:
        """Free an object this wrapper made for itself; its free event is not the caller's."""
        self.library.ssl_free(ssl)
        try:
            events = self.library.freed()
        except (Absent, Unobservable):
            return  # no free events: there is nothing of ours to hide
        if ssl in events:
            events.remove(ssl)
        self.pending_freed += events

    def _made(self, made: int) -> None:
        """A handle the library just made. One freed before is an address the allocator
        gave out again: what was kept of the object freed there is not this one's."""
        if made in self.released:
            self.released.discard(made)
            self.held.pop(made, None)
            self.dropped.discard(made)
            self.after_up_ref.discard(made)
            self.started.discard(made)
            self.duplicates.discard(made)
            self.twin.pop(made, None)

    def _fresh_ctx(self, method: str) -> int | None:
        ctx = self.library.ctx_new(method)
        if ctx is not None:
            self.ctx_method[ctx] = method
            self.kept.append(ctx)
        return ctx

    def _method(self, ssl: int) -> str:
        return self.ctx_method.get(self.ssl_ctx.get(ssl, -1), "tls")

    def _fresh_value(self, name: str, method: str) -> Json:
        """What the library shows for `name` on a fresh object (fresh context, same method)."""
        key = (name, method)
        if key not in self.defaults:
            ctx = self.library.ctx_new(method)
            if ctx is None:
                raise Unobservable(f"SSL_CTX_new({method}) returned NULL")
            ssl = self.library.ssl_new(ctx)
            if ssl is None:
                self.library.ctx_free(ctx)
                raise Unobservable("SSL_new returned NULL on a fresh context")
            try:
                self.defaults[key] = self.library.get("ssl", ssl, name)
            finally:
                self._free_own(ssl)
                self.library.ctx_free(ctx)
        return self.defaults[key]

    def _reset(self, dup: int, s: int) -> int:
        """dup-reset: the duplicate's setting back to a fresh object's value, through the
        library's setter. Where the setter cannot restore that value (flags it only adds,
        a NULL callback it ignores, a value it does not take, a setting only a handshake
        shows), a duplicate that copies nothing of s: SSL_new from s's context, or, for a
        setting only a context has (s has it from there), from a new SSL_CTX of s's method."""
        name, part = self.brk.setting, self.brk.field
        assert name is not None, f"{self.rule_id}: dup-reset names no setting"
        if self._restored(dup, s, name, part):
            return dup
        self._free_own(dup)
        ctx = self.ssl_ctx.get(s) if BY_NAME[name].on_ssl else self._fresh_ctx(self._method(s))
        made = None if ctx is None else self.library.ssl_new(ctx)
        if made is None or ctx is None:
            raise Unobservable("SSL_new returned NULL making the duplicate that copies nothing")
        self.ssl_ctx[made] = ctx
        return made

    def _restored(self, dup: int, s: int, name: str, part: str | None) -> bool:
        """Set the duplicate's `name` (or its field `part`) to a fresh object's value;
        whether the getter then shows that value."""
        entry = BY_NAME[name]
        if not entry.on_ssl or entry.domain is None or entry.observed_by != "getter":
            return False
        if entry.combine != "replace" or part == "flags":  # these setters only add
            return False
        try:
            fresh = self._fresh_value(name, self._method(s))
            value: Json = fresh
            if part is not None:
                value = {part: fresh.get(part) if isinstance(fresh, dict) else None}
            if not in_domain(entry.domain, value):
                return False
            self.library.set("ssl", dup, name, value)
            shown = self.library.get("ssl", dup, name)
        except (Absent, Unobservable):
            return False  # nothing to restore from, or no way to see it restored
        if part is not None:
            return isinstance(shown, dict) and shown.get(part) == value[part]
        return bool(shown == value)

    def _reference(self, ssl: int) -> None:
        """One more reference to `ssl`: SSL_up_ref where the library has it, else one held
        here (the next SSL_free of it then stops here)."""
        if self.library.missing("ssl_up_ref") == []:
            self.library.ssl_up_ref(ssl)
        else:
            self.held[ssl] += 1

    # --- Library --------------------------------------------------------------------

    def version(self) -> str:
        return self.library.version()

    def missing(self, feature: str) -> list[str]:
        return self.library.missing(feature)

    def ctx_new(self, method: str) -> int | None:
        ctx = self.library.ctx_new(method)
        if ctx is not None:
            self.ctx_method[ctx] = method
        return ctx

    def ctx_free(self, ctx: int) -> None:
        self.library.ctx_free(ctx)

    def ssl_new(self, ctx: int | None) -> int | None:
        lib, kind = self.library, self.kind
        if ctx is None:
            made = lib.ssl_new(None)
            if kind == "errors-drained-new-null":
                lib.errors()  # the break: what SSL_new(NULL) queued is gone
            return made
        if kind == "new-same-object":
            first = self.first_of_ctx.get(ctx)
            if first is not None and first not in self.released:
                self.held[first] += 1  # as the break says: the reference is held here
                return first
        if kind in ("new-fresh-ctx", "new-other-method"):
            method = self.ctx_method.get(ctx, "tls")
            fresh = self._fresh_ctx(OTHER_METHOD[method] if kind == "new-other-method" else method)
            made = None if fresh is None else lib.ssl_new(fresh)
        else:
            made = lib.ssl_new(ctx)
        if made is None:
            return None
        self._made(made)
        self.ssl_ctx[made] = ctx
        self.first_of_ctx.setdefault(ctx, made)
        if kind == "new-extra-ref":
            lib.ssl_up_ref(made)
        if kind == "new-null":
            self._free_own(made)
            return None
        return made

    def ssl_dup(self, ssl: int) -> int | None:
        lib, kind = self.library, self.kind
        if kind == "dup-same-handle":
            self._reference(ssl)
            return ssl
        if kind == "dup-started-no-ref" and ssl in self.started:
            return ssl
        if kind == "dup-started-new" and ssl in self.started:
            made = lib.ssl_new(self.ssl_ctx[ssl])
        elif kind == "dup-fresh-ctx":
            fresh = self._fresh_ctx(self._method(ssl))
            made = None if fresh is None else lib.ssl_new(fresh)
            if made is not None and fresh is not None:
                self._made(made)
                self.ssl_ctx[made] = fresh
                return made
        else:
            made = lib.ssl_dup(ssl)
        if made is None or made == ssl:
            if kind == "dup-null" and made == ssl:
                lib.ssl_free(ssl)  # give back the reference SSL_dup added
                return None
            return made
        self._made(made)
        self.ssl_ctx[made] = self.ssl_ctx.get(ssl, -1)
        if kind == "dup-null":
            self._free_own(made)
            return None
        if kind == "dup-reset":
            made = self._reset(made, ssl)
        self.twin[made], self.twin[ssl] = ssl, made
        self.duplicates.add(made)
        return made

    def ssl_up_ref(self, ssl: int) -> int:
        if self.kind == "up-ref-dropped":
            return 1
        if self.kind == "up-ref-fails":
            return 0
        result = self.library.ssl_up_ref(ssl)
        if self.kind == "free-after-up-ref-dropped" and result == 1:
            self.after_up_ref.add(ssl)
        return result

    def ssl_free(self, ssl: int) -> None:
        kind = self.kind
        if self.held[ssl] > 0:
            self.held[ssl] -= 1  # a reference held here: the library never had it
            return
        if kind == "free-first-dropped" and ssl not in self.dropped:
            self.dropped.add(ssl)
            return
        if kind == "free-after-up-ref-dropped" and ssl in self.after_up_ref:
            self.after_up_ref.discard(ssl)
            return
        self.released.add(ssl)
        self.library.ssl_free(ssl)
        if kind == "dup-shared-lifetime" and ssl in self.duplicates:
            s = self.twin[ssl]
            if s not in self.released:
                self.released.add(s)
                self.library.ssl_free(s)  # the break: s goes with its duplicate

    def ssl_get_ctx(self, ssl: int) -> int:
        return self.library.ssl_get_ctx(ssl)

    def start_handshake(self, ssl: int) -> bool:
        started = self.library.start_handshake(ssl)
        if started:
            self.started.add(ssl)
        return started

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        self.library.set(kind, obj, setting, value)
        if self.kind == "dup-shared-settings" and kind == "ssl" and obj in self.twin:
            other = self.twin[obj]
            if other not in self.released and obj not in self.released:
                self.library.set("ssl", other, setting, value)  # the break: one table

    def set_via(self, kind: Kind, obj: int, setting: str, value: Json, form: str) -> None:
        _optional(self.library, "set_via")(kind, obj, setting, value, form)
        if self.kind == "dup-shared-settings" and kind == "ssl" and obj in self.twin:
            other = self.twin[obj]
            if other not in self.released and obj not in self.released:
                self.library.set_via("ssl", other, setting, value, form)  # the break

    def ssl_set_ctx(self, ssl: int, ctx: int) -> int | None:
        result: int | None = _optional(self.library, "ssl_set_ctx")(ssl, ctx)
        return result

    def resume(self, ssl: int) -> bool:
        reused = bool(_optional(self.library, "resume")(ssl))
        self.started.add(ssl)  # a completed handshake: s is past its initial state
        return reused

    def ssl_clear(self, ssl: int) -> bool:
        initial = bool(_optional(self.library, "ssl_clear")(ssl))
        if initial:
            self.started.discard(ssl)
        return initial

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        return self.library.get(kind, obj, setting)

    def errors(self) -> list[str]:
        return self.library.errors()

    def freed(self) -> list[int]:
        events = self.pending_freed + self.library.freed()
        self.pending_freed = []
        return events

    def threads_up_ref_free(self, ssl: int, threads: int, per_thread: int) -> int:
        done = int(_optional(self.library, "threads_up_ref_free")(ssl, threads, per_thread))
        if self.kind == "threads-extra-free":
            self.library.ssl_free(ssl)  # the break: as if one increment were lost
        return done

    def ssl_new_failing(self, ctx: int, nth: int) -> AllocReport:
        report: AllocReport = _optional(self.library, "ssl_new_failing")(ctx, nth)
        return self._dropped_errors(report)

    def ssl_dup_failing(self, ssl: int, nth: int) -> AllocReport:
        report: AllocReport = _optional(self.library, "ssl_dup_failing")(ssl, nth)
        return self._dropped_errors(report)

    def _dropped_errors(self, report: AllocReport) -> AllocReport:
        if self.kind == "alloc-errors-dropped":
            report["errors"] = []  # the break: the call's queued errors are gone
        return report


def _optional(library: Library, name: str) -> Any:
    """An optional Library method, as the interpreter looks it up."""
    method = getattr(library, name, None)
    if method is None:
        raise Unobservable(f"this backend's adapter does not implement {name}")
    return method


def load(lib_dir: str | None, options: dict[str, str]) -> BreakingLibrary:
    """The worker's entry point: the adapter `break-adapter`, loaded with the other
    options, wrapped to break rule `break`."""
    rest = dict(options)
    rule_id, adapter = rest.pop("break", None), rest.pop("break-adapter", None)
    if not rule_id or not adapter:
        raise ValueError("conformance.breaks needs the options break=RULE and break-adapter=MODULE")
    module = importlib.import_module(adapter)
    return BreakingLibrary(module.load(lib_dir, rest), rule_id)
