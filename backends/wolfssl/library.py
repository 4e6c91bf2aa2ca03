"""wolfSSL's OpenSSL compatibility layer over ctypes (libwolfssl.so.35, wolfSSL 5.5).

wolfSSL exports its own names (wolfSSL_new, wolfSSLv23_method, ...); its headers
map OpenSSL's names onto them, partly through macros over wolfSSL_ctrl whose numbers
are wolfSSL's own. The binding table's wolfSSL family (conformance.tables.families["wolfSSL"])
is that mapping, taken from wolfssl/openssl/ssl.h and wolfssl/ssl.h of Debian's
libwolfssl-dev 5.5.4 (bookworm), with wolfSSL's flag values; an OpenSSL name it maps
to None has no counterpart in those headers, and operations that need it are `Absent`.
Settings are set and read by the table's interpreter (backends.bound).

Getters that exist but do not show what their setter stored are found by a round trip
on a throwaway object when the library is loaded, and reported as `Unobservable` with
what was seen; nothing is assumed from the version.

Runs inside a worker process; imports only ctypes and the harness's data modules.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from ctypes import CFUNCTYPE, POINTER, c_char_p, c_int, c_long, c_size_t, c_ulong, c_void_p
from typing import Any

from backends.bound import TABLES, Bound, Symbols, Tables
from backends.native import HANDSHAKE_FUNCTIONS, OBJECT_FEATURES, ObjectCalls
from backends.wolfssl.alloc import WolfAllocHooks
from backends.wolfssl.alloc import install as install_hooks
from backends.wolfssl.handshake import WolfHandshakes
from conformance.library import Absent, AllocReport, Json, Kind, Unavailable, Unobservable

SONAME = "libwolfssl.so.35"  # 5.5; the newer columns name theirs (option soname)

EX_FREE = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p, c_int, c_long, c_void_p)

FEATURES: dict[str, tuple[str, ...]] = {
    **OBJECT_FEATURES,
    # SSL_in_before is missing; the ClientHello waiting on the far side of the pair is
    # what shows that the handshake started (see start_handshake).
    "handshake": (*HANDSHAKE_FUNCTIONS, "BIO_ctrl_pending"),
    "free_events": ("CRYPTO_get_ex_new_index", "SSL_set_ex_data"),
    "errors": ("ERR_get_error", "ERR_error_string_n"),
}


# Every rule whose scripts resume a session compares SSL_dup's result, which wolfSSL
# lacks: no script that resumes could be judged here.
NO_RESUME = "the wolfSSL adapter does not resume sessions (every rule that does needs SSL_dup)"


class WolfSSL(ObjectCalls):
    family = "wolfSSL"

    def __init__(
        self,
        lib: ctypes.CDLL,
        path: str,
        tables: Tables = TABLES,
        binding_name: str = "wolfSSL",
        hooks: WolfAllocHooks | None = None,
        no_hooks: str = "the adapter was loaded without allocator hooks",
    ) -> None:
        self.path = path
        self.hooks = hooks
        self.no_hooks = no_hooks  # why allocation failures cannot be injected
        # The binding table's entry for this version (5.7 and 5.9 revise 5.5's).
        self.symbols = Symbols([lib], tables.families[binding_name])
        self.freed_queue: list[int] = []
        self._peers: dict[int, int] = {}  # ssl -> far end of its BIO pair
        self._free_callback = EX_FREE(self._on_free)
        self._free_index = -1
        self._data_index = -1
        if self.symbols.has("CRYPTO_get_ex_new_index"):
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
            self._free_index = new_index(index_ssl, 0, None, None, None, self._free_callback)
            self._data_index = new_index(index_ssl, 0, None, None, None, EX_FREE())
        # Settings only a full handshake shows: the OpenSSL family's machinery, over
        # wolfSSL's compatibility calls (backends.wolfssl.handshake).
        self.handshakes = WolfHandshakes(
            self.symbols, self.errors, self._stack, lambda ssl: ssl in self._peers
        )
        self.settings = Bound(
            self.symbols,
            self.errors,
            machinery=self.handshakes,
            start_handshake=self.start_handshake,
            start_missing=lambda: self.missing("handshake"),
            data_index=self._data_index,
            tables=tables,
        )
        self.free_unobservable: str | None = None
        self._probe()

    # --- helpers ----------------------------------------------------------------------

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
            self.freed_queue.append(parent)

    def _probe(self) -> None:
        """Round-trip each setting on throwaway objects; record the getters that lie."""
        ctx = self.ctx_new("tls")
        if not ctx:
            raise Unavailable("wolfSSL_CTX_new(wolfSSLv23_method()) returned NULL")
        self.settings.round_trip(ctx, lambda: self.ssl_new(ctx), self.ssl_free)
        # Does wolfSSL_free run the ex_data free callback? Watch one object go.
        ssl = self.ssl_new(ctx)
        if ssl and self._free_index >= 0:
            self._fn("SSL_set_ex_data", c_int, c_void_p, c_int, c_void_p)(ssl, self._free_index, 1)
            self.freed_queue.clear()
            self.ssl_free(ssl)
            if ssl not in self.freed_queue:
                self.free_unobservable = (
                    "wolfSSL_free did not call the ex_data free callback of "
                    "wolfSSL_CRYPTO_get_ex_new_index when freeing an object that had data "
                    "at that index"
                )
        self.freed_queue.clear()
        self.ctx_free(ctx)
        self.errors()

    # --- Library ----------------------------------------------------------------------

    def version(self) -> str:
        # wolfSSL_lib_version() gives the bare number ("5.5.4"); the family name is ours.
        func = self.symbols.raw("wolfSSL_lib_version", c_char_p, ())
        text = func()
        return f"wolfSSL {bytes(text).decode(errors='replace')}" if text else "wolfSSL unknown"

    def missing(self, feature: str) -> list[str]:
        if feature == "free_events" and self.free_unobservable:
            # The functions are there, but wolfSSL_free does not call the callback.
            return ["an ex_data free callback that wolfSSL_free calls"]
        if feature.startswith(("set:", "get:")):
            op, kind, setting = feature.split(":")
            return self.settings.missing(op, "ctx" if kind == "ctx" else "ssl", setting)
        if feature == "alloc_failures":
            return [] if self.hooks else [self.no_hooks]
        if feature in FEATURES:
            return self.symbols.lacking(FEATURES[feature])
        if feature == "resume":
            raise NotImplementedError(NO_RESUME)
        raise NotImplementedError(f"unknown feature {feature!r}")

    def ssl_new_failing(self, ctx: int, nth: int) -> AllocReport:
        """wolfSSL_new(ctx) with its nth allocation failing; what it left allocated.

        As the OpenSSL adapter does: one call first with nothing failing (what it caches
        for good is made then), then the measured call, its result freed, and what the
        call allocated and did not free counted as leaked.
        """
        if self.hooks is None:
            raise Absent(self.no_hooks)
        hooks = self.hooks
        new = self._fn("SSL_new", c_void_p, c_void_p)
        free = self._fn("SSL_free", None, c_void_p)
        mark = len(self.freed_queue)
        warm = new(ctx)
        if warm:
            free(warm)
        self.errors()
        hooks.arm(nth)
        try:
            result = new(ctx)
        finally:
            hooks.disarm()
        errors = self.errors()
        if result:
            free(result)
        leaked = hooks.leaked_at()
        hooks.forget()
        del self.freed_queue[mark:]  # objects made and freed inside: the script never saw them
        return {
            "result": result,
            "errors": errors,
            "allocations": hooks.count,
            "injected": hooks.injected,
            "leaked": len(leaked),
            "leaked_at": leaked,
        }

    def ssl_dup_failing(self, ssl: int, nth: int) -> AllocReport:
        raise Absent("SSL_dup")

    def ssl_dup(self, ssl: int) -> int | None:
        raise Absent("SSL_dup")

    def ssl_up_ref(self, ssl: int) -> int:
        raise Absent("SSL_up_ref")

    def ssl_free(self, ssl: int) -> None:
        super().ssl_free(ssl)
        self._peers.pop(ssl, None)
        # wolfSSL_free may not call the ex_data free callback (see _probe): the record of
        # the object's handshake goes with the call, lest a new object at the same
        # address inherit it. (The reference count of a wolfSSL object is always 1.)
        self.handshakes.forget(ssl)

    def ssl_get_ctx(self, ssl: int) -> int:
        return int(self._fn("SSL_get_SSL_CTX", c_void_p, c_void_p)(ssl) or 0)

    def start_handshake(self, ssl: int) -> bool:
        """Connect over a BIO pair; started when a ClientHello waits on the far side.

        wolfSSL has no SSL_in_before, and its SSL_get_state (wolfSSL_get_state) stays at
        TLS_ST_BEFORE (0) after the ClientHello went out, so neither can show the object
        left its initial state; the bytes it wrote can.
        """
        near, far = c_void_p(), c_void_p()
        new_pair = self._fn(
            "BIO_new_bio_pair", c_int, POINTER(c_void_p), c_size_t, POINTER(c_void_p), c_size_t
        )
        if not new_pair(ctypes.byref(near), 0, ctypes.byref(far), 0):
            raise Unobservable("wolfSSL_BIO_new_bio_pair failed")
        self._peers[ssl] = far.value or 0
        self._fn("SSL_set_bio", None, c_void_p, c_void_p, c_void_p)(ssl, near, near)
        self._fn("SSL_set_connect_state", None, c_void_p)(ssl)
        self._fn("SSL_do_handshake", c_int, c_void_p)(ssl)
        self.errors()  # WANT_READ is expected; keep the queue clean for later operations
        pending = int(self._fn("BIO_ctrl_pending", c_size_t, c_void_p)(far))
        return pending > 0

    def errors(self) -> list[str]:
        get = self._fn("ERR_get_error", c_ulong)
        text = self._fn("ERR_error_string_n", None, c_ulong, c_char_p, c_ulong)
        out = []
        while code := get():
            buf = ctypes.create_string_buffer(256)
            text(code, buf, 256)
            out.append(buf.value.decode(errors="replace"))
        return out

    def freed(self) -> list[int]:
        if self._free_index < 0:
            raise Absent("CRYPTO_get_ex_new_index")
        if self.free_unobservable:
            raise Unobservable(self.free_unobservable)
        queued, self.freed_queue = self.freed_queue, []
        return queued

    # --- settings: the binding table, through backends.bound -------------------------

    @property
    def unobservable(self) -> dict[tuple[Kind, str], str]:
        """Getters the load-time round trip found not showing what was set, and why."""
        return self.settings.unobservable

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        self.settings.set(kind, obj, setting, value)

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        return self.settings.get(kind, obj, setting)


def load(lib_dir: str | None, options: dict[str, str]) -> WolfSSL:
    """Load the column's libwolfssl (option soname, default libwolfssl.so.35) from lib_dir
    (or the loader's path) and wolfSSL_Init it."""
    soname = options.get("soname", SONAME)
    path = os.path.join(lib_dir, soname) if lib_dir else soname
    try:
        lib = ctypes.CDLL(path)
    except OSError as err:
        raise Unavailable(f"cannot load {soname}: {err}") from None
    init = lib.wolfSSL_Init
    init.restype = c_int
    init.argtypes = ()
    # The allocator first: what wolfSSL_Init allocates goes through it too.
    hooks, no_hooks = install_hooks(lib, options)
    # wolfSSL_Init must precede every other call; it returns WOLFSSL_SUCCESS (1).
    if init() != 1:
        raise Unavailable("wolfSSL_Init failed")
    return WolfSSL(
        lib, path, binding_name=options.get("binding", "wolfSSL"), hooks=hooks, no_hooks=no_hooks
    )
