"""GnuTLS's OpenSSL compatibility layer (libgnutls-openssl.so.27) over ctypes.

The layer is a small OpenSSL 0.9.6-era API (its header says OPENSSL_VERSION_NUMBER
0x0090604F) over a GnuTLS session: it exports SSL_new, SSL_free, SSL_CTX_new/free,
a few setters (SSL_CTX_set_options, SSL_CTX_set_mode, SSL_CTX_set_cipher_list,
SSL_{,CTX_}set_verify, SSL_set_connect_state) and no getter of any setting. Its names
are OpenSSL's, so FUNCTIONS maps most of them to themselves; what the layer lacks is
`Absent`. Constants come from gnutls/openssl.h of GnuTLS 3.7.9 (libgnutls28-dev).

Runs inside a worker process; imports only ctypes and the harness's data modules.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from ctypes import c_char_p, c_int, c_long, c_ulong, c_void_p
from typing import Any

from backends.native import (
    HANDSHAKE_FUNCTIONS,
    METHOD_FUNCTIONS,
    MODE_C_NAMES,
    OBJECT_FEATURES,
    OPTION_C_NAMES,
    ObjectCalls,
    SymbolTable,
    names_to_bits,
)
from conformance.library import Absent, Json, Kind, Unavailable, Unobservable

SONAME = "libgnutls-openssl.so.27"
GNUTLS_SONAME = "libgnutls.so.30"  # what the layer runs on; it has the version

# OpenSSL's name -> the layer's symbol; None: gnutls/openssl.h has no such function.
_EXPORTED = (
    "SSL_CTX_new",
    "SSL_CTX_free",
    "SSL_new",
    "SSL_free",
    "SSL_set_connect_state",
    "SSL_set_verify",
    "SSL_CTX_set_verify",
    "SSL_CTX_set_options",
    "SSL_CTX_set_mode",
    "SSL_CTX_set_cipher_list",
    "SSL_set_bio",
    "ERR_get_error",
    "ERR_error_string",
)
_LACKING = (
    "TLS_method",  # no SSLv23_method either: only client and server methods
    "SSL_dup",
    "SSL_up_ref",
    "SSL_get_SSL_CTX",
    "BIO_new_bio_pair",
    "SSL_do_handshake",
    "SSL_in_before",
    "CRYPTO_get_ex_new_index",
    "SSL_set_ex_data",
    "SSL_get_ex_data",
    "SSL_set_accept_state",
    "SSL_is_server",
    "SSL_ctrl",
    "SSL_CTX_ctrl",
)
FUNCTIONS: dict[str, str | None] = {
    **{name: name for name in _EXPORTED},
    **dict.fromkeys(_LACKING),
    # OpenSSL 1.1.0 made SSLv23_*_method the old names of TLS_*_method: same method.
    "TLS_client_method": "SSLv23_client_method",
    "TLS_server_method": "SSLv23_server_method",
}

# gnutls/openssl.h defines only these; every other option or mode is absent by name.
OPTION_BITS: dict[str, int | None] = {"no-tlsv1": 0x0400000}  # OpenSSL: 0x04000000
MODE_BITS: dict[str, int | None] = {
    "enable-partial-write": 0x1,
    "accept-moving-write-buffer": 0x2,
    "auto-retry": 0x4,
}

FEATURES: dict[str, tuple[str, ...]] = {
    **OBJECT_FEATURES,
    "handshake": (*HANDSHAKE_FUNCTIONS, "SSL_in_before"),
    "free_events": ("CRYPTO_get_ex_new_index", "SSL_set_ex_data"),
    "errors": ("ERR_get_error", "ERR_error_string"),
}


def _setting_functions(op: str, kind: Kind, setting: str) -> tuple[str, ...]:
    """OpenSSL's names of what setting or reading `setting` on a `kind` object needs.

    The layer has no getter for any setting, so every read names its getter; the
    setters it has are listed as they are in OpenSSL.
    """
    p = "SSL_CTX_" if kind == "ctx" else "SSL_"
    table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        "method": ((), (f"{p}get_ssl_method",)),
        "options": ((f"{p}set_options",), (f"{p}get_options",)),
        "mode": ((f"{p}set_mode",), (f"{p}get_mode",)),
        "min-proto-version": ((f"{p}set_min_proto_version",), (f"{p}get_min_proto_version",)),
        "max-proto-version": ((f"{p}set_max_proto_version",), (f"{p}get_max_proto_version",)),
        # Setting the mode keeps the current callback (and the other way round): that
        # needs the getter of the other half, which the layer lacks.
        "verify-mode": ((f"{p}set_verify", f"{p}get_verify_callback"), (f"{p}get_verify_mode",)),
        "verify-callback": (
            (f"{p}set_verify", f"{p}get_verify_mode"),
            (f"{p}get_verify_callback",),
        ),
        "verify-depth": ((f"{p}set_verify_depth",), (f"{p}get_verify_depth",)),
        "verify-param": ((f"{p}get0_param",), (f"{p}get0_param",)),
        "msg-callback": ((f"{p}set_msg_callback",), ("SSL_set_msg_callback",)),
        "info-callback": ((f"{p}set_info_callback",), (f"{p}get_info_callback",)),
        "default-passwd-cb": ((f"{p}set_default_passwd_cb",), (f"{p}get_default_passwd_cb",)),
        "default-passwd-cb-userdata": (
            (f"{p}set_default_passwd_cb_userdata",),
            (f"{p}get_default_passwd_cb_userdata",),
        ),
        "cipher-list": ((f"{p}set_cipher_list",), (f"{p}get_ciphers",)),
        "accept-connect-state": (
            ("SSL_set_accept_state", "SSL_set_connect_state"),
            ("SSL_is_server",),
        ),
        "max-cert-list": ((f"{p}set_max_cert_list",), (f"{p}get_max_cert_list",)),
        "read-ahead": ((f"{p}set_read_ahead",), (f"{p}get_read_ahead",)),
        "ex-data": (("SSL_set_ex_data",), ("SSL_get_ex_data",)),
        "ca-list": ((f"{p}set0_CA_list",), (f"{p}get0_CA_list",)),
        "client-ca-list": ((f"{p}set_client_CA_list",), (f"{p}get_client_CA_list",)),
        "security-level": ((f"{p}set_security_level",), (f"{p}get_security_level",)),
        "security-callback": ((f"{p}set_security_callback",), (f"{p}get_security_callback",)),
        # Settings a handshake shows: the layer has none of their setters (and no
        # handshake over memory BIOs), so naming the setter says enough.
        "timeout": (("SSL_CTX_set_timeout",), ("SSL_SESSION_get_timeout",)),
        "session": (("SSL_set_session",), ("SSL_get_session",)),
        "session-id-context": ((f"{p}set_session_id_context",), ("SSL_do_handshake",)),
        "tmp-dh": ((f"{p}set_tmp_dh",), ("SSL_do_handshake",)),
        "tmp-dh-callback": ((f"{p}set_tmp_dh_callback",), ("SSL_do_handshake",)),
        "dh-auto": ((f"{p}ctrl",), ("SSL_do_handshake",)),
        "certificate": ((f"{p}use_certificate",), (f"{p}get_certificate",)),
        "private-key": ((f"{p}use_PrivateKey",), (f"{p}get_privatekey",)),
        "chain": ((f"{p}ctrl",), (f"{p}ctrl",)),
        "sigalgs": ((f"{p}ctrl",), ("SSL_do_handshake",)),
        "client-sigalgs": ((f"{p}ctrl",), ("SSL_do_handshake",)),
        "dane": (("SSL_dane_enable", "SSL_dane_tlsa_add"), ("SSL_do_handshake",)),
        "generate-session-id": ((f"{p}set_generate_session_id",), ("SSL_do_handshake",)),
        "serverinfo": ((f"{p}use_serverinfo_ex",), ("SSL_do_handshake",)),
        "psk-identity-hint": ((f"{p}use_psk_identity_hint",), ("SSL_do_handshake",)),
        "custom-extensions": (("SSL_CTX_add_custom_ext",), ("SSL_do_handshake",)),
        "client-cert-types": ((f"{p}set1_client_certificate_types",), ("SSL_do_handshake",)),
    }
    if setting not in table:
        raise NotImplementedError(f"the GnuTLS adapter does not handle setting {setting!r}")
    setters, getters = table[setting]
    return setters if op == "set" else getters


class GnuTLSCompat(ObjectCalls):
    family = "GnuTLS"

    def __init__(self, lib: ctypes.CDLL, gnutls: ctypes.CDLL | None, path: str) -> None:
        self.path = path
        self.gnutls = gnutls
        self.symbols = SymbolTable([lib], FUNCTIONS)

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
            names = _setting_functions(op, "ctx" if kind == "ctx" else "ssl", setting)
        elif feature in FEATURES:
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
        lacking = self.missing(f"set:{kind}:{setting}")
        if lacking:
            raise Absent(*lacking)
        if setting == "options":
            bits = names_to_bits(value, OPTION_BITS, OPTION_C_NAMES)
            self._fn("SSL_CTX_set_options", c_ulong, c_void_p, c_ulong)(obj, bits)
        elif setting == "mode":
            bits = names_to_bits(value, MODE_BITS, MODE_C_NAMES)
            self._fn("SSL_CTX_set_mode", c_long, c_void_p, c_long)(obj, bits)
        elif setting == "cipher-list":
            text = ":".join(str(v) for v in value or []).encode()
            if not self._fn("SSL_CTX_set_cipher_list", c_int, c_void_p, c_char_p)(obj, text):
                raise Unobservable(f"the layer refused the cipher list {text.decode()!r}")
        else:
            raise NotImplementedError(f"setting {setting!r} has setters this adapter lacks")

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        lacking = self.missing(f"get:{kind}:{setting}")
        # The layer has no getter at all, so this always names the missing getter.
        raise Absent(*(lacking or [f"a getter of {setting}"]))


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
