"""wolfSSL's OpenSSL compatibility layer over ctypes (libwolfssl.so.35, wolfSSL 5.5).

wolfSSL exports its own names (wolfSSL_new, wolfSSLv23_method, ...); its headers
map OpenSSL's names onto them, partly through macros over wolfSSL_ctrl whose numbers
are wolfSSL's own. FUNCTIONS below is that mapping, taken from wolfssl/openssl/ssl.h
and wolfssl/ssl.h of Debian's libwolfssl-dev 5.5.4 (bookworm). An OpenSSL name with
None has no counterpart in those headers; operations that need it are `Absent`.

Getters that exist but do not show what their setter stored are found by a round trip
on a throwaway object when the library is loaded, and reported as `Unobservable` with
what was seen; nothing is assumed from the version.

Runs inside a worker process; imports only ctypes and the harness's data modules.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from ctypes import CFUNCTYPE, POINTER, c_char_p, c_int, c_long, c_size_t, c_ulong, c_void_p
from typing import Any

from backends.native import (
    HANDSHAKE_FUNCTIONS,
    MODE_C_NAMES,
    OBJECT_FEATURES,
    OPTION_C_NAMES,
    VERIFY_MODE_C_NAMES,
    CallbackPair,
    ObjectCalls,
    SymbolTable,
    bits_to_names,
    names_to_bits,
    round_trip,
)
from conformance.library import Absent, Json, Kind, Unavailable, Unobservable

SONAME = "libwolfssl.so.35"

# OpenSSL's name -> wolfSSL's exported symbol (None: the headers offer no such function).
FUNCTIONS: dict[str, str | None] = {
    "SSL_CTX_new": "wolfSSL_CTX_new",
    "SSL_CTX_free": "wolfSSL_CTX_free",
    "TLS_method": "wolfSSLv23_method",
    "TLS_client_method": "wolfTLS_client_method",
    "TLS_server_method": "wolfTLS_server_method",
    "SSL_new": "wolfSSL_new",
    "SSL_free": "wolfSSL_free",
    # wolfSSL_write_dup exists but makes a write-only twin for another thread; it is
    # not SSL_dup. Only contexts are reference counted (wolfSSL_CTX_up_ref).
    "SSL_dup": None,
    "SSL_up_ref": None,
    "SSL_get_SSL_CTX": "wolfSSL_get_SSL_CTX",
    "BIO_new_bio_pair": "wolfSSL_BIO_new_bio_pair",
    "BIO_ctrl_pending": "wolfSSL_BIO_ctrl_pending",
    "SSL_set_bio": "wolfSSL_set_bio",
    "SSL_set_connect_state": "wolfSSL_set_connect_state",
    "SSL_set_accept_state": "wolfSSL_set_accept_state",
    "SSL_is_server": "wolfSSL_is_server",
    "SSL_do_handshake": "wolfSSL_SSL_do_handshake",
    "SSL_in_before": None,
    "ERR_get_error": "wolfSSL_ERR_get_error",
    "ERR_error_string_n": "wolfSSL_ERR_error_string_n",
    "CRYPTO_get_ex_new_index": "wolfSSL_CRYPTO_get_ex_new_index",
    "SSL_set_ex_data": "wolfSSL_set_ex_data",
    "SSL_get_ex_data": "wolfSSL_get_ex_data",
    "SSL_get_ssl_method": None,
    "SSL_CTX_get_ssl_method": None,
    "SSL_set_options": "wolfSSL_set_options",
    "SSL_get_options": "wolfSSL_get_options",
    "SSL_CTX_set_options": "wolfSSL_CTX_set_options",
    "SSL_CTX_get_options": "wolfSSL_CTX_get_options",
    "SSL_set_mode": "wolfSSL_ctrl",  # macro: wolfSSL_ctrl(ssl, SSL_CTRL_MODE, op, NULL)
    # No SSL_get_mode macro; wolfSSL_SSL_get_mode is the function an OpenSSL-style
    # SSL_get_mode would have to be.
    "SSL_get_mode": "wolfSSL_SSL_get_mode",
    "SSL_CTX_set_mode": "wolfSSL_CTX_set_mode",
    "SSL_CTX_get_mode": "wolfSSL_CTX_get_mode",
    "SSL_set_min_proto_version": "wolfSSL_set_min_proto_version",
    "SSL_set_max_proto_version": "wolfSSL_set_max_proto_version",
    # No SSL_get_{min,max}_proto_version macros; OpenSSL's macros would go through
    # SSL_ctrl, whose GET numbers are 125 / 126 in wolfSSL (130 / 131 in OpenSSL).
    "SSL_get_min_proto_version": "wolfSSL_ctrl",
    "SSL_get_max_proto_version": "wolfSSL_ctrl",
    "SSL_CTX_set_min_proto_version": "wolfSSL_CTX_set_min_proto_version",
    "SSL_CTX_set_max_proto_version": "wolfSSL_CTX_set_max_proto_version",
    "SSL_CTX_get_min_proto_version": "wolfSSL_CTX_get_min_proto_version",
    "SSL_CTX_get_max_proto_version": "wolfSSL_CTX_get_max_proto_version",
    "SSL_set_verify": "wolfSSL_set_verify",
    "SSL_CTX_set_verify": "wolfSSL_CTX_set_verify",
    "SSL_get_verify_mode": "wolfSSL_get_verify_mode",
    "SSL_CTX_get_verify_mode": "wolfSSL_CTX_get_verify_mode",
    "SSL_get_verify_callback": "wolfSSL_get_verify_callback",
    "SSL_CTX_get_verify_callback": "wolfSSL_CTX_get_verify_callback",
    "SSL_set_verify_depth": "wolfSSL_set_verify_depth",
    "SSL_CTX_set_verify_depth": "wolfSSL_CTX_set_verify_depth",
    "SSL_get_verify_depth": "wolfSSL_get_verify_depth",
    "SSL_CTX_get_verify_depth": "wolfSSL_CTX_get_verify_depth",
    "SSL_get0_param": "wolfSSL_get0_param",
    "SSL_CTX_get0_param": "wolfSSL_CTX_get0_param",
    "X509_VERIFY_PARAM_set_flags": "wolfSSL_X509_VERIFY_PARAM_set_flags",
    "X509_VERIFY_PARAM_get_flags": "wolfSSL_X509_VERIFY_PARAM_get_flags",
    "X509_VERIFY_PARAM_set_hostflags": "wolfSSL_X509_VERIFY_PARAM_set_hostflags",
    "X509_VERIFY_PARAM_get_hostflags": None,
    "X509_VERIFY_PARAM_set_auth_level": None,
    "X509_VERIFY_PARAM_get_auth_level": None,
    "X509_VERIFY_PARAM_set_time": None,
    "X509_VERIFY_PARAM_get_time": None,
    "SSL_set_msg_callback": "wolfSSL_set_msg_callback",
    "SSL_CTX_set_msg_callback": "wolfSSL_CTX_set_msg_callback",
    "SSL_set_info_callback": None,
    "SSL_get_info_callback": None,
    "SSL_CTX_set_info_callback": "wolfSSL_CTX_set_info_callback",
    "SSL_CTX_get_info_callback": None,
    "SSL_set_default_passwd_cb": None,
    "SSL_get_default_passwd_cb": None,
    "SSL_CTX_set_default_passwd_cb": "wolfSSL_CTX_set_default_passwd_cb",
    "SSL_CTX_get_default_passwd_cb": "wolfSSL_CTX_get_default_passwd_cb",
    "SSL_set_default_passwd_cb_userdata": None,
    "SSL_get_default_passwd_cb_userdata": None,
    "SSL_CTX_set_default_passwd_cb_userdata": "wolfSSL_CTX_set_default_passwd_cb_userdata",
    "SSL_CTX_get_default_passwd_cb_userdata": "wolfSSL_CTX_get_default_passwd_cb_userdata",
    "SSL_set_cipher_list": "wolfSSL_set_cipher_list",
    "SSL_CTX_set_cipher_list": "wolfSSL_CTX_set_cipher_list",
    "SSL_get_ciphers": "wolfSSL_get_ciphers_compat",
    "SSL_CTX_get_ciphers": None,
    "SSL_CIPHER_get_name": "wolfSSL_CIPHER_get_name",
    "OPENSSL_sk_num": "wolfSSL_sk_num",
    "OPENSSL_sk_value": "wolfSSL_sk_value",
    # No max cert list functions, and wolfSSL_ctrl has no SSL_CTRL_*_MAX_CERT_LIST.
    "SSL_set_max_cert_list": None,
    "SSL_get_max_cert_list": None,
    "SSL_CTX_set_max_cert_list": None,
    "SSL_CTX_get_max_cert_list": None,
    "SSL_set_read_ahead": "wolfSSL_set_read_ahead",
    "SSL_get_read_ahead": "wolfSSL_get_read_ahead",
    "SSL_CTX_set_read_ahead": "wolfSSL_CTX_set_read_ahead",
    "SSL_CTX_get_read_ahead": "wolfSSL_CTX_get_read_ahead",
    "SSL_set0_CA_list": None,
    "SSL_get0_CA_list": None,
    "SSL_CTX_set0_CA_list": None,
    "SSL_CTX_get0_CA_list": None,
    "SSL_set_client_CA_list": "wolfSSL_set_client_CA_list",
    "SSL_get_client_CA_list": "wolfSSL_get_client_CA_list",
    "SSL_CTX_set_client_CA_list": "wolfSSL_CTX_set_client_CA_list",
    "SSL_CTX_get_client_CA_list": "wolfSSL_CTX_get_client_CA_list",
    "sk_X509_NAME_new_null": "wolfSSL_sk_X509_NAME_new",  # macro: ..._new(NULL)
    "sk_X509_NAME_push": "wolfSSL_sk_X509_NAME_push",
    "sk_X509_NAME_num": "wolfSSL_sk_X509_NAME_num",
    "sk_X509_NAME_value": "wolfSSL_sk_X509_NAME_value",
    "X509_NAME_new": "wolfSSL_X509_NAME_new",
    "X509_NAME_add_entry_by_txt": "wolfSSL_X509_NAME_add_entry_by_txt",
    "X509_NAME_get_text_by_NID": "wolfSSL_X509_NAME_get_text_by_NID",
    "SSL_set_security_level": None,
    "SSL_get_security_level": None,
    "SSL_CTX_set_security_level": "wolfSSL_CTX_set_security_level",
    "SSL_CTX_get_security_level": "wolfSSL_CTX_get_security_level",
    "SSL_set_security_callback": None,
    "SSL_get_security_callback": None,
    "SSL_CTX_set_security_callback": None,
    "SSL_CTX_get_security_callback": None,
}

# Constants from wolfssl/ssl.h and wolfssl/openssl/*.h (5.5.4). None: not defined.
OPTION_BITS: dict[str, int | None] = {
    "allow-no-dhe-kex": None,
    "no-query-mtu": 0x00200000,
    "no-ticket": 0x00080000,  # defined because options.h has HAVE_SESSION_TICKET
    "no-compression": 0x10000000,
    "enable-middlebox-compat": None,
    "prioritize-chacha": None,
    "cipher-server-preference": 0x02000000,
    "no-anti-replay": None,
    "no-tlsv1": 0x00002000,
    "no-tlsv1.2": 0x08000000,
    "no-tlsv1.1": 0x04000000,
    "no-tlsv1.3": 0x20000000,
    "no-renegotiation": None,
}
# wolfSSL's mode values are not OpenSSL's and are not all single bits.
MODE_BITS: dict[str, int | None] = {
    "enable-partial-write": 2,  # enum SSL_MODE_ENABLE_PARTIAL_WRITE
    "accept-moving-write-buffer": 4,  # WOLFSSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
    "auto-retry": 3,  # enum SSL_MODE_AUTO_RETRY
    "no-auto-chain": None,
    "release-buffers": 0x10,  # openssl/ssl.h macro (the ssl.h enum says -1)
    "send-fallback-scsv": None,
}
VERIFY_MODE_BITS: dict[str, int | None] = {
    "peer": 1,
    "fail-if-no-peer-cert": 2,
    "client-once": 4,
    "post-handshake": 8,
}
PROTO_NUMBERS = {"any": 0, "tls1": 0x301, "tls1.1": 0x302, "tls1.2": 0x303, "tls1.3": 0x304}
SSL_CTRL_MODE = 33
SSL_CTRL_GET_MIN_PROTO_VERSION = 125  # OpenSSL: 130
SSL_CTRL_GET_MAX_PROTO_VERSION = 126  # OpenSSL: 131
CRYPTO_EX_INDEX_SSL = 0  # WOLF_CRYPTO_EX_INDEX_SSL
MBSTRING_ASC = 0x1001
NID_COMMON_NAME = 14  # wolfcrypt/asn.h: 14 in wolfSSL ("changed to not conflict"), 13 in OpenSSL

EX_FREE = CFUNCTYPE(None, c_void_p, c_void_p, c_void_p, c_int, c_long, c_void_p)
VERIFY_CB = CFUNCTYPE(c_int, c_int, c_void_p)
INFO_CB = CFUNCTYPE(None, c_void_p, c_int, c_int)
MSG_CB = CFUNCTYPE(None, c_int, c_int, c_int, c_void_p, c_size_t, c_void_p, c_void_p)
PASSWD_CB = CFUNCTYPE(c_int, c_void_p, c_int, c_int, c_void_p)

FEATURES: dict[str, tuple[str, ...]] = {
    **OBJECT_FEATURES,
    # SSL_in_before is missing; the ClientHello waiting on the far side of the pair is
    # what shows that the handshake started (see start_handshake).
    "handshake": (*HANDSHAKE_FUNCTIONS, "BIO_ctrl_pending"),
    "free_events": ("CRYPTO_get_ex_new_index", "SSL_set_ex_data"),
    "errors": ("ERR_get_error", "ERR_error_string_n"),
}


# Settings a completed handshake (or a certificate) shows: what each needs in OpenSSL's
# names, and the wolfSSL symbol where its headers have one. Where wolfSSL lacks a
# function the setting is absent; where it has them all, the adapter does not observe the
# setting yet (that needs the harness's certificates and a peer).
HANDSHAKE_SETTINGS: dict[str, tuple[str, ...]] = {
    "timeout": ("SSL_CTX_set_timeout", "SSL_SESSION_get_timeout"),
    "session": ("SSL_set_session", "SSL_get_session"),
    "session-id-context": ("SSL_set_session_id_context", "SSL_CTX_set_session_id_context"),
    "tmp-dh": ("SSL_set_tmp_dh", "SSL_CTX_set_tmp_dh"),
    "tmp-dh-callback": ("SSL_set_tmp_dh_callback", "SSL_CTX_set_tmp_dh_callback"),
    "dh-auto": ("SSL_set_dh_auto", "SSL_CTX_set_dh_auto"),
    "certificate": ("SSL_use_certificate", "SSL_get_certificate"),
    "private-key": ("SSL_use_PrivateKey", "SSL_get_privatekey"),
    "chain": ("SSL_add1_chain_cert", "SSL_get0_chain_certs"),
    "sigalgs": ("SSL_set1_sigalgs_list",),
    "client-sigalgs": ("SSL_set1_client_sigalgs_list",),
    "dane": ("SSL_dane_enable", "SSL_dane_tlsa_add"),
    "generate-session-id": ("SSL_set_generate_session_id",),
    "serverinfo": ("SSL_use_serverinfo_ex",),
    "psk-identity-hint": ("SSL_use_psk_identity_hint",),
    "custom-extensions": ("SSL_CTX_add_custom_ext",),
    "client-cert-types": ("SSL_set1_client_certificate_types",),
}
FUNCTIONS.update(
    {
        "SSL_CTX_set_timeout": "wolfSSL_CTX_set_timeout",
        "SSL_SESSION_get_timeout": "wolfSSL_SESSION_get_timeout",
        "SSL_set_session": "wolfSSL_set_session",
        "SSL_get_session": "wolfSSL_get_session",
        "SSL_set_session_id_context": "wolfSSL_set_session_id_context",
        "SSL_CTX_set_session_id_context": "wolfSSL_CTX_set_session_id_context",
        "SSL_set_tmp_dh": "wolfSSL_set_tmp_dh",
        "SSL_CTX_set_tmp_dh": "wolfSSL_CTX_set_tmp_dh",
        "SSL_set_tmp_dh_callback": None,
        "SSL_CTX_set_tmp_dh_callback": None,
        "SSL_set_dh_auto": None,
        "SSL_CTX_set_dh_auto": None,
        "SSL_use_certificate": "wolfSSL_use_certificate",
        "SSL_get_certificate": "wolfSSL_get_certificate",
        "SSL_use_PrivateKey": "wolfSSL_use_PrivateKey",
        "SSL_get_privatekey": "wolfSSL_get_privatekey",
        "SSL_add1_chain_cert": "wolfSSL_add1_chain_cert",
        "SSL_get0_chain_certs": "wolfSSL_get0_chain_certs",
        "SSL_set1_sigalgs_list": "wolfSSL_set1_sigalgs_list",
        "SSL_set1_client_sigalgs_list": None,
        "SSL_dane_enable": None,
        "SSL_dane_tlsa_add": None,
        "SSL_set_generate_session_id": None,
        "SSL_use_serverinfo_ex": None,
        "SSL_use_psk_identity_hint": "wolfSSL_use_psk_identity_hint",
        "SSL_CTX_add_custom_ext": None,
        "SSL_set1_client_certificate_types": None,
    }
)


def _setting_functions(op: str, kind: Kind, setting: str) -> tuple[str, ...]:
    """OpenSSL's names of what setting or reading `setting` on a `kind` object needs."""
    p = "SSL_CTX_" if kind == "ctx" else "SSL_"
    names = (
        "sk_X509_NAME_new_null",
        "sk_X509_NAME_push",
        "X509_NAME_new",
        "X509_NAME_add_entry_by_txt",
    )
    read_names = ("sk_X509_NAME_num", "sk_X509_NAME_value", "X509_NAME_get_text_by_NID")
    param = f"{p}get0_param"
    table: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
        "method": ((), (f"{p}get_ssl_method", "TLS_method")),
        "options": ((f"{p}set_options",), (f"{p}get_options",)),
        "mode": ((f"{p}set_mode",), (f"{p}get_mode",)),
        "min-proto-version": ((f"{p}set_min_proto_version",), (f"{p}get_min_proto_version",)),
        "max-proto-version": ((f"{p}set_max_proto_version",), (f"{p}get_max_proto_version",)),
        "verify-mode": ((f"{p}set_verify", f"{p}get_verify_callback"), (f"{p}get_verify_mode",)),
        "verify-callback": (
            (f"{p}set_verify", f"{p}get_verify_mode"),
            (f"{p}get_verify_callback",),
        ),
        "verify-depth": ((f"{p}set_verify_depth",), (f"{p}get_verify_depth",)),
        "verify-param": (
            (
                param,
                "X509_VERIFY_PARAM_set_flags",
                "X509_VERIFY_PARAM_set_hostflags",
                "X509_VERIFY_PARAM_set_auth_level",
                "X509_VERIFY_PARAM_set_time",
            ),
            (
                param,
                "X509_VERIFY_PARAM_get_flags",
                "X509_VERIFY_PARAM_get_hostflags",
                "X509_VERIFY_PARAM_get_auth_level",
                "X509_VERIFY_PARAM_get_time",
            ),
        ),
        "msg-callback": (
            (f"{p}set_msg_callback",),
            ("SSL_set_msg_callback", *FEATURES["handshake"]),
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
        "max-cert-list": ((f"{p}set_max_cert_list",), (f"{p}get_max_cert_list",)),
        "read-ahead": ((f"{p}set_read_ahead",), (f"{p}get_read_ahead",)),
        "ex-data": (
            ("SSL_set_ex_data", "CRYPTO_get_ex_new_index"),
            ("SSL_get_ex_data", "CRYPTO_get_ex_new_index"),
        ),
        "ca-list": ((f"{p}set0_CA_list", *names), (f"{p}get0_CA_list", *read_names)),
        "client-ca-list": (
            (f"{p}set_client_CA_list", *names),
            (f"{p}get_client_CA_list", *read_names),
        ),
        "security-level": ((f"{p}set_security_level",), (f"{p}get_security_level",)),
        "security-callback": ((f"{p}set_security_callback",), (f"{p}get_security_callback",)),
    }
    if setting not in table:
        raise NotImplementedError(f"the wolfSSL adapter does not handle setting {setting!r}")
    setters, getters = table[setting]
    return setters if op == "set" else getters


class WolfSSL(ObjectCalls):
    family = "wolfSSL"

    def __init__(self, lib: ctypes.CDLL, path: str) -> None:
        self.path = path
        self.symbols = SymbolTable([lib], FUNCTIONS)
        self.freed_queue: list[int] = []
        self.msg_seen: list[tuple[str, int]] = []
        self._peers: dict[int, int] = {}  # ssl -> far end of its BIO pair
        self._free_callback = EX_FREE(self._on_free)
        self.verify_cbs = CallbackPair(VERIFY_CB, lambda _n: lambda ok, store: ok)
        self.info_cbs = CallbackPair(INFO_CB, lambda _n: lambda ssl, where, ret: None)
        self.passwd_cbs = CallbackPair(PASSWD_CB, lambda _n: lambda buf, size, rw, data: 0)
        self.msg_cbs = CallbackPair(MSG_CB, self._msg_seen_by)
        self._free_index = -1
        self._data_index = -1
        if self.symbols.has("CRYPTO_get_ex_new_index"):
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
                CRYPTO_EX_INDEX_SSL, 0, None, None, None, self._free_callback
            )
            self._data_index = new_index(CRYPTO_EX_INDEX_SSL, 0, None, None, None, EX_FREE())
        self.unobservable: dict[tuple[Kind, str], str] = {}
        self.free_unobservable: str | None = None
        self._probe()

    # --- helpers ----------------------------------------------------------------------

    def _fn(self, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
        return self.symbols.fn(name, restype, *argtypes)

    def _on_free(
        self,
        parent: int | None,
        ptr: int | None,
        ad: int | None,
        idx: int,
        argl: int,
        argp: int | None,
    ) -> None:
        if parent:
            self.freed_queue.append(parent)

    def _msg_seen_by(self, name: str) -> Callable[..., None]:
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

    def _probe(self) -> None:
        """Round-trip each setting on throwaway objects; record the getters that lie."""
        ctx = self.ctx_new("tls")
        if not ctx:
            raise Unavailable("wolfSSL_CTX_new(wolfSSLv23_method()) returned NULL")
        self.unobservable = round_trip(self, ctx, lambda: self.ssl_new(ctx), self.ssl_free)
        # Does wolfSSL_free run the ex_data free callback? Watch one object go.
        ssl = self.ssl_new(ctx)
        if ssl and self._free_index >= 0:
            self._fn("SSL_set_ex_data", c_int, c_void_p, c_int, c_void_p)(ssl, self._free_index, 1)
            self.freed_queue.clear()
            self.ssl_free(ssl)
            if ssl not in self.freed_queue:
                self.free_unobservable = (
                    "wolfSSL_free did not call the ex_data free callback of "
                    "wolfSSL_CRYPTO_get_ex_new_index when freeing an object that had data "
                    "at that index"
                )
        self.freed_queue.clear()
        self.ctx_free(ctx)
        self.errors()

    # --- Library ----------------------------------------------------------------------

    def version(self) -> str:
        # wolfSSL_lib_version() gives the bare number ("5.5.4"); the family name is ours.
        func = self.symbols.libs[0].wolfSSL_lib_version
        func.restype = c_char_p
        func.argtypes = ()
        text = func()
        return f"wolfSSL {bytes(text).decode(errors='replace')}" if text else "wolfSSL unknown"

    def missing(self, feature: str) -> list[str]:
        if feature == "free_events" and self.free_unobservable:
            # The functions are there, but wolfSSL_free does not call the callback.
            return ["an ex_data free callback that wolfSSL_free calls"]
        if feature.startswith(("set:", "get:")):
            op, kind, setting = feature.split(":")
            if setting in HANDSHAKE_SETTINGS:
                lacking = self.symbols.lacking(HANDSHAKE_SETTINGS[setting])
                if lacking:
                    return lacking
                raise NotImplementedError(f"the wolfSSL adapter does not observe {setting} yet")
            names = _setting_functions(op, "ctx" if kind == "ctx" else "ssl", setting)
        elif feature in FEATURES:
            names = FEATURES[feature]
        else:
            raise NotImplementedError(f"unknown feature {feature!r}")
        return self.symbols.lacking(names)

    def ssl_dup(self, ssl: int) -> int | None:
        raise Absent("SSL_dup")

    def ssl_up_ref(self, ssl: int) -> int:
        raise Absent("SSL_up_ref")

    def ssl_free(self, ssl: int) -> None:
        super().ssl_free(ssl)
        self._peers.pop(ssl, None)

    def ssl_get_ctx(self, ssl: int) -> int:
        return int(self._fn("SSL_get_SSL_CTX", c_void_p, c_void_p)(ssl) or 0)

    def start_handshake(self, ssl: int) -> bool:
        """Connect over a BIO pair; started when a ClientHello waits on the far side.

        wolfSSL has no SSL_in_before, and its SSL_get_state (wolfSSL_get_state) stays at
        TLS_ST_BEFORE (0) after the ClientHello went out, so neither can show the object
        left its initial state; the bytes it wrote can.
        """
        near, far = c_void_p(), c_void_p()
        new_pair = self._fn(
            "BIO_new_bio_pair", c_int, POINTER(c_void_p), c_size_t, POINTER(c_void_p), c_size_t
        )
        if not new_pair(ctypes.byref(near), 0, ctypes.byref(far), 0):
            raise Unobservable("wolfSSL_BIO_new_bio_pair failed")
        self._peers[ssl] = far.value or 0
        self._fn("SSL_set_bio", None, c_void_p, c_void_p, c_void_p)(ssl, near, near)
        self._fn("SSL_set_connect_state", None, c_void_p)(ssl)
        self._fn("SSL_do_handshake", c_int, c_void_p)(ssl)
        self.errors()  # WANT_READ is expected; keep the queue clean for later operations
        pending = int(self._fn("BIO_ctrl_pending", c_size_t, c_void_p)(far))
        return pending > 0

    def errors(self) -> list[str]:
        get = self._fn("ERR_get_error", c_ulong)
        text = self._fn("ERR_error_string_n", None, c_ulong, c_char_p, c_ulong)
        out = []
        while code := get():
            buf = ctypes.create_string_buffer(256)
            text(code, buf, 256)
            out.append(buf.value.decode(errors="replace"))
        return out

    def freed(self) -> list[int]:
        if self._free_index < 0:
            raise Absent("CRYPTO_get_ex_new_index")
        if self.free_unobservable:
            raise Unobservable(self.free_unobservable)
        queued, self.freed_queue = self.freed_queue, []
        return queued

    # --- settings -----------------------------------------------------------------------

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None:
        lacking = self.missing(f"set:{kind}:{setting}")
        if lacking:
            raise Absent(*lacking)
        getattr(self, "_set_" + setting.replace("-", "_"))(kind, obj, value)

    def get(self, kind: Kind, obj: int, setting: str) -> Json:
        lacking = self.missing(f"get:{kind}:{setting}")
        if lacking:
            raise Absent(*lacking)
        why = self.unobservable.get((kind, setting))
        if why:
            raise Unobservable(why)
        result: Json = getattr(self, "_get_" + setting.replace("-", "_"))(kind, obj)
        return result

    @staticmethod
    def _p(kind: Kind) -> str:
        return "SSL_CTX_" if kind == "ctx" else "SSL_"

    def _set_options(self, kind: Kind, obj: int, value: Json) -> None:
        bits = names_to_bits(value, OPTION_BITS, OPTION_C_NAMES)
        self._fn(f"{self._p(kind)}set_options", c_long, c_void_p, c_long)(obj, bits)

    def _get_options(self, kind: Kind, obj: int) -> Json:
        raw = int(self._fn(f"{self._p(kind)}get_options", c_long, c_void_p)(obj))
        return bits_to_names(raw & 0xFFFFFFFFFFFFFFFF, _known(OPTION_BITS))

    def _set_mode(self, kind: Kind, obj: int, value: Json) -> None:
        bits = names_to_bits(value, MODE_BITS, MODE_C_NAMES)
        if kind == "ctx":
            self._fn("SSL_CTX_set_mode", c_long, c_void_p, c_long)(obj, bits)
        else:
            self._fn("SSL_set_mode", c_long, c_void_p, c_int, c_long, c_void_p)(
                obj, SSL_CTRL_MODE, bits, None
            )

    def _get_mode(self, kind: Kind, obj: int) -> Json:
        raw = int(self._fn(f"{self._p(kind)}get_mode", c_long, c_void_p)(obj))
        return bits_to_names(raw, _known(MODE_BITS))

    def _set_proto(self, kind: Kind, obj: int, which: str, value: Json) -> None:
        number = PROTO_NUMBERS[str(value)]
        ok = self._fn(f"{self._p(kind)}set_{which}_proto_version", c_int, c_void_p, c_int)(
            obj, number
        )
        if not ok:
            self.errors()
            raise Unobservable(f"wolfSSL refused {which} protocol version {value}")

    def _get_proto(self, kind: Kind, obj: int, which: str) -> Json:
        if kind == "ctx":
            fn = self._fn(f"SSL_CTX_get_{which}_proto_version", c_int, c_void_p)
            number = int(fn(obj))
        else:
            cmd = (
                SSL_CTRL_GET_MIN_PROTO_VERSION if which == "min" else SSL_CTRL_GET_MAX_PROTO_VERSION
            )
            ctrl = self._fn(
                f"SSL_get_{which}_proto_version", c_long, c_void_p, c_int, c_long, c_void_p
            )
            number = int(ctrl(obj, cmd, 0, None))
        for name, known in PROTO_NUMBERS.items():
            if known == number:
                return name
        return f"{number:#x}"

    def _set_min_proto_version(self, kind: Kind, obj: int, value: Json) -> None:
        self._set_proto(kind, obj, "min", value)

    def _set_max_proto_version(self, kind: Kind, obj: int, value: Json) -> None:
        self._set_proto(kind, obj, "max", value)

    def _get_min_proto_version(self, kind: Kind, obj: int) -> Json:
        return self._get_proto(kind, obj, "min")

    def _get_max_proto_version(self, kind: Kind, obj: int) -> Json:
        return self._get_proto(kind, obj, "max")

    def _verify(self, kind: Kind, obj: int, mode: int, callback: int | None) -> None:
        self._fn(f"{self._p(kind)}set_verify", None, c_void_p, c_int, c_void_p)(obj, mode, callback)

    def _raw_verify_mode(self, kind: Kind, obj: int) -> int:
        return int(self._fn(f"{self._p(kind)}get_verify_mode", c_int, c_void_p)(obj))

    def _raw_verify_callback(self, kind: Kind, obj: int) -> int | None:
        fn = self._fn(f"{self._p(kind)}get_verify_callback", c_void_p, c_void_p)
        result: int | None = fn(obj)
        return result

    def _set_verify_mode(self, kind: Kind, obj: int, value: Json) -> None:
        mode = names_to_bits(value, VERIFY_MODE_BITS, VERIFY_MODE_C_NAMES)
        self._verify(kind, obj, mode, self._raw_verify_callback(kind, obj))

    def _get_verify_mode(self, kind: Kind, obj: int) -> Json:
        return bits_to_names(self._raw_verify_mode(kind, obj), _known(VERIFY_MODE_BITS))

    def _set_verify_callback(self, kind: Kind, obj: int, value: Json) -> None:
        self._verify(kind, obj, self._raw_verify_mode(kind, obj), self.verify_cbs.pointer(value))

    def _get_verify_callback(self, kind: Kind, obj: int) -> Json:
        return self.verify_cbs.name(self._raw_verify_callback(kind, obj))

    def _set_verify_depth(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._p(kind)}set_verify_depth", None, c_void_p, c_int)(obj, value)

    def _get_verify_depth(self, kind: Kind, obj: int) -> Json:
        return int(self._fn(f"{self._p(kind)}get_verify_depth", c_long, c_void_p)(obj))

    def _set_msg_callback(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._p(kind)}set_msg_callback", c_int, c_void_p, c_void_p)(
            obj, self.msg_cbs.pointer(value)
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
        self._fn(f"{self._p(kind)}set_info_callback", None, c_void_p, c_void_p)(
            obj, self.info_cbs.pointer(value)
        )

    def _get_info_callback(self, kind: Kind, obj: int) -> Json:
        raise Absent(f"{self._p(kind)}get_info_callback")  # never reached: no getter at all

    def _set_default_passwd_cb(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._p(kind)}set_default_passwd_cb", None, c_void_p, c_void_p)(
            obj, self.passwd_cbs.pointer(value)
        )

    def _get_default_passwd_cb(self, kind: Kind, obj: int) -> Json:
        fn = self._fn(f"{self._p(kind)}get_default_passwd_cb", c_void_p, c_void_p)
        return self.passwd_cbs.name(fn(obj))

    def _set_default_passwd_cb_userdata(self, kind: Kind, obj: int, value: Json) -> None:
        fn = self._fn(f"{self._p(kind)}set_default_passwd_cb_userdata", None, c_void_p, c_void_p)
        fn(obj, value)

    def _get_default_passwd_cb_userdata(self, kind: Kind, obj: int) -> Json:
        fn = self._fn(f"{self._p(kind)}get_default_passwd_cb_userdata", c_void_p, c_void_p)
        result: int | None = fn(obj)
        return result

    def _set_cipher_list(self, kind: Kind, obj: int, value: Json) -> None:
        text = ":".join(str(v) for v in value or []).encode()
        fn = self._fn(f"{self._p(kind)}set_cipher_list", c_int, c_void_p, c_char_p)
        if not fn(obj, text):
            self.errors()
            raise Unobservable(f"wolfSSL refused the cipher list {text.decode()!r}")

    def _get_cipher_list(self, kind: Kind, obj: int) -> Json:
        stack = self._fn(f"{self._p(kind)}get_ciphers", c_void_p, c_void_p)(obj)
        name = self._fn("SSL_CIPHER_get_name", c_char_p, c_void_p)
        num = self._fn("OPENSSL_sk_num", c_int, c_void_p)
        value = self._fn("OPENSSL_sk_value", c_void_p, c_void_p, c_int)
        names = [bytes(name(value(stack, i))).decode() for i in range(num(stack))] if stack else []
        # TLS 1.3 suites (wolfSSL calls them TLS13-*) are not set by this list.
        return [n for n in names if not n.startswith(("TLS13-", "TLS_"))]

    def _set_accept_connect_state(self, kind: Kind, obj: int, value: Json) -> None:
        name = "SSL_set_accept_state" if value == "accept" else "SSL_set_connect_state"
        self._fn(name, None, c_void_p)(obj)

    def _get_accept_connect_state(self, kind: Kind, obj: int) -> Json:
        return "accept" if self._fn("SSL_is_server", c_int, c_void_p)(obj) else "connect"

    def _set_read_ahead(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._p(kind)}set_read_ahead", c_int, c_void_p, c_int)(obj, value)

    def _get_read_ahead(self, kind: Kind, obj: int) -> Json:
        return int(self._fn(f"{self._p(kind)}get_read_ahead", c_int, c_void_p)(obj))

    def _set_ex_data(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn("SSL_set_ex_data", c_int, c_void_p, c_int, c_void_p)(obj, self._data_index, value)

    def _get_ex_data(self, kind: Kind, obj: int) -> Json:
        fn = self._fn("SSL_get_ex_data", c_void_p, c_void_p, c_int)
        result: int | None = fn(obj, self._data_index)
        return result

    def _name_stack(self, names: Json) -> int:
        stack = self._fn("sk_X509_NAME_new_null", c_void_p, c_void_p)(None)
        push = self._fn("sk_X509_NAME_push", c_int, c_void_p, c_void_p)
        new_name = self._fn("X509_NAME_new", c_void_p)
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
        # wolfSSL's sk_push puts the new element first (sk_value(stack, 0) is the last one
        # pushed), unlike OpenSSL's, which appends. Pushing in reverse gives element i the
        # i-th name, which is what the list means.
        for cn in reversed(names or []):
            name = new_name()
            add(name, b"CN", MBSTRING_ASC, str(cn).encode(), -1, -1, 0)
            push(stack, name)
        return int(stack)

    def _names(self, stack: int | None) -> Json:
        if not stack:
            return []
        num = self._fn("sk_X509_NAME_num", c_int, c_void_p)
        value = self._fn("sk_X509_NAME_value", c_void_p, c_void_p, c_int)
        text = self._fn("X509_NAME_get_text_by_NID", c_int, c_void_p, c_int, c_char_p, c_int)
        out: list[Json] = []
        for i in range(num(stack)):
            buf = ctypes.create_string_buffer(256)
            text(value(stack, i), NID_COMMON_NAME, buf, 256)
            out.append(buf.value.decode(errors="replace"))
        return out

    def _set_client_ca_list(self, kind: Kind, obj: int, value: Json) -> None:
        fn = self._fn(f"{self._p(kind)}set_client_CA_list", None, c_void_p, c_void_p)
        fn(obj, self._name_stack(value))

    def _get_client_ca_list(self, kind: Kind, obj: int) -> Json:
        fn = self._fn(f"{self._p(kind)}get_client_CA_list", c_void_p, c_void_p)
        return self._names(fn(obj))

    def _set_security_level(self, kind: Kind, obj: int, value: Json) -> None:
        self._fn(f"{self._p(kind)}set_security_level", None, c_void_p, c_int)(obj, value)

    def _get_security_level(self, kind: Kind, obj: int) -> Json:
        return int(self._fn(f"{self._p(kind)}get_security_level", c_int, c_void_p)(obj))


def _known(table: dict[str, int | None]) -> dict[str, int]:
    return {name: bits for name, bits in table.items() if bits is not None}


def load(lib_dir: str | None, options: dict[str, str]) -> WolfSSL:
    """Load libwolfssl.so.35 from lib_dir (or the loader's path) and wolfSSL_Init it."""
    path = os.path.join(lib_dir, SONAME) if lib_dir else SONAME
    try:
        lib = ctypes.CDLL(path)
    except OSError as err:
        raise Unavailable(f"cannot load {SONAME}: {err}") from None
    init = lib.wolfSSL_Init
    init.restype = c_int
    init.argtypes = ()
    # wolfSSL_Init must precede every other call; it returns WOLFSSL_SUCCESS (1).
    if init() != 1:
        raise Unavailable("wolfSSL_Init failed")
    return WolfSSL(lib, path)
