"""Shared pieces of the ctypes adapters whose libraries rename OpenSSL's API.

wolfSSL and GnuTLS's compatibility layer offer OpenSSL's functions under names of
their own (often through header macros that ctypes cannot see). An adapter states,
for each OpenSSL name the page's operations need, which exported symbol implements
it, or None when the library's headers offer no such function. What is asked of the
adapter is then phrased in OpenSSL's names, so `missing()` and `Absent` read the same
for every column.

This is a plain module (not a backend folder): the registry skips it. It imports
only ctypes, so the worker process maps no libcrypto because of it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from conformance.library import Absent, Json, Kind, Unobservable

# The page's object operations, by the OpenSSL functions they need (names as in ssl.h).
# Every adapter of an OpenSSL-like API starts from these and adds what differs.
OBJECT_FEATURES: dict[str, tuple[str, ...]] = {
    "ctx_new": ("SSL_CTX_new", "TLS_method", "TLS_client_method", "TLS_server_method"),
    "ssl_new": ("SSL_new",),
    "ssl_dup": ("SSL_dup",),
    "ssl_up_ref": ("SSL_up_ref",),
    "ssl_free": ("SSL_free",),
    "ssl_get_ctx": ("SSL_get_SSL_CTX",),
}
HANDSHAKE_FUNCTIONS = (
    "BIO_new_bio_pair",
    "SSL_set_bio",
    "SSL_set_connect_state",
    "SSL_do_handshake",
)


# The page's methods, by the OpenSSL function that returns each SSL_METHOD.
METHOD_FUNCTIONS = {
    "tls": "TLS_method",
    "tls-client": "TLS_client_method",
    "tls-server": "TLS_server_method",
}


class ObjectCalls:
    """SSL_CTX_new/free and SSL_new/free, the same call for every OpenSSL-like API.

    The adapter provides `_fn(openssl_name, restype, *argtypes)`, resolving the name to
    its library's own symbol (or raising Absent).
    """

    def _fn(self, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
        raise NotImplementedError

    def ctx_new(self, method: str) -> int | None:
        meth = self._fn(METHOD_FUNCTIONS[method], ctypes.c_void_p)()
        result: int | None = self._fn("SSL_CTX_new", ctypes.c_void_p, ctypes.c_void_p)(meth)
        return result

    def ctx_free(self, ctx: int) -> None:
        self._fn("SSL_CTX_free", None, ctypes.c_void_p)(ctx)

    def ssl_new(self, ctx: int | None) -> int | None:
        result: int | None = self._fn("SSL_new", ctypes.c_void_p, ctypes.c_void_p)(ctx)
        return result

    def ssl_free(self, ssl: int) -> None:
        self._fn("SSL_free", None, ctypes.c_void_p)(ssl)


class SymbolTable:
    """OpenSSL's function names resolved to the exported symbols of one or more libraries."""

    def __init__(self, libs: list[ctypes.CDLL], functions: Mapping[str, str | None]) -> None:
        self.libs = libs
        self.functions = functions

    def symbol(self, name: str) -> str | None:
        """The library's symbol for OpenSSL's `name`, None when it has none."""
        mapped = self.functions.get(name)
        if mapped is None:
            return None
        return mapped if any(hasattr(lib, mapped) for lib in self.libs) else None

    def has(self, name: str) -> bool:
        return self.symbol(name) is not None

    def lacking(self, names: tuple[str, ...]) -> list[str]:
        return [n for n in names if not self.has(n)]

    def fn(self, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
        mapped = self.symbol(name)
        if mapped is None:
            raise Absent(name)
        for lib in self.libs:
            if hasattr(lib, mapped):
                # A fresh function object per call site: two OpenSSL names may share one
                # symbol (a macro over a ctrl function) with the same prototype, but never
                # let one caller's argtypes leak into another's.
                func = lib[mapped]
                func.restype = restype
                func.argtypes = argtypes
                return func
        raise Absent(name)


class CallbackPair:
    """The harness's two native callbacks of one C signature, told apart by address."""

    def __init__(self, prototype: Any, make: Callable[[str], Callable[..., Any]]) -> None:
        # Kept alive as long as the library: the C side holds these pointers.
        self.callbacks = {name: prototype(make(name)) for name in ("cb-a", "cb-b")}

    def pointer(self, value: Json) -> int | None:
        """The C pointer for a script value: "cb-a", "cb-b" or None (NULL)."""
        if value is None:
            return None
        return ctypes.cast(self.callbacks[str(value)], ctypes.c_void_p).value

    def name(self, pointer: int | None) -> Json:
        """What a getter returned, as a script value; "other" for a pointer not ours."""
        if not pointer:
            return None
        for name, callback in self.callbacks.items():
            if ctypes.cast(callback, ctypes.c_void_p).value == pointer:
                return name
        return "other"


def bits_to_names(value: int, table: Mapping[str, int]) -> list[Json]:
    """Known flags by name (sorted), then any other bits as one hex string.

    A name counts as set when all of its bits are: some libraries give one flag a
    value that contains another's (wolfSSL's SSL_MODE_AUTO_RETRY is 3, its
    SSL_MODE_ENABLE_PARTIAL_WRITE 2), and then both show.
    """
    names = sorted(name for name, bits in table.items() if bits and value & bits == bits)
    known = 0
    for bits in table.values():
        known |= bits
    rest = value & ~known
    shown: list[Json] = [*names]
    if rest:
        shown.append(f"{rest:#x}")
    return shown


def names_to_bits(names: Json, table: Mapping[str, int | None], c_names: Mapping[str, str]) -> int:
    """OR of the named flags; Unobservable naming any flag the library does not define.

    Not Absent: the setting exists, only this value cannot be said, so the example is
    set aside and others still test the setting.
    """
    if not isinstance(names, list):
        raise TypeError(f"expected a list of names, got {names!r}")
    value = 0
    lacking = []
    for name in names:
        bits = table.get(str(name))
        if bits is None:
            lacking.append(c_names.get(str(name), str(name)))
        else:
            value |= bits
    if lacking:
        raise Unobservable(f"the library does not define {', '.join(lacking)}")
    return value


# OpenSSL's names of the settings table's flags, for `Absent` when a library lacks one.
OPTION_C_NAMES = {
    "allow-no-dhe-kex": "SSL_OP_ALLOW_NO_DHE_KEX",
    "no-query-mtu": "SSL_OP_NO_QUERY_MTU",
    "no-ticket": "SSL_OP_NO_TICKET",
    "no-compression": "SSL_OP_NO_COMPRESSION",
    "enable-middlebox-compat": "SSL_OP_ENABLE_MIDDLEBOX_COMPAT",
    "prioritize-chacha": "SSL_OP_PRIORITIZE_CHACHA",
    "cipher-server-preference": "SSL_OP_CIPHER_SERVER_PREFERENCE",
    "no-anti-replay": "SSL_OP_NO_ANTI_REPLAY",
    "no-tlsv1": "SSL_OP_NO_TLSv1",
    "no-tlsv1.2": "SSL_OP_NO_TLSv1_2",
    "no-tlsv1.1": "SSL_OP_NO_TLSv1_1",
    "no-tlsv1.3": "SSL_OP_NO_TLSv1_3",
    "no-renegotiation": "SSL_OP_NO_RENEGOTIATION",
}
MODE_C_NAMES = {
    "enable-partial-write": "SSL_MODE_ENABLE_PARTIAL_WRITE",
    "accept-moving-write-buffer": "SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER",
    "auto-retry": "SSL_MODE_AUTO_RETRY",
    "no-auto-chain": "SSL_MODE_NO_AUTO_CHAIN",
    "release-buffers": "SSL_MODE_RELEASE_BUFFERS",
    "send-fallback-scsv": "SSL_MODE_SEND_FALLBACK_SCSV",
}
VERIFY_MODE_C_NAMES = {
    "peer": "SSL_VERIFY_PEER",
    "fail-if-no-peer-cert": "SSL_VERIFY_FAIL_IF_NO_PEER_CERT",
    "client-once": "SSL_VERIFY_CLIENT_ONCE",
    "post-handshake": "SSL_VERIFY_POST_HANDSHAKE",
}


# One value per setting for a load-time round trip: set it on a throwaway object, read
# it back at once. A getter that does not show it is Unobservable for that kind of
# object (a stub returning 0, a setter that does nothing), whatever the version says.
PROBES: dict[str, Json] = {
    "options": ["no-ticket"],
    "mode": ["enable-partial-write"],
    "min-proto-version": "tls1.2",
    "max-proto-version": "tls1.2",
    "verify-mode": ["peer"],
    "verify-callback": "cb-a",
    "verify-depth": 7,
    "info-callback": "cb-a",
    "default-passwd-cb": "cb-a",
    "default-passwd-cb-userdata": 77,
    "cipher-list": ["ECDHE-RSA-AES128-GCM-SHA256"],
    "accept-connect-state": "accept",
    "max-cert-list": 5000,
    "read-ahead": 1,
    "ex-data": 99,
    "ca-list": ["alpha", "bravo"],
    "client-ca-list": ["alpha", "bravo"],
    "security-level": 3,
    "security-callback": "cb-a",
}


class _Settable(Protocol):
    def missing(self, feature: str) -> list[str]: ...
    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None: ...
    def get(self, kind: Kind, obj: int, setting: str) -> Json: ...


def round_trip(
    library: _Settable,
    ctx: int,
    new_ssl: Callable[[], int | None],
    free_ssl: Callable[[int], None],
) -> dict[tuple[Kind, str], str]:
    """The settings whose getter does not show what its setter just stored, and why.

    `library.get` must not consult the result while this runs (it is what is built).
    """
    from conformance.settings import BY_NAME  # data only; kept out of import time

    found: dict[tuple[Kind, str], str] = {}
    kinds: tuple[Kind, ...] = ("ctx", "ssl")
    for kind in kinds:
        for name, value in PROBES.items():
            setting = BY_NAME[name]
            if kind == "ctx" and not setting.on_ctx:
                continue
            if library.missing(f"set:{kind}:{name}") or library.missing(f"get:{kind}:{name}"):
                continue
            obj = ctx if kind == "ctx" else new_ssl()
            if not obj:
                continue
            try:
                library.set(kind, obj, name, value)
                shown = library.get(kind, obj, name)
            except (Absent, Unobservable) as err:
                shown = f"an error: {err}"
            if setting.combine == "or" and isinstance(shown, list) and isinstance(value, list):
                ok = all(v in shown for v in value)
            else:
                ok = shown == value
            if not ok:
                found[(kind, name)] = (
                    f"the getter showed {shown!r} right after setting {value!r} on the same "
                    f"{'context' if kind == 'ctx' else 'object'}"
                )
            if kind == "ssl":
                free_ssl(obj)
    return found
