"""Runs scripts over a Library and records what happened (sans-I/O).

The interpreter owns the bookkeeping that every backend would otherwise repeat: which
handle a script variable names, which object id a pointer is, which objects the free
callback reported. It knows nothing of processes or pipes: the worker feeds it ops.
"""

from __future__ import annotations

from typing import Any

from conformance.library import Absent, Kind, Library, Unobservable
from conformance.script import Observation, Op, Script, Trace
from conformance.settings import setting


class ScriptError(Exception):
    """The script itself is wrong (names a handle that does not exist)."""


class Skipped(Exception):
    """The op names a NULL handle or an object the library reported freed: running it
    would be a NULL dereference or a use-after-free, which says nothing of the page."""


class Interpreter:
    def __init__(self, library: Library) -> None:
        self.library = library
        self.reset()

    def reset(self) -> None:
        self.ctxs: list[int | None] = []  # ctx variable -> handle
        self.ssls: list[int | None] = []  # ssl variable -> handle
        self.ctx_ids: dict[int, int] = {}  # live ctx handle -> object id
        self.ssl_ids: dict[int, int] = {}  # live ssl handle -> object id
        self.dead: dict[int, int] = {}  # freed ssl handle -> its object id
        # Handles given to SSL_free on a library that cannot say what it freed: if the
        # allocator hands one out again, it is a new object, not the old one.
        self.released: set[int] = set()
        self.unobserved_frees = False
        self.next_id = 0
        self._queues_errors: bool | None = None  # asked of the library once, when needed
        # (op, object) -> (N, allocations): the last failing call, run right before, did
        # not reach its Nth allocation (see ssl_new_failing below).
        self._past_end: dict[tuple[str, int | None], tuple[int, int]] = {}

    def run(self, script: Script) -> Trace:
        self.reset()
        trace: Trace = []
        for op in script.ops:
            obs = self.step(op)
            trace.append(obs)
            if obs.absent or obs.unobservable:
                break  # later ops depend on this one; what was seen stands
        return trace

    def step(self, op: Op) -> Observation:
        obs = Observation()
        try:
            self._do(op, obs)
        except Absent as exc:
            obs.absent = exc.missing
        except Unobservable as exc:
            obs.unobservable = str(exc)
        except Skipped as exc:
            obs.skipped = str(exc)
            if op.op in ("ssl_new", "ssl_dup"):
                # The handle it would have made names nothing: ops on it are skipped too,
                # and the script stays well-formed.
                self.ssls.append(None)
        self._collect_freed(obs)
        return obs

    # --- helpers -------------------------------------------------------------------

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _ctx(self, op: Op) -> int:
        if op.ctx is None or not 0 <= op.ctx < len(self.ctxs):
            raise ScriptError(f"{op}: no context {op.ctx}")
        handle = self.ctxs[op.ctx]
        if handle is None:
            raise Skipped(f"context {op.ctx} is NULL")
        return handle

    def _ssl(self, op: Op) -> int:
        if op.ssl is None or not 0 <= op.ssl < len(self.ssls):
            raise ScriptError(f"{op}: no SSL handle {op.ssl}")
        handle = self.ssls[op.ssl]
        if handle is None:
            raise Skipped(f"SSL handle {op.ssl} is NULL (or was never made)")
        if handle in self.dead:
            raise Skipped(f"object {self.dead[handle]} was already freed")
        return handle

    def _bind_ssl(self, handle: int | None, obs: Observation) -> None:
        self.ssls.append(handle)
        if handle is None:
            obs.null = True
            return
        self.dead.pop(handle, None)  # the allocator may hand a freed address out again
        if handle in self.released:
            self.released.discard(handle)
            self.ssl_ids.pop(handle, None)
        if handle not in self.ssl_ids:
            self.ssl_ids[handle] = self._new_id()
        obs.object = self.ssl_ids[handle]

    def _require(self, feature: str) -> None:
        """An op no rule needs, only some scripts use (it changes what a rule compares): a
        library or adapter without it cannot show that script, which says nothing of the
        rule. So it is Unobservable (the example is set aside), never Absent."""
        try:
            lacking = self.library.missing(feature)
        except NotImplementedError as exc:
            raise Unobservable(str(exc)) from None
        if lacking:
            raise Unobservable("the library lacks " + ", ".join(lacking))
        _adapter_method(self.library, feature)

    def _set(self, kind: Kind, obj: int, op: Op) -> None:
        name = _setting(op)
        if op.via is None:
            self.library.set(kind, obj, name, op.value)
            return
        if op.via not in {f.name for f in setting(name).forms}:
            raise ScriptError(f"{op}: {name} has no setter form {op.via!r}")
        set_via = _adapter_method(self.library, "set_via")
        try:
            set_via(kind, obj, name, op.value, op.via)
        except Absent as exc:
            # A form is a second way to the same setting, which no rule needs by itself:
            # a library without it cannot show this script (the setting's own setter may
            # still be there), so the example is set aside.
            raise Unobservable(f"the library lacks {', '.join(exc.missing)} ({op.via})") from None

    def _clear_errors(self) -> None:
        """Empty the error queue right before a call whose queue a rule reads, so that
        what the observation shows was queued by that call and not by an earlier step."""
        if self._queues_errors is None:
            try:
                self._queues_errors = self.library.missing("errors") == []
            except NotImplementedError:
                self._queues_errors = False  # the adapter cannot say: it is never read
        if self._queues_errors:
            self.library.errors()  # discarded: queued before this call

    def _collect_freed(self, obs: Observation) -> None:
        if not self.ssl_ids:
            return
        try:
            freed = self.library.freed()
        except (Absent, Unobservable):
            self.unobserved_frees = True
            return  # only the rules that need free events ask; they check `missing`
        for handle in freed:
            object_id = self.ssl_ids.pop(handle, None)
            if object_id is not None:
                self.dead[handle] = object_id
            # A handle not live here was freed twice or is not one of ours: say so.
            obs.freed.append(object_id if object_id is not None else -1)

    def _do(self, op: Op, obs: Observation) -> None:
        lib = self.library
        if op.op not in ("ssl_new_failing", "ssl_dup_failing"):
            self._past_end = {}  # any other call may change what the next one allocates
        match op.op:
            case "ctx_new":
                handle = lib.ctx_new(op.method or "tls")
                self.ctxs.append(handle)
                if handle is None:
                    obs.null = True
                else:
                    self.ctx_ids[handle] = self._new_id()
                    obs.object = self.ctx_ids[handle]
            case "ctx_free":
                lib.ctx_free(self._ctx(op))
            case "ctx_set":
                self._set("ctx", self._ctx(op), op)
            case "ctx_get":
                obs.value = lib.get("ctx", self._ctx(op), _setting(op))
            case "ssl_new":
                ctx = None if op.ctx is None else self._ctx(op)
                self._clear_errors()
                self._bind_ssl(lib.ssl_new(ctx), obs)
                if obs.null:
                    obs.errors = lib.errors()
            case "ssl_dup":
                ssl = self._ssl(op)
                self._clear_errors()
                self._bind_ssl(lib.ssl_dup(ssl), obs)
                if obs.null:
                    obs.errors = lib.errors()
            case "ssl_up_ref":
                obs.value = lib.ssl_up_ref(self._ssl(op))
            case "ssl_free":
                handle = self._ssl(op)
                lib.ssl_free(handle)
                if self.unobserved_frees:
                    self.released.add(handle)
            case "ssl_set":
                self._set("ssl", self._ssl(op), op)
            case "ssl_get":
                obs.value = lib.get("ssl", self._ssl(op), _setting(op))
            case "ssl_get_ctx":
                handle = lib.ssl_get_ctx(self._ssl(op))
                obs.value = self.ctx_ids.get(handle, -1)
            case "ssl_set_ctx":
                ssl, ctx = self._ssl(op), self._ctx(op)
                self._require("ssl_set_ctx")
                returned = lib.ssl_set_ctx(ssl, ctx)
                obs.value = None if returned is None else self.ctx_ids.get(returned, -1)
            case "ssl_clear":
                ssl = self._ssl(op)
                self._require("ssl_clear")
                obs.value = lib.ssl_clear(ssl)
            case "handshake":
                obs.value = lib.start_handshake(self._ssl(op))
            case "resume":
                ssl = self._ssl(op)
                self._require("resume")
                obs.value = lib.resume(ssl)
            case "ssl_threads":
                spec = op.value if isinstance(op.value, dict) else {}
                threads, per_thread = spec.get("threads"), spec.get("per_thread")
                if not isinstance(threads, int) or not isinstance(per_thread, int):
                    raise ScriptError(f"{op}: value must be {{'threads': T, 'per_thread': K}}")
                run = _adapter_method(lib, "threads_up_ref_free")
                obs.value = run(self._ssl(op), threads, per_thread)
            case "ssl_new_failing" | "ssl_dup_failing":
                if not isinstance(op.value, int) or op.value < 1:
                    raise ScriptError(f"{op}: value must be the allocation to fail (1 or more)")
                target = self._ctx(op) if op.op == "ssl_new_failing" else self._ssl(op)
                key = (op.op, op.ctx if op.op == "ssl_new_failing" else op.ssl)
                end = self._past_end.get(key)
                if end is not None and op.value > end[0]:
                    # The call made fewer allocations than one failing before asked for:
                    # a later failure point is past the call's end as well (nothing has
                    # changed the object since). Not run, and nothing is claimed of it.
                    self._past_end = {key: end}
                    raise Skipped(
                        f"past the call's end: it made {end[1]} allocation(s) when "
                        f"allocation {end[0]} was to fail"
                    )
                self._clear_errors()
                report = _adapter_method(lib, op.op)(target, op.value)
                self._past_end = {}
                if not report["injected"]:
                    self._past_end[key] = (op.value, int(report["allocations"]))
                # The result was freed inside the op: it binds no SSL variable.
                obs.null = report["result"] is None
                obs.errors = list(report["errors"])
                obs.value = {
                    "allocations": report["allocations"],
                    "injected": report["injected"],
                    "leaked": report["leaked"],
                    "leaked_at": report.get("leaked_at", []),
                }
            case _:
                raise ScriptError(f"unknown operation {op.op}")


def _adapter_method(library: Library, name: str) -> Any:
    """An optional Library method; an adapter without it cannot show what the op needs."""
    method = getattr(library, name, None)
    if method is None:
        raise Unobservable(f"this backend's adapter does not implement {name}")
    return method


def _setting(op: Op) -> str:
    if not op.setting:
        raise ScriptError(f"{op}: no setting named")
    return op.setting
