"""The reference model: SSL_new(3) as a pure-Python library, and the oracle.

It does what the page says and nothing more surprising: SSL_new copies the context's
settings, objects carry a reference count, SSL_dup copies every listed setting in the
initial state and otherwise returns the same handle with one more reference.

`ModelLibrary(broken=RULE_ID)` is a variant that breaks just that rule; the project's
tests run each rule against its variant to show the rule can fail (mutation score).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field

from conformance.library import AllocReport, Json, Kind, Unobservable
from conformance.rules import BY_ID as RULES_BY_ID
from conformance.settings import BY_NAME, Fields, Setting

VERSION = "sslconform reference model of SSL_new(3) 1.1.1k/3.0.0"

# What a getter shows before anything was set: representative, not any library's.
DEFAULTS: dict[str, Json] = {
    "options": [],
    "mode": [],
    "min-proto-version": "any",
    "max-proto-version": "any",
    "verify-mode": [],
    "verify-callback": None,
    "verify-depth": -1,
    "verify-param": {
        "flags": [],
        "hostflags": [],
        "auth-level": -1,
        "time": None,
        "depth": -1,
        "host": None,
        "email": None,
        "ip": None,
        "purpose": 0,
    },
    "msg-callback": None,
    "info-callback": None,
    "default-passwd-cb": None,
    "default-passwd-cb-userdata": None,
    "cipher-list": ["ECDHE-RSA-AES128-GCM-SHA256", "AES256-SHA"],
    "max-cert-list": 102400,
    "read-ahead": 0,
    "ex-data": None,
    "ca-list": [],
    "client-ca-list": [],
    "security-level": 1,
    "security-callback": "default",
}
OR_FIELDS = {"flags"}
# Allocations the model's SSL_new and SSL_dup make: representative, not any library's.
NEW_ALLOCATIONS = 7
DUP_ALLOCATIONS = 9  # X509_VERIFY_PARAM_set_flags adds flags; the other fields replace


class ModelError(Exception):
    """The script did something the page leaves undefined (use after free)."""


@dataclass
class Ctx:
    handle: int
    method: str
    settings: dict[str, Json] = field(default_factory=dict)


@dataclass
class Ssl:
    handle: int
    ctx: Ctx  # SSL_get_SSL_CTX: the context made from, or the one SSL_set_SSL_CTX gave
    settings: dict[str, Json]
    server: bool
    method: str
    refs: int = 1
    started: bool = False
    twin: int | None = None  # only the variant breaking independent-lifetime sets it
    made_from: Ctx | None = None  # the SSL_CTX "that was used to create s" (None: ctx)

    @property
    def creator(self) -> Ctx:
        return self.made_from or self.ctx


def combine(setting: Setting, old: Json, new: Json) -> Json:
    """The value a getter shows after `new` is set over `old`."""
    if setting.combine == "or":
        assert isinstance(old, list) and isinstance(new, list)
        return sorted(set(old) | set(new))
    if isinstance(setting.domain, Fields):
        assert isinstance(old, dict) and isinstance(new, dict)
        merged = dict(old)
        for key, value in new.items():
            if key in OR_FIELDS:
                before = merged.get(key) or []
                assert isinstance(before, list) and isinstance(value, list)
                merged[key] = sorted(set(before) | set(value))
            else:
                merged[key] = value
        return merged
    return new


class ModelLibrary:
    def __init__(self, broken: str | None = None) -> None:
        if broken is not None and broken not in RULES_BY_ID:
            raise KeyError(f"no rule {broken!r} to break")
        self.broken = broken
        self.ctxs: dict[int, Ctx] = {}
        self.ssls: dict[int, Ssl] = {}
        self.next_handle = 0x1000
        self.freed_queue: list[int] = []
        self.error_queue: list[str] = []
        self.lock = threading.Lock()  # the model's atomic reference count

    def _breaks(self, rule_id: str) -> bool:
        return self.broken == rule_id

    def _broken_field(self, rule_prefix: str) -> str | None:
        """The field this variant drops, when it breaks a per-field rule `PREFIX.FIELD`."""
        if self.broken and self.broken.startswith(rule_prefix + "."):
            return self.broken[len(rule_prefix) + 1 :]
        return None

    def _handle(self) -> int:
        self.next_handle += 0x10  # never reused: the model has no allocator to recycle
        return self.next_handle

    def _ssl(self, handle: int) -> Ssl:
        ssl = self.ssls.get(handle)
        if ssl is None:
            raise ModelError(f"SSL {handle:#x} used after it was freed")
        return ssl

    # --- Library ------------------------------------------------------------------

    def version(self) -> str:
        return VERSION + (f" (broken: {self.broken})" if self.broken else "")

    def missing(self, feature: str) -> list[str]:
        return []

    def ctx_new(self, method: str) -> int | None:
        ctx = Ctx(self._handle(), method)
        self.ctxs[ctx.handle] = ctx
        return ctx.handle

    def ctx_free(self, ctx: int) -> None:
        self.ctxs.pop(ctx, None)

    def ssl_new(self, ctx: int | None) -> int | None:
        if ctx is None:
            if not self._breaks("ret.new.null-ctx"):
                self.error_queue.append("SSL_new: null SSL_CTX")
            return None
        context = self.ctxs[ctx]
        if self._breaks("ret.new.pointer") and context.method == "tls-server":
            return None
        if self._breaks("new.creates"):
            for other in self.ssls.values():
                if other.ctx is context:
                    other.refs += 1
                    return other.handle
        settings = {}
        for name, value in context.settings.items():
            if not self._breaks(f"new.inherits.{name}"):
                settings[name] = copy.deepcopy(value)
            part = self._broken_field(f"new.inherits.{name}")
            if part is not None:  # that one field left at its default
                settings[name][part] = copy.deepcopy(DEFAULTS[name][part])
        method = "tls-client" if self._breaks("new.inherits.method") else context.method
        ssl = Ssl(self._handle(), context, settings, context.method != "tls-client", method)
        if self._breaks("ref.new.count-one"):
            ssl.refs = 2
        self.ssls[ssl.handle] = ssl
        return ssl.handle

    def ssl_dup(self, ssl: int) -> int | None:
        s = self._ssl(ssl)
        if self._breaks("ret.dup.pointer"):
            return None  # and nothing queued: no reason the page would accept
        initial = not s.started
        if self._breaks("dup.initial.new-object"):
            initial = False
        if self._breaks("dup.started.same-handle"):
            initial = True
        if not initial:
            if not self._breaks("dup.started.increments"):
                s.refs += 1
            return s.handle
        # The page: "a new SSL structure from the same SSL_CTX that was used to create s",
        # whichever context SSL_set_SSL_CTX gave s since.
        ctx = s.creator
        if self._breaks("dup.initial.same-ctx"):
            ctx = Ctx(self._handle(), ctx.method, dict(ctx.settings))
            self.ctxs[ctx.handle] = ctx
        settings: dict[str, Json] = {}
        for name, value in s.settings.items():
            if self._breaks(f"dup.copies.{name}"):
                continue  # not copied: the duplicate shows the default
            if BY_NAME[name].dup is None:  # not on the page's list: the context's value
                if name in ctx.settings:
                    settings[name] = copy.deepcopy(ctx.settings[name])
                continue
            settings[name] = copy.deepcopy(value)
            part = self._broken_field(f"dup.copies.{name}")
            if part is not None:  # that one field not copied: its default
                settings[name][part] = copy.deepcopy(DEFAULTS[name][part])
        if self._breaks("dup.initial.independent-settings"):
            settings = s.settings  # one table for both: a change on either shows on both
        server = s.server
        if self._breaks("dup.copies.accept-connect-state"):
            server = ctx.method != "tls-client"
        dup = Ssl(self._handle(), ctx, settings, server, s.method)
        if self._breaks("dup.initial.independent-lifetime"):
            dup.twin = s.handle  # freeing the duplicate takes s with it
        self.ssls[dup.handle] = dup
        return dup.handle

    def ssl_up_ref(self, ssl: int) -> int:
        s = self._ssl(ssl)
        if not self._breaks("ref.up-ref.increments"):
            s.refs += 1
        return 2 if self._breaks("ret.up-ref.one") else 1

    def ssl_free(self, ssl: int) -> None:
        s = self._ssl(ssl)
        if self._breaks("ref.free.decrements") and s.refs > 1:
            return
        with self.lock:
            s.refs -= 1
            gone = s.refs == 0
        if gone:
            del self.ssls[ssl]
            if not self._breaks("ref.free.at-zero"):
                self.freed_queue.append(ssl)
            if s.twin is not None and s.twin in self.ssls:
                del self.ssls[s.twin]
                self.freed_queue.append(s.twin)

    def threads_up_ref_free(self, ssl: int, threads: int, per_thread: int) -> int:
        s = self._ssl(ssl)
        done = [0] * threads
        start = threading.Barrier(threads)

        def work(index: int) -> None:
            start.wait()
            for _ in range(per_thread):
                with self.lock:
                    s.refs += 1
                done[index] += 1
            for _ in range(per_thread):
                self.ssl_free(ssl)

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if self._breaks("ref.threads.exact"):
            self.ssl_free(ssl)  # as if one increment were lost to a race
        return sum(done)

    def _failing(self, allocations: int, nth: int, make: int | None, rule_id: str) -> AllocReport:
        """A call that makes `allocations` allocations, the nth of them failing."""
        if nth > allocations:
            return {
                "result": make,
                "errors": [],
                "allocations": allocations,
                "injected": False,
                "leaked": 0,
                "leaked_at": [],
            }
        breaks = self._breaks(rule_id)
        errors = [] if breaks and rule_id == "ret.new.alloc-failure" else ["malloc failure"]
        return {
            "result": None,
            "errors": errors,
            "allocations": nth,
            "injected": True,
            "leaked": nth - 1 if breaks and rule_id == "ret.dup.alloc-failure" else 0,
            "leaked_at": [],
        }

    def ssl_new_failing(self, ctx: int, nth: int) -> AllocReport:
        made = None
        if nth > NEW_ALLOCATIONS:
            made = self.ssl_new(ctx)
            if made is not None:
                self.ssl_free(made)
                self.freed_queue.remove(made)  # freed inside the op: no event to report
        return self._failing(NEW_ALLOCATIONS, nth, made, "ret.new.alloc-failure")

    def ssl_dup_failing(self, ssl: int, nth: int) -> AllocReport:
        self._ssl(ssl)
        made = None
        if nth > DUP_ALLOCATIONS:
            made = self.ssl_dup(ssl)
            if made is not None:
                self.ssl_free(made)
                if made != ssl:
                    self.freed_queue.remove(made)
        return self._failing(DUP_ALLOCATIONS, nth, made, "ret.dup.alloc-failure")

    def ssl_get_ctx(self, ssl: int) -> int:
        return self._ssl(ssl).ctx.handle

    def ssl_set_ctx(self, ssl: int, ctx: int) -> int | None:
        """SSL_set_SSL_CTX: the SSL's context is now ctx; the page says nothing of its
        settings, so the SSL keeps its own (what SSL_new gave it stays given)."""
        s = self._ssl(ssl)
        if s.made_from is None:
            s.made_from = s.ctx
        s.ctx = self.ctxs[ctx]
        return ctx

    def ssl_clear(self, ssl: int) -> bool:
        """SSL_clear (SSL_clear(3)): the object is ready for a new connection, in its
        initial state again; its settings stay (the page's advice.ssl-clear), its session
        too: `resume` closes cleanly, and SSL_clear(3) keeps the session "if a session was
        closed cleanly"."""
        self._ssl(ssl).started = False
        return True

    def resume(self, ssl: int) -> bool:
        """A full handshake as a client with the harness's own server, which resumes the
        sessions it issued (session-a, session-b) and no other. The page promises nothing
        of resumption: the value is what the harness knows of its own server. Afterwards
        the object is not in its initial state (it closed cleanly: SSL_shutdown) and
        carries the session it had."""
        s = self._ssl(ssl)
        if s.method == "tls-server":
            raise Unobservable("a server-only method cannot connect: no handshake as a client")
        if s.started:
            raise Unobservable("the object has already started a handshake of its own")
        s.server = False
        s.started = True
        return s.settings.get("session") in ("session-a", "session-b")

    def start_handshake(self, ssl: int) -> bool:
        s = self._ssl(ssl)
        if s.ctx.method == "tls-server":
            return False  # a server-only method cannot connect: the state stays initial
        s.server = False
        s.started = True
        return True

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        entry = BY_NAME[setting]
        if setting == "accept-connect-state":
            self._ssl(obj).server = value == "accept"
            return
        target = self.ctxs[obj].settings if kind == "ctx" else self._ssl(obj).settings
        old = target.get(setting, copy.deepcopy(DEFAULTS.get(setting)))
        target[setting] = combine(entry, old, value)
        # One verification depth, reached by SSL_set_verify_depth and by the verification
        # parameters alike (the page's line names both).
        if setting == "verify-depth":
            param = target.get("verify-param", copy.deepcopy(DEFAULTS["verify-param"]))
            target["verify-param"] = combine(BY_NAME["verify-param"], param, {"depth": value})
        elif setting == "verify-param" and isinstance(value, dict) and "depth" in value:
            target["verify-depth"] = value["depth"]

    def set_via(self, kind: Kind, obj: int, setting: str, value: Json, form: str) -> None:
        entry = BY_NAME[setting]
        chosen = next((f for f in entry.forms if f.name == form), None)
        if chosen is None:
            raise KeyError(f"{setting} has no setter form {form!r}")
        if chosen.combine == "replace":
            self.set(kind, obj, setting, value)
            return
        target = self.ctxs[obj].settings if kind == "ctx" else self._ssl(obj).settings
        old = target.get(setting, copy.deepcopy(DEFAULTS.get(setting)))
        assert isinstance(old, list) and isinstance(value, list)
        target[setting] = old + value  # "append": one name after another, after those there

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        if setting == "method":
            return self.ctxs[obj].method if kind == "ctx" else self._ssl(obj).method
        if setting == "accept-connect-state":
            return "accept" if self._ssl(obj).server else "connect"
        source = self.ctxs[obj].settings if kind == "ctx" else self._ssl(obj).settings
        return copy.deepcopy(source.get(setting, DEFAULTS.get(setting)))

    def errors(self) -> list[str]:
        queued, self.error_queue = self.error_queue, []
        return queued

    def freed(self) -> list[int]:
        queued, self.freed_queue = self.freed_queue, []
        return queued


def load(lib_dir: str | None, options: dict[str, str]) -> ModelLibrary:
    return ModelLibrary(broken=options.get("broken"))
