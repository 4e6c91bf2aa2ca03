"""The OpenSSL ABI family over ctypes: what the page's operations do on a real libssl.

Capability detection, not version checks: what the loaded library exports decides how
each operation is done (a real function where there is one, the SSL_ctrl number its
macro expands to otherwise), and a missing function is `Absent`, never a guess.

Runs inside a worker process (conformance.worker); imports nothing that maps libcrypto.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Callable
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_char_p,
    c_int,
    c_long,
    c_size_t,
    c_uint64,
    c_ulong,
    c_void_p,
)
from typing import Any, ClassVar

from backends import helpers
from backends import threads as native_threads
from backends.bound import TABLES, Bound, Symbols, Tables
from backends.native import HANDSHAKE_FUNCTIONS, OBJECT_FEATURES, ObjectCalls
from backends.openssl.handshake import Handshakes
from conformance import binding
from conformance.library import Absent, AllocReport, Json, Kind, Unavailable, Unobservable

EX_FREE = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p, c_int, c_long, c_void_p)
# Families whose OpenSSL_version(0) begins with their name ("AWS-LC 5.1.0", "BoringSSL").
FORKS = ("BoringSSL", "AWS-LC")
# CRYPTO_set_mem_functions' hooks (1.1.0 to 4.0): file and line of the caller follow.
MALLOC_FN = CFUNCTYPE(c_void_p, c_size_t, c_void_p, c_int)
REALLOC_FN = CFUNCTYPE(c_void_p, c_void_p, c_size_t, c_void_p, c_int)
FREE_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_int)


def _site(file: int | None, line: int) -> str:
    """Where the library asked for memory (OPENSSL_FILE, OPENSSL_LINE)."""
    return f"{ctypes.string_at(file).decode(errors='replace') if file else '?'}:{line}"


class AllocHooks:
    """The library's allocator, routed through the C library's, with one allocation made
    to fail on demand and the allocations of one call followed until they are freed.

    Installed with CRYPTO_set_mem_functions, which only works before the library's first
    allocation: so in a fresh worker, right after libcrypto is mapped.
    """

    def __init__(self) -> None:
        libc = ctypes.CDLL(None)
        self._malloc = libc.malloc
        self._malloc.restype, self._malloc.argtypes = c_void_p, [c_size_t]
        self._realloc = libc.realloc
        self._realloc.restype, self._realloc.argtypes = c_void_p, [c_void_p, c_size_t]
        self._free = libc.free
        self._free.restype, self._free.argtypes = None, [c_void_p]
        self.counting = False  # inside the call: count, fail the nth, follow what is made
        self.fail_at = 0
        self.count = 0
        self.injected = False
        self.live: dict[int, str] = {}  # made during the call, not yet freed -> "file:line"
        self.functions = (MALLOC_FN(self.malloc), REALLOC_FN(self.realloc), FREE_FN(self.free))

    def _fails(self) -> bool:
        if not self.counting:
            return False
        self.count += 1
        if self.count == self.fail_at:
            self.injected = True
            return True
        return False

    def malloc(self, size: int, file: int | None, line: int) -> int | None:
        if self._fails():
            return None
        pointer: int | None = self._malloc(size)
        if pointer and self.counting:
            self.live[pointer] = _site(file, line)
        return pointer

    def realloc(self, old: int | None, size: int, file: int | None, line: int) -> int | None:
        if old and size == 0:
            self.free(old, file, line)
            return None
        if self._fails():
            return None
        pointer: int | None = self._realloc(old, size)
        if pointer and (old in self.live or (self.counting and not old)):
            site = self.live.pop(old or 0, None)
            self.live[pointer] = site or _site(file, line)
        return pointer

    def free(self, pointer: int | None, file: int | None, line: int) -> None:
        if pointer:
            self.live.pop(pointer, None)
            self._free(pointer)

    def arm(self, nth: int) -> None:
        self.count, self.fail_at, self.injected = 0, nth, False
        self.live.clear()
        self.counting = True

    def disarm(self) -> None:
        self.counting = False
        self.fail_at = 0

    def leaked_at(self) -> list[str]:
        """Where each allocation made while armed and not freed since was asked for."""
        return sorted(self.live.values())

    def forget(self) -> None:
        self.live.clear()


class NativeAllocHooks:
    """AllocHooks in C (backends/alloc.c): the same counting, failing and following,
    without a Python call for each of the library's allocations and frees."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self._lib = lib
        lib.sslconform_alloc_arm.argtypes = [c_int]
        lib.sslconform_alloc_state.argtypes = [POINTER(c_int)]
        lib.sslconform_alloc_live.argtypes = [POINTER(c_void_p), POINTER(c_int), c_int]
        lib.sslconform_alloc_live.restype = c_int
        self.functions = tuple(
            ctypes.cast(f, c_void_p)
            for f in (
                lib.sslconform_alloc_malloc,
                lib.sslconform_alloc_realloc,
                lib.sslconform_alloc_free,
            )
        )
        self.count = 0
        self.injected = False

    def arm(self, nth: int) -> None:
        self.count, self.injected = 0, False
        self._lib.sslconform_alloc_arm(nth)

    def disarm(self) -> None:
        self._lib.sslconform_alloc_disarm()
        state = (c_int * 3)()
        self._lib.sslconform_alloc_state(state)
        if state[2]:
            raise RuntimeError("the call made more allocations than the native hooks follow")
        self.count, self.injected = state[0], bool(state[1])

    def leaked_at(self) -> list[str]:
        room = 256
        while True:  # room for every one still followed, however many
            files, lines = (c_void_p * room)(), (c_int * room)()
            found = self._lib.sslconform_alloc_live(files, lines, room)
            if found < room:
                return sorted(_site(files[i], lines[i]) for i in range(found))
            room *= 4

    def forget(self) -> None:
        self._lib.sslconform_alloc_forget()


class OpenSSL(ObjectCalls):
    family = "OpenSSL"

    def __init__(
        self,
        ssl: ctypes.CDLL,
        crypto: ctypes.CDLL,
        path: str,
        hooks: AllocHooks | NativeAllocHooks | None = None,
        no_hooks: str = "the adapter was loaded without allocator hooks",
        tables: Tables = TABLES,
        binding_name: str | None = None,
    ) -> None:
        self.ssl = ssl
        self.crypto = crypto
        self.path = path
        self.hooks = hooks
        self.no_hooks = no_hooks  # why allocation failures cannot be injected
        self.freed_queue: list[int] = []
        self._peers: list[int] = []  # the other half of each BIO pair, kept alive
        self._free_index = -1
        self._data_index = -1
        raw = Symbols([ssl, crypto], binding.OPENSSL)
        # BoringSSL and its fork AWS-LC say so in their version strings; their headers'
        # flag values and integer widths differ from OpenSSL's, which nothing exported
        # could tell us. A column of another version of a family names its own entry
        # of the binding table (option binding, e.g. "BoringSSL 10").
        text = _version_text(raw)
        self.family = next((f for f in FORKS if text.startswith(f)), "OpenSSL")
        self.boringssl = self.family != "OpenSSL"  # BoringSSL's ways, AWS-LC's too
        table = tables.families[binding_name or self.family]
        if binding_name and table.name != self.family and table.revises != self.family:
            raise Unavailable(f"the library says {text!r}, not a version of {binding_name}")
        self.symbols = Symbols([ssl, crypto], table)
        self._ex_free = EX_FREE(self._on_free)
        # SSL_get_ex_new_index is a function in BoringSSL (whose CRYPTO_get_ex_new_index
        # is an internal one of another signature) and a macro over
        # CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, ...) in OpenSSL.
        self.ex_index_function = (
            "SSL_get_ex_new_index"
            if self._has("SSL_get_ex_new_index")
            else "CRYPTO_get_ex_new_index"
        )
        if self.ex_index_function == "SSL_get_ex_new_index":
            ssl_index = self._fn(
                "SSL_get_ex_new_index", c_int, c_long, c_void_p, c_void_p, c_void_p, EX_FREE
            )
            self._free_index = ssl_index(0, None, None, None, self._ex_free)
            self._data_index = ssl_index(0, None, None, None, EX_FREE())
        elif self._has("CRYPTO_get_ex_new_index"):
            new_index = self._fn(
                "CRYPTO_get_ex_new_index",
                c_int,
                c_int,
                c_long,
                c_void_p,
                c_void_p,
                c_void_p,
                EX_FREE,
            )
            index_ssl = self.symbols.family.constant("CRYPTO_EX_INDEX_SSL")
            self._free_index = new_index(index_ssl, 0, None, None, None, self._ex_free)
            self._data_index = new_index(index_ssl, 0, None, None, None, EX_FREE())
        self.handshakes = Handshakes(self.symbols, self.errors, self._stack)
        self.settings = Bound(
            self.symbols,
            self.errors,
            machinery=self.handshakes,
            start_handshake=self.start_handshake,
            start_missing=lambda: self.missing("handshake"),
            data_index=self._data_index,
            data_index_function=self.ex_index_function,
            tables=tables,
        )

    # --- symbols --------------------------------------------------------------------

    def _has(self, name: str) -> bool:
        return self.symbols.has(name)

    def _fn(self, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
        return self.symbols.fn(name, restype, *argtypes)

    def _stack(self, stack: int | None, of: str) -> list[int]:
        return self.settings.stack(stack, of)

    def _on_free(
        self,
        parent: int | None,
        ptr: int | None,
        ad: int | None,
        idx: int,
        argl: int,
        argp: int | None,
    ) -> None:
        if parent in self.handshakes.own:  # a peer of the machinery's own handshakes
            self.handshakes.own.discard(parent)
        elif parent:
            self.handshakes.forget(parent)
            self.freed_queue.append(parent)

    def _version_text(self) -> str:
        return _version_text(self.symbols)

    # --- Library ---------------------------------------------------------------------

    def version(self) -> str:
        text = self._version_text()
        if not text:
            raise Absent("OpenSSL_version")
        return text

    FEATURES: ClassVar[dict[str, tuple[str, ...]]] = {
        **OBJECT_FEATURES,
        "handshake": (*HANDSHAKE_FUNCTIONS, "SSL_in_before"),
        "free_events": ("CRYPTO_get_ex_new_index",),
        "errors": ("ERR_get_error", "ERR_error_string_n"),
        "threads": ("SSL_up_ref", "SSL_free"),
        "resume": binding.RESUME,
    }

    def _features(self, feature: str) -> tuple[str, ...]:
        if (
            feature == "handshake"
            and not self._has("SSL_in_before")
            and self._has("BIO_ctrl_pending")
        ):
            # BoringSSL has no SSL_in_before: the ClientHello waiting on the far end of
            # the BIO pair is what shows the handshake started.
            return (
                "BIO_new_bio_pair",
                "SSL_set_bio",
                "SSL_set_connect_state",
                "SSL_do_handshake",
                "BIO_ctrl_pending",
            )
        if feature == "free_events":
            return (self.ex_index_function,)
        return self.FEATURES.get(feature, (feature,))

    def missing(self, feature: str) -> list[str]:
        if ":" in feature:
            op, kind, setting = feature.split(":")
            return self.settings.missing(op, "ctx" if kind == "ctx" else "ssl", setting)
        if feature == "alloc_failures":
            lacking = [s for s in ("CRYPTO_set_mem_functions",) if not self._has(s)]
            return lacking or ([] if self.hooks else [self.no_hooks])
        else:
            symbols = self._features(feature)
        return [s for s in symbols if not self._has(s)]

    def ssl_new(self, ctx: int | None) -> int | None:
        result = super().ssl_new(ctx)
        if result and self.boringssl and self._free_index >= 0:
            # BoringSSL may skip the free callbacks of an object that has no ex_data at
            # all (ex_data.h), so every object gets a marker at the harness's index.
            self._fn("SSL_set_ex_data", c_int, c_void_p, c_int, c_void_p)(
                result, self._free_index, 1
            )
        return result

    def ssl_dup(self, ssl: int) -> int | None:
        result: int | None = self._fn("SSL_dup", c_void_p, c_void_p)(ssl)
        return result

    def ssl_up_ref(self, ssl: int) -> int:
        return int(self._fn("SSL_up_ref", c_int, c_void_p)(ssl))

    def ssl_get_ctx(self, ssl: int) -> int:
        return int(self._fn("SSL_get_SSL_CTX", c_void_p, c_void_p)(ssl) or 0)

    def ssl_set_ctx(self, ssl: int, ctx: int) -> int | None:
        result = self._fn("SSL_set_SSL_CTX", c_void_p, c_void_p, c_void_p)(ssl, ctx)
        return int(result) if result else None

    def ssl_clear(self, ssl: int) -> bool:
        self._fn("SSL_clear", c_int, c_void_p)(ssl)
        self.errors()  # a refusal queues its reason; the state shown is the observation
        return int(self._fn("SSL_in_before", c_int, c_void_p)(ssl)) == 1

    def resume(self, ssl: int) -> bool:
        return self.handshakes.resume(ssl)

    def threads_up_ref_free(self, ssl: int, threads: int, per_thread: int) -> int:
        up_ref = self._fn("SSL_up_ref", c_int, c_void_p)
        free = self._fn("SSL_free", None, c_void_p)
        return native_threads.up_ref_free(up_ref, free, ssl, threads, per_thread)

    def _failing(self, call: Callable[[], int | None], nth: int, keep: int | None) -> AllocReport:
        """Run `call` with allocation `nth` failing; free what it returns; count leaks.

        Free events of objects made and freed inside the call are dropped (the script
        never saw them); one for `keep` (SSL_dup's s) stays, for the rules to see.
        """
        if self.hooks is None:
            raise Absent(self.no_hooks)
        hooks = self.hooks
        free = self._fn("SSL_free", None, c_void_p)
        mark = len(self.freed_queue)
        # One call first, with nothing failing: what the call caches in objects that
        # outlive it (SSL_dup encodes s's CA names once, for good) is made then, so
        # that what stays live after the measured call is what it lost.
        warm = call()
        if warm:
            free(warm)
        self.errors()  # the queue holds the measured call's errors only
        hooks.arm(nth)
        try:
            result = call()
        finally:
            hooks.disarm()
        errors = self.errors()
        if result:
            free(result)
        # The thread's error state keeps the buffers of the errors it held; releasing it
        # frees them, so that only what the call itself kept counts as leaked.
        if self._has("OPENSSL_thread_stop"):
            self._fn("OPENSSL_thread_stop", None)()
        leaked = hooks.leaked_at()
        hooks.forget()
        self.freed_queue[mark:] = [h for h in self.freed_queue[mark:] if h == keep]
        return {
            "result": result,
            "errors": errors,
            "allocations": hooks.count,
            "injected": hooks.injected,
            "leaked": len(leaked),
            "leaked_at": leaked,
        }

    def ssl_new_failing(self, ctx: int, nth: int) -> AllocReport:
        new = self._fn("SSL_new", c_void_p, c_void_p)
        return self._failing(lambda: new(ctx), nth, None)

    def ssl_dup_failing(self, ssl: int, nth: int) -> AllocReport:
        dup = self._fn("SSL_dup", c_void_p, c_void_p)
        return self._failing(lambda: dup(ssl), nth, ssl)

    def start_handshake(self, ssl: int) -> bool:
        near, far = c_void_p(), c_void_p()
        new_pair = self._fn(
            "BIO_new_bio_pair", c_int, POINTER(c_void_p), c_size_t, POINTER(c_void_p), c_size_t
        )
        if not new_pair(ctypes.byref(near), 0, ctypes.byref(far), 0):
            raise Unobservable("BIO_new_bio_pair failed")
        self._peers.append(far.value or 0)
        self._fn("SSL_set_bio", None, c_void_p, c_void_p, c_void_p)(ssl, near, near)
        self._fn("SSL_set_connect_state", None, c_void_p)(ssl)
        self._fn("SSL_do_handshake", c_int, c_void_p)(ssl)
        self.errors()  # WANT_READ is expected; keep the queue clean for later ops
        if not self._has("SSL_in_before") and self._has("BIO_ctrl_pending"):
            return int(self._fn("BIO_ctrl_pending", c_size_t, c_void_p)(far)) > 0
        return int(self._fn("SSL_in_before", c_int, c_void_p)(ssl)) == 0

    def errors(self) -> list[str]:
        get = self._fn("ERR_get_error", c_ulong)
        text = self._fn("ERR_error_string_n", None, c_ulong, c_char_p, c_size_t)
        out = []
        while code := get():
            buf = ctypes.create_string_buffer(256)
            text(code, buf, 256)
            out.append(buf.value.decode(errors="replace"))
        return out

    def freed(self) -> list[int]:
        if self._free_index < 0:
            raise Absent(self.ex_index_function)
        queued, self.freed_queue = self.freed_queue, []
        return queued

    # --- settings: the binding table, through backends.bound ---------------------------

    @property
    def unobservable(self) -> dict[tuple[Kind, str], str]:
        """Getters the load-time round trip found not showing what was set, and why."""
        return self.settings.unobservable

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        self.settings.set(kind, obj, setting, value)

    def set_via(self, kind: Kind, obj: int, setting: str, value: Json, form: str) -> None:
        self.settings.set_via(kind, obj, setting, value, form)

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        return self.settings.get(kind, obj, setting)

    def probe_getters(self) -> None:
        """Round-trip each setting once on throwaway objects (Bound.round_trip).

        BoringSSL's SSL_get_read_ahead and SSL_CTX_get_read_ahead, for one, return 0
        whatever was set; such a getter is Unobservable rather than a wrong value.
        """
        ctx = self.ctx_new("tls")
        if not ctx:
            self.errors()
            return
        self.settings.round_trip(ctx, lambda: self.ssl_new(ctx), self.ssl_free)
        self.ctx_free(ctx)
        self.freed_queue.clear()
        self.settings.callbacks.heard.clear()
        self.errors()


def _version_text(symbols: Symbols) -> str:
    for name in ("OpenSSL_version", "SSLeay_version"):
        if symbols.has(name):
            raw = symbols.fn(name, c_char_p, c_int)(0)
            return bytes(raw).decode(errors="replace") if raw else "unknown"
    return ""


def _find(lib_dir: str, stem: str) -> str:
    """The newest-soname file for `stem` in lib_dir (libssl.so.3 over libssl.so)."""
    found = sorted(glob.glob(os.path.join(lib_dir, f"{stem}.so*")), key=len, reverse=True)
    if not found:
        raise Unavailable(f"no {stem}.so* in {lib_dir}")
    return found[0]


def _install_hooks(
    crypto: ctypes.CDLL, options: dict[str, str]
) -> tuple[AllocHooks | NativeAllocHooks | None, str]:
    """Route libcrypto's allocator through the allocation-failure hooks when option
    alloc_hooks=1 (backends/alloc.c, or AllocHooks in Python where it cannot be built);
    without the option, through the slack-filling one of the reproducers (_fill_slack).

    Off by default: the hooks cost every allocation something (in Python, an SSL_CTX_new,
    which makes some 460, took 1.5 ms more). The engine starts a second worker with the
    option for the rules that need it.

    Must run before libcrypto allocates anything. Then the library's exit-time cleanup
    is turned off: it would call Python hooks after the interpreter is gone.
    """
    if not hasattr(crypto, "CRYPTO_set_mem_functions"):
        return None, "the library lacks CRYPTO_set_mem_functions"
    if options.get("alloc_hooks", "0") != "1":
        _fill_slack(crypto)
        return None, "allocator hooks are off (load the adapter with option alloc_hooks=1)"
    native = helpers.helper(helpers.ALLOC)  # the same hooks in C, where they can be built
    hooks: AllocHooks | NativeAllocHooks = (
        AllocHooks() if native is None else NativeAllocHooks(native)
    )
    if not _set_mem_functions(crypto, hooks.functions):
        return None, "CRYPTO_set_mem_functions refused: the library had already allocated"
    if hasattr(crypto, "OPENSSL_init_crypto"):
        init = crypto.OPENSSL_init_crypto
        init.restype, init.argtypes = c_int, [c_uint64, c_void_p]
        init(binding.CONSTANTS["OPENSSL_INIT_NO_ATEXIT"], None)
    return hooks, ""


def _fill_slack(crypto: ctypes.CDLL) -> bool:
    """The library's allocator with each allocation's slack filled (helpers.SLACK): a string
    copied without its NUL then reads the same on every run. Without a compiler, or once
    the library has allocated, the C library's allocator stays."""
    slack = helpers.helper(helpers.SLACK)
    if slack is None:
        return False
    functions = (slack.slack_malloc, slack.slack_realloc, slack.slack_free)
    return _set_mem_functions(crypto, tuple(ctypes.cast(f, c_void_p) for f in functions))


def _set_mem_functions(crypto: ctypes.CDLL, functions: tuple[Any, ...]) -> bool:
    """CRYPTO_set_mem_functions(malloc, realloc, free): C functions' addresses, or the
    CFUNCTYPE callbacks of AllocHooks. False once the library has allocated."""
    install = crypto.CRYPTO_set_mem_functions
    install.restype = c_int
    install.argtypes = [type(f) for f in functions]
    return bool(install(*functions))


def load(lib_dir: str | None, options: dict[str, str], tables: Tables = TABLES) -> OpenSSL:
    """Load libcrypto then libssl from lib_dir (or the system's), by path, nothing else."""
    try:
        if lib_dir:
            crypto_path, ssl_path = _find(lib_dir, "libcrypto"), _find(lib_dir, "libssl")
        else:
            crypto_path, ssl_path = "libcrypto.so.3", "libssl.so.3"
        crypto = ctypes.CDLL(crypto_path, mode=ctypes.RTLD_GLOBAL)
        hooks, no_hooks = _install_hooks(crypto, options)
        ssl = ctypes.CDLL(ssl_path)
    except OSError as exc:
        raise Unavailable(f"cannot load libssl: {exc}") from None
    library = OpenSSL(ssl, crypto, ssl_path, hooks, no_hooks, tables, options.get("binding"))
    if library._has("OPENSSL_init_ssl"):
        library._fn("OPENSSL_init_ssl", c_int, c_uint64, c_void_p)(0, None)
    library.probe_getters()
    return library
