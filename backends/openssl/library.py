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
import threading
from collections.abc import Callable
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_char_p,
    c_int,
    c_long,
    c_size_t,
    c_uint,
    c_uint16,
    c_uint32,
    c_uint64,
    c_ulong,
    c_void_p,
)
from typing import Any, ClassVar

from backends.native import HANDSHAKE_FUNCTIONS, OBJECT_FEATURES, ObjectCalls, round_trip
from backends.openssl.handshake import CTX_GETTERS, HANDSHAKE_ONLY, HandshakeSettings
from conformance.library import Absent, AllocReport, Json, Kind, Unavailable, Unobservable
from conformance.settings import (
    HOST_FLAG_NAMES,
    MODE_NAMES,
    OPTION_NAMES,
    PROTO_VERSIONS,
    VERIFY_FLAG_NAMES,
    VERIFY_MODE_NAMES,
)

# Constants from the library's own headers (ssl.h, x509_vfy.h, x509v3.h of 1.1.1 to 4.0;
# checked against Debian's libssl-dev). The names are the settings table's.
OPTION_BITS = dict(
    zip(OPTION_NAMES, (10, 12, 14, 17, 20, 21, 22, 24, 26, 27, 28, 29, 30), strict=False)
)
MODE_BITS = dict(zip(MODE_NAMES, (0x1, 0x2, 0x4, 0x8, 0x10, 0x80), strict=False))
PROTO_NUMBERS = dict(zip(PROTO_VERSIONS, (0, 0x301, 0x302, 0x303, 0x304), strict=False))
VERIFY_MODE_BITS = dict(zip(VERIFY_MODE_NAMES, (0x1, 0x2, 0x4, 0x8), strict=False))
VERIFY_FLAG_BITS = dict(zip(VERIFY_FLAG_NAMES, (0x4, 0x8, 0x20, 0x80000, 0x200000), strict=False))
HOST_FLAG_BITS = dict(zip(HOST_FLAG_NAMES, (0x1, 0x2, 0x4), strict=False))
X509_V_FLAG_USE_CHECK_TIME = 0x2
CTRL_MODE, CTRL_GET_READ_AHEAD, CTRL_SET_READ_AHEAD = 33, 40, 41
CTRL_GET_MAX_CERT_LIST, CTRL_SET_MAX_CERT_LIST = 50, 51
CTRL_SET_MIN_PROTO, CTRL_SET_MAX_PROTO, CTRL_GET_MIN_PROTO, CTRL_GET_MAX_PROTO = 123, 124, 130, 131
CRYPTO_EX_INDEX_SSL = 0
MBSTRING_ASC = 0x1001
NID_COMMON_NAME = 13

# OpenSSL's flag values as masks, and BoringSSL's (Android's android-libboringssl-dev
# 14.0.0, ssl.h). BoringSSL keeps some names for source compatibility but defines them
# as 0, so they can neither be set nor seen; others it does not define at all (None).
OPENSSL_OPTION_MASKS: dict[str, int | None] = {n: 1 << b for n, b in OPTION_BITS.items()}
OPENSSL_MODE_MASKS: dict[str, int | None] = dict(MODE_BITS)
OPENSSL_VERIFY_MODE_MASKS: dict[str, int | None] = dict(VERIFY_MODE_BITS)
BORINGSSL_OPTION_MASKS: dict[str, int | None] = {
    "allow-no-dhe-kex": None,
    "no-query-mtu": 0x00001000,
    "no-ticket": 0x00004000,
    "no-compression": 0,
    "enable-middlebox-compat": None,
    "prioritize-chacha": None,
    "cipher-server-preference": 0x00400000,
    "no-anti-replay": None,
    "no-tlsv1": 0x04000000,
    "no-tlsv1.2": 0x08000000,
    "no-tlsv1.1": 0x10000000,
    "no-tlsv1.3": 0x20000000,
    "no-renegotiation": 0,
}
BORINGSSL_MODE_MASKS: dict[str, int | None] = {
    "enable-partial-write": 0x1,
    "accept-moving-write-buffer": 0x2,
    "auto-retry": 0,
    "no-auto-chain": 0x8,
    "release-buffers": 0,
    "send-fallback-scsv": 0x400,  # OpenSSL: 0x80
}
BORINGSSL_VERIFY_MODE_MASKS: dict[str, int | None] = {
    "peer": 0x1,
    "fail-if-no-peer-cert": 0x2,
    "client-once": 0,
    "post-handshake": None,
}
# OpenSSL's spelling of each flag, for what is absent or does nothing.
FLAG_C_NAMES: dict[str, str] = {
    **{
        n: "SSL_OP_"
        + n.upper().replace("-", "_").replace("TLSV1.", "TLSv1_").replace("TLSV1", "TLSv1")
        for n in OPTION_NAMES
    },
    **{n: "SSL_MODE_" + n.upper().replace("-", "_") for n in MODE_NAMES},
    **{n: "SSL_VERIFY_" + n.upper().replace("-", "_") for n in VERIFY_MODE_NAMES},
}

EX_FREE = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p, c_int, c_long, c_void_p)
VERIFY_CB = CFUNCTYPE(c_int, c_int, c_void_p)
INFO_CB = CFUNCTYPE(None, c_void_p, c_int, c_int)
MSG_CB = CFUNCTYPE(None, c_int, c_int, c_int, c_void_p, c_size_t, c_void_p, c_void_p)
PASSWD_CB = CFUNCTYPE(c_int, c_void_p, c_int, c_int, c_void_p)
SECURITY_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_int, c_int, c_int, c_void_p, c_void_p)
# CRYPTO_set_mem_functions' hooks (1.1.0 to 4.0): file and line of the caller follow.
MALLOC_FN = CFUNCTYPE(c_void_p, c_size_t, c_void_p, c_int)
REALLOC_FN = CFUNCTYPE(c_void_p, c_void_p, c_size_t, c_void_p, c_int)
FREE_FN = CFUNCTYPE(None, c_void_p, c_void_p, c_int)
OPENSSL_INIT_NO_ATEXIT = 0x00080000


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


def bits_to_names(value: int, table: dict[str, int]) -> list[str]:
    """Known flags by name (sorted), then any other bits as one hex string."""
    names = sorted(name for name, bit in table.items() if value & bit)
    rest = value & ~sum(table.values())
    return names + ([f"{rest:#x}"] if rest else [])


def masks_to_names(value: int, masks: dict[str, int | None]) -> list[str]:
    """bits_to_names over a mask table; names defined as 0 or not at all never show."""
    return bits_to_names(value, {n: m for n, m in masks.items() if m})


def names_to_masks(names: Json, masks: dict[str, int | None]) -> int:
    """OR of the named flags. A flag the library does not define, or defines as 0 (so
    that setting it changes nothing a getter can show), is Unobservable: the setting
    exists, only this value cannot be said, and the example is set aside."""
    assert isinstance(names, list)
    value = 0
    lacking, nothing = [], []
    for name in names:
        mask = masks[str(name)]
        if mask is None:
            lacking.append(FLAG_C_NAMES[str(name)])
        elif mask == 0:
            nothing.append(FLAG_C_NAMES[str(name)])
        else:
            value |= mask
    if lacking:
        raise Unobservable(f"the library does not define {', '.join(lacking)}")
    if nothing:
        raise Unobservable(f"the library defines {', '.join(nothing)} as 0: it sets nothing")
    return value


def names_to_bits(names: Json, table: dict[str, int]) -> int:
    assert isinstance(names, list)
    value = 0
    for name in names:
        value |= table[str(name)]
    return value


class OpenSSL(HandshakeSettings, ObjectCalls):
    family = "OpenSSL"

    def __init__(
        self,
        ssl: ctypes.CDLL,
        crypto: ctypes.CDLL,
        path: str,
        hooks: AllocHooks | None = None,
        no_hooks: str = "the adapter was loaded without allocator hooks",
    ) -> None:
        self.ssl = ssl
        self.crypto = crypto
        self.path = path
        self.hooks = hooks
        self.no_hooks = no_hooks  # why allocation failures cannot be injected
        self.freed_queue: list[int] = []
        self.msg_seen: list[tuple[str, int]] = []
        self._peers: list[int] = []  # the other half of each BIO pair, kept alive
        self._callbacks = self._make_callbacks()
        self._init_handshakes()
        self._free_index = -1
        self._data_index = -1
        # Getters that do not show what their setter stored (see probe_getters).
        self.unobservable: dict[tuple[Kind, str], str] = {}
        # BoringSSL says so in its version string; its headers' flag values and integer
        # widths differ from OpenSSL's, which nothing exported could tell us.
        self.boringssl = self._version_text().startswith("BoringSSL")
        self.family = "BoringSSL" if self.boringssl else "OpenSSL"
        self.option_masks = BORINGSSL_OPTION_MASKS if self.boringssl else OPENSSL_OPTION_MASKS
        self.mode_masks = BORINGSSL_MODE_MASKS if self.boringssl else OPENSSL_MODE_MASKS
        self.verify_mode_masks = (
            BORINGSSL_VERIFY_MODE_MASKS if self.boringssl else OPENSSL_VERIFY_MODE_MASKS
        )
        # SSL_get_options: uint32_t in BoringSSL, unsigned long in 1.1.1, uint64_t in 3.x
        # (both 64 bits wide on the LP64 machines this runs on).
        self.options_type: Any = c_uint32 if self.boringssl else c_uint64
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
            self._free_index = ssl_index(0, None, None, None, self._callbacks["ex-free"][0])
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
            self._free_index = new_index(
                CRYPTO_EX_INDEX_SSL, 0, None, None, None, self._callbacks["ex-free"][0]
            )
            self._data_index = new_index(CRYPTO_EX_INDEX_SSL, 0, None, None, None, EX_FREE())

    # --- symbols --------------------------------------------------------------------

    def _has(self, name: str) -> bool:
        return hasattr(self.ssl, name) or hasattr(self.crypto, name)

    def _fn(self, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
        for lib in (self.ssl, self.crypto):
            try:
                func = getattr(lib, name)
            except AttributeError:
                continue
            func.restype = restype
            func.argtypes = argtypes
            return func  # type: ignore[no-any-return]
        raise Absent(name)

    def _make_callbacks(self) -> dict[str, tuple[Any, ...]]:
        """Two native callbacks of each signature, told apart by their addresses."""

        def on_free(
            parent: int | None,
            ptr: int | None,
            ad: int | None,
            idx: int,
            argl: int,
            argp: int | None,
        ) -> None:
            if parent in self.own:  # a peer of the adapter's own handshakes
                self.own.discard(parent)
            elif parent:
                self.forget(parent)
                self.freed_queue.append(parent)

        def msg(name: str) -> Callable[..., None]:
            def seen(
                write_p: int,
                version: int,
                content_type: int,
                buf: int | None,
                length: int,
                ssl: int | None,
                arg: int | None,
            ) -> None:
                self.msg_seen.append((name, ssl or 0))

            return seen

        return {
            "ex-free": (EX_FREE(on_free),),
            "verify": (VERIFY_CB(lambda ok, store: ok), VERIFY_CB(lambda ok, store: ok)),
            "info": (INFO_CB(lambda s, where, ret: None), INFO_CB(lambda s, where, ret: None)),
            "msg": (MSG_CB(msg("cb-a")), MSG_CB(msg("cb-b"))),
            "passwd": (PASSWD_CB(lambda b, n, w, u: 0), PASSWD_CB(lambda b, n, w, u: 0)),
            "security": (SECURITY_CB(lambda *a: 1), SECURITY_CB(lambda *a: 1)),
        }

    def _cb(self, kind: str, value: Json) -> Any:
        if value is None:
            return None
        index = {"cb-a": 0, "cb-b": 1}[str(value)]
        return self._callbacks[kind][index]

    def _cb_name(self, kind: str, pointer: int | None) -> Json:
        if not pointer:
            return None
        for name, cb in zip(("cb-a", "cb-b"), self._callbacks[kind], strict=False):
            if ctypes.cast(cb, c_void_p).value == pointer:
                return name
        return "other"  # the library's own default, or someone else's

    def _ctrl(self, kind: Kind, obj: int, cmd: int, larg: int) -> int:
        name = "SSL_CTX_ctrl" if kind == "ctx" else "SSL_ctrl"
        return int(self._fn(name, c_long, c_void_p, c_int, c_long, c_void_p)(obj, cmd, larg, None))

    def _pfx(self, kind: Kind) -> str:
        return "SSL_CTX_" if kind == "ctx" else "SSL_"

    def _function_or_ctrl(self, name: str, kind: Kind) -> tuple[str, ...]:
        """A real function where the library exports one (BoringSSL), else the ctrl
        function OpenSSL's macro of that name expands to; the name itself if neither."""
        if self._has(name):
            return (name,)
        ctrl = f"{self._pfx(kind)}ctrl"
        return (ctrl,) if self._has(ctrl) else (name,)

    def _sk(self, op: str) -> str:
        """OPENSSL_sk_* (OpenSSL 1.1.0 on), or the older sk_* names BoringSSL exports."""
        modern = f"OPENSSL_sk_{op}"
        return modern if self._has(modern) or not self._has(f"sk_{op}") else f"sk_{op}"

    def _version_text(self) -> str:
        for name in ("OpenSSL_version", "SSLeay_version"):
            if self._has(name):
                raw = self._fn(name, c_char_p, c_int)(0)
                return bytes(raw).decode(errors="replace") if raw else "unknown"
        return ""

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

    def _setting_symbols(self, op: str, kind: Kind, setting: str) -> tuple[str, ...]:
        p = self._pfx(kind)
        via = self._function_or_ctrl
        sk_num, sk_value, sk_new, sk_push = (
            self._sk(o) for o in ("num", "value", "new_null", "push")
        )
        param = ("SSL_get0_param" if kind == "ssl" else "SSL_CTX_get0_param",)
        table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
            "method": ((), (f"{p}get_ssl_method", "TLS_method")),
            "options": ((f"{p}set_options",), (f"{p}get_options",)),
            "mode": (via(f"{p}set_mode", kind), via(f"{p}get_mode", kind)),
            "min-proto-version": (
                via(f"{p}set_min_proto_version", kind),
                via(f"{p}get_min_proto_version", kind),
            ),
            "max-proto-version": (
                via(f"{p}set_max_proto_version", kind),
                via(f"{p}get_max_proto_version", kind),
            ),
            "verify-mode": (
                (f"{p}set_verify", f"{p}get_verify_callback"),
                (f"{p}get_verify_mode",),
            ),
            "verify-callback": (
                (f"{p}set_verify", f"{p}get_verify_mode"),
                (f"{p}get_verify_callback",),
            ),
            "verify-depth": ((f"{p}set_verify_depth",), (f"{p}get_verify_depth",)),
            "verify-param": (
                (
                    *param,
                    "X509_VERIFY_PARAM_set_flags",
                    "X509_VERIFY_PARAM_set_hostflags",
                    "X509_VERIFY_PARAM_set_auth_level",
                    "X509_VERIFY_PARAM_set_time",
                ),
                (
                    *param,
                    "X509_VERIFY_PARAM_get_flags",
                    "X509_VERIFY_PARAM_get_hostflags",
                    "X509_VERIFY_PARAM_get_auth_level",
                    "X509_VERIFY_PARAM_get_time",
                ),
            ),
            "msg-callback": (
                (f"{p}set_msg_callback",),
                ("SSL_set_msg_callback", *self._features("handshake")),
            ),
            "info-callback": ((f"{p}set_info_callback",), (f"{p}get_info_callback",)),
            "default-passwd-cb": ((f"{p}set_default_passwd_cb",), (f"{p}get_default_passwd_cb",)),
            "default-passwd-cb-userdata": (
                (f"{p}set_default_passwd_cb_userdata",),
                (f"{p}get_default_passwd_cb_userdata",),
            ),
            "cipher-list": (
                (f"{p}set_cipher_list",),
                (f"{p}get_ciphers", sk_num, sk_value, "SSL_CIPHER_get_name"),
            ),
            "accept-connect-state": (
                ("SSL_set_accept_state", "SSL_set_connect_state"),
                ("SSL_is_server",),
            ),
            "max-cert-list": (
                via(f"{p}set_max_cert_list", kind),
                via(f"{p}get_max_cert_list", kind),
            ),
            "read-ahead": (via(f"{p}set_read_ahead", kind), via(f"{p}get_read_ahead", kind)),
            "ex-data": (
                ("SSL_set_ex_data", self.ex_index_function),
                ("SSL_get_ex_data", self.ex_index_function),
            ),
            "ca-list": (
                (
                    f"{p}set0_CA_list",
                    sk_new,
                    sk_push,
                    "X509_NAME_new",
                    "X509_NAME_add_entry_by_txt",
                ),
                (f"{p}get0_CA_list", sk_num, sk_value, "X509_NAME_get_text_by_NID"),
            ),
            "client-ca-list": (
                (
                    f"{p}set_client_CA_list",
                    sk_new,
                    sk_push,
                    "X509_NAME_new",
                    "X509_NAME_add_entry_by_txt",
                ),
                (f"{p}get_client_CA_list", sk_num, sk_value, "X509_NAME_get_text_by_NID"),
            ),
            "security-level": ((f"{p}set_security_level",), (f"{p}get_security_level",)),
            "security-callback": ((f"{p}set_security_callback",), (f"{p}get_security_callback",)),
        }
        if setting not in table:
            own = self._handshake_symbols(op, kind, setting)
            if own is not None:
                return own
            raise NotImplementedError(f"the OpenSSL adapter does not handle {setting!r} yet")
        setters, getters = table[setting]
        return setters if op == "set" else getters

    def missing(self, feature: str) -> list[str]:
        if ":" in feature:
            op, kind, setting = feature.split(":")
            symbols = self._setting_symbols(op, "ctx" if kind == "ctx" else "ssl", setting)
        elif feature == "alloc_failures":
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

    def threads_up_ref_free(self, ssl: int, threads: int, per_thread: int) -> int:
        up_ref = self._fn("SSL_up_ref", c_int, c_void_p)
        free = self._fn("SSL_free", None, c_void_p)
        done = [0] * threads
        start = threading.Barrier(threads)  # all threads reach their first call together

        def work(index: int) -> None:
            start.wait()
            ok = 0
            for _ in range(per_thread):
                ok += up_ref(ssl) == 1  # ctypes drops the GIL for the call
            for _ in range(per_thread):
                free(ssl)
            done[index] = ok

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return sum(done)

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
        leaked = sorted(hooks.live.values())
        hooks.live.clear()
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

    # --- settings ----------------------------------------------------------------------

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        self._setting_symbols("set", kind, setting)  # NotImplementedError if unknown
        missing = self.missing(f"set:{kind}:{setting}")
        if missing:
            raise Absent(*missing)
        if kind == "ssl":
            self.changed(obj)
        getattr(self, "_set_" + setting.replace("-", "_"))(kind, obj, value)

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        self._setting_symbols("get", kind, setting)
        missing = self.missing(f"get:{kind}:{setting}")
        if missing:
            raise Absent(*missing)
        why = self.unobservable.get((kind, setting))
        if why:
            raise Unobservable(why)
        if kind == "ctx" and setting in HANDSHAKE_ONLY and setting not in CTX_GETTERS:
            raise Unobservable("a context shows this only through a handshake of an SSL")
        result: Json = getattr(self, "_get_" + setting.replace("-", "_"))(kind, obj)
        return result

    def probe_getters(self) -> None:
        """Round-trip each setting once on throwaway objects (backends.native.round_trip).

        BoringSSL's SSL_get_read_ahead and SSL_CTX_get_read_ahead, for one, return 0
        whatever was set; such a getter is Unobservable rather than a wrong value.
        """
        ctx = self.ctx_new("tls")
        if not ctx:
            self.errors()
            return
        self.unobservable = round_trip(self, ctx, lambda: self.ssl_new(ctx), self.ssl_free)
        self.ctx_free(ctx)
        self.freed_queue.clear()
        self.msg_seen.clear()
        self.errors()

    def _get_method(self, kind: Kind, obj: int) -> Json:
        current = self._fn(f"{self._pfx(kind)}get_ssl_method", c_void_p, c_void_p)(obj)
        for name, symbol in (
            ("tls", "TLS_method"),
            ("tls-client", "TLS_client_method"),
            ("tls-server", "TLS_server_method"),
        ):
            if self._has(symbol) and self._fn(symbol, c_void_p)() == current:
                return name
        return "other"

    def _set_options(self, kind: Kind, obj: int, value: Json) -> None:
        bits = names_to_masks(value, self.option_masks)
        width = self.options_type
        self._fn(f"{self._pfx(kind)}set_options", width, c_void_p, width)(obj, bits)

    def _get_options(self, kind: Kind, obj: int) -> Json:
        width = self.options_type
        raw = int(self._fn(f"{self._pfx(kind)}get_options", width, c_void_p)(obj))
        return masks_to_names(raw, self.option_masks)

    def _set_mode(self, kind: Kind, obj: int, value: Json) -> None:
        bits = names_to_masks(value, self.mode_masks)
        name = f"{self._pfx(kind)}set_mode"
        if self._has(name):  # BoringSSL: uint32_t SSL_set_mode(SSL *, uint32_t)
            self._fn(name, c_uint32, c_void_p, c_uint32)(obj, bits)
        else:
            self._ctrl(kind, obj, CTRL_MODE, bits)

    def _get_mode(self, kind: Kind, obj: int) -> Json:
        name = f"{self._pfx(kind)}get_mode"
        if self._has(name):
            return masks_to_names(int(self._fn(name, c_uint32, c_void_p)(obj)), self.mode_masks)
        return masks_to_names(self._ctrl(kind, obj, CTRL_MODE, 0), self.mode_masks)

    def _proto(self, kind: Kind, obj: int, cmd: int, value: Json) -> None:
        number = PROTO_NUMBERS[str(value)]
        which = "min" if cmd == CTRL_SET_MIN_PROTO else "max"
        name = f"{self._pfx(kind)}set_{which}_proto_version"
        if self._has(name):  # BoringSSL: int SSL_set_min_proto_version(SSL *, uint16_t)
            ok = int(self._fn(name, c_int, c_void_p, c_uint16)(obj, number))
        else:
            ok = self._ctrl(kind, obj, cmd, number)
        if not ok:
            self.errors()
            raise Unobservable(f"the library refused protocol version {value}")

    def _get_proto(self, kind: Kind, obj: int, cmd: int) -> Json:
        which = "min" if cmd == CTRL_GET_MIN_PROTO else "max"
        name = f"{self._pfx(kind)}get_{which}_proto_version"
        if self._has(name):  # BoringSSL: uint16_t SSL_get_min_proto_version(const SSL *)
            return self._proto_name(int(self._fn(name, c_uint16, c_void_p)(obj)))
        return self._proto_name(self._ctrl(kind, obj, cmd, 0))

    def _proto_name(self, number: int) -> Json:
        for name, num in PROTO_NUMBERS.items():
            if num == number:
                return name
        return f"{number:#x}"

    def _set_min_proto_version(self, kind: Kind, obj: int, value: Json) -> None:
        self._proto(kind, obj, CTRL_SET_MIN_PROTO, value)

    def _set_max_proto_version(self, kind: Kind, obj: int, value: Json) -> None:
        self._proto(kind, obj, CTRL_SET_MAX_PROTO, value)

    def _get_min_proto_version(self, kind: Kind, obj: int) -> Json:
        return self._get_proto(kind, obj, CTRL_GET_MIN_PROTO)

    def _get_max_proto_version(self, kind: Kind, obj: int) -> Json:
        return self._get_proto(kind, obj, CTRL_GET_MAX_PROTO)

    def _verify(self, kind: Kind, obj: int, mode: int, callback: Any) -> None:
        self._fn(f"{self._pfx(kind)}set_verify", None, c_void_p, c_int, c_void_p)(
            obj, mode, ctypes.cast(callback, c_void_p) if callback else None
        )

    def _raw_verify_mode(self, kind: Kind, obj: int) -> int:
        return int(self._fn(f"{self._pfx(kind)}get_verify_mode", c_int, c_void_p)(obj))

    def _raw_verify_callback(self, kind: Kind, obj: int) -> int | None:
        result: int | None = self._fn(f"{self._pfx(kind)}get_verify_callback", c_void_p, c_void_p)(
            obj
        )
        return result

    def _set_verify_mode(self, kind: Kind, obj: int, value: Json) -> None:
        self._verify(
            kind,
            obj,
            names_to_masks(value, self.verify_mode_masks),
            self._raw_verify_callback(kind, obj),
        )

    def _get_verify_mode(self, kind: Kind, obj: int) -> Json:
        return masks_to_names(self._raw_verify_mode(kind, obj), self.verify_mode_masks)

    def _set_verify_callback(self, kind: Kind, obj: int, value: Json) -> None:
        self._verify(kind, obj, self._raw_verify_mode(kind, obj), self._cb("verify", value))

    def _get_verify_callback(self, kind: Kind, obj: int) -> Json:
        return self._cb_name("verify", self._raw_verify_callback(kind, obj))

    def _set_verify_depth(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set_verify_depth", None, c_void_p, c_int)(obj, value)

    def _get_verify_depth(self, kind: Kind, obj: int) -> Json:
        return int(self._fn(f"{self._pfx(kind)}get_verify_depth", c_int, c_void_p)(obj))

    def _param(self, kind: Kind, obj: int) -> int:
        name = "SSL_CTX_get0_param" if kind == "ctx" else "SSL_get0_param"
        return int(self._fn(name, c_void_p, c_void_p)(obj))

    def _set_verify_param(self, kind: Kind, obj: int, value: Json) -> None:
        assert isinstance(value, dict)
        param = self._param(kind, obj)
        if "flags" in value:
            self._fn("X509_VERIFY_PARAM_set_flags", c_int, c_void_p, c_ulong)(
                param, names_to_bits(value["flags"], VERIFY_FLAG_BITS)
            )
        if "hostflags" in value:
            self._fn("X509_VERIFY_PARAM_set_hostflags", None, c_void_p, c_uint)(
                param, names_to_bits(value["hostflags"], HOST_FLAG_BITS)
            )
        if "auth-level" in value:
            self._fn("X509_VERIFY_PARAM_set_auth_level", None, c_void_p, c_int)(
                param, value["auth-level"]
            )
        if "time" in value:
            self._fn("X509_VERIFY_PARAM_set_time", None, c_void_p, c_long)(param, value["time"])

    def _get_verify_param(self, kind: Kind, obj: int) -> Json:
        param = self._param(kind, obj)
        flags = int(self._fn("X509_VERIFY_PARAM_get_flags", c_ulong, c_void_p)(param))
        uses_time = bool(flags & X509_V_FLAG_USE_CHECK_TIME)
        flags &= ~X509_V_FLAG_USE_CHECK_TIME  # shown as "time" below
        return {
            "flags": bits_to_names(flags, VERIFY_FLAG_BITS),
            "hostflags": bits_to_names(
                int(self._fn("X509_VERIFY_PARAM_get_hostflags", c_uint, c_void_p)(param)),
                HOST_FLAG_BITS,
            ),
            "auth-level": int(self._fn("X509_VERIFY_PARAM_get_auth_level", c_int, c_void_p)(param)),
            "time": int(self._fn("X509_VERIFY_PARAM_get_time", c_long, c_void_p)(param))
            if uses_time
            else None,
        }

    def _set_msg_callback(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set_msg_callback", None, c_void_p, c_void_p)(
            obj, ctypes.cast(self._cb("msg", value), c_void_p)
        )

    def _get_msg_callback(self, kind: Kind, obj: int) -> Json:
        if kind == "ctx":
            raise Unobservable("a context has no msg callback getter and no handshake")
        self.msg_seen.clear()
        if not self.start_handshake(obj):
            raise Unobservable("the handshake that would show the msg callback did not start")
        seen = [name for name, ssl in self.msg_seen if ssl == obj]
        return seen[0] if seen else None

    def _set_info_callback(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set_info_callback", None, c_void_p, c_void_p)(
            obj, ctypes.cast(self._cb("info", value), c_void_p)
        )

    def _get_info_callback(self, kind: Kind, obj: int) -> Json:
        pointer = self._fn(f"{self._pfx(kind)}get_info_callback", c_void_p, c_void_p)(obj)
        return self._cb_name("info", pointer)

    def _set_default_passwd_cb(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set_default_passwd_cb", None, c_void_p, c_void_p)(
            obj, ctypes.cast(self._cb("passwd", value), c_void_p)
        )

    def _get_default_passwd_cb(self, kind: Kind, obj: int) -> Json:
        pointer = self._fn(f"{self._pfx(kind)}get_default_passwd_cb", c_void_p, c_void_p)(obj)
        return self._cb_name("passwd", pointer)

    def _set_default_passwd_cb_userdata(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set_default_passwd_cb_userdata", None, c_void_p, c_void_p)(
            obj, value
        )

    def _get_default_passwd_cb_userdata(self, kind: Kind, obj: int) -> Json:
        result: int | None = self._fn(
            f"{self._pfx(kind)}get_default_passwd_cb_userdata", c_void_p, c_void_p
        )(obj)
        return result

    def _set_cipher_list(self, kind: Kind, obj: int, value: Json) -> None:
        text = ":".join(str(v) for v in value or []).encode()
        if not self._fn(f"{self._pfx(kind)}set_cipher_list", c_int, c_void_p, c_char_p)(obj, text):
            self.errors()
            raise Unobservable(f"the library refused the cipher list {text.decode()!r}")

    def _get_cipher_list(self, kind: Kind, obj: int) -> Json:
        stack = self._fn(f"{self._pfx(kind)}get_ciphers", c_void_p, c_void_p)(obj)
        name = self._fn("SSL_CIPHER_get_name", c_char_p, c_void_p)
        names = [bytes(name(c)).decode() for c in self._stack(stack)]
        return [n for n in names if not n.startswith("TLS_")]  # TLS 1.3 suites: not this list

    def _set_accept_connect_state(self, kind: Kind, obj: int, value: Json) -> None:
        name = "SSL_set_accept_state" if value == "accept" else "SSL_set_connect_state"
        self._fn(name, None, c_void_p)(obj)

    def _get_accept_connect_state(self, kind: Kind, obj: int) -> Json:
        return "accept" if self._fn("SSL_is_server", c_int, c_void_p)(obj) else "connect"

    def _set_max_cert_list(self, kind: Kind, obj: int, value: Json) -> None:
        assert isinstance(value, int)
        name = f"{self._pfx(kind)}set_max_cert_list"
        if self._has(name):  # BoringSSL: void SSL_set_max_cert_list(SSL *, size_t)
            self._fn(name, None, c_void_p, c_size_t)(obj, value)
        else:
            self._ctrl(kind, obj, CTRL_SET_MAX_CERT_LIST, value)

    def _get_max_cert_list(self, kind: Kind, obj: int) -> Json:
        name = f"{self._pfx(kind)}get_max_cert_list"
        if self._has(name):
            return int(self._fn(name, c_size_t, c_void_p)(obj))
        return self._ctrl(kind, obj, CTRL_GET_MAX_CERT_LIST, 0)

    def _set_read_ahead(self, kind: Kind, obj: int, value: Json) -> None:
        assert isinstance(value, int)
        name = f"{self._pfx(kind)}set_read_ahead"
        if self._has(name):  # a function for SSL objects; for contexts only in BoringSSL
            self._fn(name, None, c_void_p, c_int)(obj, value)
        else:
            self._ctrl(kind, obj, CTRL_SET_READ_AHEAD, value)

    def _get_read_ahead(self, kind: Kind, obj: int) -> Json:
        name = f"{self._pfx(kind)}get_read_ahead"
        if self._has(name):
            return int(self._fn(name, c_int, c_void_p)(obj))
        return self._ctrl(kind, obj, CTRL_GET_READ_AHEAD, 0)

    def _set_ex_data(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn("SSL_set_ex_data", c_int, c_void_p, c_int, c_void_p)(obj, self._data_index, value)

    def _get_ex_data(self, kind: Kind, obj: int) -> Json:
        result: int | None = self._fn("SSL_get_ex_data", c_void_p, c_void_p, c_int)(
            obj, self._data_index
        )
        return result

    def _stack(self, stack: int | None) -> list[int]:
        if not stack:
            return []
        num = self._fn(self._sk("num"), c_int, c_void_p)
        value = self._fn(self._sk("value"), c_void_p, c_void_p, c_int)
        return [value(stack, i) for i in range(num(stack))]

    def _name_stack(self, names: Json) -> int:
        stack = self._fn(self._sk("new_null"), c_void_p)()
        push = self._fn(self._sk("push"), c_int, c_void_p, c_void_p)
        add = self._fn(
            "X509_NAME_add_entry_by_txt",
            c_int,
            c_void_p,
            c_char_p,
            c_int,
            c_char_p,
            c_int,
            c_int,
            c_int,
        )
        for cn in names or []:
            name = self._fn("X509_NAME_new", c_void_p)()
            add(name, b"CN", MBSTRING_ASC, str(cn).encode(), -1, -1, 0)
            push(stack, name)
        return int(stack)

    def _names(self, stack: int | None) -> Json:
        text = self._fn("X509_NAME_get_text_by_NID", c_int, c_void_p, c_int, c_char_p, c_int)
        out: list[Json] = []
        for name in self._stack(stack):
            buf = ctypes.create_string_buffer(256)
            text(name, NID_COMMON_NAME, buf, 256)
            out.append(buf.value.decode(errors="replace"))
        return out

    def _set_ca_list(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set0_CA_list", None, c_void_p, c_void_p)(
            obj, self._name_stack(value)
        )

    def _get_ca_list(self, kind: Kind, obj: int) -> Json:
        return self._names(self._fn(f"{self._pfx(kind)}get0_CA_list", c_void_p, c_void_p)(obj))

    def _set_client_ca_list(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set_client_CA_list", None, c_void_p, c_void_p)(
            obj, self._name_stack(value)
        )

    def _get_client_ca_list(self, kind: Kind, obj: int) -> Json:
        return self._names(
            self._fn(f"{self._pfx(kind)}get_client_CA_list", c_void_p, c_void_p)(obj)
        )

    def _set_security_level(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set_security_level", None, c_void_p, c_int)(obj, value)

    def _get_security_level(self, kind: Kind, obj: int) -> Json:
        return int(self._fn(f"{self._pfx(kind)}get_security_level", c_int, c_void_p)(obj))

    def _set_security_callback(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set_security_callback", None, c_void_p, c_void_p)(
            obj, ctypes.cast(self._cb("security", value), c_void_p)
        )

    def _get_security_callback(self, kind: Kind, obj: int) -> Json:
        pointer = self._fn(f"{self._pfx(kind)}get_security_callback", c_void_p, c_void_p)(obj)
        return self._cb_name("security", pointer)


def _find(lib_dir: str, stem: str) -> str:
    """The newest-soname file for `stem` in lib_dir (libssl.so.3 over libssl.so)."""
    found = sorted(glob.glob(os.path.join(lib_dir, f"{stem}.so*")), key=len, reverse=True)
    if not found:
        raise Unavailable(f"no {stem}.so* in {lib_dir}")
    return found[0]


def _install_hooks(crypto: ctypes.CDLL, options: dict[str, str]) -> tuple[AllocHooks | None, str]:
    """Route libcrypto's allocator through AllocHooks when option alloc_hooks=1.

    Off by default: a Python call per allocation makes a context cost about 1.5 ms more
    (an SSL_CTX_new makes some 460 allocations), which slows a whole run by half. The
    engine starts a second worker with the option for the rules that need it.

    Must run before libcrypto allocates anything. Then the library's exit-time cleanup
    is turned off: it would call the hooks (Python code) after the interpreter is gone.
    """
    if options.get("alloc_hooks", "0") != "1":
        return None, "allocator hooks are off (load the adapter with option alloc_hooks=1)"
    if not hasattr(crypto, "CRYPTO_set_mem_functions"):
        return None, "the library lacks CRYPTO_set_mem_functions"
    hooks = AllocHooks()
    install = crypto.CRYPTO_set_mem_functions
    install.restype, install.argtypes = c_int, [MALLOC_FN, REALLOC_FN, FREE_FN]
    if not install(*hooks.functions):
        return None, "CRYPTO_set_mem_functions refused: the library had already allocated"
    if hasattr(crypto, "OPENSSL_init_crypto"):
        init = crypto.OPENSSL_init_crypto
        init.restype, init.argtypes = c_int, [c_uint64, c_void_p]
        init(OPENSSL_INIT_NO_ATEXIT, None)
    return hooks, ""


def load(lib_dir: str | None, options: dict[str, str]) -> OpenSSL:
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
    library = OpenSSL(ssl, crypto, ssl_path, hooks, no_hooks)
    if library._has("OPENSSL_init_ssl"):
        library._fn("OPENSSL_init_ssl", c_int, c_uint64, c_void_p)(0, None)
    library.probe_getters()
    return library
