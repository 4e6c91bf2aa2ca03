"""The page's operations on rustls, through the adapter cdylib (src/lib.rs) and ctypes.

rustls is not OpenSSL: an SSL_CTX is a ClientConfig or ServerConfig, an SSL is a
ClientConnection or ServerConnection made from one. A connection is a value its owner
drops: rustls has no reference count, no up-ref and nothing that reports a free, so those
are `Absent` (the cdylib could count its own Arc, but that would be the adapter's
bookkeeping passed off as the library's). What rustls has is set and read back through
its own API or seen in a real in-memory handshake; what it has no notion of is `Absent`
with a one-line reason, which the report shows. README.md in this folder has the whole
mapping.

Imported inside the worker process: ctypes and the build module only (no libcrypto).
"""

from __future__ import annotations

import base64
import ctypes
import os

from backends.rustls import build
from conformance.library import Absent, AllocReport, Json, Kind, Unavailable, Unobservable
from conformance.settings import KEY_TYPES, METHODS, SIGALG_NAMES, VERIFY_MODE_NAMES

# --- what rustls has no notion of, and why (one line each: the report shows them) ------

NO_DUP = "rustls has no SSL_dup: connections are not copyable (no Clone)"
NO_RESUME = (
    "a session set on a connection to resume (rustls resumes from its config's session store)"
)
NO_NULL_CTX = (
    "rustls cannot make a connection without a config: ClientConnection::new takes an "
    "Arc<ClientConfig>"
)
CONNECTION_FIXED = "rustls fixes a connection's config when it is made: a connection has no setters"
ROLE_FIXED = (
    "rustls fixes the role when the connection is made (ClientConnection or ServerConnection)"
)
NO_REFCOUNT = (
    "rustls has no reference-counted connection object: a ClientConnection or "
    "ServerConnection is a value its owner drops, so there is no up-ref and no count"
)
NO_FREE_EVENTS = (
    "rustls reports nothing when a connection is dropped (no free callback, no ex_data): "
    "what SSL_free really freed cannot be seen"
)
NO_SSL_METHOD = (
    "rustls has no method on a connection: ClientConnection::new takes a ClientConfig, so "
    "the role is the connection's type and cannot differ from its config's"
)
SERVER_NOT_CLIENT = (
    "a rustls ServerConnection cannot start a client handshake: its role is fixed at creation"
)

# Settings rustls has no notion of at all, context or connection.
NO_NOTION: dict[str, str] = {
    "options": "rustls has no options word: its counterparts are separate config fields",
    "mode": "rustls has no modes: partial writes and buffer handling are fixed behaviour",
    "verify-callback": (
        "rustls has no verify callback: verification is a verifier object fixed in the config"
    ),
    "verify-depth": "rustls has no verify depth: webpki bounds chain length itself",
    "verify-param": (
        "rustls has no X509_VERIFY_PARAM: verifier options are fixed when the verifier is built"
    ),
    "msg-callback": "rustls has no message callback: it exposes no per-message hook",
    "info-callback": "rustls has no info callback: handshake progress is polled, not reported",
    "default-passwd-cb": "rustls has no password callback: keys are given decrypted",
    "default-passwd-cb-userdata": "rustls has no password callback: keys are given decrypted",
    "max-cert-list": "rustls has no max cert list setting: its message size limits are fixed",
    "read-ahead": "rustls has no read-ahead switch: read_tls takes what the caller supplies",
    "ex-data": "rustls has no ex_data: connections carry no application data slots",
    "ca-list": "rustls has no CA list setting: a client sends none, a server its verifier's",
    "client-ca-list": (
        "rustls has no client CA list of its own: the names sent are the client verifier's"
    ),
    "security-level": "rustls has no security levels: the crypto provider fixes the algorithms",
    "security-callback": (
        "rustls has no security callback: the crypto provider fixes the algorithms"
    ),
    "timeout": "rustls has no session timeout setting: ticket lifetimes are the ticketer's",
    "session": "rustls has no per-connection session: resumption data is the config's store",
    "session-id-context": "rustls has no session id context",
    "tmp-dh": "rustls with ring has no finite-field DHE key exchange",
    "tmp-dh-callback": "rustls with ring has no finite-field DHE key exchange",
    "dh-auto": "rustls with ring has no finite-field DHE key exchange",
    "dane": "rustls has no DANE",
    "generate-session-id": "rustls has no session id generation callback",
    "serverinfo": "rustls has no serverinfo extension data",
    "psk-identity-hint": "rustls has no PSK suites and no PSK identity hint",
    "custom-extensions": "rustls has no custom extension API",
    "client-cert-types": "rustls has no client certificate type list: its types are fixed",
    "quiet-shutdown": (
        "rustls has no quiet shutdown switch: it sends close_notify only when asked to"
    ),
}
NO_SERVER_NAME_READER = (
    "rustls takes a client's server name once, in ClientConnection::new, and has no reader for it"
)

# Settings rustls has on a config, read back on a context and on a connection; only the
# context can set them (configs are rebuilt; a connection's config is fixed).
ON_CONFIG = ("min-proto-version", "max-proto-version", "verify-mode", "cipher-list")
# Read from the connection object itself; neither can be set.
FROM_CONNECTION = ("method", "accept-connect-state")

# Settings rustls has that the page's table does not name (yet): context setters, getters
# on both. Values: alpn a list of protocol names; max-fragment-size an int or None; the
# switches booleans. Each maps to one field of ClientConfig/ServerConfig.
EXTRA_SETTINGS = ("alpn", "max-fragment-size", "resumption", "tickets", "key-log", "client-cert")
# The identity a config gives its peer: rustls takes a certificate chain with its key, set
# on a context from the harness's fixtures, read back from what a probe peer received.
IDENTITY = {"certificate": 0, "private-key": 1, "chain": 2}
# The provider's signature schemes (WebPkiSupportedAlgorithms), in order: a client offers
# them in its ClientHello (sigalgs), a server lists them in a CertificateRequest
# (client-sigalgs). Read from what the probe peer received.
SCHEMES = ("sigalgs", "client-sigalgs")
SCHEME_CODES = dict(zip(SIGALG_NAMES, (0x0401, 0x0804, 0x0403, 0x0807, 0x0501), strict=True))
# A server config's field with a reader (send_tls13_tickets).
CONFIG_FIELDS = ("num-tickets",)
# conformance.fixtures's folder variable and chain, named here: that module imports
# hashlib, which would map a libcrypto into this worker (tests check they agree).
FIXTURES_ENV = "SSLCONFORM_FIXTURES"
CHAIN = ("ca-1", "ca-2", "root")
# What a peer receives that is not one of the harness's fixtures: the crate's own test
# identity, which a server config has until a script gives it a certificate and key.
TEST_IDENTITY = "test-identity"
FLAGS = {"resumption": 0, "tickets": 1, "key-log": 2, "client-cert": 3}
SERVER_ONLY = {
    "client-sigalgs": (
        "a rustls client sends no CertificateRequest: client-sigalgs is a server's list"
    ),
    "tickets": "a rustls client has no ticketer: tickets are a server switch",
    "num-tickets": "a rustls client sends no tickets: send_tls13_tickets is a server field",
}
CLIENT_ONLY = {
    "sigalgs": (
        "a rustls server sends no signature scheme list of its own: it signs with one the "
        "client offered, and its CertificateRequest's list is client-sigalgs"
    ),
    "client-cert": "a rustls server's identity is fixed (the test keys): this is a client switch",
}

VERSIONS = {"any": 0, "tls1": 0x0301, "tls1.1": 0x0302, "tls1.2": 0x0303, "tls1.3": 0x0304}
# rl_get_versions bits, lowest version first
VERSION_BITS = ("tls1.2", "tls1.3")

# OpenSSL's names of the suites rustls has (TLS 1.2) and their IANA names, which rustls uses.
OPENSSL_TO_IANA = {
    "ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "ECDHE-RSA-CHACHA20-POLY1305": "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}
IANA_TO_OPENSSL = {iana: name for name, iana in OPENSSL_TO_IANA.items()}
# The table's suites rustls lacks (static-RSA key exchange, CBC) are skipped when set, as
# OpenSSL skips names it has no cipher for.
RUSTLS_LACKS = ("AES128-GCM-SHA256", "AES256-SHA")

# Verify modes a config can express. Client: verify the server or not. Server: no client
# auth, optional client auth, mandatory client auth.
CLIENT_VERIFY = {(): 0, ("peer",): 1}
SERVER_VERIFY = {(): 0, ("peer",): 1, ("fail-if-no-peer-cert", "peer"): 2}
VERIFY_REASONS = {
    "client-once": "rustls never renegotiates: it has no client-once",
    "post-handshake": "rustls has no post-handshake client authentication",
}


def missing_reason(feature: str) -> str | None:
    """Why rustls cannot do `feature` (see Library.missing), or None when it can.

    Decided from the feature's name alone, without running anything. NotImplementedError
    for a feature this adapter does not map.
    """
    if feature == "ssl_dup":
        return NO_DUP
    if feature in ("ssl_up_ref", "threads"):
        return NO_REFCOUNT
    if feature == "free_events":
        return NO_FREE_EVENTS
    if feature in ("ctx_new", "ssl_new", "ssl_free", "ssl_get_ctx", "handshake"):
        return None
    if feature in ("errors", "alloc_failures"):
        return None
    if feature == "resume":
        return NO_RESUME
    parts = feature.split(":")
    if len(parts) != 3 or parts[0] not in ("set", "get") or parts[1] not in ("ctx", "ssl"):
        raise NotImplementedError(f"no rustls mapping for {feature!r}")
    action, kind, name = parts
    if name in (*EXTRA_SETTINGS, *IDENTITY, *CONFIG_FIELDS, *SCHEMES):
        return CONNECTION_FIXED if action == "set" and kind == "ssl" else None
    if name == "server-name":
        return CONNECTION_FIXED if action == "set" else NO_SERVER_NAME_READER
    if name in NO_NOTION:
        return NO_NOTION[name]
    if name in FROM_CONNECTION:
        if action == "set":
            return ROLE_FIXED
        if kind == "ctx" and name == "accept-connect-state":
            return ROLE_FIXED
        if kind == "ssl" and name == "method":
            return NO_SSL_METHOD
        return None
    if name in ON_CONFIG:
        if action == "set" and kind == "ssl":
            return CONNECTION_FIXED
        return None
    if action == "set" and kind == "ssl":
        return CONNECTION_FIXED  # true of every setting: rustls connections have no setters
    # A setting the table gained after this adapter was written: the engine reports that
    # the adapter cannot say, rather than a status rustls did not earn.
    raise NotImplementedError(f"no rustls mapping for setting {name!r}")


class _AllocReport(ctypes.Structure):
    """lib.rs's AllocReport."""

    _fields_ = (
        ("result", ctypes.c_size_t),
        ("allocations", ctypes.c_size_t),
        ("injected", ctypes.c_int),
        ("leaked", ctypes.c_size_t),
    )


class RustlsLibrary:
    """`conformance.library.Library` over the adapter cdylib."""

    def __init__(self, path: str) -> None:
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise Unavailable(f"cannot load {path}: {exc}") from None
        p, i, sz, u16 = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t, ctypes.c_uint16
        signatures: dict[str, tuple[type | None, list[type]]] = {
            "rl_version": (ctypes.c_char_p, []),
            "rl_error_next": (p, []),
            "rl_string_free": (None, [p]),
            "rl_ctx_new": (p, [i]),
            "rl_ctx_free": (None, [p]),
            "rl_ctx_is_server": (i, [p]),
            "rl_ctx_set_version_bound": (i, [p, i, u16]),
            "rl_ctx_set_tls12_suites": (i, [p, ctypes.c_char_p]),
            "rl_ctx_set_verify": (i, [p, i]),
            "rl_get_tls12_suites": (p, [i, sz]),
            "rl_get_versions": (i, [i, sz]),
            "rl_get_verify": (i, [i, sz]),
            "rl_get_chain": (p, [i, sz]),
            "rl_ctx_set_identity": (i, [p, i, ctypes.c_char_p, sz]),
            "rl_ctx_set_num_tickets": (i, [p, ctypes.c_long]),
            "rl_get_num_tickets": (ctypes.c_long, [i, sz]),
            "rl_get_schemes": (p, [i, sz]),
            "rl_ctx_set_schemes": (i, [p, ctypes.POINTER(u16), sz]),
            "rl_ctx_set_alpn": (i, [p, ctypes.c_char_p]),
            "rl_ctx_set_max_fragment": (i, [p, sz]),
            "rl_ctx_set_flag": (i, [p, i, i]),
            "rl_get_alpn": (p, [i, sz]),
            "rl_get_max_fragment": (ctypes.c_long, [i, sz]),
            "rl_get_flag": (i, [i, sz, i]),
            "rl_ssl_new": (p, [p]),
            "rl_ssl_new_failing": (i, [p, sz, ctypes.POINTER(_AllocReport)]),
            "rl_ssl_free": (None, [p]),
            "rl_ssl_get_ctx": (p, [p]),
            "rl_ssl_is_server": (i, [p]),
            "rl_ssl_start_handshake": (i, [p]),
        }
        for name, (restype, argtypes) in signatures.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                raise Unavailable(f"{path} lacks {name}: a stale build") from None
            fn.restype = restype
            fn.argtypes = argtypes
        self._lib = lib
        self.fixtures = os.environ.get(FIXTURES_ENV) or None
        self._ders: dict[str, bytes] = {}  # fixture file -> its DER

    # --- library -------------------------------------------------------------------

    def version(self) -> str:
        raw: bytes = self._lib.rl_version()
        return raw.decode()

    def missing(self, feature: str) -> list[str]:
        reason = missing_reason(feature)
        return [] if reason is None else [reason]

    def errors(self) -> list[str]:
        out: list[str] = []
        while True:
            ptr = self._lib.rl_error_next()
            if not ptr:
                return out
            out.append(self._take_string(ptr))

    def freed(self) -> list[int]:
        raise Absent(NO_FREE_EVENTS)

    def _take_string(self, ptr: int) -> str:
        text = ctypes.string_at(ptr).decode("utf-8", "replace")
        self._lib.rl_string_free(ptr)
        return text

    # --- objects -------------------------------------------------------------------

    def ctx_new(self, method: str) -> int | None:
        """A ClientConfig for "tls-client", a ServerConfig for "tls-server".

        rustls has no role-neutral config: TLS_method ("tls") gets a ClientConfig, the
        role the page's handshake gives an SSL object. Its method then reads "tls-client".
        """
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}")
        handle: int | None = self._lib.rl_ctx_new(1 if method == "tls-server" else 0)
        return handle or None

    def ctx_free(self, ctx: int) -> None:
        self._lib.rl_ctx_free(ctx)

    def ssl_new(self, ctx: int | None) -> int | None:
        if ctx is None:
            raise Absent(NO_NULL_CTX)
        handle: int | None = self._lib.rl_ssl_new(ctx)
        return handle or None

    def ssl_dup(self, ssl: int) -> int | None:
        raise Absent(NO_DUP)

    def ssl_up_ref(self, ssl: int) -> int:
        raise Absent(NO_REFCOUNT)

    def ssl_free(self, ssl: int) -> None:
        self._lib.rl_ssl_free(ssl)

    def ssl_get_ctx(self, ssl: int) -> int:
        handle: int | None = self._lib.rl_ssl_get_ctx(ssl)
        return handle or 0

    def threads_up_ref_free(self, ssl: int, threads: int, per_thread: int) -> int:
        raise Absent(NO_REFCOUNT)

    def ssl_new_failing(self, ctx: int, nth: int) -> AllocReport:
        """ClientConnection::new / ServerConnection::new with its nth allocation failing.

        Reaching that allocation ends the worker: Rust's allocation failure handler aborts
        the process (the run records a crash). Short of it, the report is what happened.
        """
        report = _AllocReport()
        if not self._lib.rl_ssl_new_failing(ctx, nth, ctypes.byref(report)):
            raise Unobservable("; ".join(self.errors()) or "no context")
        return AllocReport(
            result=report.result or None,
            errors=self.errors(),
            allocations=report.allocations,
            injected=bool(report.injected),
            leaked=report.leaked,
            leaked_at=[],
        )

    def ssl_dup_failing(self, ssl: int, nth: int) -> AllocReport:
        raise Absent(NO_DUP)

    def start_handshake(self, ssl: int) -> bool:
        result: int = self._lib.rl_ssl_start_handshake(ssl)
        if result == -2:
            # rustls has the operation, not on this object: the example is unusable
            raise Unobservable(SERVER_NOT_CLIENT)
        if result < 0:
            raise Unobservable("; ".join(self.errors()) or "write_tls failed")
        return result == 1

    # --- settings ------------------------------------------------------------------

    def _check(self, action: str, kind: Kind, setting: str) -> None:
        reason = missing_reason(f"{action}:{kind}:{setting}")
        if reason is not None:
            raise Absent(reason)

    def _is_server(self, kind: Kind, obj: int) -> bool:
        fn = self._lib.rl_ctx_is_server if kind == "ctx" else self._lib.rl_ssl_is_server
        result: int = fn(obj)
        return result == 1

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        self._check("set", kind, setting)
        # Only context setters remain: each builds a new config; on failure rustls's
        # reason is queued (errors()) and the old config stays.
        if setting in ("min-proto-version", "max-proto-version"):
            if not isinstance(value, str) or value not in VERSIONS:
                raise ValueError(f"{setting}: not a protocol version: {value!r}")
            which = 0 if setting == "min-proto-version" else 1
            self._lib.rl_ctx_set_version_bound(obj, which, VERSIONS[value])
        elif setting == "cipher-list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"cipher-list: not a list of names: {value!r}")
            known = [
                OPENSSL_TO_IANA[v] for v in value if isinstance(v, str) and v in OPENSSL_TO_IANA
            ]
            self._lib.rl_ctx_set_tls12_suites(obj, ",".join(known).encode())
        elif setting == "verify-mode":
            if not isinstance(value, list) or not all(v in VERIFY_MODE_NAMES for v in value):
                raise ValueError(f"verify-mode: not a list of mode names: {value!r}")
            # A mode rustls cannot express is a value it cannot take, not a missing
            # function: the example is unusable, and the rule is judged on others.
            names = tuple(sorted(str(v) for v in set(value)))
            for name in names:
                if name in VERIFY_REASONS:
                    raise Unobservable(VERIFY_REASONS[name])
            server = self._is_server(kind, obj)
            table = SERVER_VERIFY if server else CLIENT_VERIFY
            if names not in table:
                raise Unobservable(
                    "rustls client auth is none, optional or mandatory: it has no "
                    "fail-if-no-peer-cert without peer"
                    if server
                    else "a rustls ClientConfig verifies the server or not: it has no "
                    "fail-if-no-peer-cert"
                )
            self._lib.rl_ctx_set_verify(obj, table[names])
        elif setting == "alpn":
            if not isinstance(value, list) or not all(
                isinstance(v, str) and v and "," not in v for v in value
            ):
                raise ValueError(f"alpn: not a list of protocol names: {value!r}")
            self._lib.rl_ctx_set_alpn(obj, ",".join(str(v) for v in value).encode())
        elif setting == "max-fragment-size":
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ValueError(f"max-fragment-size: not a positive size or None: {value!r}")
            self._lib.rl_ctx_set_max_fragment(obj, value or 0)
        elif setting in FLAGS:
            self._check_role(kind, obj, setting)
            if not isinstance(value, bool):
                raise ValueError(f"{setting}: not a boolean: {value!r}")
            self._lib.rl_ctx_set_flag(obj, FLAGS[setting], int(value))
        elif setting in IDENTITY:
            if setting == "chain":
                if not isinstance(value, int) or not 0 <= value <= len(CHAIN):
                    raise ValueError(f"chain: not a depth of 0 to {len(CHAIN)}: {value!r}")
                ders = [self._der(f"{name}.pem") for name in CHAIN[:value]]
            else:
                if value not in KEY_TYPES:
                    raise ValueError(f"{setting}: not one of {KEY_TYPES}: {value!r}")
                suffix = "pem" if setting == "certificate" else "key"
                ders = [self._der(f"{value}.{suffix}")]
            data = b"".join(len(d).to_bytes(4, "big") + d for d in ders)
            self._lib.rl_ctx_set_identity(obj, IDENTITY[setting], data, len(data))
        elif setting in SCHEMES:
            self._check_role(kind, obj, setting)
            if not isinstance(value, list) or not all(v in SCHEME_CODES for v in value):
                raise ValueError(f"{setting}: not a list of {SIGALG_NAMES}: {value!r}")
            codes = (ctypes.c_uint16 * len(value))(*(SCHEME_CODES[str(v)] for v in value))
            self._lib.rl_ctx_set_schemes(obj, codes, len(value))
        elif setting == "num-tickets":
            self._check_role(kind, obj, setting)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"num-tickets: not a count: {value!r}")
            self._lib.rl_ctx_set_num_tickets(obj, value)
        else:
            raise Absent(f"no rustls setter for {setting}")

    def _check_role(self, kind: Kind, obj: int, setting: str) -> None:
        server = self._is_server(kind, obj)
        why = CLIENT_ONLY.get(setting) if server else SERVER_ONLY.get(setting)
        if why is None:
            return
        if setting in SCHEMES or setting in CONFIG_FIELDS:
            # Settings of the table, which scripts set on contexts of every method: rustls
            # has them, on the other role's configs. That example is unusable; the rule
            # is judged on the others.
            raise Unobservable(why)
        raise Absent(why)

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        self._check("get", kind, setting)
        which = 0 if kind == "ctx" else 1
        if setting == "method":  # a context's config type (a connection's is absent)
            return "tls-server" if self._is_server(kind, obj) else "tls-client"
        if setting == "accept-connect-state":
            return "accept" if self._is_server(kind, obj) else "connect"
        if setting in ("min-proto-version", "max-proto-version"):
            mask: int = self._lib.rl_get_versions(which, obj)
            if mask < 0:
                raise Unobservable("; ".join(self.errors()) or "probe handshake failed")
            enabled = [name for bit, name in enumerate(VERSION_BITS) if mask & (1 << bit)]
            if not enabled:
                raise Unobservable("no protocol version completed a probe handshake")
            return enabled[0] if setting == "min-proto-version" else enabled[-1]
        if setting == "cipher-list":
            ptr = self._lib.rl_get_tls12_suites(which, obj)
            if not ptr:
                raise Unobservable("; ".join(self.errors()) or "no cipher suites")
            text = self._take_string(ptr)
            return [IANA_TO_OPENSSL.get(n, n) for n in text.split(",") if n]
        if setting == "verify-mode":
            code: int = self._lib.rl_get_verify(which, obj)
            if code < 0:
                raise Unobservable("; ".join(self.errors()) or "probe handshake failed")
            table = SERVER_VERIFY if self._is_server(kind, obj) else CLIENT_VERIFY
            for names, number in table.items():
                if number == code:
                    return list(names)
            raise Unobservable(f"unexpected verification code {code}")
        if setting == "alpn":
            ptr = self._lib.rl_get_alpn(which, obj)
            if not ptr:
                raise Unobservable("; ".join(self.errors()) or "no ALPN list")
            return [n for n in self._take_string(ptr).split(",") if n]
        if setting == "max-fragment-size":
            size: int = self._lib.rl_get_max_fragment(which, obj)
            return size or None
        if setting in IDENTITY:
            return self._identity(which, obj, setting)
        if setting in SCHEMES:
            self._check_role(kind, obj, setting)
            ptr = self._lib.rl_get_schemes(which, obj)
            if not ptr:
                raise Unobservable("; ".join(self.errors()) or "probe handshake failed")
            scheme_names = {code: name for name, code in SCHEME_CODES.items()}
            seen = [int(h, 16) for h in self._take_string(ptr).split(",") if h]
            return [scheme_names.get(code, f"{code:#06x}") for code in seen]
        if setting == "num-tickets":
            self._check_role(kind, obj, setting)
            tickets: int = self._lib.rl_get_num_tickets(which, obj)
            return tickets
        if setting in FLAGS:
            self._check_role(kind, obj, setting)
            flag: int = self._lib.rl_get_flag(which, obj, FLAGS[setting])
            if flag < 0:
                raise Unobservable("; ".join(self.errors()) or "probe handshake failed")
            return flag == 1
        raise Absent(f"no rustls getter for {setting}")

    def _der(self, name: str) -> bytes:
        """The DER inside fixture file `name` (one PEM block)."""
        if name not in self._ders:
            if not self.fixtures:
                raise Unobservable(f"no fixtures folder (${FIXTURES_ENV}) to read {name} from")
            try:
                with open(os.path.join(self.fixtures, name), "rb") as f:
                    lines = f.read().splitlines()
            except OSError as exc:
                raise Unobservable(f"fixture {name} cannot be read: {exc.strerror}") from None
            body = b"".join(ln for ln in lines if ln and not ln.startswith(b"-----"))
            self._ders[name] = base64.b64decode(body)
        return self._ders[name]

    def _fixture_of(self, der: bytes) -> str | None:
        for name in (*KEY_TYPES, *CHAIN):
            if self._der(f"{name}.pem") == der:
                return name
        return None

    def _identity(self, which: int, obj: int, setting: str) -> Json:
        """What the peer received from the object in a handshake (see rl_get_chain)."""
        ptr = self._lib.rl_get_chain(which, obj)
        if not ptr:
            raise Unobservable("; ".join(self.errors()) or "probe handshake failed")
        text = self._take_string(ptr)
        completed = text.startswith("+")
        chain = [bytes.fromhex(h) for h in text.lstrip("+").split(",") if h]
        if not chain:
            if not completed:
                raise Unobservable("the handshake ended before the object sent a certificate")
            return None if setting != "chain" else 0
        if setting == "chain":
            names = [self._fixture_of(der) or TEST_IDENTITY for der in chain[1:]]
            depth = len(names)
            return depth if names == list(CHAIN[:depth]) else names
        leaf = self._fixture_of(chain[0])
        if setting == "private-key" and not completed:
            # Only a completed handshake shows the key: the peer verified its signature.
            raise Unobservable("the handshake did not complete: no signature showed the key")
        return leaf or TEST_IDENTITY


def library_path(lib_dir: str | None, options: dict[str, str]) -> str:
    """The cdylib: in `lib_dir` when the launcher gives one, else the cached build.

    The worker does not build unless options say build=yes: a cold build takes longer
    than a worker may take to start. `sslconform build-rustls` builds beforehand.
    """
    if lib_dir:
        path = os.path.join(lib_dir, build.LIB_NAME)
        if not os.path.isfile(path):
            raise Unavailable(f"no {build.LIB_NAME} in {lib_dir}")
        return path
    if options.get("build") == "yes":
        return str(build.build())
    return str(build.prebuilt())


def load(lib_dir: str | None, options: dict[str, str]) -> RustlsLibrary:
    return RustlsLibrary(library_path(lib_dir, options))
