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
from ctypes import c_char_p, c_int, c_ulong
from typing import Any

from backends.bound import TABLES, Bound, Symbols, Tables
from backends.native import HANDSHAKE_FUNCTIONS, METHOD_FUNCTIONS, OBJECT_FEATURES, ObjectCalls
from conformance.library import Absent, Json, Kind, Unavailable, Unobservable

SONAME = "libgnutls-openssl.so.27"
GNUTLS_SONAME = "libgnutls.so.30"  # what the layer runs on; it has the version

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
    return GnuTLSCompat(lib, gnutls, path)
