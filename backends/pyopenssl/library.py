"""pyOpenSSL's public API (OpenSSL.SSL.Context and Connection) as a Library.

Only what pyOpenSSL documents is used: no `_lib` / `_ffi` bindings. A page operation
pyOpenSSL cannot express is `Absent`, named by the OpenSSL function it would need, so
the column reads like the native ones. Objects are Python objects, kept alive in a dict
until the script frees them. Their handles are numbers handed out in order, never
reused: an id() could come back for a new object once the old one is gone, and the
harness would then take the new Connection for the old one.

This adapter imports pyOpenSSL and so cryptography's statically linked OpenSSL; it
runs in a worker process of its own, where that is the only OpenSSL mapped.
"""

from __future__ import annotations

import itertools
import warnings
import weakref
from collections.abc import Callable
from typing import Any

from backends.native import bits_to_names
from conformance.library import Absent, Json, Kind, Unavailable, Unobservable

try:
    import OpenSSL
    from OpenSSL import SSL, crypto
except ImportError as err:  # pragma: no cover - depends on the environment
    raise Unavailable(f"pyOpenSSL is not installed ({err}); pip install pyOpenSSL") from None


def _constants(table: dict[str, str]) -> dict[str, int | None]:
    """Script names -> pyOpenSSL's constants (None where pyOpenSSL does not have one)."""
    out: dict[str, int | None] = {}
    for name, constant in table.items():
        value = getattr(SSL, constant, None)
        out[name] = int(value) if isinstance(value, int) else None
    return out


# Script names -> (pyOpenSSL constant, OpenSSL's name of it).
OPTION_CONSTANTS = {
    "allow-no-dhe-kex": ("OP_ALLOW_NO_DHE_KEX", "SSL_OP_ALLOW_NO_DHE_KEX"),
    "no-query-mtu": ("OP_NO_QUERY_MTU", "SSL_OP_NO_QUERY_MTU"),
    "no-ticket": ("OP_NO_TICKET", "SSL_OP_NO_TICKET"),
    "no-compression": ("OP_NO_COMPRESSION", "SSL_OP_NO_COMPRESSION"),
    "enable-middlebox-compat": ("OP_ENABLE_MIDDLEBOX_COMPAT", "SSL_OP_ENABLE_MIDDLEBOX_COMPAT"),
    "prioritize-chacha": ("OP_PRIORITIZE_CHACHA", "SSL_OP_PRIORITIZE_CHACHA"),
    "cipher-server-preference": ("OP_CIPHER_SERVER_PREFERENCE", "SSL_OP_CIPHER_SERVER_PREFERENCE"),
    "no-anti-replay": ("OP_NO_ANTI_REPLAY", "SSL_OP_NO_ANTI_REPLAY"),
    "no-tlsv1": ("OP_NO_TLSv1", "SSL_OP_NO_TLSv1"),
    "no-tlsv1.2": ("OP_NO_TLSv1_2", "SSL_OP_NO_TLSv1_2"),
    "no-tlsv1.1": ("OP_NO_TLSv1_1", "SSL_OP_NO_TLSv1_1"),
    "no-tlsv1.3": ("OP_NO_TLSv1_3", "SSL_OP_NO_TLSv1_3"),
    "no-renegotiation": ("OP_NO_RENEGOTIATION", "SSL_OP_NO_RENEGOTIATION"),
}
MODE_CONSTANTS = {
    "enable-partial-write": ("MODE_ENABLE_PARTIAL_WRITE", "SSL_MODE_ENABLE_PARTIAL_WRITE"),
    "accept-moving-write-buffer": (
        "MODE_ACCEPT_MOVING_WRITE_BUFFER",
        "SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER",
    ),
    "auto-retry": ("MODE_AUTO_RETRY", "SSL_MODE_AUTO_RETRY"),
    "no-auto-chain": ("MODE_NO_AUTO_CHAIN", "SSL_MODE_NO_AUTO_CHAIN"),
    "release-buffers": ("MODE_RELEASE_BUFFERS", "SSL_MODE_RELEASE_BUFFERS"),
    "send-fallback-scsv": ("MODE_SEND_FALLBACK_SCSV", "SSL_MODE_SEND_FALLBACK_SCSV"),
}
VERIFY_CONSTANTS = {
    "peer": ("VERIFY_PEER", "SSL_VERIFY_PEER"),
    "fail-if-no-peer-cert": ("VERIFY_FAIL_IF_NO_PEER_CERT", "SSL_VERIFY_FAIL_IF_NO_PEER_CERT"),
    "client-once": ("VERIFY_CLIENT_ONCE", "SSL_VERIFY_CLIENT_ONCE"),
    "post-handshake": ("VERIFY_POST_HANDSHAKE", "SSL_VERIFY_POST_HANDSHAKE"),
}
PROTO_CONSTANTS = {
    "tls1": "TLS1_VERSION",
    "tls1.1": "TLS1_1_VERSION",
    "tls1.2": "TLS1_2_VERSION",
    "tls1.3": "TLS1_3_VERSION",
}
METHODS = {
    "tls": "TLS_METHOD",
    "tls-client": "TLS_CLIENT_METHOD",
    "tls-server": "TLS_SERVER_METHOD",
}

# What pyOpenSSL can express, per (operation, kind, setting): the pyOpenSSL call used.
# Every other combination is absent, named by the OpenSSL functions it would need.
EXPRESSIBLE: dict[tuple[str, str, str], str] = {
    ("set", "ctx", "options"): "Context.set_options",
    ("get", "ctx", "options"): "Context.set_options(0)",
    ("set", "ssl", "options"): "Connection.set_options",
    ("get", "ssl", "options"): "Connection.set_options(0)",
    ("set", "ctx", "mode"): "Context.set_mode",
    ("get", "ctx", "mode"): "Context.set_mode(0)",
    ("set", "ctx", "min-proto-version"): "Context.set_min_proto_version",
    ("set", "ctx", "max-proto-version"): "Context.set_max_proto_version",
    ("set", "ctx", "verify-mode"): "Context.set_verify(mode)",
    ("get", "ctx", "verify-mode"): "Context.get_verify_mode",
    ("set", "ssl", "verify-mode"): "Connection.set_verify(mode)",
    ("get", "ssl", "verify-mode"): "Connection.get_verify_mode",
    ("set", "ctx", "verify-callback"): "Context.set_verify(current mode, callback)",
    ("set", "ssl", "verify-callback"): "Connection.set_verify(current mode, callback)",
    ("set", "ctx", "verify-depth"): "Context.set_verify_depth",
    ("get", "ctx", "verify-depth"): "Context.get_verify_depth",
    ("set", "ctx", "info-callback"): "Context.set_info_callback",
    ("set", "ssl", "info-callback"): "Connection.set_info_callback",
    ("set", "ctx", "default-passwd-cb"): "Context.set_passwd_cb",
    ("set", "ctx", "cipher-list"): "Context.set_cipher_list",
    ("get", "ssl", "cipher-list"): "Connection.get_cipher_list",
    ("set", "ssl", "accept-connect-state"): "Connection.set_accept_state / set_connect_state",
    ("set", "ctx", "client-ca-list"): "Context.set_client_ca_list",
    ("get", "ssl", "client-ca-list"): "Connection.get_client_ca_list",
}

# OpenSSL's functions behind each setting, for naming what is absent.
OPENSSL_FUNCTIONS: dict[str, tuple[str, str]] = {
    "method": ("", "get_ssl_method"),
    "options": ("set_options", "get_options"),
    "mode": ("set_mode", "get_mode"),
    "min-proto-version": ("set_min_proto_version", "get_min_proto_version"),
    "max-proto-version": ("set_max_proto_version", "get_max_proto_version"),
    "verify-mode": ("set_verify", "get_verify_mode"),
    "verify-callback": ("set_verify", "get_verify_callback"),
    "verify-depth": ("set_verify_depth", "get_verify_depth"),
    "verify-param": ("get0_param", "get0_param"),
    "msg-callback": ("set_msg_callback", "set_msg_callback"),
    "info-callback": ("set_info_callback", "get_info_callback"),
    "default-passwd-cb": ("set_default_passwd_cb", "get_default_passwd_cb"),
    "default-passwd-cb-userdata": (
        "set_default_passwd_cb_userdata",
        "get_default_passwd_cb_userdata",
    ),
    "cipher-list": ("set_cipher_list", "get_ciphers"),
    "accept-connect-state": ("set_accept_state", "is_server"),
    "max-cert-list": ("set_max_cert_list", "get_max_cert_list"),
    "read-ahead": ("set_read_ahead", "get_read_ahead"),
    "ex-data": ("set_ex_data", "get_ex_data"),
    "ca-list": ("set0_CA_list", "get0_CA_list"),
    "client-ca-list": ("set_client_CA_list", "get_client_CA_list"),
    "security-level": ("set_security_level", "get_security_level"),
    "security-callback": ("set_security_callback", "get_security_callback"),
}

OPENSSL_FUNCTIONS.update(
    {
        "timeout": ("set_timeout", "do_handshake"),
        "session": ("set_session", "get_session"),
        "session-id-context": ("set_session_id_context", "do_handshake"),
        "tmp-dh": ("set_tmp_dh", "do_handshake"),
        "tmp-dh-callback": ("set_tmp_dh_callback", "do_handshake"),
        "dh-auto": ("set_dh_auto", "do_handshake"),
        "certificate": ("use_certificate", "get_certificate"),
        "private-key": ("use_PrivateKey", "get_privatekey"),
        "chain": ("add1_chain_cert", "get0_chain_certs"),
        "sigalgs": ("set1_sigalgs_list", "do_handshake"),
        "client-sigalgs": ("set1_client_sigalgs_list", "do_handshake"),
        "dane": ("dane_enable", "do_handshake"),
        "generate-session-id": ("set_generate_session_id", "do_handshake"),
        "serverinfo": ("use_serverinfo_ex", "do_handshake"),
        "psk-identity-hint": ("use_psk_identity_hint", "do_handshake"),
        "custom-extensions": ("add_custom_ext", "do_handshake"),
        "client-cert-types": ("set1_client_certificate_types", "do_handshake"),
    }
)

# Settings a handshake or a certificate shows that pyOpenSSL can express, but that this
# adapter does not observe yet (that needs the harness's certificates and a peer).
NOT_OBSERVED_YET: frozenset[tuple[str, str, str]] = frozenset(
    {
        ("set", "ctx", "timeout"),  # Context.set_timeout
        ("get", "ctx", "timeout"),
        ("get", "ssl", "timeout"),
        ("set", "ssl", "session"),  # Connection.set_session / get_session
        ("get", "ssl", "session"),
        ("set", "ctx", "session-id-context"),  # Context.set_session_id
        ("get", "ctx", "session-id-context"),
        ("get", "ssl", "session-id-context"),
        ("set", "ctx", "tmp-dh"),  # Context.load_tmp_dh (from a file)
        ("get", "ctx", "tmp-dh"),
        ("get", "ssl", "tmp-dh"),
        ("set", "ctx", "certificate"),  # Context/Connection.use_certificate
        ("set", "ssl", "certificate"),
        ("get", "ssl", "certificate"),  # Connection.get_certificate
        ("set", "ctx", "private-key"),  # Context/Connection.use_privatekey (no getter)
        ("set", "ssl", "private-key"),
    }
)

FEATURES_ABSENT: dict[str, list[str]] = {
    "ctx_new": [],
    "ssl_new": [],
    "ssl_dup": ["SSL_dup"],
    "ssl_up_ref": ["SSL_up_ref"],
    # Releasing the last reference to a Connection frees its SSL (cffi's gc hook).
    "ssl_free": [],
    "ssl_get_ctx": [],
    "handshake": [],
    # No ex_data, so no free callback to watch SSL_free with (see README).
    "free_events": ["SSL_get_ex_new_index"],
    "errors": [],
}


def _bits_to_names(value: int, table: dict[str, int | None]) -> list[Json]:
    return bits_to_names(value, {name: bits for name, bits in table.items() if bits})


def _names_to_bits(
    names: Json, table: dict[str, int | None], spelled: dict[str, tuple[str, str]]
) -> int:
    if not isinstance(names, list):
        raise TypeError(f"expected a list of names, got {names!r}")
    value = 0
    lacking = []
    for name in names:
        bits = table.get(str(name))
        if bits is None:
            lacking.append(spelled[str(name)][1])
        else:
            value |= bits
    if lacking:
        # The setting exists; only this value cannot be said: set the example aside.
        raise Unobservable(f"pyOpenSSL does not define {', '.join(lacking)}")
    return value


class PyOpenSSL:
    family = "pyOpenSSL"

    def __init__(self) -> None:
        self.objects: dict[int, Any] = {}  # handle -> object the script holds
        # object -> its handle, for as long as the object lives (a Connection keeps its
        # Context alive after the script let go of it).
        self.handles: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._numbers = itertools.count(0x1000)
        self.queued_errors: list[str] = []
        self.option_bits = _constants({k: v[0] for k, v in OPTION_CONSTANTS.items()})
        self.mode_bits = _constants({k: v[0] for k, v in MODE_CONSTANTS.items()})
        self.verify_bits = _constants({k: v[0] for k, v in VERIFY_CONSTANTS.items()})
        self.callbacks: dict[str, dict[str, Callable[..., Any]]] = {
            "verify": {
                n: (lambda conn, cert, errno, depth, ok: bool(ok)) for n in ("cb-a", "cb-b")
            },
            "info": {n: (lambda conn, where, ret: None) for n in ("cb-a", "cb-b")},
            "passwd": {n: (lambda size, verify, data: b"") for n in ("cb-a", "cb-b")},
        }

    # --- helpers ------------------------------------------------------------------------

    def _keep(self, obj: Any) -> int:
        handle = next(self._numbers)
        self.objects[handle] = obj
        self.handles[obj] = handle
        return handle

    def _obj(self, handle: int) -> Any:
        try:
            return self.objects[handle]
        except KeyError:
            raise ValueError(f"no live object with handle {handle:#x}") from None

    def _call(self, what: str, func: Callable[..., Any], *args: Any) -> Any:
        """Call pyOpenSSL; its SSL.Error carries the drained error queue, keep it."""
        try:
            with warnings.catch_warnings():
                # X509Name and set_client_ca_list are deprecated; they are still the API.
                warnings.simplefilter("ignore", DeprecationWarning)
                return func(*args)
        except SSL.Error as err:
            for entry in err.args[0] if err.args and isinstance(err.args[0], list) else [err]:
                self.queued_errors.append(
                    ":".join(str(p) for p in entry) if isinstance(entry, tuple) else str(entry)
                )
            raise Unobservable(f"{what} raised OpenSSL.SSL.Error: {err}") from None
        except ValueError as err:
            if "cannot be mutated" in str(err):
                # pyOpenSSL 25+ refuses to change a Context once it made a Connection, so
                # "change the context after SSL_new" cannot be said through it at all.
                raise Absent(f"{what} on a Context that made a Connection") from None
            raise

    # --- Library ------------------------------------------------------------------------

    def version(self) -> str:
        linked = SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode(errors="replace")
        return f"pyOpenSSL {OpenSSL.__version__} on {linked}"

    def missing(self, feature: str) -> list[str]:
        if feature.startswith(("set:", "get:")):
            op, kind, setting = feature.split(":")
            if setting not in OPENSSL_FUNCTIONS:
                raise NotImplementedError(f"the pyOpenSSL adapter does not handle {setting!r}")
            if (op, kind, setting) in EXPRESSIBLE:
                return []
            if (op, kind, setting) in NOT_OBSERVED_YET:
                raise NotImplementedError(f"the pyOpenSSL adapter does not observe {setting} yet")
            if setting == "method" and op == "set":
                # A context's method is chosen by Context(method); an object's would need
                # SSL_set_ssl_method, which pyOpenSSL does not offer.
                return [] if kind == "ctx" else ["SSL_set_ssl_method"]
            setter, getter = OPENSSL_FUNCTIONS[setting]
            if getter == "do_handshake":
                # Read through a handshake, which pyOpenSSL has: what it lacks is the setter.
                getter = setter
            prefix = "SSL_CTX_" if kind == "ctx" else "SSL_"
            if setting in ("accept-connect-state", "ex-data", "dane"):
                prefix = "SSL_"
            if setting == "custom-extensions":
                prefix = "SSL_CTX_"  # OpenSSL has it for contexts only
            name = prefix + (setter if op == "set" else getter)
            # OpenSSL's context getters of these are get0_.
            name = {
                "SSL_CTX_get_certificate": "SSL_CTX_get0_certificate",
                "SSL_CTX_get_privatekey": "SSL_CTX_get0_privatekey",
            }.get(name, name)
            return [name]
        if feature not in FEATURES_ABSENT:
            raise NotImplementedError(f"unknown feature {feature!r}")
        return list(FEATURES_ABSENT[feature])

    def ctx_new(self, method: str) -> int | None:
        ctx = self._call("Context()", SSL.Context, getattr(SSL, METHODS[method]))
        return self._keep(ctx)

    def ctx_free(self, ctx: int) -> None:
        # Connections keep their Context alive, as SSL objects hold a context reference.
        self.objects.pop(ctx, None)

    def ssl_new(self, ctx: int | None) -> int | None:
        if ctx is None:
            # Connection(None) raises TypeError in Python before any SSL_new call.
            raise Absent("SSL_new(NULL): Connection requires a Context")
        conn = self._call("Connection()", SSL.Connection, self._obj(ctx), None)
        return self._keep(conn)

    def ssl_dup(self, ssl: int) -> int | None:
        raise Absent("SSL_dup")

    def ssl_up_ref(self, ssl: int) -> int:
        raise Absent("SSL_up_ref")

    def ssl_free(self, ssl: int) -> None:
        # The last reference going away runs SSL_free through cffi's gc hook.
        self.objects.pop(ssl, None)

    def ssl_get_ctx(self, ssl: int) -> int:
        ctx = self._obj(ssl).get_context()
        return self.handles.get(ctx, -1)

    def start_handshake(self, ssl: int) -> bool:
        """set_connect_state + do_handshake over pyOpenSSL's memory BIOs.

        pyOpenSSL has no SSL_in_before; the ClientHello it hands out through bio_read
        is what shows the handshake started.
        """
        conn = self._obj(ssl)
        conn.set_connect_state()
        try:
            conn.do_handshake()
        except SSL.WantReadError:
            pass  # expected: no server answers
        except SSL.Error as err:
            raise Unobservable(f"do_handshake raised {err}") from None
        try:
            sent = conn.bio_read(1 << 16)
        except SSL.WantReadError:
            sent = b""
        return len(sent) > 0

    def errors(self) -> list[str]:
        queued, self.queued_errors = self.queued_errors, []
        return queued

    def freed(self) -> list[int]:
        raise Absent(*FEATURES_ABSENT["free_events"])

    # --- settings -------------------------------------------------------------------------

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        lacking = self.missing(f"set:{kind}:{setting}")
        if lacking:
            raise Absent(*lacking)
        target = self._obj(obj)
        what = EXPRESSIBLE[("set", kind, setting)]
        if setting == "options":
            bits = _names_to_bits(value, self.option_bits, OPTION_CONSTANTS)
            self._call(what, target.set_options, bits)
        elif setting == "mode":
            bits = _names_to_bits(value, self.mode_bits, MODE_CONSTANTS)
            self._call(what, target.set_mode, bits)
        elif setting in ("min-proto-version", "max-proto-version"):
            number = 0 if value == "any" else int(getattr(SSL, PROTO_CONSTANTS[str(value)]))
            func = (
                target.set_min_proto_version
                if setting.startswith("min")
                else (target.set_max_proto_version)
            )
            self._call(what, func, number)
        elif setting == "verify-mode":
            mode = _names_to_bits(value, self.verify_bits, VERIFY_CONSTANTS)
            # set_verify always sets a callback too; with none given it is OpenSSL's
            # default. No getter can show the callback, so nothing observed changes.
            self._call(what, target.set_verify, mode)
        elif setting == "verify-callback":
            callback = self.callbacks["verify"][str(value)] if value is not None else None
            self._call(what, target.set_verify, target.get_verify_mode(), callback)
        elif setting == "verify-depth":
            self._call(what, target.set_verify_depth, value)
        elif setting == "info-callback":
            callback = self.callbacks["info"][str(value)] if value is not None else None
            if callback is None:
                # A value pyOpenSSL cannot pass (it wraps whatever it is given): set the
                # example aside rather than call the setting absent.
                raise Unobservable(f"{what}(None): pyOpenSSL wraps any callback it is given")
            self._call(what, target.set_info_callback, callback)
        elif setting == "default-passwd-cb":
            if value is None:
                raise Unobservable(f"{what}(None): pyOpenSSL requires a callable")
            self._call(what, target.set_passwd_cb, self.callbacks["passwd"][str(value)])
        elif setting == "cipher-list":
            text = ":".join(str(v) for v in value or []).encode()
            self._call(what, target.set_cipher_list, text)
        elif setting == "accept-connect-state":
            func = target.set_accept_state if value == "accept" else target.set_connect_state
            self._call(what, func)
        elif setting == "client-ca-list":
            self._call(what, target.set_client_ca_list, [_x509_name(str(cn)) for cn in value or []])
        else:
            raise NotImplementedError(f"no setter written for {setting!r}")

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        lacking = self.missing(f"get:{kind}:{setting}")
        if lacking:
            raise Absent(*lacking)
        target = self._obj(obj)
        what = EXPRESSIBLE[("get", kind, setting)]
        if setting == "options":
            return _bits_to_names(int(self._call(what, target.set_options, 0)), self.option_bits)
        if setting == "mode":
            return _bits_to_names(int(self._call(what, target.set_mode, 0)), self.mode_bits)
        if setting == "verify-mode":
            return _bits_to_names(int(self._call(what, target.get_verify_mode)), self.verify_bits)
        if setting == "verify-depth":
            return int(self._call(what, target.get_verify_depth))
        if setting == "cipher-list":
            names = self._call(what, target.get_cipher_list)
            return [str(n) for n in names if not str(n).startswith("TLS_")]  # TLS 1.3 suites
        if setting == "client-ca-list":
            return [str(name.commonName) for name in self._call(what, target.get_client_ca_list)]
        raise NotImplementedError(f"no getter written for {setting!r}")


def _x509_name(common_name: str) -> Any:
    """An OpenSSL.crypto.X509Name holding just CN=common_name."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        name = crypto.X509().get_subject()
        name.commonName = common_name
    return name


def load(lib_dir: str | None, options: dict[str, str]) -> PyOpenSSL:
    """pyOpenSSL needs no library folder: cryptography brings its own OpenSSL."""
    return PyOpenSSL()
