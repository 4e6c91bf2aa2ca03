"""GnuTLS's OpenSSL compatibility layer (libgnutls-openssl.so.27) over ctypes.

The layer is a small OpenSSL 0.9.6-era API (its header says OPENSSL_VERSION_NUMBER
0x0090604F) over a GnuTLS session: it exports SSL_new, SSL_free, SSL_CTX_new/free,
a few setters (SSL_CTX_set_options, SSL_CTX_set_mode, SSL_CTX_set_cipher_list,
SSL_{,CTX_}set_verify, SSL_set_connect_state) and no getter of any setting. Its names
are OpenSSL's; the binding table's GnuTLS family (conformance.tables.families["GnuTLS"]) lists
them, with the few constants of gnutls/openssl.h of GnuTLS 3.7.9 (libgnutls28-dev), and
what the layer lacks is `Absent`. Settings go through the table's interpreter
(backends.bound).

Runs inside a worker process; imports only ctypes and the harness's data modules.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from ctypes import CFUNCTYPE, c_char_p, c_int, c_size_t, c_ulong, c_void_p
from typing import Any

from backends.bound import TABLES, Bound, Symbols, Tables
from backends.native import HANDSHAKE_FUNCTIONS, METHOD_FUNCTIONS, OBJECT_FEATURES, ObjectCalls
from conformance.library import Absent, Json, Kind, Unavailable, Unobservable

SONAME = "libgnutls-openssl.so.27"
GNUTLS_SONAME = "libgnutls.so.30"  # what the layer runs on; it has the version
# gnutls_global_set_mem_functions' callbacks (gnutls/gnutls.h).
ALLOC_FN = CFUNCTYPE(c_void_p, c_size_t)
IS_SECURE_FN = CFUNCTYPE(c_int, c_void_p)
REALLOC_FN = CFUNCTYPE(c_void_p, c_void_p, c_size_t)
FREE_FN = CFUNCTYPE(None, c_void_p)

FEATURES: dict[str, tuple[str, ...]] = {
    **OBJECT_FEATURES,
    "handshake": (*HANDSHAKE_FUNCTIONS, "SSL_in_before"),
    "free_events": ("CRYPTO_get_ex_new_index", "SSL_set_ex_data"),
    "errors": ("ERR_get_error", "ERR_error_string"),
}


class GnuTLSCompat(ObjectCalls):
    family = "GnuTLS"

    def __init__(
        self,
        lib: ctypes.CDLL,
        gnutls: ctypes.CDLL | None,
        path: str,
        tables: Tables = TABLES,
    ) -> None:
        self.path = path
        self.gnutls = gnutls
        self.symbols = Symbols([lib], tables.families["GnuTLS"])
        # No handshake over memory BIOs and no getter of any setting: what the layer
        # lacks is named by the binding table's calls.
        self.settings = Bound(self.symbols, self.errors, tables=tables)
        # Why allocation failures cannot be injected; None: they could be, and the
        # adapter does not do it (the engine then says so).
        self.no_alloc_hooks: str | None = "allocator hooks are off (option alloc_hooks=1)"

    def probe_allocator(self) -> None:
        """Does gnutls_global_set_mem_functions route the layer's allocations? Watch.

        The hooks count the calls of SSL_CTX_new, SSL_new and their frees. GnuTLS made
        the function a no-op in 3.3.0 (3.7.9's only logs that a deprecated function was
        called), and then nothing is counted: allocation failures cannot be injected.
        """
        if self.gnutls is None or not hasattr(self.gnutls, "gnutls_global_set_mem_functions"):
            self.no_alloc_hooks = "the library lacks gnutls_global_set_mem_functions"
            return
        libc = ctypes.CDLL(None)
        libc.malloc.restype, libc.malloc.argtypes = c_void_p, (c_size_t,)
        libc.realloc.restype, libc.realloc.argtypes = c_void_p, (c_void_p, c_size_t)
        libc.free.restype, libc.free.argtypes = None, (c_void_p,)
        calls = [0]

        def counted(func: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any) -> Any:
                calls[0] += 1
                return func(*args)

            return call

        self._mem_hooks = (
            ALLOC_FN(counted(libc.malloc)),
            ALLOC_FN(counted(libc.malloc)),
            IS_SECURE_FN(lambda _pointer: 0),
            REALLOC_FN(counted(libc.realloc)),
            FREE_FN(counted(libc.free)),
        )
        install = self.gnutls.gnutls_global_set_mem_functions
        install.restype, install.argtypes = (
            None,
            (ALLOC_FN, ALLOC_FN, IS_SECURE_FN, REALLOC_FN, FREE_FN),
        )
        install(*self._mem_hooks)
        ctx = super().ctx_new("tls-client")
        ssl = self.ssl_new(ctx) if ctx else None
        if ssl:
            self.ssl_free(ssl)
        if ctx:
            self.ctx_free(ctx)
        self.errors()
        if calls[0] == 0:
            self.no_alloc_hooks = (
                "gnutls_global_set_mem_functions routes no allocation through the given "
                "functions (none of SSL_CTX_new, SSL_new and their frees reached them: a "
                "no-op since GnuTLS 3.3.0), so allocation failures cannot be injected"
            )
        else:
            self.no_alloc_hooks = None

    def _fn(self, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
        return self.symbols.fn(name, restype, *argtypes)

    def version(self) -> str:
        if self.gnutls is None:
            raise Unobservable(f"{GNUTLS_SONAME} (which has gnutls_check_version) is not loaded")
        check = self.gnutls.gnutls_check_version
        check.restype = c_char_p
        check.argtypes = (c_char_p,)
        text = check(None)
        number = bytes(text).decode(errors="replace") if text else "unknown"
        return f"GnuTLS {number} (OpenSSL compatibility layer)"

    def missing(self, feature: str) -> list[str]:
        if feature == "alloc_failures":
            if self.no_alloc_hooks is None:
                raise NotImplementedError("the hooks are called; failing them is not done")
            return [self.no_alloc_hooks]
        if feature == "ctx_new":
            # Contexts can be made, with a client or a server method; a script asking
            # for TLS_method (which the layer lacks) is set aside in ctx_new instead.
            methods = ("TLS_method", "TLS_client_method", "TLS_server_method")
            if any(self.symbols.has(m) for m in methods):
                return self.symbols.lacking(("SSL_CTX_new",))
        if feature.startswith(("set:", "get:")):
            op, kind, setting = feature.split(":")
            return self.settings.missing(op, "ctx" if kind == "ctx" else "ssl", setting)
        if feature in FEATURES:
            names = FEATURES[feature]
        elif feature == "resume":
            # Every rule whose scripts resume a session compares SSL_dup's result, which
            # the layer lacks, as it lacks handshakes over memory BIOs.
            raise NotImplementedError("the GnuTLS layer's adapter does not resume sessions")
        else:
            raise NotImplementedError(f"unknown feature {feature!r}")
        return self.symbols.lacking(names)

    def ctx_new(self, method: str) -> int | None:
        function = METHOD_FUNCTIONS[method]
        if not self.symbols.has(function):
            raise Unobservable(f"the layer has no {function} (nor SSLv23_method)")
        return super().ctx_new(method)

    def ssl_dup(self, ssl: int) -> int | None:
        raise Absent("SSL_dup")

    def ssl_up_ref(self, ssl: int) -> int:
        raise Absent("SSL_up_ref")

    def ssl_get_ctx(self, ssl: int) -> int:
        raise Absent("SSL_get_SSL_CTX")

    def start_handshake(self, ssl: int) -> bool:
        lacking = self.missing("handshake")
        raise Absent(*lacking)

    def errors(self) -> list[str]:
        get = self._fn("ERR_get_error", c_ulong)
        text = self._fn("ERR_error_string", c_char_p, c_ulong, c_char_p)
        out = []
        while code := get():
            buf = ctypes.create_string_buffer(256)
            shown = text(code, buf)
            out.append(bytes(shown).decode(errors="replace") if shown else f"error {code:#x}")
        return out

    def freed(self) -> list[int]:
        raise Absent("CRYPTO_get_ex_new_index")

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        self.settings.set(kind, obj, setting, value)

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        return self.settings.get(kind, obj, setting)


def load(lib_dir: str | None, options: dict[str, str]) -> GnuTLSCompat:
    """Load the layer (and see its libgnutls), then SSL_library_init as the layer asks."""
    path = os.path.join(lib_dir, SONAME) if lib_dir else SONAME
    try:
        lib = ctypes.CDLL(path)
    except OSError as err:
        raise Unavailable(f"cannot load {SONAME}: {err}") from None
    try:
        # Already mapped as the layer's dependency: this only gives a handle on it.
        gnutls: ctypes.CDLL | None = ctypes.CDLL(GNUTLS_SONAME)
    except OSError:
        gnutls = None
    init = lib.SSL_library_init
    init.restype = c_int
    init.argtypes = ()
    if init() != 1:
        raise Unavailable("SSL_library_init of the GnuTLS layer failed")
    library = GnuTLSCompat(lib, gnutls, path)
    if options.get("alloc_hooks", "0") == "1":
        library.probe_allocator()
    return library
