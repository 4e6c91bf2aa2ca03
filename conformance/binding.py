"""The binding table: the OpenSSL C API surface the rules use, as data.

Beside the settings table (conformance.settings, which says what a setting is and
which sentences of the page speak of it) this table says how C code reaches each
setting: the call or ctrl that sets it on an SSL and on an SSL_CTX, the call that
reads it back, the C types, and how a script value converts to C and back. It is the
one place where OpenSSL's C names of flags (SSL_OP_*, SSL_MODE_*, SSL_VERIFY_*,
X509_V_FLAG_*, ...) and ctrl numbers are written.

Two readers use it: the ctypes interpreter (backends.bound), which every adapter of a
library with the OpenSSL C API runs, and the C reproducer generator, which spells the
same calls as straight-line C. Each library family that speaks the OpenSSL C API
(FAMILIES) states only how it differs from OpenSSL: renamed symbols, other ctrl
numbers, other flag values, other prototypes, calls it lacks.

Entry types
-----------
`Call`      one C call. `name` is OpenSSL's C spelling (a function or a macro), with
            "{p}" standing for "SSL_" on an SSL and "SSL_CTX_" on a context. `args` are
            the arguments after the object (`Arg` items: VALUE, a `Const`, `Current`
            (what another call returns now), `Length` (of the value), `DataIndex` (the
            harness's ex_data index), `Out` (an out-parameter), `Part` (one part of a
            value that is several arguments), `Harness` (one of the harness's own
            callbacks)), `params` their C types and `returns` the result's C type, as
            OpenSSL declares them. `ctrl` names the SSL_CTRL_* command when OpenSSL's
            macro expands to `{p}ctrl(obj, CMD, larg, parg)`; `larg`/`parg` say which
            arguments go where. `fails` says which result means refusal; `target`
            "its-context" calls it on SSL_get_SSL_CTX(obj); `then_free` releases the
            value's C object afterwards. In C, a call is spelled `name(obj, args...)`
            whether it is a macro or not. A setter may be a tuple of calls (made in
            order) or `Either` (the first whose functions the library has).
`Value`     how a script value (JSON, shapes fixed by conformance.settings) becomes C
            arguments and how a C result becomes a script value again: `Flags`
            (a flag word; FLAGS holds the tables), `Enum` (named numbers such as
            protocol versions), `Integer`, `Pointer` (an integer carried as void *),
            `Callback` (one of the harness's two native callbacks of a signature in
            CALLBACKS), `Text` (a list joined into one C string), `Bytes`, `Names`
            (a STACK_OF(X509_NAME) of CN= names), `Ciphers` (a STACK_OF(SSL_CIPHER)
            read back as names), `Fixture` (certificates, keys, chains, sessions, DH
            groups and the like made by the harness and named in the script),
            `Choice` (one call per value, read back as a boolean), `Method`,
            `Fields` (a JSON object, one `Field` per member, on a sub-object; an
            `optional` field may be lacking without the setting being so),
            `NameCert` (an unsigned X509 of subject CN=<name>).
`Form`      another setter of the same setting (the script op's `via`): its own value
            conversion and calls, made once per list item when `each`.
`Observe`   a getter that is a handshake: the handshake `mode` to run, the `role`
            the object must have, and which observation of that handshake (`shows`)
            is the value. What a handshake records is named by the handshake
            machinery (backends.openssl.handshake), never by setting.
`NoCall`    there is no such call on this kind of object (the reason is shown as
            what is missing), or it cannot show the setting (`unobservable`).
`Entry`     one setting: its `value` (and `read`, when the getter's result is of
            another form: a cipher list is set as text, read as a stack), its
            setter and getter on an SSL (`set`, `get`) and on a context (`ctx_set`,
            `ctx_get`; SAME: the same calls with {p} spelled SSL_CTX_), the value a
            load-time round trip sets (`probe`), the library default where it is
            data (`default`), and the sub-object the calls act on (`via`, e.g.
            {p}get0_param for verify-param), and its other setters (`forms`).
`Family`    how one library family differs: `symbols` (OpenSSL name -> exported
            symbol or `Sym` with another prototype; None: the family has no such
            call), `only_listed` (names not in `symbols` are missing: the family
            renames everything), `ctrls` (ctrl numbers that differ; None: the command
            does not exist), `flags` ((table, name) -> value; None: not defined, 0:
            defined as nothing), `constants`, `header`, and notes for people.

Beside the entries: OBJECT_FEATURES, METHODS, START_HANDSHAKE and HANDSHAKE (the
functions of the page's object operations and of the harness's handshakes), CTRLS and
CONSTANTS (OpenSSL's numbers), CALLBACKS (the native callback signatures).

Helpers for C spelling: `c_spelling` (the function or macro a C program of a family
writes), `c_form` (that, or the family's ctrl function and command number where it has
no call of that name), `describe` (what a family differs in, for its README).

Pure data (and small pure helpers): the worker processes read it, and they must not
load hypothesis nor map a libcrypto.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from conformance.library import Json, Kind

# --- flag words and named numbers ----------------------------------------------------


@dataclass(frozen=True)
class Flag:
    name: str  # the settings table's name
    c_name: str  # OpenSSL's macro
    value: int  # OpenSSL's value (1.1.1 to 4.0; checked against their headers)


@dataclass(frozen=True)
class FlagTable:
    """Flags of one C word. `hidden` flags are read back under another field (a set
    verification time shows as a flag of its own): not shown by name."""

    name: str
    flags: tuple[Flag, ...]
    hidden: tuple[str, ...] = ()

    def flag(self, name: str) -> Flag:
        for f in self.flags:
            if f.name == name:
                return f
        raise KeyError(f"no flag {name!r} in {self.name}")

    def c_names(self) -> dict[str, str]:
        return {f.name: f.c_name for f in self.flags}


def _bits(*triples: tuple[str, str, int]) -> tuple[Flag, ...]:
    return tuple(Flag(n, c, v) for n, c, v in triples)


FLAGS: Mapping[str, FlagTable] = MappingProxyType(
    {
        t.name: t
        for t in (
            FlagTable(
                "options",
                _bits(
                    ("allow-no-dhe-kex", "SSL_OP_ALLOW_NO_DHE_KEX", 1 << 10),
                    ("no-query-mtu", "SSL_OP_NO_QUERY_MTU", 1 << 12),
                    ("no-ticket", "SSL_OP_NO_TICKET", 1 << 14),
                    ("no-compression", "SSL_OP_NO_COMPRESSION", 1 << 17),
                    ("enable-middlebox-compat", "SSL_OP_ENABLE_MIDDLEBOX_COMPAT", 1 << 20),
                    ("prioritize-chacha", "SSL_OP_PRIORITIZE_CHACHA", 1 << 21),
                    ("cipher-server-preference", "SSL_OP_CIPHER_SERVER_PREFERENCE", 1 << 22),
                    ("no-anti-replay", "SSL_OP_NO_ANTI_REPLAY", 1 << 24),
                    ("no-tlsv1", "SSL_OP_NO_TLSv1", 1 << 26),
                    ("no-tlsv1.2", "SSL_OP_NO_TLSv1_2", 1 << 27),
                    ("no-tlsv1.1", "SSL_OP_NO_TLSv1_1", 1 << 28),
                    ("no-tlsv1.3", "SSL_OP_NO_TLSv1_3", 1 << 29),
                    ("no-renegotiation", "SSL_OP_NO_RENEGOTIATION", 1 << 30),
                ),
            ),
            FlagTable(
                "modes",
                _bits(
                    ("enable-partial-write", "SSL_MODE_ENABLE_PARTIAL_WRITE", 0x1),
                    ("accept-moving-write-buffer", "SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER", 0x2),
                    ("auto-retry", "SSL_MODE_AUTO_RETRY", 0x4),
                    ("no-auto-chain", "SSL_MODE_NO_AUTO_CHAIN", 0x8),
                    ("release-buffers", "SSL_MODE_RELEASE_BUFFERS", 0x10),
                    ("send-fallback-scsv", "SSL_MODE_SEND_FALLBACK_SCSV", 0x80),
                ),
            ),
            FlagTable(
                "verify-modes",
                _bits(
                    ("peer", "SSL_VERIFY_PEER", 0x1),
                    ("fail-if-no-peer-cert", "SSL_VERIFY_FAIL_IF_NO_PEER_CERT", 0x2),
                    ("client-once", "SSL_VERIFY_CLIENT_ONCE", 0x4),
                    ("post-handshake", "SSL_VERIFY_POST_HANDSHAKE", 0x8),
                ),
            ),
            FlagTable(
                "verify-flags",
                _bits(
                    ("use-check-time", "X509_V_FLAG_USE_CHECK_TIME", 0x2),
                    ("crl-check", "X509_V_FLAG_CRL_CHECK", 0x4),
                    ("crl-check-all", "X509_V_FLAG_CRL_CHECK_ALL", 0x8),
                    ("x509-strict", "X509_V_FLAG_X509_STRICT", 0x20),
                    ("partial-chain", "X509_V_FLAG_PARTIAL_CHAIN", 0x80000),
                    ("no-check-time", "X509_V_FLAG_NO_CHECK_TIME", 0x200000),
                ),
                hidden=("use-check-time",),
            ),
            FlagTable(
                "host-flags",
                _bits(
                    ("always-check-subject", "X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT", 0x1),
                    ("no-wildcards", "X509_CHECK_FLAG_NO_WILDCARDS", 0x2),
                    ("no-partial-wildcards", "X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS", 0x4),
                ),
            ),
            # Named numbers (an Enum reads them): one value, not a word of bits.
            FlagTable(
                "proto-versions",
                _bits(
                    ("any", "0", 0),
                    ("tls1", "TLS1_VERSION", 0x301),
                    ("tls1.1", "TLS1_1_VERSION", 0x302),
                    ("tls1.2", "TLS1_2_VERSION", 0x303),
                    ("tls1.3", "TLS1_3_VERSION", 0x304),
                ),
            ),
            # Bytes of a client certificate types list (one byte each).
            FlagTable(
                "cert-types",
                _bits(
                    ("rsa-sign", "TLS_CT_RSA_SIGN", 1),
                    ("ecdsa-sign", "TLS_CT_ECDSA_SIGN", 64),
                ),
            ),
        )
    }
)

# Other constants of OpenSSL's headers the calls below use.
CONSTANTS: Mapping[str, int] = MappingProxyType(
    {
        "CRYPTO_EX_INDEX_SSL": 0,
        "MBSTRING_ASC": 0x1001,
        "NID_commonName": 13,
        "SSL_ERROR_WANT_READ": 2,
        "SSL_ERROR_WANT_WRITE": 3,
        "SSL_TLSEXT_ERR_NOACK": 3,
        "OPENSSL_INIT_NO_ATEXIT": 0x00080000,
        "SSL_EXT_CLIENT_HELLO": 0x0080,
        "SSL_EXT_TLS1_2_SERVER_HELLO": 0x0100,
        "SSL_SERVERINFOV2": 2,
    }
)

# SSL_CTRL_* commands: OpenSSL's numbers (1.1.1 to 4.0).
CTRLS: Mapping[str, int] = MappingProxyType(
    {
        "SSL_CTRL_SET_TMP_DH": 3,
        "SSL_CTRL_MODE": 33,
        "SSL_CTRL_GET_READ_AHEAD": 40,
        "SSL_CTRL_SET_READ_AHEAD": 41,
        "SSL_CTRL_GET_MAX_CERT_LIST": 50,
        "SSL_CTRL_SET_MAX_CERT_LIST": 51,
        "SSL_CTRL_SET_TLSEXT_HOSTNAME": 55,
        "SSL_CTRL_CHAIN": 88,
        "SSL_CTRL_SET_GROUPS_LIST": 92,
        "SSL_CTRL_SET_SIGALGS_LIST": 98,
        "SSL_CTRL_SET_CLIENT_SIGALGS_LIST": 102,
        "SSL_CTRL_GET_CLIENT_CERT_TYPES": 103,
        "SSL_CTRL_SET_CLIENT_CERT_TYPES": 104,
        "SSL_CTRL_GET_PEER_TMP_KEY": 109,
        "SSL_CTRL_GET_CHAIN_CERTS": 115,
        "SSL_CTRL_SET_DH_AUTO": 118,
        "SSL_CTRL_SET_MIN_PROTO_VERSION": 123,
        "SSL_CTRL_SET_MAX_PROTO_VERSION": 124,
        "SSL_CTRL_GET_MIN_PROTO_VERSION": 130,
        "SSL_CTRL_GET_MAX_PROTO_VERSION": 131,
    }
)


# --- native callbacks ------------------------------------------------------------------


@dataclass(frozen=True)
class CallbackType:
    """A C callback signature the harness makes native functions of.

    Settings whose value is a callback get two of them, "cb-a" and "cb-b", told apart by
    address. `answer`: what a simple callback returns: "arg0" (its first argument: a
    verify callback keeps the verdict), a constant, or None (void). `records`: the index
    of the SSL * parameter when the harness notes which callback the library called for
    which object (seen through a handshake). `machinery`: the handshake machinery writes
    the body (it fills buffers, hands out keys), not a constant answer.
    """

    name: str
    returns: str
    params: tuple[str, ...]
    answer: int | Literal["arg0"] | None = None
    records: int | None = None
    machinery: bool = False


CALLBACKS: Mapping[str, CallbackType] = MappingProxyType(
    {
        c.name: c
        for c in (
            CallbackType("verify", "int", ("int", "X509_STORE_CTX *"), "arg0"),
            CallbackType("info", "void", ("const SSL *", "int", "int")),
            CallbackType(
                "msg",
                "void",
                ("int", "int", "int", "const void *", "size_t", "SSL *", "void *"),
                records=5,
            ),
            CallbackType("passwd", "int", ("char *", "int", "int", "void *"), 0),
            CallbackType(
                "security",
                "int",
                ("const SSL *", "const SSL_CTX *", "int", "int", "int", "void *", "void *"),
                1,
            ),
            CallbackType(
                "gen-session-id",
                "int",
                ("SSL *", "unsigned char *", "unsigned int *"),
                records=0,
                machinery=True,
            ),
            CallbackType(
                "dh-params-cb", "DH *", ("SSL *", "int", "int"), records=0, machinery=True
            ),
            # The harness's own, for the peer and the object's handshake (never a value).
            CallbackType(
                "psk-client",
                "unsigned int",
                (
                    "SSL *",
                    "const char *",
                    "char *",
                    "unsigned int",
                    "unsigned char *",
                    "unsigned int",
                ),
                machinery=True,
            ),
            CallbackType(
                "psk-server",
                "unsigned int",
                ("SSL *", "const char *", "unsigned char *", "unsigned int"),
                machinery=True,
            ),
            CallbackType(
                "ext-add",
                "int",
                (
                    "SSL *",
                    "unsigned int",
                    "unsigned int",
                    "const unsigned char **",
                    "size_t *",
                    "X509 *",
                    "size_t",
                    "int *",
                    "void *",
                ),
                machinery=True,
            ),
            CallbackType(
                "ext-parse",
                "int",
                (
                    "SSL *",
                    "unsigned int",
                    "unsigned int",
                    "const unsigned char *",
                    "size_t",
                    "X509 *",
                    "size_t",
                    "int *",
                    "void *",
                ),
                machinery=True,
            ),
            CallbackType("accept", "int", ("int", "X509_STORE_CTX *"), 1),
            CallbackType(
                "alpn-select",
                "int",
                (
                    "SSL *",
                    "const unsigned char **",
                    "unsigned char *",
                    "const unsigned char *",
                    "unsigned int",
                    "void *",
                ),
                machinery=True,
            ),
        )
    }
)


# --- calls -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValueArg:
    """The script value, converted by the entry's Value (or a field's)."""


@dataclass(frozen=True)
class Const:
    c: str  # as written in C
    value: int | bytes | None  # None: NULL; bytes: a C string


@dataclass(frozen=True)
class Current:
    """What another call on the same object returns now (set one half, keep the other)."""

    call: Call


@dataclass(frozen=True)
class Length:
    """The byte length of the converted value (the argument before it)."""


@dataclass(frozen=True)
class DataIndex:
    """The harness's own ex_data index (made when the library is loaded)."""


@dataclass(frozen=True)
class Out:
    """An out-parameter of C type `c_type` (a pointer to it is passed); its pointee is
    what the call shows."""

    c_type: str


@dataclass(frozen=True)
class Part:
    """One named part of a value that converts to several arguments (a TLSA record's
    usage, selector, matching type and data)."""

    name: str


@dataclass(frozen=True)
class Harness:
    """One of the harness's own native callbacks (CALLBACKS, never a script value)."""

    callback: str


Arg = ValueArg | Const | Current | Length | DataIndex | Out | Part | Harness
VALUE = ValueArg()
NULL = Const("NULL", None)
ZERO = Const("0", 0)


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Arg, ...] = ()
    params: tuple[str, ...] = ()
    returns: str = "void"
    ctrl: str | None = None  # SSL_CTRL_* the macro expands to; None: a function
    larg: Arg = ZERO  # ctrl form: the long argument
    parg: Arg = NULL  # ctrl form: the pointer argument
    fails: Literal["never", "zero", "nonzero", "negative"] = "never"
    what: str = ""  # for a refusal: "the library refused {what} {value}"
    target: Literal["object", "its-context"] = "object"  # its-context: SSL_get_SSL_CTX(obj)
    then_free: str | None = None  # frees the value's C object after the call (set1, refs)

    def spelled(self, kind: Kind) -> str:
        return self.name.replace("{p}", prefix(kind))


def prefix(kind: Kind) -> str:
    return "SSL_CTX_" if kind == "ctx" else "SSL_"


# --- values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Flags:
    table: str  # a FLAGS key
    c_type: str = "uint64_t"


@dataclass(frozen=True)
class Enum:
    table: str  # a FLAGS key whose entries are named numbers
    c_type: str = "int"


@dataclass(frozen=True)
class Integer:
    c_type: str = "int"


@dataclass(frozen=True)
class Pointer:
    """An integer carried as a void * (userdata, ex_data); NULL reads back as None."""


@dataclass(frozen=True)
class Callback:
    type: str  # a CALLBACKS key, or one of the handshake machinery's own


@dataclass(frozen=True)
class Text:
    """A list joined with `sep` into one C string (or one string as it is)."""

    sep: str = ":"


@dataclass(frozen=True)
class Bytes:
    """A string as bytes, or a list of names encoded by `encoding`: "plain" (UTF-8),
    "alpn" (each name after its length byte, as ALPN lists go on the wire),
    "cert-types" (one byte per name, the FLAGS table of that name)."""

    encoding: Literal["plain", "alpn", "cert-types"] = "plain"


@dataclass(frozen=True)
class Names:
    """A STACK_OF(X509_NAME), each name just CN=<value>, in list order."""


@dataclass(frozen=True)
class Ciphers:
    """A STACK_OF(SSL_CIPHER) read back as names; TLS 1.3 suites (names starting with
    one of `skip`) are not set by a cipher list and are left out."""

    skip: tuple[str, ...] = ("TLS_", "TLS13-")


@dataclass(frozen=True)
class Fixture:
    """An object the harness makes and the script names: "x509" (a certificate),
    "pkey" (an EVP_PKEY *), "x509-stack" (STACK_OF(X509) of the fixture chain of a
    depth), "ssl-session" (SSL_SESSION * of a completed handshake), "dh" (parameters
    of a named group, as EVP_PKEY * or DH *, whichever the call takes), "tlsa" (a DANE
    record, in parts), "serverinfo-block" (a serverinfo v2 block)."""

    kind: Literal["x509", "pkey", "x509-stack", "ssl-session", "dh", "tlsa", "serverinfo-block"]


@dataclass(frozen=True)
class Choice:
    """One call per value (`calls`); read back as a boolean: `true` is the value a
    non-zero result means, the other value a zero one."""

    calls: tuple[tuple[str, Call], ...]
    true: str


@dataclass(frozen=True)
class Method:
    """An SSL_METHOD *, compared with each method function's result."""


@dataclass(frozen=True)
class NameCert:
    """An X509 * whose subject is just CN=<name>: unsigned and without a key, for calls
    that read only a certificate's subject (SSL_add1_to_CA_list, SSL_add_client_CA)."""


@dataclass(frozen=True)
class Field:
    name: str
    value: Value
    set: Call
    get: Call
    shown_if: str | None = None  # a flag of the "flags" field; without it the field is null
    # Not every library of the API has its calls (a getter added in 3.0): where they are
    # lacking the setting is still there, the getter leaves the field out, and only the
    # field's own rules are absent.
    optional: bool = False


@dataclass(frozen=True)
class Fields:
    fields: tuple[Field, ...]


Value = (
    Flags
    | Enum
    | Integer
    | Pointer
    | Callback
    | Text
    | Bytes
    | Names
    | Ciphers
    | Fixture
    | Choice
    | Method
    | Fields
    | NameCert
)


# --- getters that are handshakes, and missing calls --------------------------------------


@dataclass(frozen=True)
class Observe:
    """Read by a handshake of the object with a peer the adapter makes.

    mode: "start" (only the first flight, SSL_do_handshake once), or a full handshake:
    "plain", "dhe" (DHE suites), "certreq" (the server asks for a certificate), "psk",
    "rsa-only" (the server has the RSA key only), "tlsa-auth" (the client authenticates
    the server by a TLSA record). role: the object must be a "server" or a "client" (None:
    either). shows: the observation of the handshake that is the value.
    needs: C functions the observation uses beyond the handshake itself.
    """

    mode: str
    shows: str
    role: Literal["server", "client"] | None = None
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoCall:
    """No such call on this kind of object: `why` is what is missing (Absent), or, with
    unobservable, why nothing can be read (Unobservable)."""

    why: str
    unobservable: bool = False


@dataclass(frozen=True)
class Either:
    """The first of `calls` whose functions the library has (3.x's set0_tmp_dh_pkey,
    else 1.1.1's SSL_set_tmp_dh); the value converts to what that call takes."""

    calls: tuple[Call, ...]


Setter = Call | tuple[Call, ...] | Either | NoCall  # a tuple: calls made in order
Getter = Call | tuple[Call, ...] | Observe | NoCall  # a tuple: the value's own calls


@dataclass(frozen=True)
class Form:
    """Another setter of the same setting (conformance.settings.Form, by `name`): its
    calls, how the value converts for them, and `each`: the calls are made once per item
    of a list value (in order), with the item as the value."""

    name: str
    value: Value
    set: Setter
    each: bool = False


class _Same:
    def __repr__(self) -> str:
        return "SAME"


SAME = _Same()


@dataclass(frozen=True)
class Entry:
    setting: str
    value: Value | None
    set: Setter | None  # None: not set by a setter (the method is chosen by SSL_CTX_new)
    get: Getter
    ctx_set: Setter | _Same | None = SAME
    ctx_get: Getter | _Same = SAME
    via: Call | None = None  # the sub-object the calls act on ({p}get0_param)
    probe: Json = None  # a value a load-time round trip sets and reads back (None: none)
    # What a fresh object of OpenSSL shows, where it is data (None: not given); checked
    # on the system's libssl by tests/test_binding.py.
    default: Json = None
    needs: tuple[str, ...] = ()  # C functions the value's conversion needs, besides calls
    read: Value | None = None  # how the getter's result converts, when not as `value`
    forms: tuple[Form, ...] = ()  # the setting's other setters (the op's `via` names one)

    def form(self, name: str) -> Form:
        for f in self.forms:
            if f.name == name:
                return f
        raise KeyError(f"{self.setting} has no setter form {name!r}")

    def setter(self, kind: Kind) -> Setter | None:
        if kind == "ctx" and not isinstance(self.ctx_set, _Same):
            return self.ctx_set
        return self.set

    def getter(self, kind: Kind) -> Getter:
        if kind == "ctx" and not isinstance(self.ctx_get, _Same):
            return self.ctx_get
        return self.get


def _fn(
    name: str,
    *args: Arg,
    params: tuple[str, ...] = (),
    returns: str = "void",
    fails: Literal["never", "zero", "nonzero", "negative"] = "never",
    what: str = "",
) -> Call:
    return Call(name, args, params, returns, fails=fails, what=what)


def _ctrl_set(name: str, ctrl: str, param: str, returns: str = "long", what: str = "") -> Call:
    """A setter macro over {p}ctrl(obj, CMD, value, NULL)."""
    return Call(
        name,
        (VALUE,),
        (param,),
        returns,
        ctrl=ctrl,
        larg=VALUE,
        fails="zero" if what else "never",
        what=what,
    )


def _ctrl_get(name: str, ctrl: str, returns: str = "long") -> Call:
    """A getter macro over {p}ctrl(obj, CMD, 0, NULL)."""
    return Call(name, (), (), returns, ctrl=ctrl)


def _ctrl_text(name: str, ctrl: str, what: str) -> Call:
    """A setter macro over {p}ctrl(obj, CMD, 0, (char *)text)."""
    return Call(
        name,
        (VALUE,),
        ("const char *",),
        "long",
        ctrl=ctrl,
        larg=ZERO,
        parg=VALUE,
        fails="zero",
        what=what,
    )


_GET_VERIFY_MODE = _fn("{p}get_verify_mode", returns="int")
_GET_VERIFY_CALLBACK = _fn("{p}get_verify_callback", returns="SSL_verify_cb")
_CERT_NAMES = ("X509_get_subject_name", "X509_NAME_get_text_by_NID")
_CTX_BY_HANDSHAKE = NoCall("a context shows this only through a handshake of an SSL", True)
_NO_SSL_SETTER = NoCall("an SSL object has no setter of its own for this (its context's only)")

_SET_TMP_DH_STRUCT = Call(
    "{p}set_tmp_dh",
    (VALUE,),
    ("DH *",),
    "long",
    ctrl="SSL_CTRL_SET_TMP_DH",
    larg=ZERO,
    parg=VALUE,
    fails="zero",
    what="tmp DH",
    then_free="DH_free",  # SSL_set_tmp_dh takes a reference of its own
)

ENTRIES: tuple[Entry, ...] = (
    Entry(
        "method",
        Method(),
        None,
        _fn("{p}get_ssl_method", returns="const SSL_METHOD *"),
        needs=("TLS_method",),
    ),
    Entry(
        "options",
        Flags("options"),
        _fn("{p}set_options", VALUE, params=("uint64_t",), returns="uint64_t"),
        _fn("{p}get_options", returns="uint64_t"),
        probe=["no-ticket"],
    ),
    Entry(
        "mode",
        Flags("modes", "long"),
        _ctrl_set("{p}set_mode", "SSL_CTRL_MODE", "long"),
        Call("{p}get_mode", (), (), "long", ctrl="SSL_CTRL_MODE"),
        probe=["enable-partial-write"],
        default=["auto-retry"],
    ),
    Entry(
        "min-proto-version",
        Enum("proto-versions"),
        _ctrl_set(
            "{p}set_min_proto_version",
            "SSL_CTRL_SET_MIN_PROTO_VERSION",
            "int",
            "int",
            "protocol version",
        ),
        _ctrl_get("{p}get_min_proto_version", "SSL_CTRL_GET_MIN_PROTO_VERSION", "int"),
        probe="tls1.2",
        default="any",
    ),
    Entry(
        "max-proto-version",
        Enum("proto-versions"),
        _ctrl_set(
            "{p}set_max_proto_version",
            "SSL_CTRL_SET_MAX_PROTO_VERSION",
            "int",
            "int",
            "protocol version",
        ),
        _ctrl_get("{p}get_max_proto_version", "SSL_CTRL_GET_MAX_PROTO_VERSION", "int"),
        probe="tls1.2",
        default="any",
    ),
    Entry(
        "verify-mode",
        Flags("verify-modes", "int"),
        _fn(
            "{p}set_verify",
            VALUE,
            Current(_GET_VERIFY_CALLBACK),
            params=("int", "SSL_verify_cb"),
        ),
        _GET_VERIFY_MODE,
        probe=["peer"],
        default=[],
    ),
    Entry(
        "verify-callback",
        Callback("verify"),
        _fn(
            "{p}set_verify",
            Current(_GET_VERIFY_MODE),
            VALUE,
            params=("int", "SSL_verify_cb"),
        ),
        _GET_VERIFY_CALLBACK,
        probe="cb-a",
    ),
    Entry(
        "verify-depth",
        Integer(),
        _fn("{p}set_verify_depth", VALUE, params=("int",)),
        _fn("{p}get_verify_depth", returns="int"),
        probe=7,
        default=-1,
    ),
    Entry(
        "verify-param",
        Fields(
            (
                Field(
                    "flags",
                    Flags("verify-flags", "unsigned long"),
                    _fn(
                        "X509_VERIFY_PARAM_set_flags",
                        VALUE,
                        params=("unsigned long",),
                        returns="int",
                    ),
                    _fn("X509_VERIFY_PARAM_get_flags", returns="unsigned long"),
                ),
                Field(
                    "hostflags",
                    Flags("host-flags", "unsigned int"),
                    _fn("X509_VERIFY_PARAM_set_hostflags", VALUE, params=("unsigned int",)),
                    _fn("X509_VERIFY_PARAM_get_hostflags", returns="unsigned int"),
                ),
                Field(
                    "auth-level",
                    Integer(),
                    _fn("X509_VERIFY_PARAM_set_auth_level", VALUE, params=("int",)),
                    _fn("X509_VERIFY_PARAM_get_auth_level", returns="int"),
                ),
                Field(
                    "time",
                    Integer("time_t"),
                    _fn("X509_VERIFY_PARAM_set_time", VALUE, params=("time_t",)),
                    _fn("X509_VERIFY_PARAM_get_time", returns="time_t"),
                    shown_if="use-check-time",
                ),
                Field(
                    "depth",
                    Integer(),
                    _fn("X509_VERIFY_PARAM_set_depth", VALUE, params=("int",)),
                    _fn("X509_VERIFY_PARAM_get_depth", returns="int"),
                    optional=True,
                ),
                Field(
                    "host",
                    Text(),
                    _fn(
                        "X509_VERIFY_PARAM_set1_host",
                        VALUE,
                        ZERO,
                        params=("const char *", "size_t"),
                        returns="int",
                        fails="zero",
                        what="host name",
                    ),
                    _fn("X509_VERIFY_PARAM_get0_host", ZERO, params=("int",), returns="char *"),
                    optional=True,
                ),
                Field(
                    "email",
                    Text(),
                    _fn(
                        "X509_VERIFY_PARAM_set1_email",
                        VALUE,
                        ZERO,
                        params=("const char *", "size_t"),
                        returns="int",
                        fails="zero",
                        what="email address",
                    ),
                    _fn("X509_VERIFY_PARAM_get0_email", returns="char *"),
                    optional=True,
                ),
                Field(
                    "ip",
                    Text(),
                    _fn(
                        "X509_VERIFY_PARAM_set1_ip_asc",
                        VALUE,
                        params=("const char *",),
                        returns="int",
                        fails="zero",
                        what="IP address",
                    ),
                    # get1: the caller owns the text; the few bytes each read leaves in the
                    # worker process are not freed (no SSL_new or SSL_dup call counts them).
                    _fn("X509_VERIFY_PARAM_get1_ip_asc", returns="char *"),
                    optional=True,
                ),
                Field(
                    "purpose",
                    Integer(),  # X509_PURPOSE_* (the same numbers 1.1.1 to 4.0)
                    _fn(
                        "X509_VERIFY_PARAM_set_purpose",
                        VALUE,
                        params=("int",),
                        returns="int",
                        fails="zero",
                        what="purpose",
                    ),
                    _fn("X509_VERIFY_PARAM_get_purpose", returns="int"),
                    optional=True,
                ),
            )
        ),
        (),
        (),  # field by field, on the object `via` gives
        via=_fn("{p}get0_param", returns="X509_VERIFY_PARAM *"),
        default={
            "flags": [],
            "hostflags": [],
            "auth-level": -1,
            "time": None,
            "depth": -1,
            "host": None,
            "email": None,
            "ip": None,
            "purpose": 0,
        },
    ),
    Entry(
        "msg-callback",
        Callback("msg"),
        _fn("{p}set_msg_callback", VALUE, params=("msg_cb",)),
        Observe("start", "fired:msg"),
        ctx_get=NoCall("a context has no msg callback getter and no handshake", True),
    ),
    Entry(
        "info-callback",
        Callback("info"),
        _fn("{p}set_info_callback", VALUE, params=("info_cb",)),
        _fn("{p}get_info_callback", returns="info_cb"),
        probe="cb-a",
    ),
    Entry(
        "default-passwd-cb",
        Callback("passwd"),
        _fn("{p}set_default_passwd_cb", VALUE, params=("pem_password_cb *",)),
        _fn("{p}get_default_passwd_cb", returns="pem_password_cb *"),
        probe="cb-a",
    ),
    Entry(
        "default-passwd-cb-userdata",
        Pointer(),
        _fn("{p}set_default_passwd_cb_userdata", VALUE, params=("void *",)),
        _fn("{p}get_default_passwd_cb_userdata", returns="void *"),
        probe=77,
    ),
    Entry(
        "cipher-list",
        Text(":"),
        _fn(
            "{p}set_cipher_list",
            VALUE,
            params=("const char *",),
            returns="int",
            fails="zero",
            what="the cipher list",
        ),
        _fn("{p}get_ciphers", returns="STACK_OF(SSL_CIPHER) *"),
        probe=["ECDHE-RSA-AES128-GCM-SHA256"],
        read=Ciphers(),
    ),
    Entry(
        "accept-connect-state",
        Choice(
            (
                ("accept", _fn("SSL_set_accept_state")),
                ("connect", _fn("SSL_set_connect_state")),
            ),
            true="accept",
        ),
        (),
        _fn("SSL_is_server", returns="int"),
        ctx_set=NoCall("a context has no accept or connect state"),
        ctx_get=NoCall("a context has no accept or connect state"),
        probe="accept",
    ),
    Entry(
        "max-cert-list",
        Integer("long"),
        _ctrl_set("{p}set_max_cert_list", "SSL_CTRL_SET_MAX_CERT_LIST", "long"),
        _ctrl_get("{p}get_max_cert_list", "SSL_CTRL_GET_MAX_CERT_LIST"),
        probe=5000,
        default=102400,
    ),
    Entry(
        "read-ahead",
        Integer(),
        # SSL_set_read_ahead is a function; SSL_CTX_set_read_ahead a macro over the ctrl.
        _ctrl_set("{p}set_read_ahead", "SSL_CTRL_SET_READ_AHEAD", "int", "void"),
        _ctrl_get("{p}get_read_ahead", "SSL_CTRL_GET_READ_AHEAD", "int"),
        probe=1,
        default=0,
    ),
    Entry(
        "ex-data",
        Pointer(),
        _fn("SSL_set_ex_data", DataIndex(), VALUE, params=("int", "void *"), returns="int"),
        _fn("SSL_get_ex_data", DataIndex(), params=("int",), returns="void *"),
        ctx_set=NoCall("the harness's ex_data index is one of SSL objects, not of contexts"),
        ctx_get=NoCall("the harness's ex_data index is one of SSL objects, not of contexts"),
        probe=99,
    ),
    Entry(
        "ca-list",
        Names(),
        _fn("{p}set0_CA_list", VALUE, params=("STACK_OF(X509_NAME) *",)),
        _fn("{p}get0_CA_list", returns="const STACK_OF(X509_NAME) *"),
        probe=["alpha", "bravo"],
        default=[],
        forms=(
            Form(
                "add1",
                NameCert(),
                Call(
                    "{p}add1_to_CA_list",
                    (VALUE,),
                    ("const X509 *",),
                    "int",
                    fails="zero",
                    what="CA name",
                    then_free="X509_free",  # add1: the library keeps a copy of the name
                ),
                each=True,
            ),
        ),
    ),
    Entry(
        "client-ca-list",
        Names(),
        _fn("{p}set_client_CA_list", VALUE, params=("STACK_OF(X509_NAME) *",)),
        _fn("{p}get_client_CA_list", returns="STACK_OF(X509_NAME) *"),
        probe=["alpha", "bravo"],
        default=[],
        forms=(
            Form(
                "add-client-CA",
                NameCert(),
                Call(
                    "{p}add_client_CA",
                    (VALUE,),
                    ("X509 *",),
                    "int",
                    fails="zero",
                    what="client CA name",
                    then_free="X509_free",  # the library keeps a copy of the subject
                ),
                each=True,
            ),
        ),
    ),
    Entry(
        "security-level",
        Integer(),
        _fn("{p}set_security_level", VALUE, params=("int",)),
        _fn("{p}get_security_level", returns="int"),
        probe=3,
    ),
    Entry(
        "security-callback",
        Callback("security"),
        _fn("{p}set_security_callback", VALUE, params=("security_cb",)),
        _fn("{p}get_security_callback", returns="security_cb"),
        probe="cb-a",
    ),
    # --- settings seen through a handshake, a certificate or a session ---------------
    Entry(
        "timeout",
        Integer("long"),
        _NO_SSL_SETTER,
        Observe("plain", "session-timeout", needs=("SSL_SESSION_get_timeout",)),
        ctx_set=_fn("SSL_CTX_set_timeout", VALUE, params=("long",), returns="long"),
        ctx_get=_fn("SSL_CTX_get_timeout", returns="long"),
    ),
    Entry(
        "session",
        Fixture("ssl-session"),
        _fn(
            "SSL_set_session",
            VALUE,
            params=("SSL_SESSION *",),
            returns="int",
            fails="zero",
            what="session",
        ),
        _fn("SSL_get_session", returns="SSL_SESSION *"),
    ),
    Entry(
        "session-id-context",
        Bytes(),
        _fn(
            "{p}set_session_id_context",
            VALUE,
            Length(),
            params=("const unsigned char *", "unsigned int"),
            returns="int",
            fails="zero",
            what="session id context",
        ),
        Observe("plain", "session-sid-ctx", "server", needs=("SSL_SESSION_get0_id_context",)),
        ctx_get=_CTX_BY_HANDSHAKE,
    ),
    Entry(
        "tmp-dh",
        Fixture("dh"),
        Either(
            (
                _fn(
                    "{p}set0_tmp_dh_pkey",
                    VALUE,
                    params=("EVP_PKEY *",),
                    returns="int",
                    fails="zero",
                    what="tmp DH",
                ),
                _SET_TMP_DH_STRUCT,
            )
        ),
        Observe("dhe", "peer-dh-group", "server"),
        ctx_get=_CTX_BY_HANDSHAKE,
        forms=(Form("dh-struct", Fixture("dh"), _SET_TMP_DH_STRUCT),),
    ),
    Entry(
        "tmp-dh-callback",
        Callback("dh-params-cb"),
        _fn("{p}set_tmp_dh_callback", VALUE, params=("tmp_dh_cb",)),
        Observe("dhe", "fired:dh-params-cb", "server"),
        ctx_get=_CTX_BY_HANDSHAKE,
        needs=("DH_new_by_nid",),
    ),
    Entry(
        "dh-auto",
        Integer("long"),
        _ctrl_set("{p}set_dh_auto", "SSL_CTRL_SET_DH_AUTO", "int"),
        Observe("dhe", "automatic-dh", "server"),
        ctx_get=_CTX_BY_HANDSHAKE,
    ),
    Entry(
        "certificate",
        Fixture("x509"),
        _fn(
            "{p}use_certificate",
            VALUE,
            params=("X509 *",),
            returns="int",
            fails="zero",
            what="certificate",
        ),
        _fn("SSL_get_certificate", returns="X509 *"),
        ctx_get=_fn("SSL_CTX_get0_certificate", returns="X509 *"),
        needs=_CERT_NAMES,
    ),
    Entry(
        "private-key",
        Fixture("pkey"),
        _fn(
            "{p}use_PrivateKey",
            VALUE,
            params=("EVP_PKEY *",),
            returns="int",
            fails="zero",
            what="private key",
        ),
        _fn("SSL_get_privatekey", returns="EVP_PKEY *"),
        ctx_get=_fn("SSL_CTX_get0_privatekey", returns="EVP_PKEY *"),
    ),
    Entry(
        "chain",
        Fixture("x509-stack"),
        # SSL_set1_chain: the library takes its own references; the stack stays ours.
        Call(
            "{p}set1_chain",
            (VALUE,),
            ("STACK_OF(X509) *",),
            "long",
            ctrl="SSL_CTRL_CHAIN",
            larg=Const("1", 1),
            parg=VALUE,
            fails="zero",
            what="a chain of depth",
            then_free="sk_X509_free",
        ),
        Call(
            "{p}get0_chain_certs",
            (Out("STACK_OF(X509) *"),),
            ("STACK_OF(X509) **",),
            "long",
            ctrl="SSL_CTRL_GET_CHAIN_CERTS",
            larg=ZERO,
            parg=Out("STACK_OF(X509) *"),
        ),
        needs=_CERT_NAMES,
    ),
    Entry(
        "sigalgs",
        Text(":"),
        _ctrl_text("{p}set1_sigalgs_list", "SSL_CTRL_SET_SIGALGS_LIST", "signature algorithms"),
        Observe("certreq", "peer-sigalgs", needs=("SSL_get_sigalgs", "SSL_set_verify")),
        ctx_get=_CTX_BY_HANDSHAKE,
    ),
    Entry(
        "client-sigalgs",
        Text(":"),
        _ctrl_text(
            "{p}set1_client_sigalgs_list",
            "SSL_CTRL_SET_CLIENT_SIGALGS_LIST",
            "client signature algorithms",
        ),
        Observe("certreq", "peer-sigalgs", "server", needs=("SSL_get_sigalgs", "SSL_set_verify")),
        ctx_get=_CTX_BY_HANDSHAKE,
    ),
    Entry(
        "client-cert-types",
        Bytes("cert-types"),
        Call(
            "{p}set1_client_certificate_types",
            (VALUE, Length()),
            ("const unsigned char *", "size_t"),
            "long",
            ctrl="SSL_CTRL_SET_CLIENT_CERT_TYPES",
            larg=Length(),
            parg=VALUE,
            fails="zero",
            what="client certificate types",
        ),
        Observe("certreq", "peer-cert-types", "server", needs=("SSL_ctrl", "SSL_set_verify")),
        ctx_get=_CTX_BY_HANDSHAKE,
    ),
    Entry(
        "dane",
        Fixture("tlsa"),
        (
            # DANE needs its context enabled first; enabling is idempotent.
            Call("SSL_CTX_dane_enable", returns="int", target="its-context"),
            # A second SSL_dane_enable refuses (already enabled); the records still add.
            _fn(
                "SSL_dane_enable",
                Const('"sslconform.test"', b"sslconform.test"),
                params=("const char *",),
                returns="int",
            ),
            _fn(
                "SSL_dane_tlsa_add",
                Part("usage"),
                Part("selector"),
                Part("mtype"),
                Part("data"),
                Length(),
                params=("uint8_t", "uint8_t", "uint8_t", "const unsigned char *", "size_t"),
                returns="int",
                fails="negative",
                what="TLSA record",
            ),
        ),
        Observe("tlsa-auth", "dane-record", "client", needs=("SSL_get0_dane_tlsa",)),
        ctx_set=NoCall("a context has no DANE record"),
        ctx_get=_CTX_BY_HANDSHAKE,
        needs=("SSL_get_SSL_CTX",),
    ),
    Entry(
        "generate-session-id",
        Callback("gen-session-id"),
        _fn("{p}set_generate_session_id", VALUE, params=("GEN_SESSION_CB",), returns="int"),
        Observe("plain", "fired:gen-session-id", "server"),
        ctx_get=_CTX_BY_HANDSHAKE,
    ),
    Entry(
        "serverinfo",
        Fixture("serverinfo-block"),
        _fn(
            "{p}use_serverinfo_ex",
            Const("SSL_SERVERINFOV2", 2),
            VALUE,
            Length(),
            params=("unsigned int", "const unsigned char *", "size_t"),
            returns="int",
            fails="zero",
            what="serverinfo",
        ),
        Observe("rsa-only", "serverinfo-extension", "server", needs=("SSL_CTX_add_custom_ext",)),
        ctx_get=_CTX_BY_HANDSHAKE,
    ),
    Entry(
        "psk-identity-hint",
        Text(),
        _fn(
            "{p}use_psk_identity_hint",
            VALUE,
            params=("const char *",),
            returns="int",
            fails="zero",
            what="PSK identity hint",
        ),
        Observe(
            "psk",
            "psk-hint",
            "server",
            needs=(
                "SSL_set_psk_server_callback",
                "SSL_CTX_set_psk_client_callback",
                "SSL_CTX_set_cipher_list",
            ),
        ),
        ctx_get=_CTX_BY_HANDSHAKE,
    ),
    Entry(
        "custom-extensions",
        Integer("unsigned int"),
        _NO_SSL_SETTER,
        Observe("plain", "custom-extension-types", needs=("SSL_CTX_add_custom_ext",)),
        ctx_set=_fn(
            "SSL_CTX_add_custom_ext",
            VALUE,
            Const("SSL_EXT_CLIENT_HELLO | SSL_EXT_TLS1_2_SERVER_HELLO", 0x0180),
            Harness("ext-add"),
            NULL,
            NULL,
            Harness("ext-parse"),
            NULL,
            params=(
                "unsigned int",
                "unsigned int",
                "SSL_custom_ext_add_cb_ex",
                "SSL_custom_ext_free_cb_ex",
                "void *",
                "SSL_custom_ext_parse_cb_ex",
                "void *",
            ),
            returns="int",
            fails="zero",
            what="custom extension",
        ),
        ctx_get=_CTX_BY_HANDSHAKE,
    ),
    # --- settings the page does not list for SSL_dup ----------------------------------
    Entry(
        "server-name",
        Text(),
        Call(
            "SSL_set_tlsext_host_name",
            (VALUE,),
            ("const char *",),
            "long",
            ctrl="SSL_CTRL_SET_TLSEXT_HOSTNAME",
            larg=ZERO,  # TLSEXT_NAMETYPE_host_name
            parg=VALUE,
            fails="zero",
            what="server name",
        ),
        _fn(
            "SSL_get_servername",
            Const("TLSEXT_NAMETYPE_host_name", 0),
            params=("int",),
            returns="const char *",
        ),
        ctx_set=NoCall("a context has no server name"),
        ctx_get=NoCall("a context has no server name"),
    ),
    Entry(
        "alpn",
        Bytes("alpn"),
        _fn(
            "{p}set_alpn_protos",
            VALUE,
            Length(),
            params=("const unsigned char *", "unsigned int"),
            returns="int",
            fails="nonzero",  # 0 is success here
            what="ALPN list",
        ),
        Observe("plain", "alpn-offered", "client", needs=("SSL_CTX_set_alpn_select_cb",)),
        ctx_get=_CTX_BY_HANDSHAKE,
    ),
    Entry(
        "quiet-shutdown",
        Integer(),
        _fn("{p}set_quiet_shutdown", VALUE, params=("int",)),
        _fn("{p}get_quiet_shutdown", returns="int"),
        default=0,
    ),
    Entry(
        "num-tickets",
        Integer("size_t"),
        _fn(
            "{p}set_num_tickets",
            VALUE,
            params=("size_t",),
            returns="int",
            fails="zero",
            what="tickets",
        ),
        _fn("{p}get_num_tickets", returns="size_t"),
        default=2,
    ),
)

BY_SETTING: Mapping[str, Entry] = MappingProxyType({e.setting: e for e in ENTRIES})


# --- the helpers a value needs (in OpenSSL's C names) ----------------------------------

# What each kind of value needs besides the entry's own calls. The typed stack macros
# are what C code calls; each family says which exported function implements them.
VALUE_NEEDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Names:set": (
            "sk_X509_NAME_new_null",
            "sk_X509_NAME_push",
            "X509_NAME_new",
            "X509_NAME_add_entry_by_txt",
        ),
        "Names:get": ("sk_X509_NAME_num", "sk_X509_NAME_value", "X509_NAME_get_text_by_NID"),
        "Ciphers:get": ("sk_SSL_CIPHER_num", "sk_SSL_CIPHER_value", "SSL_CIPHER_get_name"),
        "NameCert:set": (
            "X509_new",
            "X509_NAME_new",
            "X509_NAME_add_entry_by_txt",
            "X509_set_subject_name",
            "X509_NAME_free",
            "X509_free",
        ),
    }
)


# The page's object operations, by the OpenSSL functions they need (names as in ssl.h).
OBJECT_FEATURES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "ctx_new": ("SSL_CTX_new", "TLS_method", "TLS_client_method", "TLS_server_method"),
        "ssl_new": ("SSL_new",),
        "ssl_dup": ("SSL_dup",),
        "ssl_up_ref": ("SSL_up_ref",),
        "ssl_free": ("SSL_free",),
        "ssl_get_ctx": ("SSL_get_SSL_CTX",),
        "ssl_set_ctx": ("SSL_set_SSL_CTX",),
        "ssl_clear": ("SSL_clear", "SSL_in_before"),
    }
)
# The page's methods, by the OpenSSL function that returns each SSL_METHOD.
METHODS: Mapping[str, str] = MappingProxyType(
    {"tls": "TLS_method", "tls-client": "TLS_client_method", "tls-server": "TLS_server_method"}
)
# Starting a handshake (the first flight of a client over a memory BIO pair).
START_HANDSHAKE: tuple[str, ...] = (
    "BIO_new_bio_pair",
    "SSL_set_bio",
    "SSL_set_connect_state",
    "SSL_do_handshake",
)
# What any full handshake of the harness needs from the library, whatever it shows.
HANDSHAKE: tuple[str, ...] = (
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
    "sk_X509_new_null",
    "sk_X509_push",
    "sk_X509_free",
    "SSL_get_session",
    "SSL_set_verify",
    "SSL_get_verify_mode",
)
# A resumption (the `resume` op): a full handshake of the harness's, what makes the
# sessions its server resumes, tickets turned off on that server, what shows reuse, and
# the clean close that keeps a session resumable (SSL_free of a connection that was not
# shut down takes its session out of the cache and marks it not resumable).
RESUME: tuple[str, ...] = (
    *HANDSHAKE,
    "SSL_get1_session",
    "SSL_CTX_set_options",
    "SSL_session_reused",
    "SSL_shutdown",
)


# --- library families -------------------------------------------------------------------


@dataclass(frozen=True)
class Sym:
    """An exported function implementing an OpenSSL name with a prototype of its own
    (`returns`/`params`: None keeps OpenSSL's), and arguments it takes after the
    OpenSSL ones (`extra`, e.g. the NULL comparator of wolfSSL_sk_X509_NAME_new)."""

    symbol: str
    returns: str | None = None
    params: tuple[str, ...] | None = None
    extra: tuple[Const, ...] = ()


@dataclass(frozen=True)
class Family:
    name: str
    header: tuple[str, ...]  # what a C program includes
    link: tuple[str, ...]  # what it links
    symbols: Mapping[str, str | Sym | None] = field(default_factory=dict)
    only_listed: bool = False  # names not in `symbols` are missing
    ctrls: Mapping[str, int | None] = field(default_factory=dict)
    ctrl_symbols: tuple[str, str] = ("SSL_ctrl", "SSL_CTX_ctrl")  # OpenSSL names of ctrl fns
    flags: Mapping[tuple[str, str], int | None] = field(default_factory=dict)
    constants: Mapping[str, int] = field(default_factory=dict)
    header_names: Mapping[str, str] = field(default_factory=dict)  # C name -> its header's
    stack_push_prepends: bool = False  # sk_push puts the new element first
    c_calls_exported: bool = False  # C code calls the exported names (wolfSSL_new, ...)
    notes: tuple[str, ...] = ()  # what differs, in words, for the backend's README
    revises: str | None = None  # the family this is another version or fork of

    # -- the questions readers ask ------------------------------------------------------

    def flag_value(self, table: str, name: str) -> int | None:
        """The family's value of a flag: None when its headers do not define it."""
        key = (table, name)
        if key in self.flags:
            return self.flags[key]
        return FLAGS[table].flag(name).value

    def flag_values(self, table: str) -> dict[str, int | None]:
        return {f.name: self.flag_value(table, f.name) for f in FLAGS[table].flags}

    def ctrl_number(self, ctrl: str) -> int | None:
        if ctrl in self.ctrls:
            return self.ctrls[ctrl]
        return CTRLS[ctrl]

    def constant(self, name: str) -> int:
        return self.constants.get(name, CONSTANTS[name])

    def symbol(self, name: str) -> str | Sym | None:
        """The exported symbol for OpenSSL's `name` (it may still not be exported by
        the build at hand); None when the family has no such function."""
        if name in self.symbols:
            return self.symbols[name]
        return None if self.only_listed else name


def revise(
    base: Family,
    name: str,
    notes: tuple[str, ...],
    *,
    symbols: Mapping[str, str | Sym | None] | None = None,
    ctrls: Mapping[str, int | None] | None = None,
    flags: Mapping[tuple[str, str], int | None] | None = None,
    constants: Mapping[str, int] | None = None,
    header_names: Mapping[str, str] | None = None,
) -> Family:
    """Another version (or a fork) of `base`: only what its own headers say differently."""
    return replace(
        base,
        name=name,
        symbols={**base.symbols, **(symbols or {})},
        ctrls={**base.ctrls, **(ctrls or {})},
        flags={**base.flags, **(flags or {})},
        constants={**base.constants, **(constants or {})},
        header_names={**base.header_names, **(header_names or {})},
        notes=notes,
        revises=base.name,
    )


_STACKS = ("X509_NAME", "SSL_CIPHER", "X509")


def _typed_stacks(generic: str) -> dict[str, str | Sym | None]:
    """The typed stack macros (sk_X509_NAME_push, ...) over the generic functions."""
    out: dict[str, str | Sym | None] = {}
    for t in _STACKS:
        out[f"sk_{t}_new_null"] = f"{generic}new_null"
        out[f"sk_{t}_push"] = Sym(f"{generic}push", "int", ("void *", "void *"))
        out[f"sk_{t}_num"] = Sym(f"{generic}num", "int", ("const void *",))
        out[f"sk_{t}_value"] = Sym(f"{generic}value", "void *", ("const void *", "int"))
        out[f"sk_{t}_free"] = Sym(f"{generic}free", "void", ("void *",))
    return out


OPENSSL = Family(
    "OpenSSL",
    header=("openssl/ssl.h", "openssl/err.h", "openssl/x509v3.h"),
    link=("ssl", "crypto"),
    symbols=_typed_stacks("OPENSSL_sk_"),
    notes=(
        "OpenSSL 1.1.1 to 4.0: the table's own values; SSL_get_options is unsigned long in "
        "1.1.1 and uint64_t from 3.0 (both 64 bits wide here).",
    ),
)

BORINGSSL = Family(
    "BoringSSL",
    header=("openssl/ssl.h", "openssl/err.h", "openssl/x509v3.h"),
    link=("ssl", "crypto"),
    symbols={
        **_typed_stacks("sk_"),
        "SSL_set_options": Sym("SSL_set_options", "uint32_t", ("uint32_t",)),
        "SSL_get_options": Sym("SSL_get_options", "uint32_t"),
        "SSL_CTX_set_options": Sym("SSL_CTX_set_options", "uint32_t", ("uint32_t",)),
        "SSL_CTX_get_options": Sym("SSL_CTX_get_options", "uint32_t"),
        # Functions where OpenSSL has macros over SSL_ctrl (BoringSSL has no SSL_ctrl).
        **{
            f"{p}{name}": Sym(f"{p}{name}", returns, params)
            for p in ("SSL_", "SSL_CTX_")
            for name, returns, params in (
                ("set_mode", "uint32_t", ("uint32_t",)),
                ("get_mode", "uint32_t", ()),
                ("set_min_proto_version", "int", ("uint16_t",)),
                ("set_max_proto_version", "int", ("uint16_t",)),
                ("get_min_proto_version", "uint16_t", ()),
                ("get_max_proto_version", "uint16_t", ()),
                ("set_max_cert_list", "void", ("size_t",)),
                ("get_max_cert_list", "size_t", ()),
                ("set_read_ahead", "int", ("int",)),
                ("get_read_ahead", "int", ()),
            )
        },
    },
    flags={
        ("options", "allow-no-dhe-kex"): None,
        ("options", "no-query-mtu"): 0x00001000,
        ("options", "no-ticket"): 0x00004000,
        ("options", "no-compression"): 0,
        ("options", "enable-middlebox-compat"): None,
        ("options", "prioritize-chacha"): None,
        ("options", "cipher-server-preference"): 0x00400000,
        ("options", "no-anti-replay"): None,
        ("options", "no-tlsv1"): 0x04000000,
        ("options", "no-tlsv1.2"): 0x08000000,
        ("options", "no-tlsv1.1"): 0x10000000,
        ("options", "no-tlsv1.3"): 0x20000000,
        ("options", "no-renegotiation"): 0,
        ("modes", "auto-retry"): 0,
        ("modes", "release-buffers"): 0,
        ("modes", "send-fallback-scsv"): 0x400,
        ("verify-modes", "client-once"): 0,
        ("verify-modes", "post-handshake"): None,
        # Kept for source compatibility and defined as 0 (x509.h: "has no effect").
        ("verify-flags", "x509-strict"): 0,
        ("host-flags", "always-check-subject"): 0,
        ("host-flags", "no-partial-wildcards"): 0,
    },
    notes=(
        "BoringSSL (Android's android-libboringssl 14.0.0): no SSL_ctrl: mode, protocol "
        "versions, max cert list and read ahead are functions of their own widths "
        "(uint32_t mode and options, uint16_t versions, size_t max cert list); sk_* "
        "rather than OPENSSL_sk_*; SSL_get_ex_new_index is a function.",
        "Some flags are defined as 0 (set nothing), some not at all.",
    ),
)


def _wolf(*names: str) -> dict[str, str]:
    """wolfSSL's usual renaming: SSL_x -> wolfSSL_x, SSL_CTX_x -> wolfSSL_CTX_x."""
    return {n: "wolf" + n if n.startswith("SSL_") else "wolfSSL_" + n for n in names}


_WOLF_MISSING = (
    # wolfSSL_write_dup exists but makes a write-only twin for another thread; it is
    # not SSL_dup. Only contexts are reference counted (wolfSSL_CTX_up_ref).
    "SSL_dup",
    "SSL_up_ref",
    "SSL_in_before",
    "SSL_get_ssl_method",
    "SSL_CTX_get_ssl_method",
    "X509_VERIFY_PARAM_get_hostflags",
    "X509_VERIFY_PARAM_set_auth_level",
    "X509_VERIFY_PARAM_get_auth_level",
    "X509_VERIFY_PARAM_set_time",
    "X509_VERIFY_PARAM_get_time",
    "SSL_set_info_callback",
    "SSL_get_info_callback",
    "SSL_CTX_get_info_callback",
    "SSL_set_default_passwd_cb",
    "SSL_get_default_passwd_cb",
    "SSL_set_default_passwd_cb_userdata",
    "SSL_get_default_passwd_cb_userdata",
    "SSL_CTX_get_ciphers",
    # No max cert list functions, and wolfSSL_ctrl has no SSL_CTRL_*_MAX_CERT_LIST.
    "SSL_set_max_cert_list",
    "SSL_get_max_cert_list",
    "SSL_CTX_set_max_cert_list",
    "SSL_CTX_get_max_cert_list",
    "SSL_set0_CA_list",
    "SSL_get0_CA_list",
    "SSL_CTX_set0_CA_list",
    "SSL_CTX_get0_CA_list",
    "SSL_set_security_level",
    "SSL_get_security_level",
    "SSL_set_security_callback",
    "SSL_get_security_callback",
    "SSL_CTX_set_security_callback",
    "SSL_CTX_get_security_callback",
    "SSL_set_tmp_dh_callback",
    "SSL_CTX_set_tmp_dh_callback",
    "SSL_set_dh_auto",
    "SSL_CTX_set_dh_auto",
    "SSL_set1_client_sigalgs_list",
    "SSL_dane_enable",
    "SSL_dane_tlsa_add",
    "SSL_set_generate_session_id",
    "SSL_use_serverinfo_ex",
    "SSL_CTX_add_custom_ext",
    "SSL_set1_client_certificate_types",
)

WOLFSSL = Family(
    "wolfSSL",
    header=("wolfssl/options.h", "wolfssl/ssl.h", "wolfssl/openssl/ssl.h"),
    link=("wolfssl",),
    only_listed=True,
    symbols={
        **_wolf(
            "SSL_CTX_new",
            "SSL_CTX_free",
            "SSL_new",
            "SSL_free",
            "SSL_get_SSL_CTX",
            "SSL_set_bio",
            "SSL_set_connect_state",
            "SSL_set_accept_state",
            "SSL_is_server",
            "ERR_get_error",
            "ERR_error_string_n",
            "CRYPTO_get_ex_new_index",
            "SSL_set_ex_data",
            "SSL_get_ex_data",
            "SSL_set_options",
            "SSL_get_options",
            "SSL_CTX_set_options",
            "SSL_CTX_get_options",
            "SSL_CTX_set_mode",
            "SSL_CTX_get_mode",
            "SSL_set_min_proto_version",
            "SSL_set_max_proto_version",
            "SSL_CTX_set_min_proto_version",
            "SSL_CTX_set_max_proto_version",
            "SSL_CTX_get_min_proto_version",
            "SSL_CTX_get_max_proto_version",
            "SSL_set_verify",
            "SSL_CTX_set_verify",
            "SSL_get_verify_mode",
            "SSL_CTX_get_verify_mode",
            "SSL_get_verify_callback",
            "SSL_CTX_get_verify_callback",
            "SSL_set_verify_depth",
            "SSL_CTX_set_verify_depth",
            "SSL_get_verify_depth",
            "SSL_CTX_get_verify_depth",
            "SSL_get0_param",
            "SSL_CTX_get0_param",
            "X509_VERIFY_PARAM_set_flags",
            "X509_VERIFY_PARAM_get_flags",
            "X509_VERIFY_PARAM_set_hostflags",
            "SSL_set_msg_callback",
            "SSL_CTX_set_msg_callback",
            "SSL_CTX_set_info_callback",
            "SSL_CTX_set_default_passwd_cb",
            "SSL_CTX_get_default_passwd_cb",
            "SSL_CTX_set_default_passwd_cb_userdata",
            "SSL_CTX_get_default_passwd_cb_userdata",
            "SSL_set_cipher_list",
            "SSL_CTX_set_cipher_list",
            "SSL_CIPHER_get_name",
            "SSL_set_read_ahead",
            "SSL_get_read_ahead",
            "SSL_CTX_set_read_ahead",
            "SSL_CTX_get_read_ahead",
            "SSL_set_client_CA_list",
            "SSL_get_client_CA_list",
            "SSL_CTX_set_client_CA_list",
            "SSL_CTX_get_client_CA_list",
            "X509_NAME_new",
            "X509_NAME_add_entry_by_txt",
            "X509_NAME_get_text_by_NID",
            "SSL_CTX_set_security_level",
            "SSL_CTX_get_security_level",
            "SSL_CTX_set_timeout",
            "SSL_SESSION_get_timeout",
            "SSL_set_session",
            "SSL_get_session",
            "SSL_set_session_id_context",
            "SSL_CTX_set_session_id_context",
            "SSL_set_tmp_dh",
            "SSL_CTX_set_tmp_dh",
            "SSL_use_certificate",
            "SSL_get_certificate",
            "SSL_use_PrivateKey",
            "SSL_get_privatekey",
            "SSL_add1_chain_cert",
            "SSL_get0_chain_certs",
            "SSL_set1_sigalgs_list",
            "SSL_use_psk_identity_hint",
        ),
        # What the harness's handshakes and fixtures call (backends.openssl.handshake),
        # under wolfSSL's usual names; a build that does not export one lacks it.
        **_wolf(
            "SSL_get_error",
            "SSL_CTX_ctrl",
            "SSL_CTX_use_certificate",
            "SSL_CTX_use_PrivateKey",
            "SSL_CTX_set_psk_client_callback",
            "SSL_set_psk_server_callback",
            "SSL_CTX_set_alpn_select_cb",
            "SSL_CTX_add1_chain_cert",
            "SSL_get1_session",
            "SSL_SESSION_get0_id_context",
            "SSL_SESSION_free",
            "BIO_new_mem_buf",
            "BIO_free",
            "PEM_read_bio_X509",
            "PEM_read_bio_PrivateKey",
            "X509_get_subject_name",
            "X509_free",
            "EVP_PKEY_free",
            "EVP_PKEY_cmp",
            "EVP_PKEY_bits",
            "EVP_PKEY_get0_DH",
            "EVP_PKEY_CTX_free",
            "EVP_PKEY_paramgen_init",
            "EVP_PKEY_paramgen",
            "DH_new_by_nid",
            "DH_free",
            "OBJ_nid2sn",
            "sk_X509_new_null",
            "sk_X509_push",
            "sk_X509_free",
        ),
        # Names that do not map by prefix.
        "SSL_CTX_get_timeout": "wolfSSL_SSL_CTX_get_timeout",
        "SSL_CTX_get0_chain_certs": "wolfSSL_CTX_get0_chain_certs",
        "TLS_method": "wolfSSLv23_method",
        "TLS_client_method": "wolfTLS_client_method",
        "TLS_server_method": "wolfTLS_server_method",
        "BIO_new_bio_pair": "wolfSSL_BIO_new_bio_pair",
        "BIO_ctrl_pending": "wolfSSL_BIO_ctrl_pending",
        "SSL_do_handshake": "wolfSSL_SSL_do_handshake",
        "SSL_ctrl": "wolfSSL_ctrl",
        # No SSL_get_mode macro; wolfSSL_SSL_get_mode is the function an OpenSSL-style
        # SSL_get_mode would have to be.
        "SSL_get_mode": Sym("wolfSSL_SSL_get_mode", "long"),
        "SSL_get_ciphers": "wolfSSL_get_ciphers_compat",
        "sk_SSL_CIPHER_num": Sym("wolfSSL_sk_SSL_CIPHER_num", "int", ("const void *",)),
        "sk_SSL_CIPHER_value": Sym(
            "wolfSSL_sk_SSL_CIPHER_value", "void *", ("const void *", "int")
        ),
        "sk_X509_NAME_new_null": Sym(
            "wolfSSL_sk_X509_NAME_new", "void *", (), (NULL,)
        ),  # macro: ..._new(NULL)
        "sk_X509_NAME_push": Sym("wolfSSL_sk_X509_NAME_push", "int", ("void *", "void *")),
        "sk_X509_NAME_num": Sym("wolfSSL_sk_X509_NAME_num", "int", ("const void *",)),
        "sk_X509_NAME_value": Sym("wolfSSL_sk_X509_NAME_value", "void *", ("const void *", "int")),
        # wolfSSL's own prototypes (long rather than uint64_t options, ...).
        **{
            f"{p}{name}": Sym(f"wolf{p}{name}", returns, params)
            for p in ("SSL_", "SSL_CTX_")
            for name, returns, params in (
                ("set_options", "long", ("long",)),
                ("get_options", "long", None),
                ("get_verify_depth", "long", None),
                ("set_msg_callback", "int", None),
                ("set_read_ahead", "int", None),
                ("set_min_proto_version", "int", ("int",)),
                ("set_max_proto_version", "int", ("int",)),
            )
        },
        "SSL_CTX_set_mode": Sym("wolfSSL_CTX_set_mode", "long", ("long",)),
        "SSL_CTX_get_mode": Sym("wolfSSL_CTX_get_mode", "long"),
        **dict.fromkeys(_WOLF_MISSING),
    },
    ctrls={
        "SSL_CTRL_GET_MIN_PROTO_VERSION": 125,  # OpenSSL: 130
        "SSL_CTRL_GET_MAX_PROTO_VERSION": 126,  # OpenSSL: 131
        # Commands wolfSSL's headers do not define (so wolfSSL_ctrl knows none of them).
        **dict.fromkeys(
            (
                "SSL_CTRL_SET_MAX_CERT_LIST",
                "SSL_CTRL_GET_MAX_CERT_LIST",
                "SSL_CTRL_SET_GROUPS_LIST",
                "SSL_CTRL_SET_SIGALGS_LIST",
                "SSL_CTRL_SET_CLIENT_SIGALGS_LIST",
                "SSL_CTRL_GET_CLIENT_CERT_TYPES",
                "SSL_CTRL_SET_CLIENT_CERT_TYPES",
                "SSL_CTRL_GET_CHAIN_CERTS",
                "SSL_CTRL_SET_DH_AUTO",
            )
        ),
    },
    # Constants from wolfssl/ssl.h and wolfssl/openssl/*.h (5.5.4).
    flags={
        ("options", "allow-no-dhe-kex"): None,
        ("options", "no-query-mtu"): 0x00200000,
        ("options", "no-ticket"): 0x00080000,  # defined: options.h has HAVE_SESSION_TICKET
        ("options", "no-compression"): 0x10000000,
        ("options", "enable-middlebox-compat"): None,
        ("options", "prioritize-chacha"): None,
        ("options", "cipher-server-preference"): 0x02000000,
        ("options", "no-anti-replay"): None,
        ("options", "no-tlsv1"): 0x00002000,
        ("options", "no-tlsv1.2"): 0x08000000,
        ("options", "no-tlsv1.1"): 0x04000000,
        ("options", "no-tlsv1.3"): 0x20000000,
        ("options", "no-renegotiation"): None,
        # wolfSSL's mode values are not OpenSSL's and are not all single bits.
        ("modes", "enable-partial-write"): 2,  # an enum member of wolfssl/ssl.h
        ("modes", "accept-moving-write-buffer"): 4,
        ("modes", "auto-retry"): 3,  # an enum member, like partial write
        ("modes", "no-auto-chain"): None,
        ("modes", "release-buffers"): 0x10,  # openssl/ssl.h macro (the ssl.h enum says -1)
        ("modes", "send-fallback-scsv"): None,
    },
    # wolfcrypt/asn.h: 14 in wolfSSL ("changed to not conflict"), 13 in OpenSSL.
    constants={"NID_commonName": 14},
    header_names={
        "SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER": "WOLFSSL_MODE_ACCEPT_MOVING_WRITE_BUFFER",
        "CRYPTO_EX_INDEX_SSL": "WOLF_CRYPTO_EX_INDEX_SSL",
    },
    stack_push_prepends=True,
    c_calls_exported=True,
    notes=(
        "wolfSSL 5.5.4 (libwolfssl35): every function under a wolfSSL_ name; some OpenSSL "
        "macros go through wolfSSL_ctrl, whose GET min/max proto version numbers are "
        "125/126 (OpenSSL: 130/131) and which has no max cert list commands.",
        "Option and mode values are wolfSSL's own; NID_commonName is 14; "
        "wolfSSL_sk_X509_NAME_push puts the new name first.",
    ),
)

_GNUTLS_EXPORTS = (
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
    "SSL_CIPHER_get_name",
    "X509_get_subject_name",
    "ERR_get_error",
    "ERR_error_string",
)

GNUTLS = Family(
    "GnuTLS",
    header=("gnutls/openssl.h",),
    link=("gnutls-openssl",),
    only_listed=True,
    symbols={
        **{n: n for n in _GNUTLS_EXPORTS},
        # OpenSSL 1.1.0 made SSLv23_*_method the old names of TLS_*_method: same method.
        "TLS_client_method": "SSLv23_client_method",
        "TLS_server_method": "SSLv23_server_method",
        "SSL_CTX_set_options": Sym("SSL_CTX_set_options", "unsigned long", ("unsigned long",)),
        "SSL_CTX_set_mode": Sym("SSL_CTX_set_mode", "long", ("long",)),
    },
    # gnutls/openssl.h defines only these; every other option or mode is not defined.
    flags={
        **{("options", f.name): None for f in FLAGS["options"].flags},
        ("options", "no-tlsv1"): 0x0400000,  # OpenSSL: 0x04000000
        **{("modes", f.name): None for f in FLAGS["modes"].flags},
        ("modes", "enable-partial-write"): 0x1,
        ("modes", "accept-moving-write-buffer"): 0x2,
        ("modes", "auto-retry"): 0x4,
        **{("verify-modes", f.name): None for f in FLAGS["verify-modes"].flags},
    },
    notes=(
        "GnuTLS 3.7.9's OpenSSL layer (an OpenSSL 0.9.6-era API): a handful of functions "
        "under OpenSSL's names, no getter of any setting, no SSL_ctrl.",
        "Only SSL_OP_NO_TLSv1 (as 0x400000) and three modes are defined.",
    ),
)

# Other versions and forks, each checked against its own headers (tests/test_*_headers.py).

BORINGSSL10 = revise(
    BORINGSSL,
    "BoringSSL 10",
    (
        "Android 10's BoringSSL (bullseye's android-libboringssl 10.0.0): no getters of the "
        "protocol version bounds (SSL_get_min_proto_version and the like are not exported).",
    ),
    flags={
        ("verify-flags", "no-check-time"): None,
        # 14.0.0 defines these as 0 ("has no effect"); 10.0.0 still gives OpenSSL's values.
        ("host-flags", "always-check-subject"): 1,
        ("host-flags", "no-partial-wildcards"): 4,
    },
)

AWSLC = revise(
    BORINGSSL,
    "AWS-LC",
    (
        "AWS-LC 5.1.0 (built from Debian sid's aws-lc-sys crate source), a fork of "
        "BoringSSL: BoringSSL's widths and values, with CRYPTO_set_mem_functions (whose "
        "hooks get no file and line) and OPENSSL_INIT_NO_ATEXIT defined as 0; its typed "
        "stack macros are over OPENSSL_sk_*, as OpenSSL's are.",
    ),
    symbols=_typed_stacks("OPENSSL_sk_"),
    flags={("host-flags", "always-check-subject"): 1},
    constants={"OPENSSL_INIT_NO_ATEXIT": 0},
)

_WOLF57_SYMBOLS: dict[str, str | Sym | None] = {
    "SSL_in_before": "wolfSSL_SSL_in_before",
    "SSL_set_info_callback": "wolfSSL_set_info_callback",
}

WOLFSSL57 = revise(
    WOLFSSL,
    "wolfSSL 5.7",
    (
        "wolfSSL 5.7.2 (trixie's libwolfssl42t64): as 5.5.4, and it defines "
        "SSL_OP_NO_RENEGOTIATION (0x400) and SSL_CTRL_GET_CHAIN_CERTS (115), and maps "
        "SSL_in_before and SSL_set_info_callback.",
    ),
    symbols=_WOLF57_SYMBOLS,
    ctrls={"SSL_CTRL_GET_CHAIN_CERTS": 115},
    flags={("options", "no-renegotiation"): 0x400},
)

WOLFSSL59 = revise(
    WOLFSSL57,
    "wolfSSL 5.9",
    (
        "wolfSSL 5.9.2 (sid's libwolfssl45): as 5.7.2, and it maps the CA list calls, "
        "SSL_CTX_set_tmp_dh_callback and SSL_CTX_set_dh_auto; SSL_MODE_RELEASE_BUFFERS is "
        'now only wolfssl/ssl.h\'s enum member, -1 ("no current use").',
    ),
    symbols={
        "SSL_set0_CA_list": "wolfSSL_set0_CA_list",
        "SSL_get0_CA_list": "wolfSSL_get0_CA_list",
        "SSL_CTX_set0_CA_list": "wolfSSL_CTX_set0_CA_list",
        "SSL_CTX_get0_CA_list": "wolfSSL_CTX_get0_CA_list",
        "SSL_CTX_set_tmp_dh_callback": "WOLFSSL_CTX_set_tmp_dh_callback",
        "SSL_CTX_set_dh_auto": "wolfSSL_CTX_set_dh_auto",
    },
    flags={("modes", "release-buffers"): -1},
    header_names={"NID_commonName": "WC_NID_commonName", "MBSTRING_ASC": "WOLFSSL_MBSTRING_ASC"},
)

FAMILIES: Mapping[str, Family] = MappingProxyType(
    {
        f.name: f
        for f in (OPENSSL, BORINGSSL, BORINGSSL10, AWSLC, WOLFSSL, WOLFSSL57, WOLFSSL59, GNUTLS)
    }
)


# --- pure helpers both readers use ------------------------------------------------------


def c_spelling(call: Call, kind: Kind, family: Family = OPENSSL) -> str:
    """The function or macro a C program writes for `call` in `family`."""
    name = call.spelled(kind)
    mapped = family.symbol(name)
    if family.c_calls_exported and mapped is not None:
        return mapped.symbol if isinstance(mapped, Sym) else mapped
    return name


def call_symbols(call: Call, kind: Kind) -> tuple[str, ...]:
    """OpenSSL's names of what one call needs (its own, and a Current's)."""
    names = [call.spelled(kind)]
    for arg in call.args:
        if isinstance(arg, Current):
            names.extend(call_symbols(arg.call, kind))
    return tuple(names)


def _hex(value: int) -> str:
    return f"{value:#x}" if value > 9 else str(value)


def _prototype(name: str, sym: Sym, family: Family) -> str:
    shown = sym.symbol if family.c_calls_exported else name
    params = ", ".join(("obj", *(sym.params or ()))) if sym.params is not None else "obj, ..."
    returns = sym.returns or "(OpenSSL's)"
    return f"`{returns} {shown}({params})`"


def _describe_revision(family: Family) -> str:
    """What a revision differs in from the family it revises (its notes say it in words)."""
    base = FAMILIES[family.revises or ""]
    lines = [f"What {family.name} differs in from {base.name}, by the binding table:", ""]
    lines.extend(f"- {note}" for note in family.notes)
    changed = sorted(n for n, s in family.symbols.items() if base.symbols.get(n, "?") != s)
    if changed:
        lines.append(f"- Calls mapped otherwise: {', '.join(changed)}.")
    ctrls = [f"`{c}` is {n}" for c, n in sorted(family.ctrls.items()) if base.ctrls.get(c) != n]
    if ctrls:
        lines.append(f"- SSL_ctrl commands: {'; '.join(ctrls)}.")
    flags = [
        f"`{FLAGS[t].flag(n).c_name}` "
        + ("not defined" if v is None else _hex(v) if v >= 0 else str(v))
        for (t, n), v in sorted(family.flags.items())
        if base.flag_value(t, n) != v
    ]
    if flags:
        lines.append(f"- Flag values: {'; '.join(flags)}.")
    return "\n".join(lines) + "\n"


def describe(family: Family) -> str:
    """What `family` differs in from OpenSSL, as Markdown lines for its README."""
    if family.revises is not None:
        return _describe_revision(family)
    lines = [f"What {family.name} differs in, by the binding table (conformance/binding.py):", ""]
    lines.extend(f"- {note}" for note in family.notes)
    lacking = sorted(n for n, s in family.symbols.items() if s is None)
    if family.only_listed:
        has = sorted(n for n, s in family.symbols.items() if s is not None)
        lines.append(f"- Has only these of OpenSSL's functions ({len(has)}): {', '.join(has)}.")
    if lacking:
        lines.append(f"- Lacks ({len(lacking)}): {', '.join(lacking)}.")
    stacks = sorted(
        {
            (s.symbol if isinstance(s, Sym) else s or "").removesuffix("push")
            for n, s in family.symbols.items()
            if n.startswith("sk_X509_push")
        }
    )
    if stacks and stacks[0]:
        lines.append(f"- Typed stack macros (sk_X509_push, ...) are its {stacks[0]}* functions.")
    renamed = []
    for name, sym in sorted(family.symbols.items()):
        if name.startswith("sk_") and not family.c_calls_exported:
            continue
        symbol = sym.symbol if isinstance(sym, Sym) else sym
        usual = {name, "wolf" + name, "wolfSSL_" + name} if family.c_calls_exported else {name}
        if symbol is not None and symbol not in usual:
            renamed.append(f"`{name}` is `{symbol}`")
    if renamed:
        lines.append(f"- Under other names: {'; '.join(renamed)}.")
    own = [
        _prototype(name, sym, family)
        for name, sym in sorted(family.symbols.items())
        if isinstance(sym, Sym)
        and (sym.returns is not None or sym.params is not None or sym.extra)
        and not name.startswith("sk_")
    ]
    if own:
        lines.append(f"- Prototypes of its own: {'; '.join(own)}.")
    ctrls = []
    for ctrl, number in sorted(family.ctrls.items()):
        ctrls.append(
            f"`{ctrl}` "
            + ("does not exist" if number is None else f"is {number}")
            + f" (OpenSSL: {CTRLS[ctrl]})"
        )
    if ctrls:
        lines.append(f"- SSL_ctrl commands: {'; '.join(ctrls)}.")
    flags = []
    for table in FLAGS.values():
        for flag in table.flags:
            if (table.name, flag.name) not in family.flags:
                continue
            got = family.flags[(table.name, flag.name)]
            said = "not defined" if got is None else "defined as 0" if got == 0 else _hex(got)
            if got != flag.value:
                flags.append(f"`{flag.c_name}` {said} (OpenSSL: {_hex(flag.value)})")
    if flags:
        lines.append(f"- Flag values: {'; '.join(flags)}.")
    constants = [
        f"`{name}` is {value} (OpenSSL: {CONSTANTS[name]})"
        for name, value in sorted(family.constants.items())
    ]
    if constants:
        lines.append(f"- Constants: {'; '.join(constants)}.")
    if family.stack_push_prepends:
        lines.append("- Its sk_push puts the new element first.")
    return "\n".join(lines) + "\n"


README_BEGIN = "<!-- binding: generated by conformance.binding.describe; do not edit -->"
README_END = "<!-- binding: end -->"


def readme_section(families: tuple[str, ...]) -> str:
    """The generated block of a backend README: what each of `families` differs in."""
    body = "\n".join(describe(FAMILIES[name]) for name in families)
    return f"{README_BEGIN}\n\n{body}\n{README_END}"


@dataclass(frozen=True)
class CForm:
    """How C code of a family makes one call: `function(obj, args...)`, or, when `ctrl` is
    set, `function(obj, ctrl, larg, parg)` (the family has no function or macro of the
    call's own name, only its ctrl command)."""

    function: str
    ctrl: int | None = None


def c_form(call: Call, kind: Kind, family: Family = OPENSSL) -> CForm | None:
    """How a C program written for `family`'s headers makes `call`; None when it cannot."""
    name = call.spelled(kind)
    if family.symbol(name) is not None:
        return CForm(c_spelling(call, kind, family))
    if call.ctrl is None:
        return None
    number = family.ctrl_number(call.ctrl)
    ctrl_name = family.ctrl_symbols[1 if kind == "ctx" else 0]
    mapped = family.symbol(ctrl_name)
    if number is None or mapped is None:
        return None
    function = mapped.symbol if isinstance(mapped, Sym) else mapped
    return CForm(function if family.c_calls_exported else ctrl_name, number)


# --- what a whole C program needs beyond the calls (the reproducer generator's) --------
# Additive: read by conformance.repro only. A program declares objects of the family's
# types, starts with the family's initialisation, and calls a few functions the
# adapters never call (ex_data indexes, the error queue, the allocator hooks).

PROGRAM_TYPES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "wolfSSL": {"SSL": "WOLFSSL", "SSL_CTX": "WOLFSSL_CTX", "SSL_METHOD": "WOLFSSL_METHOD"},
    }
)
PROGRAM_INIT: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "wolfSSL": ("wolfSSL_Init();",),  # before every other call
        "GnuTLS": ("SSL_library_init();",),
    }
)
# OpenSSL name -> the family's, for functions only a program calls; None: it has none.
PROGRAM_SYMBOLS: Mapping[str, Mapping[str, str | None]] = MappingProxyType(
    {
        "wolfSSL": {
            "SSL_get_ex_new_index": "wolfSSL_get_ex_new_index",
            "ERR_clear_error": "wolfSSL_ERR_clear_error",
        },
        "BoringSSL": {
            # SSL objects are not reference counted; no allocator hooks.
            "SSL_dup": None,
            "SSL_up_ref": None,
            "CRYPTO_set_mem_functions": None,
        },
        # Its SSL objects are not reference counted either; it has the allocator hooks.
        "AWS-LC": {
            "SSL_dup": None,
            "SSL_up_ref": None,
            # openssl/thread.h: destructs the thread's error state, as OPENSSL_thread_stop.
            "OPENSSL_thread_stop": "AWSLC_thread_local_clear",
        },
    }
)

# Families whose allocator hooks take no file and line (malloc(size), free(p),
# realloc(p, size)), installed by this function, which returns 0 once they are in place:
# a reproducer of an allocation failure installs them where OpenSSL's programs call
# CRYPTO_set_mem_functions.
PROGRAM_ALLOCATORS: Mapping[str, str] = MappingProxyType({"wolfSSL": "wolfSSL_SetAllocators"})
