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
    c_uint64,
    c_ulong,
    c_void_p,
)
from typing import Any, ClassVar

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


def names_to_bits(names: Json, table: dict[str, int]) -> int:
    assert isinstance(names, list)
    value = 0
    for name in names:
        value |= table[str(name)]
    return value


class OpenSSL:
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
        self._free_index = -1
        self._data_index = -1
        if self._has("CRYPTO_get_ex_new_index"):
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
            if parent:
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

    # --- Library ---------------------------------------------------------------------

    def version(self) -> str:
        for name in ("OpenSSL_version", "SSLeay_version"):
            if self._has(name):
                raw = self._fn(name, c_char_p, c_int)(0)
                return bytes(raw).decode(errors="replace") if raw else "unknown"
        raise Absent("OpenSSL_version")

    FEATURES: ClassVar[dict[str, tuple[str, ...]]] = {
        "ctx_new": ("SSL_CTX_new", "TLS_method", "TLS_client_method", "TLS_server_method"),
        "ssl_new": ("SSL_new",),
        "ssl_dup": ("SSL_dup",),
        "ssl_up_ref": ("SSL_up_ref",),
        "ssl_free": ("SSL_free",),
        "ssl_get_ctx": ("SSL_get_SSL_CTX",),
        "handshake": (
            "BIO_new_bio_pair",
            "SSL_set_bio",
            "SSL_set_connect_state",
            "SSL_do_handshake",
            "SSL_in_before",
        ),
        "free_events": ("CRYPTO_get_ex_new_index",),
        "errors": ("ERR_get_error", "ERR_error_string_n"),
        "threads": ("SSL_up_ref", "SSL_free"),
    }

    def _setting_symbols(self, op: str, kind: Kind, setting: str) -> tuple[str, ...]:
        p = self._pfx(kind)
        ctrl = (f"{p}ctrl",)
        param = ("SSL_get0_param" if kind == "ssl" else "SSL_CTX_get0_param",)
        table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
            "method": ((), (f"{p}get_ssl_method", "TLS_method")),
            "options": ((f"{p}set_options",), (f"{p}get_options",)),
            "mode": (ctrl, ctrl),
            "min-proto-version": (ctrl, ctrl),
            "max-proto-version": (ctrl, ctrl),
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
                ("SSL_set_msg_callback", *self.FEATURES["handshake"]),
            ),
            "info-callback": ((f"{p}set_info_callback",), (f"{p}get_info_callback",)),
            "default-passwd-cb": ((f"{p}set_default_passwd_cb",), (f"{p}get_default_passwd_cb",)),
            "default-passwd-cb-userdata": (
                (f"{p}set_default_passwd_cb_userdata",),
                (f"{p}get_default_passwd_cb_userdata",),
            ),
            "cipher-list": (
                (f"{p}set_cipher_list",),
                (f"{p}get_ciphers", "OPENSSL_sk_num", "OPENSSL_sk_value", "SSL_CIPHER_get_name"),
            ),
            "accept-connect-state": (
                ("SSL_set_accept_state", "SSL_set_connect_state"),
                ("SSL_is_server",),
            ),
            "max-cert-list": (ctrl, ctrl),
            "read-ahead": (
                ("SSL_set_read_ahead",) if kind == "ssl" else ctrl,
                ("SSL_get_read_ahead",) if kind == "ssl" else ctrl,
            ),
            "ex-data": (
                ("SSL_set_ex_data", "CRYPTO_get_ex_new_index"),
                ("SSL_get_ex_data", "CRYPTO_get_ex_new_index"),
            ),
            "ca-list": (
                (
                    f"{p}set0_CA_list",
                    "OPENSSL_sk_new_null",
                    "OPENSSL_sk_push",
                    "X509_NAME_new",
                    "X509_NAME_add_entry_by_txt",
                ),
                (
                    f"{p}get0_CA_list",
                    "OPENSSL_sk_num",
                    "OPENSSL_sk_value",
                    "X509_NAME_get_text_by_NID",
                ),
            ),
            "client-ca-list": (
                (
                    f"{p}set_client_CA_list",
                    "OPENSSL_sk_new_null",
                    "OPENSSL_sk_push",
                    "X509_NAME_new",
                    "X509_NAME_add_entry_by_txt",
                ),
                (
                    f"{p}get_client_CA_list",
                    "OPENSSL_sk_num",
                    "OPENSSL_sk_value",
                    "X509_NAME_get_text_by_NID",
                ),
            ),
            "security-level": ((f"{p}set_security_level",), (f"{p}get_security_level",)),
            "security-callback": ((f"{p}set_security_callback",), (f"{p}get_security_callback",)),
        }
        if setting not in table:
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
            symbols = self.FEATURES.get(feature, (feature,))
        return [s for s in symbols if not self._has(s)]

    def ctx_new(self, method: str) -> int | None:
        methods = {
            "tls": "TLS_method",
            "tls-client": "TLS_client_method",
            "tls-server": "TLS_server_method",
        }
        meth = self._fn(methods[method], c_void_p)()
        result: int | None = self._fn("SSL_CTX_new", c_void_p, c_void_p)(meth)
        return result

    def ctx_free(self, ctx: int) -> None:
        self._fn("SSL_CTX_free", None, c_void_p)(ctx)

    def ssl_new(self, ctx: int | None) -> int | None:
        result: int | None = self._fn("SSL_new", c_void_p, c_void_p)(ctx)
        return result

    def ssl_dup(self, ssl: int) -> int | None:
        result: int | None = self._fn("SSL_dup", c_void_p, c_void_p)(ssl)
        return result

    def ssl_up_ref(self, ssl: int) -> int:
        return int(self._fn("SSL_up_ref", c_int, c_void_p)(ssl))

    def ssl_free(self, ssl: int) -> None:
        self._fn("SSL_free", None, c_void_p)(ssl)

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
            raise Absent("CRYPTO_get_ex_new_index")
        queued, self.freed_queue = self.freed_queue, []
        return queued

    # --- settings ----------------------------------------------------------------------

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        self._setting_symbols("set", kind, setting)  # NotImplementedError if unknown
        missing = self.missing(f"set:{kind}:{setting}")
        if missing:
            raise Absent(*missing)
        getattr(self, "_set_" + setting.replace("-", "_"))(kind, obj, value)

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        self._setting_symbols("get", kind, setting)
        missing = self.missing(f"get:{kind}:{setting}")
        if missing:
            raise Absent(*missing)
        result: Json = getattr(self, "_get_" + setting.replace("-", "_"))(kind, obj)
        return result

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
        bits = sum(1 << OPTION_BITS[str(n)] for n in value or [])
        self._fn(f"{self._pfx(kind)}set_options", c_uint64, c_void_p, c_uint64)(obj, bits)

    def _get_options(self, kind: Kind, obj: int) -> Json:
        raw = int(self._fn(f"{self._pfx(kind)}get_options", c_uint64, c_void_p)(obj))
        return bits_to_names(raw, {n: 1 << b for n, b in OPTION_BITS.items()})

    def _set_mode(self, kind: Kind, obj: int, value: Json) -> None:
        self._ctrl(kind, obj, CTRL_MODE, names_to_bits(value, MODE_BITS))

    def _get_mode(self, kind: Kind, obj: int) -> Json:
        return bits_to_names(self._ctrl(kind, obj, CTRL_MODE, 0), MODE_BITS)

    def _proto(self, kind: Kind, obj: int, cmd: int, value: Json) -> None:
        if not self._ctrl(kind, obj, cmd, PROTO_NUMBERS[str(value)]):
            self.errors()
            raise Unobservable(f"the library refused protocol version {value}")

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
        return self._proto_name(self._ctrl(kind, obj, CTRL_GET_MIN_PROTO, 0))

    def _get_max_proto_version(self, kind: Kind, obj: int) -> Json:
        return self._proto_name(self._ctrl(kind, obj, CTRL_GET_MAX_PROTO, 0))

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
            kind, obj, names_to_bits(value, VERIFY_MODE_BITS), self._raw_verify_callback(kind, obj)
        )

    def _get_verify_mode(self, kind: Kind, obj: int) -> Json:
        return bits_to_names(self._raw_verify_mode(kind, obj), VERIFY_MODE_BITS)

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
        self._ctrl(kind, obj, CTRL_SET_MAX_CERT_LIST, value)

    def _get_max_cert_list(self, kind: Kind, obj: int) -> Json:
        return self._ctrl(kind, obj, CTRL_GET_MAX_CERT_LIST, 0)

    def _set_read_ahead(self, kind: Kind, obj: int, value: Json) -> None:
        assert isinstance(value, int)
        if kind == "ctx":
            self._ctrl(kind, obj, CTRL_SET_READ_AHEAD, value)
        else:
            self._fn("SSL_set_read_ahead", None, c_void_p, c_int)(obj, value)

    def _get_read_ahead(self, kind: Kind, obj: int) -> Json:
        if kind == "ctx":
            return self._ctrl(kind, obj, CTRL_GET_READ_AHEAD, 0)
        return int(self._fn("SSL_get_read_ahead", c_int, c_void_p)(obj))

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
        num = self._fn("OPENSSL_sk_num", c_int, c_void_p)
        value = self._fn("OPENSSL_sk_value", c_void_p, c_void_p, c_int)
        return [value(stack, i) for i in range(num(stack))]

    def _name_stack(self, names: Json) -> int:
        stack = self._fn("OPENSSL_sk_new_null", c_void_p)()
        push = self._fn("OPENSSL_sk_push", c_int, c_void_p, c_void_p)
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
    return library
