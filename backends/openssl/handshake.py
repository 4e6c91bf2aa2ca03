"""Settings seen through certificates and a real handshake, for the OpenSSL ABI family.

Certificates, keys and chains come from the harness's fixtures folder (PEM, made by
conformance.fixtures in the parent process) and are read with the library under test.
Settings without a getter are observed by a full handshake between the object under
test and a peer the adapter makes from contexts of its own, over a memory BIO pair:
the peer takes the other role, speaks TLS 1.2 at most (where the page's settings show),
and records what it receives (signature algorithms, certificate types, DH group, PSK
hint, extensions). Where the object needs something to complete a handshake at all (a
server without a certificate, a PSK server callback, a certificate request) the adapter
adds it to that object only, after every copy the rule compares was made.

One handshake per object: a second getter on an object that already did one is
answered from the record of that handshake, or is Unobservable once settings changed.

Runs inside the worker: imports nothing that maps libcrypto.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from ctypes import (
    CFUNCTYPE,
    POINTER,
    c_char_p,
    c_int,
    c_long,
    c_size_t,
    c_ubyte,
    c_uint,
    c_uint64,
    c_void_p,
)
from dataclasses import dataclass, field
from typing import Any

from conformance.library import Json, Kind, Unobservable
from conformance.settings import KEY_TYPES, SETTINGS, SIGALG_NAMES

FIXTURES_ENV = "SSLCONFORM_FIXTURES"
CHAIN = ("ca-1", "ca-2", "root")  # conformance.fixtures.CHAIN: depth n is CHAIN[:n]
DANE_BASE = "sslconform.test"

# ssl.h / tls1.h / x509.h (1.1.1 to 4.0)
CTRL_SET_TMP_DH = 3
CTRL_SET_TLSEXT_HOSTNAME = 55
CTRL_CHAIN = 88
CTRL_SET_SIGALGS_LIST = 98
CTRL_SET_CLIENT_SIGALGS_LIST = 102
CTRL_GET_CLIENT_CERT_TYPES = 103
CTRL_SET_CLIENT_CERT_TYPES = 104
CTRL_GET_PEER_TMP_KEY = 109
CTRL_GET_CHAIN_CERTS = 115
CTRL_SET_DH_AUTO = 118
CTRL_SET_MAX_PROTO = 124
CTRL_SET_GROUPS_LIST = 92
TLS1_2_VERSION = 0x303
SSL_OP_NO_TICKET = 1 << 14
SSL_VERIFY_PEER = 0x1
SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE = 2, 3
NID_COMMON_NAME = 13
NID_FFDHE = {"ffdhe2048": 1126, "ffdhe3072": 1127}
# Custom extension contexts: ClientHello and TLS 1.2 ServerHello.
EXT_CONTEXT = 0x0080 | 0x0100
SERVERINFO_TYPE = 1002  # the extension the serverinfo fixtures carry
CUSTOM_TYPES = (1000, 1001)  # the settings table's custom extension types
CERT_TYPES = {"rsa-sign": 1, "ecdsa-sign": 64}
SIGALG_CODES = dict(zip(SIGALG_NAMES, (0x0401, 0x0804, 0x0403, 0x0807, 0x0501), strict=True))
DANE_RECORDS = {  # name -> (usage, selector, matching type)
    "dane-ee-spki-sha256": (3, 1, 1),
    "dane-ta-cert-full": (2, 0, 0),
}
DHE_SUITES = ("DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384")
PSK_KEY = bytes(range(1, 17))
PSK_IDENTITY = b"sslconform"

GEN_SESSION_CB = CFUNCTYPE(c_int, c_void_p, POINTER(c_ubyte), POINTER(c_uint))
TMP_DH_CB = CFUNCTYPE(c_void_p, c_void_p, c_int, c_int)
PSK_CLIENT_CB = CFUNCTYPE(c_uint, c_void_p, c_void_p, c_void_p, c_uint, c_void_p, c_uint)
PSK_SERVER_CB = CFUNCTYPE(c_uint, c_void_p, c_void_p, c_void_p, c_uint)
EXT_ADD_CB = CFUNCTYPE(
    c_int,
    c_void_p,
    c_uint,
    c_uint,
    POINTER(c_void_p),
    POINTER(c_size_t),
    c_void_p,
    c_size_t,
    POINTER(c_int),
    c_void_p,
)
EXT_PARSE_CB = CFUNCTYPE(
    c_int,
    c_void_p,
    c_uint,
    c_uint,
    c_void_p,
    c_size_t,
    c_void_p,
    c_size_t,
    POINTER(c_int),
    c_void_p,
)
ACCEPT_CB = CFUNCTYPE(c_int, c_int, c_void_p)
ALPN_SELECT_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_void_p, c_void_p, c_uint, c_void_p)
SSL_TLSEXT_ERR_NOACK = 3

# What a handshake needs from the library, whatever setting it shows.
HANDSHAKE = (
    "BIO_new_bio_pair",
    "SSL_set_bio",
    "SSL_do_handshake",
    "SSL_get_error",
    "SSL_set_accept_state",
    "SSL_set_connect_state",
    "SSL_is_server",
    "SSL_in_before",
    "TLS_client_method",
    "TLS_server_method",
    "SSL_CTX_use_certificate",
    "SSL_CTX_use_PrivateKey",
    "SSL_CTX_ctrl",
    "SSL_get_certificate",
    "SSL_get_privatekey",
    "BIO_new_mem_buf",
    "PEM_read_bio_X509",
    "PEM_read_bio_PrivateKey",
    "OPENSSL_sk_new_null",
    "OPENSSL_sk_push",
    "OPENSSL_sk_free",
    "SSL_get_session",
    "SSL_set_verify",
    "SSL_get_verify_mode",
)
CERTS = ("BIO_new_mem_buf", "PEM_read_bio_X509", "PEM_read_bio_PrivateKey")
NAMES = ("X509_get_subject_name", "X509_NAME_get_text_by_NID")
# Settings whose getter needs an SSL object (a handshake, or SSL_get_session).
HANDSHAKE_ONLY = (*(s.name for s in SETTINGS if s.observed_by == "handshake"), "session")
CTX_GETTERS = (
    "timeout",
    "certificate",
    "private-key",
    "chain",
    "quiet-shutdown",
    "num-tickets",
)  # the rest: by handshake


@dataclass
class Seen:
    """What one handshake of an object showed."""

    ok: bool
    server: bool
    why: str = ""  # the failure, when not ok
    timeout: int | None = None
    id_context: bytes | None = None
    fired: dict[str, str] = field(default_factory=dict)  # callback kind -> cb-a / cb-b
    peer_sigalgs: list[str] | None = None
    peer_cert_types: list[str] | None = None
    peer_dh_group: str | None = None
    psk_hint: Json = None
    psk_asked: bool = False
    extensions: list[tuple[int, bytes]] = field(default_factory=list)
    dane: Json = None
    alpn: Json = None  # the protocols the peer server was offered (None: no ALPN)
    mode: str = "plain"


class HandshakeSettings:
    """Mixin of the OpenSSL adapter: the settings that need fixtures or a handshake."""

    # Provided by the adapter class.
    _fn: Callable[..., Callable[..., Any]]
    _has: Callable[[str], bool]
    errors: Callable[[], list[str]]
    _stack: Callable[[int | None], list[int]]
    _ctrl: Callable[[Kind, int, int, int], int]
    _pfx: Callable[[Kind], str]
    _cb: Callable[[str, Json], Any]
    _cb_name: Callable[[str, int | None], Json]
    _callbacks: dict[str, tuple[Any, ...]]

    def _init_handshakes(self) -> None:
        self.fixtures = os.environ.get(FIXTURES_ENV) or None
        self.own: set[int] = set()  # SSL objects the adapter made (peers): not the script's
        self.seen: dict[int, Seen | None] = {}  # object -> its handshake (None: changed since)
        self._x509: dict[str, int] = {}
        self._pkeys: dict[str, int] = {}
        self._peer_ctxs: dict[tuple[bool, str], int] = {}
        self._sessions: dict[str, int] = {}
        self._dh_for_callback: int | None = None
        self._record: list[tuple[str, str, int]] = []  # (kind, cb name, ssl)
        self._psk: list[tuple[int, Json]] = []
        self._exts: list[tuple[int, int, bytes]] = []
        self._alpn: list[tuple[int, bytes]] = []
        self._gen_counter = 0
        self._callbacks.update(self._handshake_callbacks())

    def _handshake_callbacks(self) -> dict[str, tuple[Any, ...]]:
        def gen(name: str) -> Callable[..., int]:
            def make_id(ssl: int | None, buf: Any, length: Any) -> int:
                self._record.append(("generate-session-id", name, ssl or 0))
                self._gen_counter += 1
                made = f"sslconform {name} {self._gen_counter}".encode()[:32]
                for i, byte in enumerate(made):
                    buf[i] = byte
                length[0] = len(made)
                return 1

            return make_id

        def dh(name: str) -> Callable[..., int | None]:
            def give(ssl: int | None, is_export: int, keylength: int) -> int | None:
                self._record.append(("tmp-dh-callback", name, ssl or 0))
                return self._dh_for_callback

            return give

        def psk_client(
            ssl: int | None,
            hint: int | None,
            identity: int | None,
            max_id: int,
            psk: int | None,
            max_psk: int,
        ) -> int:
            self._psk.append(
                (ssl or 0, ctypes.string_at(hint).decode(errors="replace") if hint else None)
            )
            if not identity or not psk or max_id <= len(PSK_IDENTITY) or max_psk < len(PSK_KEY):
                return 0
            ctypes.memmove(identity, PSK_IDENTITY + b"\0", len(PSK_IDENTITY) + 1)
            ctypes.memmove(psk, PSK_KEY, len(PSK_KEY))
            return len(PSK_KEY)

        def psk_server(ssl: int | None, identity: int | None, psk: int | None, max_psk: int) -> int:
            if not psk or max_psk < len(PSK_KEY):
                return 0
            ctypes.memmove(psk, PSK_KEY, len(PSK_KEY))
            return len(PSK_KEY)

        def ext_add(
            ssl: int | None, ext_type: int, context: int, out: Any, outlen: Any, *rest: Any
        ) -> int:
            out[0] = None
            outlen[0] = 0
            return 1

        def ext_parse(
            ssl: int | None, ext_type: int, context: int, data: int | None, size: int, *rest: Any
        ) -> int:
            self._exts.append((ssl or 0, ext_type, ctypes.string_at(data, size) if data else b""))
            return 1

        def alpn_select(
            ssl: int | None,
            out: int | None,
            outlen: int | None,
            data: int | None,
            size: int,
            arg: int | None,
        ) -> int:
            self._alpn.append((ssl or 0, ctypes.string_at(data, size) if data else b""))
            return SSL_TLSEXT_ERR_NOACK  # choose none: the handshake goes on without ALPN

        return {
            "generate-session-id": (GEN_SESSION_CB(gen("cb-a")), GEN_SESSION_CB(gen("cb-b"))),
            "tmp-dh-callback": (TMP_DH_CB(dh("cb-a")), TMP_DH_CB(dh("cb-b"))),
            "psk-client": (PSK_CLIENT_CB(psk_client),),
            "psk-server": (PSK_SERVER_CB(psk_server),),
            "ext-add": (EXT_ADD_CB(ext_add),),
            "ext-parse": (EXT_PARSE_CB(ext_parse),),
            "accept": (ACCEPT_CB(lambda ok, store: 1),),
            "alpn-select": (ALPN_SELECT_CB(alpn_select),),
        }

    # --- which functions each setting needs -------------------------------------------

    def _handshake_symbols(self, op: str, kind: Kind, setting: str) -> tuple[str, ...] | None:
        """(setters or getters) for the settings of this module; None for the others."""
        p = self._pfx(kind)
        ctrl = (f"{p}ctrl",)
        no_ssl = "an SSL object has no setter of its own for this (its context's only)"
        get_ssl = HANDSHAKE
        table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
            "timeout": (
                (no_ssl,) if kind == "ssl" else ("SSL_CTX_set_timeout",),
                (*get_ssl, "SSL_get_session", "SSL_SESSION_get_timeout")
                if kind == "ssl"
                else ("SSL_CTX_get_timeout",),
            ),
            "session": (
                ("SSL_set_session", "SSL_get1_session", *HANDSHAKE),
                ("SSL_get_session",),
            ),
            "session-id-context": (
                (f"{p}set_session_id_context",),
                (*get_ssl, "SSL_get_session", "SSL_SESSION_get0_id_context"),
            ),
            "tmp-dh": (
                self._dh_symbols(p),
                (*get_ssl, "SSL_ctrl", *self._group_symbols()),
            ),
            "tmp-dh-callback": (
                (f"{p}set_tmp_dh_callback", "DH_new_by_nid"),
                (*get_ssl, "SSL_ctrl", *self._dh_symbols("SSL_")),
            ),
            "dh-auto": (ctrl, (*get_ssl, "SSL_ctrl", *self._group_symbols())),
            "certificate": (
                (f"{p}use_certificate", *CERTS),
                ("SSL_get_certificate" if kind == "ssl" else "SSL_CTX_get0_certificate", *NAMES),
            ),
            "private-key": (
                (f"{p}use_PrivateKey", *CERTS),
                (
                    "SSL_get_privatekey" if kind == "ssl" else "SSL_CTX_get0_privatekey",
                    "EVP_PKEY_eq" if self._has("EVP_PKEY_eq") else "EVP_PKEY_cmp",
                    *CERTS,
                ),
            ),
            "chain": (
                (*ctrl, "OPENSSL_sk_new_null", "OPENSSL_sk_push", "OPENSSL_sk_free", *CERTS),
                (*ctrl, *NAMES),
            ),
            "sigalgs": (ctrl, (*get_ssl, "SSL_get_sigalgs", "SSL_set_verify")),
            "client-sigalgs": (ctrl, (*get_ssl, "SSL_get_sigalgs", "SSL_set_verify")),
            "client-cert-types": (ctrl, (*get_ssl, "SSL_ctrl", "SSL_set_verify")),
            "dane": (
                (
                    "SSL_CTX_dane_enable",
                    "SSL_dane_enable",
                    "SSL_dane_tlsa_add",
                    "SSL_get_SSL_CTX",
                    *CERTS,
                ),
                (*get_ssl, "SSL_get0_dane_tlsa"),
            ),
            "generate-session-id": ((f"{p}set_generate_session_id",), get_ssl),
            "serverinfo": (
                (f"{p}use_serverinfo_ex",),
                (*get_ssl, "SSL_CTX_add_custom_ext"),
            ),
            "psk-identity-hint": (
                (f"{p}use_psk_identity_hint",),
                (
                    *get_ssl,
                    "SSL_set_psk_server_callback",
                    "SSL_CTX_set_psk_client_callback",
                    "SSL_CTX_set_cipher_list",
                ),
            ),
            "custom-extensions": (
                (no_ssl,) if kind == "ssl" else ("SSL_CTX_add_custom_ext",),
                (*get_ssl, "SSL_CTX_add_custom_ext"),
            ),
            "server-name": (("SSL_ctrl",), ("SSL_get_servername",)),
            "alpn": ((f"{p}set_alpn_protos",), (*get_ssl, "SSL_CTX_set_alpn_select_cb")),
            "quiet-shutdown": ((f"{p}set_quiet_shutdown",), (f"{p}get_quiet_shutdown",)),
            "num-tickets": ((f"{p}set_num_tickets",), (f"{p}get_num_tickets",)),
        }
        if setting == "server-name" and kind == "ctx":
            return ("a context has no server name",)
        if setting not in table:
            return None
        if not self.fixtures and setting not in ("server-name", "quiet-shutdown", "num-tickets"):
            raise NotImplementedError(f"{setting}: no fixtures folder (${FIXTURES_ENV})")
        setters, getters = table[setting]
        if op == "get" and kind == "ctx" and setting not in CTX_GETTERS:
            return ()  # the getter says why it cannot show it (Unobservable)
        return setters if op == "set" else getters

    def _dh_symbols(self, p: str) -> tuple[str, ...]:
        if self._has(f"{p}set0_tmp_dh_pkey"):
            return (
                f"{p}set0_tmp_dh_pkey",
                "EVP_PKEY_CTX_new_from_name",
                "EVP_PKEY_paramgen_init",
                "EVP_PKEY_CTX_set_group_name",
                "EVP_PKEY_paramgen",
                "EVP_PKEY_CTX_free",
            )
        return (f"{p}ctrl", "DH_new_by_nid", "DH_free")

    def _group_symbols(self) -> tuple[str, ...]:
        if self._has("EVP_PKEY_get_utf8_string_param"):
            return ("EVP_PKEY_get_utf8_string_param", self._bits_fn(), "EVP_PKEY_free")
        return ("EVP_PKEY_get0_DH", "DH_get_nid", "OBJ_nid2sn", self._bits_fn(), "EVP_PKEY_free")

    def _bits_fn(self) -> str:
        return "EVP_PKEY_get_bits" if self._has("EVP_PKEY_get_bits") else "EVP_PKEY_bits"

    # --- fixtures -----------------------------------------------------------------------

    def _read(self, name: str) -> bytes:
        assert self.fixtures
        try:
            with open(os.path.join(self.fixtures, name), "rb") as f:
                return f.read()
        except OSError as exc:
            raise Unobservable(f"fixture {name} cannot be read: {exc.strerror}") from None

    def _pem(self, reader: str, name: str) -> int:
        data = self._read(name)
        bio = self._fn("BIO_new_mem_buf", c_void_p, c_char_p, c_int)(data, len(data))
        obj = self._fn(reader, c_void_p, c_void_p, c_void_p, c_void_p, c_void_p)(
            bio, None, None, None
        )
        self._fn("BIO_free", c_int, c_void_p)(bio)
        if not obj:
            self.errors()
            raise Unobservable(f"the library could not read fixture {name}")
        return int(obj)

    def x509(self, name: str) -> int:
        if name not in self._x509:
            self._x509[name] = self._pem("PEM_read_bio_X509", f"{name}.pem")
        return self._x509[name]

    def pkey(self, name: str) -> int:
        if name not in self._pkeys:
            self._pkeys[name] = self._pem("PEM_read_bio_PrivateKey", f"{name}.key")
        return self._pkeys[name]

    def _cn(self, x509: int | None) -> str | None:
        if not x509:
            return None
        subject = self._fn("X509_get_subject_name", c_void_p, c_void_p)(x509)
        buf = ctypes.create_string_buffer(256)
        self._fn("X509_NAME_get_text_by_NID", c_int, c_void_p, c_int, c_char_p, c_int)(
            subject, NID_COMMON_NAME, buf, 256
        )
        return buf.value.decode(errors="replace")

    def _fixture_of_cn(self, cn: str | None) -> Json:
        for kind in (*KEY_TYPES, *CHAIN):
            if cn == f"sslconform {kind}":
                return kind
        return cn

    # --- certificates, keys, chains: real getters ------------------------------------

    def _set_certificate(self, kind: Kind, obj: int, value: Json) -> None:
        if not self._fn(f"{self._pfx(kind)}use_certificate", c_int, c_void_p, c_void_p)(
            obj, self.x509(str(value))
        ):
            self.errors()
            raise Unobservable(f"the library refused certificate {value}")

    def _get_certificate(self, kind: Kind, obj: int) -> Json:
        name = "SSL_get_certificate" if kind == "ssl" else "SSL_CTX_get0_certificate"
        return self._fixture_of_cn(self._cn(self._fn(name, c_void_p, c_void_p)(obj)))

    def _set_private_key(self, kind: Kind, obj: int, value: Json) -> None:
        if not self._fn(f"{self._pfx(kind)}use_PrivateKey", c_int, c_void_p, c_void_p)(
            obj, self.pkey(str(value))
        ):
            self.errors()
            raise Unobservable(f"the library refused private key {value}")

    def _which_key(self, pkey: int | None) -> Json:
        if not pkey:
            return None
        same = self._fn(
            "EVP_PKEY_eq" if self._has("EVP_PKEY_eq") else "EVP_PKEY_cmp", c_int, c_void_p, c_void_p
        )
        found = next((n for n in KEY_TYPES if same(pkey, self.pkey(n)) == 1), "other")
        self.errors()  # comparing keys of different types queues an error
        return found

    def _get_private_key(self, kind: Kind, obj: int) -> Json:
        name = "SSL_get_privatekey" if kind == "ssl" else "SSL_CTX_get0_privatekey"
        return self._which_key(self._fn(name, c_void_p, c_void_p)(obj))

    def _chain_stack(self, depth: int) -> int:
        stack = int(self._fn("OPENSSL_sk_new_null", c_void_p)())
        push = self._fn("OPENSSL_sk_push", c_int, c_void_p, c_void_p)
        for name in CHAIN[:depth]:
            push(stack, self.x509(name))
        return stack

    def _set_chain(self, kind: Kind, obj: int, value: Json) -> None:
        assert isinstance(value, int)
        stack = self._chain_stack(value)
        # SSL_set1_chain: the library takes its own references; the stack stays ours.
        ok = self._fn(f"{self._pfx(kind)}ctrl", c_long, c_void_p, c_int, c_long, c_void_p)(
            obj, CTRL_CHAIN, 1, stack
        )
        self._fn("OPENSSL_sk_free", None, c_void_p)(stack)
        if not ok:
            self.errors()
            raise Unobservable(f"the library refused a chain of depth {value}")

    def _get_chain(self, kind: Kind, obj: int) -> Json:
        out = c_void_p()
        self._fn(f"{self._pfx(kind)}ctrl", c_long, c_void_p, c_int, c_long, c_void_p)(
            obj, CTRL_GET_CHAIN_CERTS, 0, ctypes.addressof(out)
        )
        names = [self._fixture_of_cn(self._cn(x)) for x in self._stack(out.value)]
        for depth in range(len(CHAIN) + 1):
            if names == list(CHAIN[:depth]):
                return depth  # the table's vocabulary: a fixture chain of this depth
        return names

    # --- plain setters of handshake-observed settings -----------------------------------

    def _ctrl_text(self, kind: Kind, obj: int, cmd: int, text: str, what: str) -> None:
        ok = self._fn(f"{self._pfx(kind)}ctrl", c_long, c_void_p, c_int, c_long, c_char_p)(
            obj, cmd, 0, text.encode()
        )
        if not ok:
            self.errors()
            raise Unobservable(f"the library refused {what} {text!r}")

    def _set_timeout(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn("SSL_CTX_set_timeout", c_long, c_void_p, c_long)(obj, value)

    def _get_timeout(self, kind: Kind, obj: int) -> Json:
        if kind == "ctx":
            return int(self._fn("SSL_CTX_get_timeout", c_long, c_void_p)(obj))
        seen = self._handshake(obj, "plain", None)
        if seen.timeout is None:
            raise Unobservable(f"the handshake made no session ({seen.why})")
        return seen.timeout

    def _set_session_id_context(self, kind: Kind, obj: int, value: Json) -> None:
        data = str(value).encode()
        if not self._fn(
            f"{self._pfx(kind)}set_session_id_context", c_int, c_void_p, c_char_p, c_uint
        )(obj, data, len(data)):
            self.errors()
            raise Unobservable(f"the library refused session id context {value}")

    def _get_session_id_context(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "plain", True)
        if seen.id_context is None:
            raise Unobservable(f"the handshake made no session ({seen.why})")
        return seen.id_context.decode(errors="replace") or None

    def _dh(self, group: str) -> tuple[str, int]:
        """Parameters of a named group: ("pkey", EVP_PKEY*) on 3.x, ("dh", DH*) before."""
        if self._has("EVP_PKEY_CTX_set_group_name"):
            pctx = self._fn("EVP_PKEY_CTX_new_from_name", c_void_p, c_void_p, c_char_p, c_char_p)(
                None, b"DH", None
            )
            out = c_void_p()
            ok = (
                pctx
                and self._fn("EVP_PKEY_paramgen_init", c_int, c_void_p)(pctx) > 0
                and self._fn("EVP_PKEY_CTX_set_group_name", c_int, c_void_p, c_char_p)(
                    pctx, group.encode()
                )
                > 0
                and self._fn("EVP_PKEY_paramgen", c_int, c_void_p, c_void_p)(
                    pctx, ctypes.addressof(out)
                )
                > 0
            )
            if pctx:
                self._fn("EVP_PKEY_CTX_free", None, c_void_p)(pctx)
            if not ok or not out.value:
                self.errors()
                raise Unobservable(f"the library could not make DH group {group}")
            return "pkey", out.value
        dh = self._fn("DH_new_by_nid", c_void_p, c_int)(NID_FFDHE[group])
        if not dh:
            self.errors()
            raise Unobservable(f"the library could not make DH group {group}")
        return "dh", int(dh)

    def _set_tmp_dh(self, kind: Kind, obj: int, value: Json) -> None:
        how, params = self._dh(str(value))
        p = self._pfx(kind)
        if how == "pkey":  # set0: the library owns the key from here
            ok = self._fn(f"{p}set0_tmp_dh_pkey", c_int, c_void_p, c_void_p)(obj, params)
        else:  # SSL_set_tmp_dh takes a reference of its own
            ok = self._fn(f"{p}ctrl", c_long, c_void_p, c_int, c_long, c_void_p)(
                obj, CTRL_SET_TMP_DH, 0, params
            )
            self._fn("DH_free", None, c_void_p)(params)
        if not ok:
            self.errors()
            raise Unobservable(f"the library refused tmp DH {value}")

    def _set_tmp_dh_callback(self, kind: Kind, obj: int, value: Json) -> None:
        if self._dh_for_callback is None:
            self._dh_for_callback = int(
                self._fn("DH_new_by_nid", c_void_p, c_int)(NID_FFDHE["ffdhe2048"])
            )
        self._fn(f"{self._pfx(kind)}set_tmp_dh_callback", None, c_void_p, c_void_p)(
            obj, ctypes.cast(self._cb("tmp-dh-callback", value), c_void_p)
        )

    def _set_dh_auto(self, kind: Kind, obj: int, value: Json) -> None:
        assert isinstance(value, int)
        self._ctrl(kind, obj, CTRL_SET_DH_AUTO, value)

    def _get_tmp_dh(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "dhe", True)
        if seen.peer_dh_group is None:
            raise Unobservable(f"no DHE handshake to show the group ({seen.why})")
        return seen.peer_dh_group

    def _get_tmp_dh_callback(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "dhe", True)
        if "tmp-dh-callback" not in seen.fired and not seen.ok:
            raise Unobservable(f"the DHE handshake failed before any callback ({seen.why})")
        return seen.fired.get("tmp-dh-callback")

    def _get_dh_auto(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "dhe", True)
        if seen.ok and seen.peer_dh_group:
            # The adapter configures only RFC 7919 groups (tmp-dh, its callbacks); automatic
            # parameters override them and are the library's own choice: RFC 3526 MODP
            # groups (3.0 shows modp_2048; 1.1.1, which names no MODP group, unnamed-2048).
            return 0 if seen.peer_dh_group in NID_FFDHE else 1
        if not seen.ok and "no shared cipher" in seen.why and self._offers_dhe(obj):
            return 0  # no parameters and no automatic ones: the server leaves DHE out
        raise Unobservable(f"no DHE handshake to show it ({seen.why})")

    def _offers_dhe(self, obj: int) -> bool:
        stack = self._fn("SSL_get_ciphers", c_void_p, c_void_p)(obj)
        name = self._fn("SSL_CIPHER_get_name", c_char_p, c_void_p)
        return any(bytes(name(c)).decode() in DHE_SUITES for c in self._stack(stack))

    def _set_sigalgs(self, kind: Kind, obj: int, value: Json) -> None:
        self._ctrl_text(kind, obj, CTRL_SET_SIGALGS_LIST, ":".join(value), "signature algorithms")

    def _set_client_sigalgs(self, kind: Kind, obj: int, value: Json) -> None:
        self._ctrl_text(
            kind, obj, CTRL_SET_CLIENT_SIGALGS_LIST, ":".join(value), "client signature algorithms"
        )

    def _get_sigalgs(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "certreq", None)
        if not seen.peer_sigalgs:
            raise Unobservable(f"the peer received no signature algorithms ({seen.why})")
        return seen.peer_sigalgs

    def _get_client_sigalgs(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "certreq", True)
        if not seen.peer_sigalgs:
            raise Unobservable(f"no CertificateRequest reached the peer ({seen.why})")
        return seen.peer_sigalgs

    def _set_client_cert_types(self, kind: Kind, obj: int, value: Json) -> None:
        data = bytes(CERT_TYPES[str(v)] for v in value)
        ok = self._fn(f"{self._pfx(kind)}ctrl", c_long, c_void_p, c_int, c_long, c_char_p)(
            obj, CTRL_SET_CLIENT_CERT_TYPES, len(data), data
        )
        if not ok:
            self.errors()
            raise Unobservable(f"the library refused client certificate types {value}")

    def _get_client_cert_types(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "certreq", True)
        if seen.peer_cert_types is None:
            raise Unobservable(f"no CertificateRequest reached the peer ({seen.why})")
        return seen.peer_cert_types

    def _set_generate_session_id(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set_generate_session_id", c_int, c_void_p, c_void_p)(
            obj, ctypes.cast(self._cb("generate-session-id", value), c_void_p)
        )

    def _get_generate_session_id(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "plain", True)
        if not seen.ok and "generate-session-id" not in seen.fired:
            raise Unobservable(f"the full handshake failed ({seen.why})")
        return seen.fired.get("generate-session-id")

    def _set_psk_identity_hint(self, kind: Kind, obj: int, value: Json) -> None:
        if not self._fn(f"{self._pfx(kind)}use_psk_identity_hint", c_int, c_void_p, c_char_p)(
            obj, str(value).encode()
        ):
            self.errors()
            raise Unobservable(f"the library refused PSK identity hint {value}")

    def _get_psk_identity_hint(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "psk", True)
        if not seen.psk_asked:
            raise Unobservable(f"no PSK handshake reached the client's callback ({seen.why})")
        return seen.psk_hint

    def _serverinfo(self, name: str) -> bytes:
        data = name.encode()
        return (
            EXT_CONTEXT.to_bytes(4, "big")
            + SERVERINFO_TYPE.to_bytes(2, "big")
            + len(data).to_bytes(2, "big")
            + data
        )

    def _set_serverinfo(self, kind: Kind, obj: int, value: Json) -> None:
        data = self._serverinfo(str(value))
        if not self._fn(
            f"{self._pfx(kind)}use_serverinfo_ex", c_int, c_void_p, c_uint, c_char_p, c_size_t
        )(obj, 2, data, len(data)):
            self.errors()
            raise Unobservable(f"the library refused serverinfo {value}")

    def _get_serverinfo(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "serverinfo", True)
        if not seen.ok:
            raise Unobservable(f"the handshake failed ({seen.why})")
        got = [data for t, data in seen.extensions if t == SERVERINFO_TYPE]
        return got[0].decode(errors="replace") if got else None

    def _set_custom_extensions(self, kind: Kind, obj: int, value: Json) -> None:
        self._add_ext(obj, int(value))

    def _add_ext(self, ctx: int, ext_type: int) -> None:
        ok = self._fn(
            "SSL_CTX_add_custom_ext",
            c_int,
            c_void_p,
            c_uint,
            c_uint,
            c_void_p,
            c_void_p,
            c_void_p,
            c_void_p,
            c_void_p,
        )(
            ctx,
            ext_type,
            EXT_CONTEXT,
            ctypes.cast(self._callbacks["ext-add"][0], c_void_p),
            None,
            None,
            ctypes.cast(self._callbacks["ext-parse"][0], c_void_p),
            None,
        )
        if not ok:
            self.errors()
            raise Unobservable(f"the library refused custom extension {ext_type}")

    def _get_custom_extensions(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "plain", None)
        if not seen.ok:
            raise Unobservable(f"the handshake failed ({seen.why})")
        got = sorted({t for t, _ in seen.extensions if t in CUSTOM_TYPES})
        return got[0] if len(got) == 1 else (got or None)

    def _set_dane(self, kind: Kind, obj: int, value: Json) -> None:
        ctx = self._fn("SSL_get_SSL_CTX", c_void_p, c_void_p)(obj)
        # DANE needs its context enabled first; enabling is idempotent.
        self._fn("SSL_CTX_dane_enable", c_int, c_void_p)(ctx)
        # A second SSL_dane_enable refuses (already enabled); the records still add.
        self._fn("SSL_dane_enable", c_int, c_void_p, c_char_p)(obj, DANE_BASE.encode())
        self.errors()
        usage, selector, mtype = DANE_RECORDS[str(value)]
        if mtype == 1:
            data = bytes.fromhex(self._read("rsa-2048.spki-sha256").decode().strip())
        else:
            data = self._read("ca-1.der")
        if (
            self._fn(
                "SSL_dane_tlsa_add", c_int, c_void_p, c_ubyte, c_ubyte, c_ubyte, c_char_p, c_size_t
            )(obj, usage, selector, mtype, data, len(data))
            <= 0
        ):
            self.errors()
            raise Unobservable(f"the library refused TLSA record {value}")

    def _get_dane(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "dane", False)
        if not seen.ok:
            raise Unobservable(f"the handshake failed ({seen.why})")
        return seen.dane

    def _session(self, name: str) -> int:
        """A session from a completed handshake between two objects of the adapter."""
        if name not in self._sessions:
            client = self._own_ssl(self._peer_ctx(True, "plain"))
            server = self._own_ssl(self._peer_ctx(False, "plain"))
            self._fn("SSL_set_connect_state", None, c_void_p)(client)
            self._fn("SSL_set_accept_state", None, c_void_p)(server)
            ok, why = self._drive(client, server)
            session = self._fn("SSL_get1_session", c_void_p, c_void_p)(client) if ok else None
            self._free_own(client)
            self._free_own(server)
            if not session:
                raise Unobservable(f"no session could be made for {name}: {why}")
            self._sessions[name] = int(session)
        return self._sessions[name]

    def _set_session(self, kind: Kind, obj: int, value: Json) -> None:
        if not self._fn("SSL_set_session", c_int, c_void_p, c_void_p)(
            obj, self._session(str(value))
        ):
            self.errors()
            raise Unobservable(f"the library refused session {value}")

    def _get_session(self, kind: Kind, obj: int) -> Json:
        current = self._fn("SSL_get_session", c_void_p, c_void_p)(obj)
        if not current:
            return None
        for name, session in self._sessions.items():
            if session == current:
                return name
        return "other"

    # --- settings the page does not list for SSL_dup -----------------------------------

    def _set_server_name(self, kind: Kind, obj: int, value: Json) -> None:
        if not self._fn("SSL_ctrl", c_long, c_void_p, c_int, c_long, c_char_p)(
            obj, CTRL_SET_TLSEXT_HOSTNAME, 0, str(value).encode()
        ):
            self.errors()
            raise Unobservable(f"the library refused server name {value}")

    def _get_server_name(self, kind: Kind, obj: int) -> Json:
        name = self._fn("SSL_get_servername", c_char_p, c_void_p, c_int)(obj, 0)
        return bytes(name).decode(errors="replace") if name else None

    def _set_alpn(self, kind: Kind, obj: int, value: Json) -> None:
        wire = b"".join(bytes([len(n)]) + n.encode() for n in value)
        # SSL_set_alpn_protos returns 0 on success.
        if self._fn(f"{self._pfx(kind)}set_alpn_protos", c_int, c_void_p, c_char_p, c_uint)(
            obj, wire, len(wire)
        ):
            self.errors()
            raise Unobservable(f"the library refused ALPN list {value}")

    def _get_alpn(self, kind: Kind, obj: int) -> Json:
        seen = self._handshake(obj, "plain", False)
        if not seen.ok:
            raise Unobservable(f"the handshake failed ({seen.why})")
        return seen.alpn

    def _set_quiet_shutdown(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._pfx(kind)}set_quiet_shutdown", None, c_void_p, c_int)(obj, value)

    def _get_quiet_shutdown(self, kind: Kind, obj: int) -> Json:
        return int(self._fn(f"{self._pfx(kind)}get_quiet_shutdown", c_int, c_void_p)(obj))

    def _set_num_tickets(self, kind: Kind, obj: int, value: Json) -> None:
        if not self._fn(f"{self._pfx(kind)}set_num_tickets", c_int, c_void_p, c_size_t)(obj, value):
            self.errors()
            raise Unobservable(f"the library refused {value} tickets")

    def _get_num_tickets(self, kind: Kind, obj: int) -> Json:
        return int(self._fn(f"{self._pfx(kind)}get_num_tickets", c_size_t, c_void_p)(obj))

    # --- the handshake ---------------------------------------------------------------

    def _own_ssl(self, ctx: int) -> int:
        ssl = int(self._fn("SSL_new", c_void_p, c_void_p)(ctx))
        self.own.add(ssl)
        return ssl

    def _free_own(self, ssl: int) -> None:
        self._fn("SSL_free", None, c_void_p)(ssl)
        self.own.discard(ssl)  # the free callback normally did this already

    def _peer_ctx(self, client: bool, mode: str) -> int:
        """The peer's context: TLS 1.2 at most, recording what it receives."""
        if client:
            key = (True, mode if mode in ("dhe", "psk") else "plain")
        else:
            key = (False, "dane" if mode == "dane" else "plain")
        mode = key[1]
        if key in self._peer_ctxs:
            return self._peer_ctxs[key]
        method = self._fn("TLS_client_method" if client else "TLS_server_method", c_void_p)()
        ctx = int(self._fn("SSL_CTX_new", c_void_p, c_void_p)(method))
        ctrl = self._fn("SSL_CTX_ctrl", c_long, c_void_p, c_int, c_long, c_void_p)
        ctrl(ctx, CTRL_SET_MAX_PROTO, TLS1_2_VERSION, None)
        if self._has("SSL_CTX_set_security_level"):
            self._fn("SSL_CTX_set_security_level", None, c_void_p, c_int)(ctx, 0)
        # Optional on the peer: a library without custom extensions (BoringSSL) still
        # shows every other setting; the settings that need them say so themselves.
        if self._has("SSL_CTX_add_custom_ext"):
            for ext_type in (*CUSTOM_TYPES, *((SERVERINFO_TYPE,) if client else ())):
                self._add_ext(ctx, ext_type)
        if client:
            # No ticket: a TLS 1.2 server then makes a session id (and calls its callback).
            self._fn("SSL_CTX_set_options", c_uint64, c_void_p, c_uint64)(ctx, SSL_OP_NO_TICKET)
            suites = {"dhe": ":".join(DHE_SUITES).encode(), "psk": b"PSK-AES128-GCM-SHA256"}.get(
                mode
            )
            if suites:
                self._fn("SSL_CTX_set_cipher_list", c_int, c_void_p, c_char_p)(ctx, suites)
            if mode == "dhe":
                # Elliptic groups only: a client that offers RFC 7919 groups lets a server
                # negotiate one (OpenSSL 4.0 does), and tmp DH settings would not show.
                ctrl(
                    ctx,
                    CTRL_SET_GROUPS_LIST,
                    0,
                    ctypes.cast(ctypes.c_char_p(b"X25519:P-256"), c_void_p),
                )
            if mode == "psk":
                self._fn("SSL_CTX_set_psk_client_callback", None, c_void_p, c_void_p)(
                    ctx, ctypes.cast(self._callbacks["psk-client"][0], c_void_p)
                )
        else:
            if self._has("SSL_CTX_set_alpn_select_cb"):
                self._fn("SSL_CTX_set_alpn_select_cb", None, c_void_p, c_void_p, c_void_p)(
                    ctx, ctypes.cast(self._callbacks["alpn-select"][0], c_void_p), None
                )
            kinds = ("rsa-2048",) if mode == "dane" else KEY_TYPES
            for kind in kinds:
                self._fn("SSL_CTX_use_certificate", c_int, c_void_p, c_void_p)(ctx, self.x509(kind))
                self._fn("SSL_CTX_use_PrivateKey", c_int, c_void_p, c_void_p)(ctx, self.pkey(kind))
                stack = self._chain_stack(len(CHAIN))
                ctrl(ctx, CTRL_CHAIN, 1, stack)
                self._fn("OPENSSL_sk_free", None, c_void_p)(stack)
        self.errors()
        self._peer_ctxs[key] = ctx
        return ctx

    def _drive(self, a: int, b: int) -> tuple[bool, str]:
        """Connect a (server or client as it is) and b over a BIO pair, to the end."""
        near, far = c_void_p(), c_void_p()
        self._fn("BIO_new_bio_pair", c_int, c_void_p, c_size_t, c_void_p, c_size_t)(
            ctypes.addressof(near), 0, ctypes.addressof(far), 0
        )
        set_bio = self._fn("SSL_set_bio", None, c_void_p, c_void_p, c_void_p)
        set_bio(a, near, near)
        set_bio(b, far, far)
        step = self._fn("SSL_do_handshake", c_int, c_void_p)
        error = self._fn("SSL_get_error", c_int, c_void_p, c_int)
        done = {a: False, b: False}
        for _ in range(50):
            for ssl in (a, b):
                if done[ssl]:
                    continue
                ret = step(ssl)
                if ret == 1:
                    done[ssl] = True
                elif error(ssl, ret) not in (SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE):
                    queued = self.errors()
                    return False, queued[0] if queued else f"SSL_get_error {error(ssl, ret)}"
            if all(done.values()):
                self.errors()
                return True, ""
        return False, "the handshake did not finish"

    def _ready_server(self, obj: int, mode: str) -> None:
        """What a server object needs to finish a handshake at all, added if missing."""
        cert = self._fn("SSL_get_certificate", c_void_p, c_void_p)(obj)
        key = self._fn("SSL_get_privatekey", c_void_p, c_void_p)(obj)
        if not cert and not key:
            # DHE suites and serverinfo (kept with the first slot, RSA's) need the RSA key;
            # otherwise one of each, the server choosing as the client's offer allows
            # (ECDSA first: it signs in a tenth of RSA's time).
            kinds: tuple[Json, ...] = (
                ("rsa-2048",)
                if mode in ("dhe", "serverinfo")
                else ("rsa-2048", "ed25519", "ec-p256")
            )
        elif not cert or not key:
            kinds = (self._fixture_of_cn(self._cn(cert)) if cert else self._which_key(key),)
        else:
            kinds = ()
        for kind in kinds:
            if kind in KEY_TYPES:
                self._fn("SSL_use_certificate", c_int, c_void_p, c_void_p)(
                    obj, self.x509(str(kind))
                )
                self._fn("SSL_use_PrivateKey", c_int, c_void_p, c_void_p)(obj, self.pkey(str(kind)))
        if mode == "psk":
            self._fn("SSL_set_psk_server_callback", None, c_void_p, c_void_p)(
                obj, ctypes.cast(self._callbacks["psk-server"][0], c_void_p)
            )
        if mode == "certreq":
            mode_bits = self._fn("SSL_get_verify_mode", c_int, c_void_p)(obj)
            self._fn("SSL_set_verify", None, c_void_p, c_int, c_void_p)(
                obj,
                mode_bits | SSL_VERIFY_PEER,
                ctypes.cast(self._callbacks["accept"][0], c_void_p),
            )
        self.errors()

    def changed(self, obj: int) -> None:
        """A setter ran on obj: an earlier handshake no longer shows its settings."""
        if obj in self.seen:
            self.seen[obj] = None

    def forget(self, obj: int) -> None:
        self.seen.pop(obj, None)

    def _handshake(self, obj: int, mode: str, server: bool | None) -> Seen:
        if obj in self.seen:
            done = self.seen[obj]
            if done is None:
                raise Unobservable("settings changed after this object's handshake")
            if done.mode != mode and not (done.mode == "certreq" and mode == "plain"):
                raise Unobservable(f"this object already did a {done.mode} handshake")
            return done
        if not self._fn("SSL_in_before", c_int, c_void_p)(obj):
            raise Unobservable("the object has already started a handshake of its own")
        is_server = bool(self._fn("SSL_is_server", c_int, c_void_p)(obj))
        if server is not None and is_server != server:
            role = "a server" if server else "a client"
            raise Unobservable(f"only {role} shows this, and the object is not one")
        if mode == "certreq" and not is_server:
            mode = "plain"  # a client shows its signature algorithms in its ClientHello
        self.errors()
        peer = self._own_ssl(self._peer_ctx(is_server, mode))
        self._record.clear()
        self._psk.clear()
        self._exts.clear()
        self._alpn.clear()
        if is_server:
            self._ready_server(obj, mode)
            self._fn("SSL_set_accept_state", None, c_void_p)(obj)
            self._fn("SSL_set_connect_state", None, c_void_p)(peer)
        else:
            self._fn("SSL_set_connect_state", None, c_void_p)(obj)
            self._fn("SSL_set_accept_state", None, c_void_p)(peer)
        ok, why = self._drive(obj, peer)
        seen = Seen(ok, is_server, why, mode=mode)
        try:
            self._observe(obj, peer, seen)
        finally:
            self._free_own(peer)
            self.errors()
        self.seen[obj] = seen
        return seen

    def _observe(self, obj: int, peer: int, seen: Seen) -> None:
        session = self._fn("SSL_get_session", c_void_p, c_void_p)(obj)
        if session:
            if self._has("SSL_SESSION_get_timeout"):
                seen.timeout = int(self._fn("SSL_SESSION_get_timeout", c_long, c_void_p)(session))
            if self._has("SSL_SESSION_get0_id_context"):
                length = c_uint()
                data = self._fn("SSL_SESSION_get0_id_context", c_void_p, c_void_p, c_void_p)(
                    session, ctypes.addressof(length)
                )
                seen.id_context = ctypes.string_at(data, length.value) if data else b""
        for kind, name, ssl in self._record:
            if ssl == obj:
                seen.fired.setdefault(kind, name)
        for ssl, hint in self._psk:
            if ssl == peer:
                seen.psk_asked, seen.psk_hint = True, hint
        seen.extensions = [(t, d) for ssl, t, d in self._exts if ssl == peer]
        for ssl, wire in self._alpn:
            if ssl == peer:
                seen.alpn = _alpn_names(wire)
        if self._has("SSL_get_sigalgs"):
            get = self._fn(
                "SSL_get_sigalgs",
                c_int,
                c_void_p,
                c_int,
                c_void_p,
                c_void_p,
                c_void_p,
                c_void_p,
                c_void_p,
            )
            count = get(peer, -1, None, None, None, None, None)
            if count > 0:
                names = []
                for i in range(count):
                    rsig, rhash = c_ubyte(), c_ubyte()
                    get(peer, i, None, None, None, ctypes.addressof(rsig), ctypes.addressof(rhash))
                    code = rhash.value << 8 | rsig.value
                    known = [n for n, c in SIGALG_CODES.items() if c == code]
                    names.append(known[0] if known else f"{code:#06x}")
                seen.peer_sigalgs = names
        ctrl = self._fn("SSL_ctrl", c_long, c_void_p, c_int, c_long, c_void_p)
        if seen.server:
            types = c_void_p()
            length = ctrl(peer, CTRL_GET_CLIENT_CERT_TYPES, 0, ctypes.addressof(types))
            if types.value and length > 0:
                raw = ctypes.string_at(types.value, length)
                type_names = {v: k for k, v in CERT_TYPES.items()}
                seen.peer_cert_types = [type_names.get(b, f"{b:#x}") for b in raw]
            elif seen.peer_sigalgs is not None:
                seen.peer_cert_types = []
            key = c_void_p()
            if ctrl(peer, CTRL_GET_PEER_TMP_KEY, 0, ctypes.addressof(key)) and key.value:
                seen.peer_dh_group = self._group(key.value)
                self._fn("EVP_PKEY_free", None, c_void_p)(key.value)
        elif self._has("SSL_get0_dane_tlsa"):
            usage, selector, mtype = c_ubyte(), c_ubyte(), c_ubyte()
            depth = self._fn(
                "SSL_get0_dane_tlsa",
                c_int,
                c_void_p,
                c_void_p,
                c_void_p,
                c_void_p,
                c_void_p,
                c_void_p,
            )(
                obj,
                ctypes.addressof(usage),
                ctypes.addressof(selector),
                ctypes.addressof(mtype),
                None,
                None,
            )
            if depth >= 0:
                record = (usage.value, selector.value, mtype.value)
                known = [n for n, r in DANE_RECORDS.items() if r == record]
                seen.dane = known[0] if known else list(record)

    def _group(self, pkey: int) -> str | None:
        """The DH group of a peer's key: its name, or "unnamed-BITS" for other primes."""
        name: str | None = None
        if self._has("EVP_PKEY_get_utf8_string_param"):
            buf = ctypes.create_string_buffer(80)
            size = c_size_t()
            if self._fn(
                "EVP_PKEY_get_utf8_string_param",
                c_int,
                c_void_p,
                c_char_p,
                c_char_p,
                c_size_t,
                c_void_p,
            )(pkey, b"group", buf, 80, ctypes.addressof(size)):
                name = buf.value.decode()
        else:
            dh = self._fn("EVP_PKEY_get0_DH", c_void_p, c_void_p)(pkey)
            if not dh:
                self.errors()
                return None  # not a DH key
            # 1.1.1 names only the RFC 7919 groups; other primes are NID_undef.
            nid = self._fn("DH_get_nid", c_int, c_void_p)(dh)
            short = self._fn("OBJ_nid2sn", c_char_p, c_int)(nid) if nid else None
            name = bytes(short).decode() if short else None
        self.errors()
        if name is None:
            bits = int(self._fn(self._bits_fn(), c_int, c_void_p)(pkey))
            name = f"unnamed-{bits}"
        return name


def _alpn_names(wire: bytes) -> list[str]:
    """An ALPN protocol list on the wire (length-prefixed names) as names."""
    names, i = [], 0
    while i < len(wire):
        size = wire[i]
        names.append(wire[i + 1 : i + 1 + size].decode(errors="replace"))
        i += 1 + size
    return names
