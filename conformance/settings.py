"""The settings table: one entry per setting the page speaks of.

An entry says how scripts may set the setting (its value domain), whether a context
has it too, and which sentences of the page promise something about it: SSL_new's
inheritance sentence and the line of SSL_dup's list. The rules catalogue
(conformance.rules) turns each promise into a rule; the properties generate values from
the domain. How C code sets and reads it is its entry in the binding table
(conformance.binding), which every adapter of a library with the OpenSSL C API reads.

A setting reached by more than one call of the API ("or similar functions") lists the
others as its `forms`; the binding table gives each form's C calls beside the setting's
own, so a form stays part of its setting's two entries. A call that reaches a value
of another kind (the DH callback, automatic DH) is a setting of its own.

Adding a setting is one entry here plus one in the binding table; only the adapters of
libraries without the OpenSSL C API (the reference model, pyOpenSSL, rustls) name it.
This module is pure data: the worker processes import it without hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from conformance.library import Json

# --- value domains -----------------------------------------------------------------


@dataclass(frozen=True)
class OneOf:
    values: tuple[Json, ...]


@dataclass(frozen=True)
class SubsetOf:
    """A list of distinct names; `ordered` keeps the order (a preference list)."""

    names: tuple[str, ...]
    min_size: int = 1
    max_size: int = 3
    ordered: bool = False


@dataclass(frozen=True)
class IntRange:
    lo: int
    hi: int


@dataclass(frozen=True)
class Fields:
    """A JSON object; each script sets a non-empty subset of the fields."""

    fields: tuple[tuple[str, Domain], ...]


Domain = OneOf | SubsetOf | IntRange | Fields


@dataclass(frozen=True)
class Form:
    """A second way of the API to reach the same setting (a script op names it in `via`).

    `combine` says what the getter shows after it: "replace" (the value given, as the
    setting's own setter), "append" (a list: the names given added after those present,
    one call each). The binding table says which C calls a form makes."""

    name: str
    how: str
    combine: Literal["replace", "append"] = "replace"


# Names a backend maps to its own constants. Values in SSL_OP_* order of the headers.
OPTION_NAMES = (
    "allow-no-dhe-kex",
    "no-query-mtu",
    "no-ticket",
    "no-compression",
    "enable-middlebox-compat",
    "prioritize-chacha",
    "cipher-server-preference",
    "no-anti-replay",
    "no-tlsv1",
    "no-tlsv1.2",
    "no-tlsv1.1",
    "no-tlsv1.3",
    "no-renegotiation",
)
MODE_NAMES = (
    "enable-partial-write",
    "accept-moving-write-buffer",
    "auto-retry",
    "no-auto-chain",
    "release-buffers",
    "send-fallback-scsv",
)
PROTO_VERSIONS = ("any", "tls1", "tls1.1", "tls1.2", "tls1.3")
VERIFY_MODE_NAMES = ("peer", "fail-if-no-peer-cert", "client-once", "post-handshake")
VERIFY_FLAG_NAMES = ("crl-check", "crl-check-all", "x509-strict", "partial-chain", "no-check-time")
HOST_FLAG_NAMES = ("always-check-subject", "no-wildcards", "no-partial-wildcards")
# X509_VERIFY_PARAM fields a getter reads back. Trust (X509_VERIFY_PARAM_set_trust) has
# no getter in OpenSSL 1.1.1 to 4.0, so no script can see it: it is not a field here.
VERIFY_HOSTS = ("alpha.test", "bravo.test")
VERIFY_EMAILS = ("admin@alpha.test", "admin@bravo.test")
VERIFY_IPS = ("192.0.2.1", "198.51.100.7")  # IPv4: get1_ip_asc spells it as it was given
# X509_PURPOSE_SSL_CLIENT, _SSL_SERVER, _SMIME_SIGN, _CRL_SIGN and _ANY (0: none set)
VERIFY_PURPOSES = (1, 2, 4, 6, 7)
CIPHER_NAMES = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "AES128-GCM-SHA256",
    "AES256-SHA",
)
CA_NAMES = ("alpha", "bravo", "charlie", "delta")
CALLBACKS = ("cb-a", "cb-b")  # two distinct native callbacks of the right signature

METHODS = ("tls", "tls-client", "tls-server")


# --- the table ---------------------------------------------------------------------

InheritPart = Literal["connection method", "options", "verification settings", "timeout settings"]


@dataclass(frozen=True)
class Setting:
    name: str
    how: str  # the library calls that set and read it, for people
    domain: Domain | None  # None: not set by ssl_set/ctx_set (the method is chosen at ctx_new)
    on_ctx: bool = False  # a context has it too (setter and getter)
    on_ssl: bool = True  # an SSL object has a setter
    combine: Literal["replace", "or"] = "replace"  # "or": setting adds flags to those present
    inherit: InheritPart | None = None  # SSL_new's inheritance sentence names it
    dup: str | None = None  # the SSL_dup list line (1.1.1k wording) that names it
    since: str | None = None  # version qualifier the page attaches ("1.1.1h")
    observed_by: Literal["getter", "handshake"] = "getter"
    role: Literal["any", "client", "server"] = "any"  # role an SSL needs to show it
    forms: tuple[Form, ...] = ()  # other setters of the same setting ("or similar functions")


_VERIFY_LINE = (
    "any Verify mode, callback or depth set via SSL_set_verify(3) or SSL_set_verify_depth(3) "
    "or any configured X509 verification parameters"
)
_MSG_INFO_LINE = (
    "any msg callback or info callback set via SSL_set_msg_callback(3) or SSL_set_info_callback(3)"
)
_PROTO_LINE = (
    "any minimum or maximum protocol settings set via SSL_set_min_proto_version(3) or "
    "SSL_set_max_proto_version(3) (Note: Only from OpenSSL 1.1.1h and above)"
)
_CA_LINE = (
    "any CA list or client CA list set via SSL_set0_CA_list(3), SSL_set0_client_CA_list() "
    "or similar functions"
)
_SECLEVEL_LINE = "any security level settings or callbacks"
_SESSION_LINE = "any session data if configured (including the session_id_context)"
_DH_LINE = (
    "any tmp_dh settings set via SSL_set_tmp_dh(3), SSL_set_tmp_dh_callback(3), or "
    "SSL_set_dh_auto(3)"
)
_CERT_LINE = "any configured certificates, private keys or certificate chains"
_SIGALGS_LINE = "any configured signature algorithms, or client signature algorithms"
# Fixture names: certificates, keys, chains and sessions are made by the harness at run
# time (conformance.fixtures) and handed to the backend by name.
KEY_TYPES = ("rsa-2048", "ec-p256", "ed25519")
SIGALG_NAMES = ("RSA+SHA256", "RSA-PSS+SHA256", "ECDSA+SHA256", "ed25519", "RSA+SHA384")
_PASSWD_LINE = "any default password callback set via SSL_set_default_passwd_cb(3)"

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "method",
        "SSL_CTX_new(method); SSL_get_ssl_method / SSL_CTX_get_ssl_method",
        None,
        on_ctx=True,
        on_ssl=False,
        inherit="connection method",
    ),
    Setting(
        "options",
        "SSL_set_options / SSL_get_options (and SSL_CTX_*)",
        SubsetOf(OPTION_NAMES),
        on_ctx=True,
        combine="or",
        inherit="options",
        dup="any Options set via SSL_set_options(3)",
    ),
    Setting(
        "mode",
        "SSL_set_mode / SSL_get_mode (SSL_ctrl 33)",
        SubsetOf(MODE_NAMES),
        on_ctx=True,
        combine="or",
        dup="any Mode set via SSL_set_mode(3)",
    ),
    Setting(
        "min-proto-version",
        "SSL_set_min_proto_version / SSL_get_min_proto_version (SSL_ctrl 123 / 130)",
        OneOf(PROTO_VERSIONS),
        on_ctx=True,
        dup=_PROTO_LINE,
        since="1.1.1h",
    ),
    Setting(
        "max-proto-version",
        "SSL_set_max_proto_version / SSL_get_max_proto_version (SSL_ctrl 124 / 131)",
        OneOf(PROTO_VERSIONS),
        on_ctx=True,
        dup=_PROTO_LINE,
        since="1.1.1h",
    ),
    Setting(
        "verify-mode",
        "SSL_set_verify(s, mode, current callback) / SSL_get_verify_mode",
        SubsetOf(VERIFY_MODE_NAMES, min_size=0),
        on_ctx=True,
        inherit="verification settings",
        dup=_VERIFY_LINE,
    ),
    Setting(
        "verify-callback",
        "SSL_set_verify(s, current mode, callback) / SSL_get_verify_callback",
        OneOf((*CALLBACKS, None)),
        on_ctx=True,
        inherit="verification settings",
        dup=_VERIFY_LINE,
    ),
    Setting(
        "verify-depth",
        "SSL_set_verify_depth / SSL_get_verify_depth",
        IntRange(0, 20),
        on_ctx=True,
        inherit="verification settings",
        dup=_VERIFY_LINE,
    ),
    Setting(
        "verify-param",
        "SSL_get0_param + X509_VERIFY_PARAM_set_flags/_set_hostflags/_set_auth_level/_set_time/"
        "_set_depth/_set1_host/_set1_email/_set1_ip_asc/_set_purpose and their getters",
        Fields(
            (
                ("flags", SubsetOf(VERIFY_FLAG_NAMES)),
                ("hostflags", SubsetOf(HOST_FLAG_NAMES)),
                ("auth-level", IntRange(0, 5)),
                ("time", IntRange(1_000_000_000, 2_000_000_000)),
                ("depth", IntRange(0, 20)),
                ("host", OneOf(VERIFY_HOSTS)),
                ("email", OneOf(VERIFY_EMAILS)),
                ("ip", OneOf(VERIFY_IPS)),
                ("purpose", OneOf(VERIFY_PURPOSES)),
            )
        ),
        on_ctx=True,
        inherit="verification settings",
        dup=_VERIFY_LINE,
    ),
    Setting(
        "msg-callback",
        "SSL_set_msg_callback; no getter: which callback sees the ClientHello of a started "
        "handshake",
        OneOf(CALLBACKS),
        on_ctx=True,
        dup=_MSG_INFO_LINE,
        observed_by="handshake",
        role="client",
    ),
    Setting(
        "info-callback",
        "SSL_set_info_callback / SSL_get_info_callback",
        OneOf((*CALLBACKS, None)),
        on_ctx=True,
        dup=_MSG_INFO_LINE,
    ),
    Setting(
        "default-passwd-cb",
        "SSL_set_default_passwd_cb / SSL_get_default_passwd_cb",
        OneOf((*CALLBACKS, None)),
        on_ctx=True,
        dup=_PASSWD_LINE,
    ),
    Setting(
        "default-passwd-cb-userdata",
        "SSL_set_default_passwd_cb_userdata / SSL_get_default_passwd_cb_userdata",
        IntRange(1, 1 << 30),
        on_ctx=True,
        dup=_PASSWD_LINE,
    ),
    Setting(
        "cipher-list",
        "SSL_set_cipher_list / SSL_get_cipher_list(s, i) (TLS 1.2 suites; TLS 1.3 ones ignored)",
        SubsetOf(CIPHER_NAMES, max_size=4, ordered=True),
        on_ctx=True,
        dup="any configured Cipher List",
    ),
    Setting(
        "accept-connect-state",
        "SSL_set_accept_state / SSL_set_connect_state; SSL_is_server",
        OneOf(("accept", "connect")),
        dup="initial accept (server) or connect (client) state",
    ),
    Setting(
        "max-cert-list",
        "SSL_set_max_cert_list / SSL_get_max_cert_list (SSL_ctrl 51 / 50)",
        IntRange(1024, 1 << 20),
        on_ctx=True,
        dup="the max cert list value set via SSL_set_max_cert_list(3)",
    ),
    Setting(
        "read-ahead",
        "SSL_set_read_ahead / SSL_get_read_ahead",
        OneOf((0, 1)),
        on_ctx=True,
        dup="the read_ahead value set via SSL_set_read_ahead(3)",
    ),
    Setting(
        "ex-data",
        "SSL_set_ex_data / SSL_get_ex_data at an index of the harness's own",
        IntRange(1, 1 << 30),
        dup="application specific data set via SSL_set_ex_data(3)",
    ),
    Setting(
        "ca-list",
        "SSL_set0_CA_list / SSL_get0_CA_list (names as X509_NAME_oneline)",
        SubsetOf(CA_NAMES, min_size=0, ordered=True),
        on_ctx=True,
        dup=_CA_LINE,
        forms=(Form("add1", "SSL_add1_to_CA_list, once per name given", "append"),),
    ),
    Setting(
        "client-ca-list",
        "SSL_set_client_CA_list (the page's SSL_set0_client_CA_list is no function of "
        "OpenSSL's) / SSL_get_client_CA_list on a server",
        SubsetOf(CA_NAMES, min_size=0, ordered=True),
        on_ctx=True,
        dup=_CA_LINE,
        forms=(Form("add-client-CA", "SSL_add_client_CA, once per name given", "append"),),
        role="server",
    ),
    Setting(
        "security-level",
        "SSL_set_security_level / SSL_get_security_level",
        IntRange(0, 5),
        on_ctx=True,
        dup=_SECLEVEL_LINE,
    ),
    Setting(
        "security-callback",
        "SSL_set_security_callback / SSL_get_security_callback",
        OneOf(CALLBACKS),
        on_ctx=True,
        dup=_SECLEVEL_LINE,
    ),
)

SETTINGS += (
    Setting(
        "timeout",
        "SSL_CTX_set_timeout; the session a handshake makes shows it (SSL_SESSION_get_timeout)",
        IntRange(60, 86400),
        on_ctx=True,
        on_ssl=False,
        inherit="timeout settings",
        observed_by="handshake",
    ),
    Setting(
        "session",
        "SSL_set_session with a session from a completed handshake (None: SSL_set_session "
        "(s, NULL), which clears it) / SSL_get_session",
        OneOf(("session-a", "session-b", None)),
        dup=_SESSION_LINE,
        role="client",
    ),
    Setting(
        "session-id-context",
        "SSL_set_session_id_context; the session a server makes carries it",
        OneOf(("context-a", "context-b", "context-c")),
        on_ctx=True,
        dup=_SESSION_LINE,
        observed_by="handshake",
        role="server",
    ),
    Setting(
        "tmp-dh",
        "SSL_set_tmp_dh (3.x: SSL_set0_tmp_dh_pkey); the DHE group a handshake uses",
        OneOf(("ffdhe2048", "ffdhe3072")),
        forms=(Form("dh-struct", "SSL_set_tmp_dh with a DH * (deprecated, still in 3.x)"),),
        on_ctx=True,
        dup=_DH_LINE,
        observed_by="handshake",
        role="server",
    ),
    Setting(
        "tmp-dh-callback",
        "SSL_set_tmp_dh_callback; the callback a DHE handshake calls",
        OneOf(CALLBACKS),
        on_ctx=True,
        dup=_DH_LINE,
        observed_by="handshake",
        role="server",
    ),
    Setting(
        "dh-auto",
        "SSL_set_dh_auto (SSL_ctrl 118); whether a DHE handshake succeeds without parameters",
        OneOf((0, 1)),
        on_ctx=True,
        dup=_DH_LINE,
        observed_by="handshake",
        role="server",
    ),
    Setting(
        "certificate",
        "SSL_use_certificate / SSL_get_certificate (subject CN)",
        OneOf(KEY_TYPES),
        on_ctx=True,
        dup=_CERT_LINE,
    ),
    Setting(
        "private-key",
        "SSL_use_PrivateKey / SSL_get_privatekey (which key)",
        OneOf(KEY_TYPES),
        on_ctx=True,
        dup=_CERT_LINE,
    ),
    Setting(
        "chain",
        "SSL_add1_chain_cert / SSL_get0_chain_certs (subject CNs), chains of depth 1 to 3",
        IntRange(1, 3),
        on_ctx=True,
        dup=_CERT_LINE,
    ),
    Setting(
        "sigalgs",
        "SSL_set1_sigalgs_list; the signature algorithms the peer receives",
        SubsetOf(SIGALG_NAMES, ordered=True),
        on_ctx=True,
        dup=_SIGALGS_LINE,
        observed_by="handshake",
    ),
    Setting(
        "client-sigalgs",
        "SSL_set1_client_sigalgs_list; the signature algorithms a CertificateRequest lists",
        SubsetOf(SIGALG_NAMES, ordered=True),
        on_ctx=True,
        dup=_SIGALGS_LINE,
        observed_by="handshake",
        role="server",
    ),
    Setting(
        "dane",
        "SSL_dane_enable + SSL_dane_tlsa_add; the TLSA record that authenticates the peer",
        OneOf(("dane-ee-spki-sha256", "dane-ta-cert-full")),
        dup="any DANE settings",
        observed_by="handshake",
        role="client",
    ),
    Setting(
        "generate-session-id",
        "SSL_set_generate_session_id; the callback a server's full handshake calls",
        OneOf(CALLBACKS),
        on_ctx=True,
        dup="any session id generation callback set via SSL_set_generate_session_id(3)",
        observed_by="handshake",
        role="server",
    ),
    Setting(
        "serverinfo",
        "SSL_CTX_use_serverinfo_ex (OpenSSL has no per-SSL setter); the extension data the "
        "client receives",
        OneOf(("serverinfo-a", "serverinfo-b")),
        on_ctx=True,
        on_ssl=False,
        dup="any configured serverinfo data",
        observed_by="handshake",
        role="server",
    ),
    Setting(
        "psk-identity-hint",
        "SSL_use_psk_identity_hint; the hint a PSK client receives",
        OneOf(("hint-a", "hint-b")),
        on_ctx=True,
        dup="any configured PSK identity hint",
        observed_by="handshake",
        role="server",
    ),
    Setting(
        "custom-extensions",
        "SSL_CTX_add_custom_ext (contexts only); the extension the peer receives",
        OneOf((1000, 1001)),
        on_ctx=True,
        on_ssl=False,
        dup="any configured custom extensions",
        observed_by="handshake",
    ),
    Setting(
        "client-cert-types",
        "SSL_set1_client_certificate_types; the types a CertificateRequest lists",
        SubsetOf(("rsa-sign", "ecdsa-sign"), ordered=True),
        on_ctx=True,
        dup="any client certificate types configured via SSL_set1_client_certificate_types",
        observed_by="handshake",
        role="server",
    ),
)

# Settings the page does not list for SSL_dup (no `dup`, no `inherit`: they make no
# rule). A run reports whether a library copies them anyway (conformance.beyond).
ALPN_NAMES = ("h2", "http/1.1", "acme-tls/1")
SETTINGS += (
    Setting(
        "server-name",
        "SSL_set_tlsext_host_name / SSL_get_servername (a client's, before its handshake)",
        OneOf(("alpha.test", "bravo.test")),
        role="client",
    ),
    Setting(
        "alpn",
        "SSL_set_alpn_protos; the protocols a server receives in the ClientHello",
        SubsetOf(ALPN_NAMES, ordered=True),
        on_ctx=True,
        observed_by="handshake",
        role="client",
    ),
    Setting(
        "quiet-shutdown",
        "SSL_set_quiet_shutdown / SSL_get_quiet_shutdown",
        OneOf((0, 1)),
        on_ctx=True,
    ),
    Setting(
        "num-tickets",
        "SSL_set_num_tickets / SSL_get_num_tickets",
        IntRange(0, 10),
        on_ctx=True,
    ),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown setting {name!r}") from None
