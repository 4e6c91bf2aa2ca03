"""pyOpenSSL (OpenSSL.SSL.Context and Connection) as a Library.

Settings are set through pyOpenSSL's public API. Where that API has no reader the
adapter reads through the OpenSSL bindings pyOpenSSL itself calls (`OpenSSL._util.lib`,
cryptography's bundled libssl), and says so in EXPRESSIBLE: SSL_get_options and
SSL_CTX_get_options (pyOpenSSL's `set_options(0)` is refused on a used Context), and
i2d_SSL_SESSION for what a handshake's session carries (its timeout, its session id
context). A page operation neither can express is `Absent`, named by the OpenSSL
function it would need, so the column reads like the native ones.

Objects are Python objects, kept alive in a dict until the script frees them. Their
handles are the library's own pointers, the SSL* and SSL_CTX* the Python objects wrap:
two SSL_new calls that handed back one SSL would show as one object.

This adapter imports pyOpenSSL and so cryptography's statically linked OpenSSL; it
runs in a worker process of its own, where that is the only OpenSSL mapped.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from backends.native import bits_to_names
from conformance import binding
from conformance.fixtures import ENV as FIXTURES_ENV
from conformance.fixtures import common_name
from conformance.library import Absent, AllocReport, Json, Kind, Unavailable, Unobservable
from conformance.settings import KEY_TYPES

try:
    import OpenSSL
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from OpenSSL import SSL, crypto
    from OpenSSL._util import ffi as _ffi
    from OpenSSL._util import lib as _lib
except ImportError as err:  # pragma: no cover - depends on the environment
    raise Unavailable(f"pyOpenSSL is not installed ({err}); pip install pyOpenSSL") from None


def _constants(table: dict[str, str]) -> dict[str, int | None]:
    """Script names -> pyOpenSSL's constants (None where pyOpenSSL does not have one)."""
    out: dict[str, int | None] = {}
    for name, constant in table.items():
        value = getattr(SSL, constant, None)
        out[name] = int(value) if isinstance(value, int) else None
    return out


def _pyopenssl_names(table: str) -> dict[str, tuple[str, str]]:
    """Script names -> (pyOpenSSL's constant, OpenSSL's C name), from the binding table:
    pyOpenSSL names each of OpenSSL's SSL_* flags without the prefix (OP_NO_TICKET)."""
    return {
        name: (c_name.removeprefix("SSL_"), c_name)
        for name, c_name in binding.FLAGS[table].c_names().items()
    }


OPTION_CONSTANTS = _pyopenssl_names("options")
MODE_CONSTANTS = _pyopenssl_names("modes")
VERIFY_CONSTANTS = _pyopenssl_names("verify-modes")
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
    ("get", "ctx", "options"): "SSL_CTX_get_options (pyOpenSSL's bindings)",
    ("set", "ssl", "options"): "Connection.set_options",
    ("get", "ssl", "options"): "SSL_get_options (pyOpenSSL's bindings)",
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
    ("set", "ctx", "timeout"): "Context.set_timeout",
    ("get", "ctx", "timeout"): "Context.get_timeout",
    ("get", "ssl", "timeout"): "a handshake's session (i2d_SSL_SESSION: its timeout)",
    ("set", "ctx", "session-id-context"): "Context.set_session_id",
    ("get", "ssl", "session-id-context"): "a server's session (i2d_SSL_SESSION: its id context)",
    ("set", "ctx", "certificate"): "Context.use_certificate",
    ("set", "ssl", "certificate"): "Connection.use_certificate",
    ("get", "ssl", "certificate"): "Connection.get_certificate",
    ("set", "ctx", "private-key"): "Context.use_privatekey",
    ("set", "ssl", "private-key"): "Connection.use_privatekey",
    ("set", "ssl", "session"): "Connection.set_session",
    ("get", "ssl", "session"): "Connection.get_session",
    ("set", "ctx", "alpn"): "Context.set_alpn_protos",
    ("set", "ssl", "alpn"): "Connection.set_alpn_protos",
    ("get", "ssl", "alpn"): "the protocols a peer server's ALPN callback was offered",
    ("set", "ssl", "server-name"): "Connection.set_tlsext_host_name",
    ("get", "ssl", "server-name"): "Connection.get_servername",
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
        # Settings the page does not list (conformance.beyond).
        "server-name": ("set_tlsext_host_name", "get_servername"),
        "alpn": ("set_alpn_protos", "do_handshake"),
        "quiet-shutdown": ("set_quiet_shutdown", "get_quiet_shutdown"),
        "num-tickets": ("set_num_tickets", "get_num_tickets"),
    }
)

# Where what pyOpenSSL lacks is not the call the settings table names.
_NO_DH_GROUP = (
    "SSL_get_peer_tmp_key: Context.load_tmp_dh sets DH parameters (from a file), but "
    "neither pyOpenSSL nor its bindings show the group a handshake used"
)
LACKING: dict[tuple[str, str, str], str] = {
    ("set", "ctx", "tmp-dh"): _NO_DH_GROUP,
    ("get", "ctx", "tmp-dh"): _NO_DH_GROUP,
    ("get", "ssl", "tmp-dh"): _NO_DH_GROUP,
}

# Getters that need an SSL object: a context shows them only through one, and making a
# Connection from a Context would freeze it (pyOpenSSL refuses setters on a used Context).
THROUGH_AN_SSL = {
    "session-id-context": "a context shows its session id context only in an SSL's session",
    "alpn": "a context shows its ALPN protocols only in an SSL's ClientHello",
}
# Settings an SSL's own handshake shows, and the role the object must play in it.
HANDSHAKE_FIELDS = {"timeout": None, "session-id-context": "server", "alpn": "client"}
SESSIONS = ("session-a", "session-b")
# The peer speaks TLS 1.2 at most: there a session exists as soon as the handshake ends.
PEER_KEY = "ec-p256"

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
    "threads": ["SSL_up_ref"],
    "alloc_failures": [
        "CRYPTO_set_mem_functions: cryptography's bundled OpenSSL does not expose it to "
        "Python, so no allocation inside SSL_new or SSL_dup can be made to fail"
    ],
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
        self.objects: dict[int, Any] = {}  # handle (SSL* / SSL_CTX*) -> object the script holds
        self.methods: dict[int, str] = {}  # SSL_CTX* -> the method it was made with
        self.roles: dict[int, str] = {}  # SSL* -> "accept" / "connect", as last set
        self.started: set[int] = set()  # SSL* that started a handshake of their own
        self.lent: set[int] = set()  # SSL* the adapter gave a certificate for a handshake
        # SSL* -> what its handshake's session showed (None: set again since)
        self.seen: dict[int, dict[str, Json] | None] = {}
        self.fixtures = os.environ.get(FIXTURES_ENV) or None
        self._peers: dict[bool, Any] = {}  # server? -> the peer's Context
        self._offered: list[str] | None = None  # ALPN the peer server was last offered
        # (SSL_CTX*, name) -> a Session from a completed handshake on that Context
        self._sessions: dict[tuple[int, str], Any] = {}
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

    def _keep(self, obj: Any, pointer: Any) -> int:
        """The handle of a new object: the library's pointer it wraps."""
        handle = _address(pointer)
        self.objects[handle] = obj
        for table in (self.roles, self.seen):
            table.pop(handle, None)  # a pointer the allocator handed out again
        self.started.discard(handle)
        self.lent.discard(handle)
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
                # pyOpenSSL 25+ refuses to change a Context once it made a Connection: a
                # script that changes the context after SSL_new cannot be said through it,
                # and is set aside; the setting itself is there for the others.
                raise Unobservable(f"{what} on a Context that made a Connection") from None
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
            if op == "get" and kind == "ctx" and setting in THROUGH_AN_SSL:
                return []  # the getter says why it cannot show it (Unobservable)
            if setting == "method" and op == "set":
                # A context's method is chosen by Context(method); an object's would need
                # SSL_set_ssl_method, which pyOpenSSL does not offer.
                return [] if kind == "ctx" else ["SSL_set_ssl_method"]
            if (op, kind, setting) in LACKING:
                return [LACKING[(op, kind, setting)]]
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
        if feature == "resume":
            # Every rule whose scripts resume a session compares what SSL_dup returns,
            # which pyOpenSSL lacks: no such script could be judged here.
            raise NotImplementedError(
                "the pyOpenSSL adapter does not resume sessions (every rule that does "
                "needs SSL_dup)"
            )
        if feature not in FEATURES_ABSENT:
            raise NotImplementedError(f"unknown feature {feature!r}")
        return list(FEATURES_ABSENT[feature])

    def ctx_new(self, method: str) -> int | None:
        ctx = self._call("Context()", SSL.Context, getattr(SSL, METHODS[method]))
        handle = self._keep(ctx, ctx._context)
        self.methods[handle] = method
        return handle

    def ctx_free(self, ctx: int) -> None:
        # Connections keep their Context alive, as SSL objects hold a context reference.
        self.objects.pop(ctx, None)

    def ssl_new(self, ctx: int | None) -> int | None:
        if ctx is None:
            # Connection(None) raises TypeError in Python before any SSL_new call.
            raise Absent("SSL_new(NULL): Connection requires a Context")
        conn = self._call("Connection()", SSL.Connection, self._obj(ctx), None)
        return self._keep(conn, conn._ssl)

    def ssl_dup(self, ssl: int) -> int | None:
        raise Absent("SSL_dup")

    def ssl_up_ref(self, ssl: int) -> int:
        raise Absent("SSL_up_ref")

    def ssl_free(self, ssl: int) -> None:
        # The last reference going away runs SSL_free through cffi's gc hook.
        self.objects.pop(ssl, None)

    def ssl_get_ctx(self, ssl: int) -> int:
        # The SSL_CTX* of the Context pyOpenSSL says the Connection belongs to (the
        # bindings have no SSL_get_SSL_CTX to ask libssl itself).
        return _address(self._obj(ssl).get_context()._context)

    def threads_up_ref_free(self, ssl: int, threads: int, per_thread: int) -> int:
        raise Absent(*FEATURES_ABSENT["threads"])

    def ssl_new_failing(self, ctx: int, nth: int) -> AllocReport:
        raise Absent(*FEATURES_ABSENT["alloc_failures"])

    def ssl_dup_failing(self, ssl: int, nth: int) -> AllocReport:
        raise Absent("SSL_dup")

    def start_handshake(self, ssl: int) -> bool:
        """set_connect_state + do_handshake over pyOpenSSL's memory BIOs.

        pyOpenSSL has no SSL_in_before; the ClientHello it hands out through bio_read
        is what shows the handshake started.
        """
        conn = self._obj(ssl)
        conn.set_connect_state()
        self.roles[ssl] = "connect"
        self.started.add(ssl)
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
        if kind == "ssl" and obj in self.seen:
            self.seen[obj] = None  # what its handshake showed is no longer its settings
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
            self.roles[obj] = str(value)
        elif setting == "client-ca-list":
            self._call(what, target.set_client_ca_list, [_x509_name(str(cn)) for cn in value or []])
        elif setting == "timeout":
            self._call(what, target.set_timeout, int(value))
        elif setting == "session-id-context":
            self._call(what, target.set_session_id, str(value).encode())
        elif setting == "certificate":
            self._call(what, target.use_certificate, self._certificate(str(value)))
        elif setting == "private-key":
            self._call(what, target.use_privatekey, self._key(str(value)))
        elif setting == "session":
            if value is None:  # SSL_set_session(s, NULL)
                raise Unobservable("pyOpenSSL's Connection.set_session takes no None")
            self._call(what, target.set_session, self._session(str(value), target.get_context()))
        elif setting == "server-name":
            self._call(what, target.set_tlsext_host_name, str(value).encode())
        elif setting == "alpn":
            self._call(what, target.set_alpn_protos, [str(v).encode() for v in value or []])
        else:
            raise NotImplementedError(f"no setter written for {setting!r}")

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        lacking = self.missing(f"get:{kind}:{setting}")
        if lacking:
            raise Absent(*lacking)
        if kind == "ctx" and setting in THROUGH_AN_SSL:
            raise Unobservable(THROUGH_AN_SSL[setting])
        target = self._obj(obj)
        what = EXPRESSIBLE[("get", kind, setting)]
        if setting == "options":
            get = _lib.SSL_CTX_get_options if kind == "ctx" else _lib.SSL_get_options
            pointer = target._context if kind == "ctx" else target._ssl
            return _bits_to_names(int(get(pointer)), self.option_bits)
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
        if setting == "timeout" and kind == "ctx":
            return int(self._call(what, target.get_timeout))
        if setting in HANDSHAKE_FIELDS:
            return self._handshake_field(obj, setting)
        if setting == "certificate":
            if kind == "ssl" and obj in self.lent:
                raise Unobservable("the adapter gave this SSL a certificate for a handshake")
            cert = self._call(what, lambda: target.get_certificate(as_cryptography=True))
            return None if cert is None else _fixture_of(cert)
        if setting == "server-name":
            name = self._call(what, target.get_servername)
            return None if name is None else bytes(name).decode(errors="replace")
        if setting == "session":
            session = self._call(what, target.get_session)
            if session is None:
                return None
            made = {_address(s._session): n for (_, n), s in self._sessions.items()}
            return made.get(_address(session._session), "other")
        raise NotImplementedError(f"no getter written for {setting!r}")

    # --- fixtures and handshakes --------------------------------------------------------

    def _fixture(self, name: str) -> bytes:
        if not self.fixtures:
            raise Unobservable(f"no fixtures folder (${FIXTURES_ENV}) to read {name} from")
        try:
            with open(os.path.join(self.fixtures, name), "rb") as f:
                return f.read()
        except OSError as exc:
            raise Unobservable(f"fixture {name} cannot be read: {exc.strerror}") from None

    def _certificate(self, kind: str) -> Any:
        return x509.load_pem_x509_certificate(self._fixture(f"{kind}.pem"))

    def _key(self, kind: str) -> Any:
        return load_pem_private_key(self._fixture(f"{kind}.key"), None)

    def _peer(self, server: bool) -> Any:
        """The peer's Context: TLS 1.2 at most, with a certificate, verifying nothing."""
        if server not in self._peers:
            ctx = SSL.Context(SSL.TLS_SERVER_METHOD if server else SSL.TLS_CLIENT_METHOD)
            ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
            ctx.use_certificate(self._certificate(PEER_KEY))
            ctx.use_privatekey(self._key(PEER_KEY))
            if not server:
                ctx.set_options(SSL.OP_NO_TICKET)  # the server then makes a session id
            else:
                ctx.set_alpn_select_callback(self._alpn_offered)
            self._peers[server] = ctx
        return self._peers[server]

    def _alpn_offered(self, conn: Any, offered: list[bytes]) -> Any:
        """The peer server's ALPN callback: notes what it was offered, chooses none."""
        self._offered = [p.decode(errors="replace") for p in offered]
        return SSL.NO_OVERLAPPING_PROTOCOLS

    def _is_server(self, ssl: int) -> bool:
        """The role the object plays: as last set, else its method's (an SSL_new of
        TLS_method is a server until told otherwise, as SSL_is_server says)."""
        if ssl in self.roles:
            return self.roles[ssl] == "accept"
        method = self.methods.get(_address(self._obj(ssl).get_context()._context), "tls")
        return method != "tls-client"

    def _handshake(self, conn: Any, server: bool) -> None:
        """conn and a peer over pyOpenSSL's memory BIOs, to the end of the handshake."""
        peer = SSL.Connection(self._peer(not server), None)
        if server:
            if conn.get_certificate() is None:
                # A server needs one to get anywhere; its certificate is then the adapter's.
                self.lent.add(_address(conn._ssl))
                conn.use_certificate(self._certificate(PEER_KEY))
                conn.use_privatekey(self._key(PEER_KEY))
            conn.set_accept_state()
            peer.set_connect_state()
        else:
            conn.set_connect_state()
            peer.set_accept_state()
        done = {id(conn): False, id(peer): False}
        for _ in range(50):
            for a, b in ((conn, peer), (peer, conn)):
                if not done[id(a)]:
                    try:
                        a.do_handshake()
                        done[id(a)] = True
                    except SSL.WantReadError:
                        pass
                    except SSL.Error as err:
                        # The adapter's own handshake: its errors are not the script's.
                        raise Unobservable(f"the handshake failed: {err}") from None
                try:
                    data = a.bio_read(1 << 16)
                except SSL.WantReadError:
                    data = b""
                if data:
                    b.bio_write(data)
            if all(done.values()):
                return
        raise Unobservable("the handshake did not finish")

    def _handshake_field(self, ssl: int, setting: str) -> Json:
        """What this object's own handshake showed (one handshake each)."""
        server = self._is_server(ssl)
        role = HANDSHAKE_FIELDS[setting]
        if role is not None and server != (role == "server"):
            raise Unobservable(f"only a {role} shows this, and the object is not one")
        if ssl in self.seen:
            fields = self.seen[ssl]
            if fields is None:
                raise Unobservable("settings changed after this object's handshake")
            return fields[setting]
        if ssl in self.started:
            raise Unobservable("the object has already started a handshake of its own")
        self._offered = None
        self._handshake(self._obj(ssl), server)
        session = _lib.SSL_get_session(self._obj(ssl)._ssl)
        if session == _ffi.NULL:
            raise Unobservable("the handshake made no session")
        fields = _session_fields(session)
        fields["alpn"] = self._offered
        self.seen[ssl] = fields
        return fields[setting]

    def _session(self, name: str, context: Any) -> Any:
        """A session named by the table, from a completed client handshake of its own.

        pyOpenSSL takes only a session made on the same Context, so it is made there.
        """
        if name not in SESSIONS:
            raise ValueError(f"session: not one of {SESSIONS}: {name!r}")
        key = (_address(context._context), name)
        if key not in self._sessions:
            conn = SSL.Connection(context, None)
            self._handshake(conn, False)
            session = conn.get_session()
            if session is None:
                raise Unobservable("the handshake made no session")
            self._sessions[key] = session
        return self._sessions[key]


def _address(pointer: Any) -> int:
    """The address a cffi pointer holds."""
    return int(_ffi.cast("uintptr_t", pointer))


def _fixture_of(cert: Any) -> Json:
    """The fixture name of a certificate the harness made (by its CN), else the CN."""
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    cn = str(names[0].value) if names else None
    for kind in KEY_TYPES:
        if cn == common_name(kind):
            return kind
    return cn


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, contents) of each DER element in `data`, in order."""
    items, i = [], 0
    while i + 2 <= len(data):
        tag, size = data[i], data[i + 1]
        i += 2
        if size & 0x80:  # long form: the next (size & 0x7f) bytes are the length
            count = size & 0x7F
            size = int.from_bytes(data[i : i + count], "big")
            i += count
        items.append((tag, data[i : i + size]))
        i += size
    return items


def _session_fields(session: Any) -> dict[str, Json]:
    """The timeout and session id context an SSL_SESSION carries, from its DER form.

    OpenSSL's SSL_SESSION ASN.1 (ssl_asn1.c): SEQUENCE { version, ssl_version, cipher,
    session_id, master_key, [1] time, [2] timeout, [3] peer, [4] sid_ctx, ... }, each
    tagged field EXPLICIT and present only when set.
    """
    size = _lib.i2d_SSL_SESSION(session, _ffi.NULL)
    if size <= 0:
        raise Unobservable("i2d_SSL_SESSION could not encode the session")
    buf = _ffi.new("unsigned char[]", size)
    _lib.i2d_SSL_SESSION(session, _ffi.new("unsigned char **", buf))
    items = _der_items(bytes(_ffi.buffer(buf, size)))
    if len(items) != 1 or items[0][0] != 0x30:
        raise Unobservable("the session's DER form is not a SEQUENCE")
    tagged = {tag: body for tag, body in _der_items(items[0][1])}
    fields: dict[str, Json] = {"timeout": None, "session-id-context": None}
    if 0xA2 in tagged:
        inner = _der_items(tagged[0xA2])
        fields["timeout"] = int.from_bytes(inner[0][1], "big", signed=True)
    if 0xA4 in tagged:
        inner = _der_items(tagged[0xA4])
        fields["session-id-context"] = inner[0][1].decode(errors="replace") or None
    return fields


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
