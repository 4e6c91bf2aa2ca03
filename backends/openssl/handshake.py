"""Handshakes and fixtures for the OpenSSL ABI family: the machinery an adapter holds.

Certificates, keys and chains come from the harness's fixtures folder (PEM, made by
conformance.fixtures in the parent process) and are read with the library under test.
Settings without a getter are observed by a full handshake between the object under
test and a peer the machinery makes from contexts of its own, over a memory BIO pair:
the peer takes the other role, speaks TLS 1.2 at most (where the page's settings show),
and records what it receives (signature algorithms, certificate types, DH group, PSK
hint, extensions). Where the object needs something to complete a handshake at all (a
server without a certificate, a PSK server callback, a certificate request) the
machinery adds it to that object only, after every copy the rule compares was made.

How each setting is set, and which observation of which handshake shows it, is in the
binding table (conformance.binding, `Observe`); this module names observations, never
settings. One handshake per object: a second getter on an object that already did one
is answered from the record of that handshake, or is Unobservable once settings changed.

Runs inside the worker: imports nothing that maps libcrypto.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from ctypes import POINTER, c_char_p, c_int, c_long, c_size_t, c_ubyte, c_uint, c_uint64, c_void_p
from dataclasses import dataclass, field
from typing import Any, ClassVar

from backends.bound import Fixture, Symbols, prototype
from conformance import binding as b
from conformance.library import Json, Kind, Unobservable
from conformance.settings import KEY_TYPES, SIGALG_NAMES

FIXTURES_ENV = "SSLCONFORM_FIXTURES"
CHAIN = ("ca-1", "ca-2", "root")  # conformance.fixtures.CHAIN: depth n is CHAIN[:n]
NID_FFDHE = {"ffdhe2048": 1126, "ffdhe3072": 1127}
# Custom extension contexts: ClientHello and TLS 1.2 ServerHello.
EXT_CONTEXT = 0x0080 | 0x0100
SERVERINFO_TYPE = 1002  # the extension the serverinfo fixtures carry
CUSTOM_TYPES = (1000, 1001)  # the settings table's custom extension types
SIGALG_CODES = dict(zip(SIGALG_NAMES, (0x0401, 0x0804, 0x0403, 0x0807, 0x0501), strict=True))
DANE_RECORDS = {  # name -> (usage, selector, matching type)
    "dane-ee-spki-sha256": (3, 1, 1),
    "dane-ta-cert-full": (2, 0, 0),
}
DHE_SUITES = ("DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384")
PSK_KEY = bytes(range(1, 17))
PSK_IDENTITY = b"sslconform"
CERTS = ("BIO_new_mem_buf", "PEM_read_bio_X509", "PEM_read_bio_PrivateKey")
# What each handshake mode needs beyond b.HANDSHAKE.
_DHE_GROUP_3X = ("EVP_PKEY_get_utf8_string_param", "EVP_PKEY_free")
_DHE_GROUP_111 = ("EVP_PKEY_get0_DH", "DH_get_nid", "OBJ_nid2sn", "EVP_PKEY_free")


@dataclass
class Seen:
    """What one handshake of an object showed."""

    ok: bool
    server: bool
    why: str = ""  # the failure, when not ok
    timeout: int | None = None
    id_context: bytes | None = None
    fired: dict[str, str] = field(default_factory=dict)  # callback type -> cb-a / cb-b
    peer_sigalgs: list[str] | None = None
    peer_cert_types: list[str] | None = None
    peer_dh_group: str | None = None
    psk_hint: Json = None
    psk_asked: bool = False
    extensions: list[tuple[int, bytes]] = field(default_factory=list)
    dane: Json = None
    alpn: Json = None  # the protocols the peer server was offered (None: no ALPN)
    mode: str = "plain"


class Handshakes:
    """The machinery of backends.bound for one loaded library of the OpenSSL family."""

    # The certificates a server of the machinery's handshakes offers, one of each key type.
    SERVER_KEY_TYPES: ClassVar[tuple[str, ...]] = KEY_TYPES

    def __init__(
        self,
        symbols: Symbols,
        errors: Callable[[], list[str]],
        stack: Callable[[int | None, str], list[int]],
    ) -> None:
        self.symbols = symbols
        # OpenSSL's function `name` as the family exports it (Symbols.fn): bound here, not
        # wrapped in a method, since every step of every handshake asks for one or more.
        self._fn: Callable[..., Callable[..., Any]] = symbols.fn
        self.family = symbols.family
        self.errors = errors
        self.stack = stack
        self.fixtures = os.environ.get(FIXTURES_ENV) or None
        self.own: set[int] = set()  # SSL objects the machinery made (peers): not the script's
        self.seen: dict[int, Seen | None] = {}  # object -> its handshake (None: changed since)
        self._x509: dict[str, int] = {}
        self._pkeys: dict[str, int] = {}
        self._peer_ctxs: dict[tuple[bool, str], int] = {}
        self._sessions: dict[str, int] = {}
        self._spent: dict[int, str] = {}  # fixture sessions no longer resumable, by name
        self._dh_for_callback: int | None = None
        self._record: list[tuple[str, str, int]] = []  # (callback type, cb name, ssl)
        self._psk: list[tuple[int, Json]] = []
        self._exts: list[tuple[int, int, bytes]] = []
        self._alpn: list[tuple[int, bytes]] = []
        self._gen_counter = 0
        self._want = (
            self.family.constant("SSL_ERROR_WANT_READ"),
            self.family.constant("SSL_ERROR_WANT_WRITE"),
        )
        self._natives = self._make_callbacks()

    def _has(self, name: str) -> bool:
        return self.symbols.has(name)

    def _ctrl(self, name: str) -> int:
        number = self.family.ctrl_number(name)
        if number is None:
            raise Unobservable(f"the library has no {name}")
        return number

    # --- the harness's callbacks ----------------------------------------------------

    def _make_callbacks(self) -> dict[str, Any]:
        def gen(name: str) -> Callable[..., int]:
            def make_id(ssl: int | None, buf: Any, length: Any) -> int:
                self._record.append(("gen-session-id", name, ssl or 0))
                self._gen_counter += 1
                made = f"sslconform {name} {self._gen_counter}".encode()[:32]
                ctypes.memmove(buf, made, len(made))
                ctypes.cast(length, POINTER(c_uint))[0] = len(made)
                return 1

            return make_id

        def dh(name: str) -> Callable[..., int | None]:
            def give(ssl: int | None, is_export: int, keylength: int) -> int | None:
                self._record.append(("dh-params-cb", name, ssl or 0))
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
            ctypes.cast(out, POINTER(c_void_p))[0] = None
            ctypes.cast(outlen, POINTER(c_size_t))[0] = 0
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
            # choose none: the handshake goes on without ALPN
            return self.family.constant("SSL_TLSEXT_ERR_NOACK")

        def of(type_name: str, body: Callable[..., Any]) -> Any:
            return prototype(b.CALLBACKS[type_name])(body)

        return {
            "gen-session-id:cb-a": of("gen-session-id", gen("cb-a")),
            "gen-session-id:cb-b": of("gen-session-id", gen("cb-b")),
            "dh-params-cb:cb-a": of("dh-params-cb", dh("cb-a")),
            "dh-params-cb:cb-b": of("dh-params-cb", dh("cb-b")),
            "psk-client": of("psk-client", psk_client),
            "psk-server": of("psk-server", psk_server),
            "ext-add": of("ext-add", ext_add),
            "ext-parse": of("ext-parse", ext_parse),
            "accept": of("accept", lambda ok, store: 1),
            "alpn-select": of("alpn-select", alpn_select),
        }

    def harness(self, name: str) -> int | None:
        return ctypes.cast(self._natives[name], c_void_p).value

    def callback(self, type_name: str, value: Json) -> int | None:
        if value is None:
            return None
        if type_name == "dh-params-cb" and self._dh_for_callback is None:
            self._dh_for_callback = int(
                self._fn("DH_new_by_nid", c_void_p, c_int)(NID_FFDHE["ffdhe2048"]) or 0
            )
        return self.harness(f"{type_name}:{value}")

    def callback_name(self, type_name: str, pointer: int | None) -> Json:
        if not pointer:
            return None
        for name in ("cb-a", "cb-b"):
            if self.harness(f"{type_name}:{name}") == pointer:
                return name
        return "other"

    # --- what the machinery needs -------------------------------------------------------

    def unavailable(self) -> str | None:
        return None if self.fixtures else f"no fixtures folder (${FIXTURES_ENV})"

    def needs(self, observe: b.Observe, kind: Kind) -> tuple[str, ...]:
        extra: tuple[str, ...] = ()
        if observe.mode == "dhe":
            # The group is read off the wire where the library has BIO_read (see
            # _first_flight); else from the peer's key, after a full handshake.
            group = ("BIO_read",) if self._has("BIO_read") else self._group_symbols()
            extra = ("SSL_ctrl", *group)
        return (*b.HANDSHAKE, *extra)

    def fixture_needs(self, kind: str, c_type: str, op: str) -> tuple[str, ...]:
        if kind == "x509":
            return (*CERTS, "X509_get_subject_name", "X509_NAME_get_text_by_NID")
        if kind == "pkey":
            same = "EVP_PKEY_eq" if self._has("EVP_PKEY_eq") else "EVP_PKEY_cmp"
            return (*CERTS, same) if op == "get" else CERTS
        if kind == "x509-stack":
            return (*CERTS, "sk_X509_new_null", "sk_X509_push", "sk_X509_free")
        if kind == "ssl-session":
            return (*b.HANDSHAKE, "SSL_get1_session") if op == "set" else ()
        if kind == "dh":
            if c_type == "EVP_PKEY *":
                return (
                    "EVP_PKEY_CTX_new_from_name",
                    "EVP_PKEY_paramgen_init",
                    "EVP_PKEY_CTX_set_group_name",
                    "EVP_PKEY_paramgen",
                    "EVP_PKEY_CTX_free",
                )
            return ("DH_new_by_nid", "DH_free")
        return ()

    def _group_symbols(self) -> tuple[str, ...]:
        if self._has("EVP_PKEY_get_utf8_string_param"):
            return (*_DHE_GROUP_3X, self._bits_fn())
        return (*_DHE_GROUP_111, self._bits_fn())

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

    def _readable(self, kinds: tuple[Json, ...]) -> list[str]:
        """The key types of `kinds` whose certificate and key the library can read (a
        wolfSSL build without Ed25519 cannot read that one); Unobservable if none."""
        found, why = [], ""
        for kind in kinds:
            try:
                self.x509(str(kind)), self.pkey(str(kind))
            except Unobservable as exc:
                why = str(exc)
                continue
            found.append(str(kind))
        if kinds and not found:
            raise Unobservable(why)
        return found

    def _cn(self, x509: int | None) -> str | None:
        if not x509:
            return None
        subject = self._fn("X509_get_subject_name", c_void_p, c_void_p)(x509)
        buf = ctypes.create_string_buffer(256)
        self._fn("X509_NAME_get_text_by_NID", c_int, c_void_p, c_int, c_char_p, c_int)(
            subject, self.family.constant("NID_commonName"), buf, 256
        )
        return buf.value.decode(errors="replace")

    def _fixture_of_cn(self, cn: str | None) -> Json:
        for kind in (*KEY_TYPES, *CHAIN):
            if cn == f"sslconform {kind}":
                return kind
        return cn

    def _which_key(self, pkey: int | None) -> Json:
        if not pkey:
            return None
        same = self._fn(
            "EVP_PKEY_eq" if self._has("EVP_PKEY_eq") else "EVP_PKEY_cmp", c_int, c_void_p, c_void_p
        )
        found = next((n for n in KEY_TYPES if same(pkey, self.pkey(n)) == 1), "other")
        self.errors()  # comparing keys of different types queues an error
        return found

    def _chain_stack(self, depth: int) -> int:
        stack = int(self._fn("sk_X509_new_null", c_void_p)())
        push = self._fn("sk_X509_push", c_int, c_void_p, c_void_p)
        for name in CHAIN[:depth]:
            push(stack, self.x509(name))
        return stack

    def _dh(self, group: str, c_type: str) -> int:
        """Parameters of a named group: an EVP_PKEY * (3.x) or a DH * (1.1.1)."""
        if c_type == "EVP_PKEY *":
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
            return out.value
        dh = self._fn("DH_new_by_nid", c_void_p, c_int)(NID_FFDHE[group])
        if not dh:
            self.errors()
            raise Unobservable(f"the library could not make DH group {group}")
        return int(dh)

    def _serverinfo(self, name: str) -> bytes:
        data = name.encode()
        return (
            EXT_CONTEXT.to_bytes(4, "big")
            + SERVERINFO_TYPE.to_bytes(2, "big")
            + len(data).to_bytes(2, "big")
            + data
        )

    def fixture(self, kind: str, name: Json, c_type: str) -> Fixture:
        if kind == "x509":
            return Fixture(self.x509(str(name)), {})
        if kind == "pkey":
            return Fixture(self.pkey(str(name)), {})
        if kind == "x509-stack":
            return Fixture(self._chain_stack(int(name)), {})
        if kind == "ssl-session":  # None: SSL_set_session(s, NULL) clears the session
            return Fixture(None if name is None else self._session(str(name)), {})
        if kind == "dh":
            return Fixture(self._dh(str(name), c_type), {})
        if kind == "serverinfo-block":
            return Fixture(self._serverinfo(str(name)), {})
        if kind == "tlsa":
            usage, selector, mtype = DANE_RECORDS[str(name)]
            if mtype == 1:
                data = bytes.fromhex(self._read("rsa-2048.spki-sha256").decode().strip())
            else:
                data = self._read("ca-1.der")
            parts = {"usage": usage, "selector": selector, "mtype": mtype, "data": data}
            return Fixture(None, parts)
        raise NotImplementedError(f"no fixture of kind {kind!r}")

    def fixture_name(self, kind: str, pointer: int | None) -> Json:
        if kind == "x509":
            return self._fixture_of_cn(self._cn(pointer))
        if kind == "pkey":
            return self._which_key(pointer)
        if kind == "x509-stack":
            names = [self._fixture_of_cn(self._cn(x)) for x in self.stack(pointer, "X509")]
            for depth in range(len(CHAIN) + 1):
                if names == list(CHAIN[:depth]):
                    return depth  # the table's vocabulary: a fixture chain of this depth
            return names
        if kind == "ssl-session":
            if not pointer:
                return None
            for name, session in self._sessions.items():
                if session == pointer:
                    return name
            return self._spent.get(pointer, "other")
        raise NotImplementedError(f"a {kind} fixture cannot be read back")

    def _session(self, name: str) -> int:
        """A session from a completed handshake between two objects of the machinery,
        resumable by the server that made it.

        A fatal alert of a connection carrying it (a handshake its other settings made
        fail) takes it out of that server's cache, or marks it not resumable for good.
        Such a session is not handed out again (`resume` retires what it could not
        resume; one no longer resumable is retired here): the next script that sets the
        fixture gets a new one, so what a script sees does not depend on the scripts
        before it. The old one keeps its name for the objects that still carry it."""
        known = self._sessions.get(name)
        if (
            known is not None
            and self._has("SSL_SESSION_is_resumable")
            and not self._fn("SSL_SESSION_is_resumable", c_int, c_void_p)(known)
        ):
            self._retire(name)
        if name not in self._sessions:
            client = self._own_ssl(self._peer_ctx(True, "plain"))
            server = self._own_ssl(self._peer_ctx(False, "resume"))
            self._fn("SSL_set_connect_state", None, c_void_p)(client)
            self._fn("SSL_set_accept_state", None, c_void_p)(server)
            ok, why = self._drive(client, server)
            session = self._fn("SSL_get1_session", c_void_p, c_void_p)(client) if ok else None
            if ok and self._has("SSL_shutdown"):
                self._close(client, server)  # the session stays resumable, in the cache
            self._free_own(client)
            self._free_own(server)
            if not session:
                raise Unobservable(f"no session could be made for {name}: {why}")
            self._sessions[name] = int(session)
        return self._sessions[name]

    def resume(self, obj: int) -> bool:
        """obj, as a client, completes a full handshake with the server that issued the
        session fixtures: whether its session was reused (SSL_session_reused).

        The server resumes the sessions in its cache, which holds those it made (the
        fixtures among them); a session of a handshake it did not resume is taken out
        again, so that a long run does not push the fixtures out of a full cache. Both
        ends then close cleanly (SSL_shutdown). What the handshake leaves on obj (its
        session, its state: not the initial one) is the script's to read.
        """
        lacking = self.unavailable()
        if lacking:
            raise Unobservable(f"the harness's server cannot be made: {lacking}")
        if not self.not_started(obj):
            raise Unobservable("the object has already started a handshake of its own")
        server_only = self._fn("TLS_server_method", c_void_p)()
        if self._has("SSL_get_ssl_method") and (
            self._fn("SSL_get_ssl_method", c_void_p, c_void_p)(obj) == server_only
        ):
            raise Unobservable("a server-only method cannot connect: no handshake as a client")
        self.errors()
        carried = self._fn("SSL_get_session", c_void_p, c_void_p)(obj)
        fixture = next((n for n, p in self._sessions.items() if p == carried), None)
        server_ctx = self._peer_ctx(False, "resume")
        server = self._own_ssl(server_ctx)
        self._fn("SSL_set_connect_state", None, c_void_p)(obj)
        self._fn("SSL_set_accept_state", None, c_void_p)(server)
        ok, why, reused = False, "", False
        try:
            ok, why = self._drive(obj, server)
            if ok:
                reused = bool(self._fn("SSL_session_reused", c_int, c_void_p)(obj))
                made = self._fn("SSL_get_session", c_void_p, c_void_p)(server)
                if made and not reused and self._has("SSL_CTX_remove_session"):
                    self._fn("SSL_CTX_remove_session", c_int, c_void_p, c_void_p)(server_ctx, made)
                # Closed cleanly: freeing either side later leaves the session resumable
                # and in the cache, so that no script spoils a fixture for the next.
                self._close(obj, server)
        finally:
            self._free_own(server)
            self.errors()
        if fixture is not None and not (ok and reused):
            # A fatal alert takes the session out of the server's cache (the client's copy
            # may still say it is resumable): the next script gets a new fixture.
            self._retire(fixture)
        self.seen.pop(obj, None)  # an earlier handshake's record no longer describes obj
        if not ok:
            raise Unobservable(f"the handshake with the harness's server failed ({why})")
        return reused

    def _retire(self, name: str) -> None:
        """Hand fixture `name` out no more; the objects that carry it still show its name
        (the session stays referenced here, so its pointer names nothing else)."""
        self._spent[self._sessions.pop(name)] = name

    def _close(self, client: int, server: int) -> None:
        """SSL_shutdown on both ends of a finished handshake: each sends its close_notify.
        SSL_free or SSL_clear of a connection not shut down so treats its session as
        bad: out of the cache, marked not resumable (ssl_clear_bad_session)."""
        shutdown = self._fn("SSL_shutdown", c_int, c_void_p)
        shutdown(client)
        shutdown(server)
        self.errors()

    # --- observations: what a handshake shows ------------------------------------------

    def observe(self, obj: int, observe: b.Observe) -> Json:
        server = {"server": True, "client": False}.get(observe.role or "")
        seen = self._handshake(obj, observe.mode, server)
        shows = observe.shows
        if shows.startswith("fired:"):
            fired = shows.removeprefix("fired:")
            if fired not in seen.fired and not seen.ok:
                raise Unobservable(f"the handshake failed before any callback ({seen.why})")
            return seen.fired.get(fired)
        reader = self._readers.get(shows)
        if reader is None:
            raise NotImplementedError(f"no handshake observation {shows!r}")
        return reader(self, obj, seen)

    def _session_timeout(self, obj: int, seen: Seen) -> Json:
        if seen.timeout is None:
            raise Unobservable(f"the handshake made no session ({seen.why})")
        return seen.timeout

    def _session_id_context(self, obj: int, seen: Seen) -> Json:
        if seen.id_context is None:
            raise Unobservable(f"the handshake made no session ({seen.why})")
        return seen.id_context.decode(errors="replace") or None

    def _peer_dh_group(self, obj: int, seen: Seen) -> Json:
        if seen.peer_dh_group is None:
            raise Unobservable(f"no DHE handshake to show the group ({seen.why})")
        return seen.peer_dh_group

    def _dh_auto(self, obj: int, seen: Seen) -> Json:
        if seen.ok and seen.peer_dh_group:
            # The adapter configures only RFC 7919 groups (tmp DH, its callbacks); automatic
            # parameters override them and are the library's own choice: RFC 3526 MODP
            # groups (3.0 shows modp_2048; 1.1.1, which names no MODP group, unnamed-2048).
            return 0 if seen.peer_dh_group in NID_FFDHE else 1
        if not seen.ok and "no shared cipher" in seen.why and self._offers_dhe(obj):
            return 0  # no parameters and no automatic ones: the server leaves DHE out
        raise Unobservable(f"no DHE handshake to show it ({seen.why})")

    def _offers_dhe(self, obj: int) -> bool:
        stack = self._fn("SSL_get_ciphers", c_void_p, c_void_p)(obj)
        name = self._fn("SSL_CIPHER_get_name", c_char_p, c_void_p)
        return any(bytes(name(c)).decode() in DHE_SUITES for c in self.stack(stack, "SSL_CIPHER"))

    def _peer_sigalgs(self, obj: int, seen: Seen) -> Json:
        if not seen.peer_sigalgs:
            raise Unobservable(f"the peer received no signature algorithms ({seen.why})")
        return seen.peer_sigalgs

    def _peer_cert_types(self, obj: int, seen: Seen) -> Json:
        if seen.peer_cert_types is None:
            raise Unobservable(f"no CertificateRequest reached the peer ({seen.why})")
        return seen.peer_cert_types

    def _psk_hint(self, obj: int, seen: Seen) -> Json:
        if not seen.psk_asked:
            raise Unobservable(f"no PSK handshake reached the client's callback ({seen.why})")
        return seen.psk_hint

    def _completed(self, seen: Seen) -> None:
        if not seen.ok:
            raise Unobservable(f"the handshake failed ({seen.why})")

    def _serverinfo_seen(self, obj: int, seen: Seen) -> Json:
        self._completed(seen)
        got = [data for t, data in seen.extensions if t == SERVERINFO_TYPE]
        return got[0].decode(errors="replace") if got else None

    def _custom_extensions(self, obj: int, seen: Seen) -> Json:
        self._completed(seen)
        got = sorted({t for t, _ in seen.extensions if t in CUSTOM_TYPES})
        return got[0] if len(got) == 1 else (got or None)

    def _dane_record(self, obj: int, seen: Seen) -> Json:
        self._completed(seen)
        return seen.dane

    def _alpn_offered(self, obj: int, seen: Seen) -> Json:
        self._completed(seen)
        return seen.alpn

    _readers: ClassVar[dict[str, Callable[[Handshakes, int, Seen], Json]]] = {
        "session-timeout": _session_timeout,
        "session-sid-ctx": _session_id_context,
        "peer-dh-group": _peer_dh_group,
        "automatic-dh": _dh_auto,
        "peer-sigalgs": _peer_sigalgs,
        "peer-cert-types": _peer_cert_types,
        "psk-hint": _psk_hint,
        "serverinfo-extension": _serverinfo_seen,
        "custom-extension-types": _custom_extensions,
        "dane-record": _dane_record,
        "alpn-offered": _alpn_offered,
    }

    # --- the handshake ---------------------------------------------------------------

    def changed(self, obj: int) -> None:
        """A setter ran on obj: an earlier handshake no longer shows its settings."""
        if obj in self.seen:
            self.seen[obj] = None

    def forget(self, obj: int) -> None:
        self.seen.pop(obj, None)

    def _own_ssl(self, ctx: int) -> int:
        ssl = int(self._fn("SSL_new", c_void_p, c_void_p)(ctx))
        self.own.add(ssl)
        return ssl

    def _free_own(self, ssl: int) -> None:
        self._fn("SSL_free", None, c_void_p)(ssl)
        self.own.discard(ssl)  # the free callback normally did this already

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
            self.harness("ext-add"),
            None,
            None,
            self.harness("ext-parse"),
            None,
        )
        if not ok:
            self.errors()
            raise Unobservable(f"the library refused custom extension {ext_type}")

    def _peer_ctx(self, client: bool, mode: str) -> int:
        """The peer's context: TLS 1.2 at most, recording what it receives."""
        if client:
            key = (True, mode if mode in ("dhe", "psk") else "plain")
        else:
            key = (False, mode if mode in ("tlsa-auth", "resume") else "plain")
        mode = key[1]
        if key in self._peer_ctxs:
            return self._peer_ctxs[key]
        method = self._fn("TLS_client_method" if client else "TLS_server_method", c_void_p)()
        ctx = int(self._fn("SSL_CTX_new", c_void_p, c_void_p)(method))
        ctrl = self._fn("SSL_CTX_ctrl", c_long, c_void_p, c_int, c_long, c_void_p)
        tls12 = self.family.flag_value("proto-versions", "tls1.2")
        ctrl(ctx, self._ctrl("SSL_CTRL_SET_MAX_PROTO_VERSION"), tls12, None)
        if self._has("SSL_CTX_set_security_level"):
            self._fn("SSL_CTX_set_security_level", None, c_void_p, c_int)(ctx, 0)
        # Optional on the peer: a library without custom extensions (BoringSSL) still
        # shows every other setting; the settings that need them say so themselves.
        if self._has("SSL_CTX_add_custom_ext"):
            for ext_type in (*CUSTOM_TYPES, *((SERVERINFO_TYPE,) if client else ())):
                self._add_ext(ctx, ext_type)
        if client:
            # No ticket: a TLS 1.2 server then makes a session id (and calls its callback).
            no_ticket = self.family.flag_value("options", "no-ticket") or 0
            self._fn("SSL_CTX_set_options", c_uint64, c_void_p, c_uint64)(ctx, no_ticket)
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
                    self._ctrl("SSL_CTRL_SET_GROUPS_LIST"),
                    0,
                    ctypes.cast(ctypes.c_char_p(b"X25519:P-256"), c_void_p),
                )
            if mode == "psk":
                self._fn("SSL_CTX_set_psk_client_callback", None, c_void_p, c_void_p)(
                    ctx, self.harness("psk-client")
                )
        else:
            if mode == "resume":
                # The server of the session fixtures: it keeps the sessions it makes in its
                # cache and issues no ticket, so a client resumes by session id and keeps
                # the very SSL_SESSION it was given (a new ticket would replace it).
                no_ticket = self.family.flag_value("options", "no-ticket") or 0
                self._fn("SSL_CTX_set_options", c_uint64, c_void_p, c_uint64)(ctx, no_ticket)
            if self._has("SSL_CTX_set_alpn_select_cb"):
                self._fn("SSL_CTX_set_alpn_select_cb", None, c_void_p, c_void_p, c_void_p)(
                    ctx, self.harness("alpn-select"), None
                )
            kinds = ("rsa-2048",) if mode == "tlsa-auth" else self.SERVER_KEY_TYPES
            for kind in self._readable(kinds):
                self._fn("SSL_CTX_use_certificate", c_int, c_void_p, c_void_p)(ctx, self.x509(kind))
                self._fn("SSL_CTX_use_PrivateKey", c_int, c_void_p, c_void_p)(ctx, self.pkey(kind))
                self._peer_chain(ctx)
        self.errors()
        self._peer_ctxs[key] = ctx
        return ctx

    def _peer_chain(self, ctx: int) -> None:
        """The peer server's chain (SSL_CTX_set1_chain, a macro over SSL_CTX_ctrl)."""
        ctrl = self._fn("SSL_CTX_ctrl", c_long, c_void_p, c_int, c_long, c_void_p)
        stack = self._chain_stack(len(CHAIN))
        ctrl(ctx, self._ctrl("SSL_CTRL_CHAIN"), 1, stack)
        self._fn("sk_X509_free", None, c_void_p)(stack)

    def _pair(self, a: int, b: int) -> int:
        """a and b joined by a BIO pair (each end owned by its SSL): b's end, which holds
        what a wrote until b reads it."""
        near, far = c_void_p(), c_void_p()
        self._fn("BIO_new_bio_pair", c_int, c_void_p, c_size_t, c_void_p, c_size_t)(
            ctypes.addressof(near), 0, ctypes.addressof(far), 0
        )
        set_bio = self._fn("SSL_set_bio", None, c_void_p, c_void_p, c_void_p)
        set_bio(a, near, near)
        set_bio(b, far, far)
        return far.value or 0

    def _drive(self, a: int, b: int) -> tuple[bool, str]:
        """Connect a (server or client as it is) and b over a BIO pair, to the end."""
        self._pair(a, b)
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
                elif error(ssl, ret) not in (self._want):
                    queued = self.errors()
                    return False, queued[0] if queued else f"SSL_get_error {error(ssl, ret)}"
            if all(done.values()):
                self.errors()
                return True, ""
        return False, "the handshake did not finish"

    def _first_flight(self, server: int, client: int) -> tuple[bool, str, bytes]:
        """The client's ClientHello to the server, and the server's first flight back as
        the bytes on the wire, which the client never reads.

        The DH group a server uses is in its ServerKeyExchange: reading it off the wire
        shows what the server sent without the client checking the prime (OpenSSL 3's
        client tests p for primality, 5 ms for 2048 bits and 15 for 3072: most of a DHE
        handshake's cost, and nothing a rule compares)."""
        far = self._pair(server, client)
        step = self._fn("SSL_do_handshake", c_int, c_void_p)
        error = self._fn("SSL_get_error", c_int, c_void_p, c_int)
        for ssl in (client, server):
            ret = step(ssl)
            if ret != 1 and error(ssl, ret) not in self._want:
                queued = self.errors()
                return False, queued[0] if queued else f"SSL_get_error {error(ssl, ret)}", b""
        self.errors()
        read = self._fn("BIO_read", c_int, c_void_p, c_void_p, c_int)
        buf = ctypes.create_string_buffer(16384)
        wire = b""
        while (got := read(far, buf, len(buf))) > 0:
            wire += buf.raw[:got]
        self.errors()  # an empty BIO pair says so with a retry flag, not an error
        return True, "", wire

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
                if mode in ("dhe", "rsa-only")
                else tuple(
                    k for k in ("rsa-2048", "ed25519", "ec-p256") if k in self.SERVER_KEY_TYPES
                )
            )
        elif not cert or not key:
            kinds = (self._fixture_of_cn(self._cn(cert)) if cert else self._which_key(key),)
        else:
            kinds = ()
        for kind in self._readable(tuple(k for k in kinds if k in KEY_TYPES)):
            if kind in KEY_TYPES:
                self._fn("SSL_use_certificate", c_int, c_void_p, c_void_p)(
                    obj, self.x509(str(kind))
                )
                self._fn("SSL_use_PrivateKey", c_int, c_void_p, c_void_p)(obj, self.pkey(str(kind)))
        if mode == "psk":
            self._fn("SSL_set_psk_server_callback", None, c_void_p, c_void_p)(
                obj, self.harness("psk-server")
            )
        if mode == "certreq":
            mode_bits = self._fn("SSL_get_verify_mode", c_int, c_void_p)(obj)
            self._fn("SSL_set_verify", None, c_void_p, c_int, c_void_p)(
                obj,
                mode_bits | (self.family.flag_value("verify-modes", "peer") or 0),
                self.harness("accept"),
            )
        self.errors()

    def not_started(self, obj: int) -> bool:
        """Whether the object is still before its first handshake (a library without
        SSL_in_before says so another way: see the wolfSSL adapter's machinery)."""
        return bool(self._fn("SSL_in_before", c_int, c_void_p)(obj))

    def _handshake(self, obj: int, mode: str, server: bool | None) -> Seen:
        if obj in self.seen:
            done = self.seen[obj]
            if done is None:
                raise Unobservable("settings changed after this object's handshake")
            if done.mode != mode and not (done.mode == "certreq" and mode == "plain"):
                raise Unobservable(f"this object already did a {done.mode} handshake")
            return done
        if not self.not_started(obj):
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
        flight: bytes | None = None
        if mode == "dhe" and is_server and self._has("BIO_read"):
            ok, why, flight = self._first_flight(obj, peer)
        else:
            ok, why = self._drive(obj, peer)
        seen = Seen(ok, is_server, why, mode=mode)
        try:
            self._observe(obj, peer, seen)
            if flight is not None:
                seen.peer_dh_group = _dhe_group(flight)
                if seen.peer_dh_group is None and ok:
                    seen.ok, seen.why = False, "the server sent no DHE key exchange"
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
            length = ctrl(
                peer, self._ctrl("SSL_CTRL_GET_CLIENT_CERT_TYPES"), 0, ctypes.addressof(types)
            )
            if types.value and length > 0:
                raw = ctypes.string_at(types.value, length)
                type_names = {v: k for k, v in self.family.flag_values("cert-types").items()}
                seen.peer_cert_types = [type_names.get(b, f"{b:#x}") for b in raw]
            elif seen.peer_sigalgs is not None:
                seen.peer_cert_types = []
            key = c_void_p()
            tmp_key = self._ctrl("SSL_CTRL_GET_PEER_TMP_KEY")
            if ctrl(peer, tmp_key, 0, ctypes.addressof(key)) and key.value:
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


# The well-known safe primes all begin and end with 64 one bits; the 64 bits after the
# leading ones tell the family apart: e's digits (RFC 7919) or pi's (RFC 3526, which
# OpenSSL 3 names modp_BITS).
_PRIME_FAMILIES = {
    bytes.fromhex("ADF85458A2BB4A9A"): "ffdhe",
    bytes.fromhex("C90FDAA22168C234"): "modp_",
}


def _dhe_group(wire: bytes) -> str | None:
    """The DH group of the ServerKeyExchange in a TLS 1.2 server flight: ffdheBITS,
    modp_BITS, or unnamed-BITS for other primes; None when there is none."""
    handshake, i = b"", 0
    while i + 5 <= len(wire):  # records: type, version, length; handshake ones joined
        length = int.from_bytes(wire[i + 3 : i + 5], "big")
        if wire[i] == 22:
            handshake += wire[i + 5 : i + 5 + length]
        i += 5 + length
    j = 0
    while j + 4 <= len(handshake):  # messages: type, 24-bit length
        kind, length = handshake[j], int.from_bytes(handshake[j + 1 : j + 4], "big")
        body = handshake[j + 4 : j + 4 + length]
        if kind == 12 and len(body) >= 2:  # ServerKeyExchange: dh_p first
            p = body[2 : 2 + int.from_bytes(body[:2], "big")]
            ones = b"\xff" * 8
            family = _PRIME_FAMILIES.get(p[8:16]) if p[:8] == ones == p[-8:] else None
            return f"{family or 'unnamed-'}{len(p) * 8}"
        j += 4 + length
    return None


def _alpn_names(wire: bytes) -> list[str]:
    """An ALPN protocol list on the wire (length-prefixed names) as names."""
    names, i = [], 0
    while i < len(wire):
        size = wire[i]
        names.append(wire[i + 1 : i + 1 + size].decode(errors="replace"))
        i += 1 + size
    return names
