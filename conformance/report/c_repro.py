"""Standalone C reproducers: a deviating script, replayed through OpenSSL's public API.

For every cell that deviates (fail, crash, timeout, absent) the report writes a C
program that does what the minimal script did, prints what it observed in the trace's
own JSON shape, and compares that with what the deviating run saw:

- fail: each operation's observation (objects, NULLs, values, freed objects) must be
  what the deviating run recorded; exit 0 if all are (the deviation reproduces), 1 if not.
- crash / timeout: the script runs in a child process; exit 0 if the child dies by a
  signal (crash) or outlives the time limit (timeout).
- absent: the program opens the library and looks the missing functions up; exit 0 if
  they are indeed missing. No headers needed, so this works for any family.

Reference counts are observed as the harness observes them: an ex_data index on SSL
objects whose free callback fires with the parent SSL* when the object is really freed.
Object ids are the order in which distinct objects were first seen, per kind.

Building the report compiles each program against the library the column was measured
on (`cc -I<include> prog.c -L<libdir> -lssl -lcrypto -Wl,-rpath,<libdir>`; the system
OpenSSL with the system headers), runs it, and records whether it reproduces.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.library import Json
from conformance.report.common import printable
from conformance.report.model import Column, Matrix, RuleInfo
from conformance.report.repro_types import Repro
from conformance.results import RuleResult

SYSTEM_INCLUDE = Path("/usr/include")
SYSTEM_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib", "/lib")
COMPILE_SECONDS = 120
RUN_SECONDS = 30
CHILD_SECONDS = 10  # the time limit a timeout reproducer gives the script
OUTPUT_LIMIT = 4000

REPRODUCED = ("fail", "crash", "timeout", "absent")  # statuses that get a reproducer


class CannotGenerate(Exception):
    """The script uses something this generator cannot express in C; the message says what."""


# --- where to build ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The library a program is built and run against."""

    include_dirs: tuple[str, ...] = ()  # empty: the system headers
    lib_dir: str | None = None  # None: the system libraries
    ssl_lib: str = "ssl"  # what follows -l
    crypto_lib: str = "crypto"
    loader: str | None = None  # an ld.so to run the program under (a newer glibc)

    def build_args(self, source: str, binary: str) -> list[str]:
        args = ["cc", "-std=c99", "-O0"]
        args += [f"-I{d}" for d in self.include_dirs]
        args += [source, "-o", binary]
        if self.lib_dir:
            args += [f"-L{self.lib_dir}"]
        args += [f"-l{self.ssl_lib}", f"-l{self.crypto_lib}", "-ldl"]
        if self.lib_dir:
            args += [f"-Wl,-rpath,{self.lib_dir}"]
        if self.loader:
            # The library needs a newer glibc than this toolchain links against; the
            # loader that runs the program brings it.
            args += ["-Wl,--allow-shlib-undefined"]
        return args

    def run_args(self, binary: str) -> list[str]:
        if self.loader:
            path = ":".join(p for p in (str(Path(self.loader).parent), self.lib_dir) if p)
            return [self.loader, "--library-path", path, binary]
        return [binary]


def _header_version(include: Path) -> str | None:
    for name in ("openssl/opensslv.h",):
        try:
            text = (include / name).read_text(errors="replace")
        except OSError:
            continue
        for pattern in (
            r'OPENSSL_FULL_VERSION_STR\s+"([^"]+)"',
            r'OPENSSL_VERSION_TEXT\s+"OpenSSL ([^ "]+)',
        ):
            found = re.search(pattern, text)
            if found:
                return found.group(1)
    return None


def _multiarch(include: Path) -> tuple[str, ...]:
    """Debian keeps opensslconf.h/configuration.h under include/<triplet>/openssl."""
    extra = sorted(str(p.parent) for p in include.glob("*-linux-gnu*/openssl"))
    return (str(include), *extra)


def _paths(path: str | None) -> list[str]:
    """LibraryInfo.path: a folder, a file, or the files mapped, separated by commas."""
    return [p.strip() for p in (path or "").split(",") if p.strip()]


def _lib_dir(path: str | None) -> str | None:
    paths = _paths(path)
    if not paths:
        return None
    chosen = next((p for p in paths if "libssl" in Path(p).name), paths[0])
    p = Path(chosen)
    return str(p.parent if p.is_file() or ".so" in p.name else p)


def _link_name(lib_dir: str, stem: str) -> str | None:
    """`ssl` if libssl.so is there, else `:libssl.so.N` (runtime packages lack the symlink)."""
    folder = Path(lib_dir)
    if (folder / f"lib{stem}.so").exists():
        return stem
    versions = sorted(folder.glob(f"lib{stem}.so.*"))
    return f":{versions[0].name}" if versions else None


def _library_files(column: Column) -> list[str]:
    """What an absent-function probe opens: its crypto library first, then the TLS one.

    Opening libcrypto first (globally) matters where libssl's own search path does not
    lead to it, as with Debian's BoringSSL.
    """
    lib = column.results.library
    if lib is None:
        return []
    lib_dir = _lib_dir(lib.path)
    files = [p for p in _paths(lib.path) if Path(p).is_file()]
    if files:
        main = next((p for p in files if "ssl" in Path(p).name), files[0])
    elif lib_dir and Path(lib_dir).is_dir():
        found = sorted(Path(lib_dir).glob("lib*ssl*.so*"), key=lambda p: (len(p.name), p.name))
        if not found:
            return []
        main = str(found[0])
    elif lib.name == "OpenSSL":
        main = "libssl.so.1.1" if lib.version.startswith("OpenSSL 1.") else "libssl.so.3"
    else:
        return []
    folder = Path(main).parent
    crypto = [] if str(folder) == "." else sorted(str(p) for p in folder.glob("libcrypto.so*"))
    return [*crypto[:1], main]


def resolve_target(column: Column, overrides: dict[str, dict[str, str]]) -> Target | str:
    """The target for a column, or one line saying why there is none."""
    lib = column.results.library
    over = overrides.get(column.key) or overrides.get(column.results.backend) or {}
    if lib is None:
        return "the results file names no library"
    lib_dir = over.get("lib") or _lib_dir(lib.path)
    if lib_dir and lib_dir.rstrip("/") in SYSTEM_LIB_DIRS:
        lib_dir = None
    includes: tuple[str, ...]
    if "include" in over:
        includes = _multiarch(Path(over["include"]))
    elif lib.name != "OpenSSL":
        return (
            f"scripts are replayed through OpenSSL's API; no {lib.name} headers given "
            f"(--c-include {column.key}=DIR)"
        )
    elif lib_dir is None:
        have = _header_version(SYSTEM_INCLUDE)
        if have is None:
            return "no OpenSSL headers in /usr/include (apt-get install libssl-dev)"
        if have not in lib.version:
            return f"the system headers are OpenSSL {have}, the library is {lib.version}"
        includes = ()
    else:
        if not Path(lib_dir).is_dir():
            return f"the library folder {lib_dir} is not on this machine"
        found = _find_headers(Path(lib_dir))
        if found is None:
            return f"no OpenSSL headers next to {lib_dir} (--c-include {column.key}=DIR)"
        have = _header_version(found)
        if have and have not in lib.version:
            return f"the headers at {found} are OpenSSL {have}, the library is {lib.version}"
        includes = _multiarch(found)
    ssl_lib, crypto_lib = "ssl", "crypto"
    if lib_dir:
        ssl_found, crypto_found = _link_name(lib_dir, "ssl"), _link_name(lib_dir, "crypto")
        if ssl_found is None or crypto_found is None:
            return f"no libssl/libcrypto in {lib_dir}"
        ssl_lib, crypto_lib = ssl_found, crypto_found
    return Target(includes, lib_dir, ssl_lib, crypto_lib, _loader(over, lib.loader, lib_dir))


def _loader(over: dict[str, str], recorded: list[str] | None, lib_dir: str | None) -> str | None:
    """The ld.so to run under: as told, as the run recorded, or one beside the library."""
    if "loader" in over:
        return over["loader"]
    if recorded:
        return recorded[0]
    if lib_dir and (Path(lib_dir) / "ld-linux-x86-64.so.2").exists():
        return str(Path(lib_dir) / "ld-linux-x86-64.so.2")
    return None


def _find_headers(lib_dir: Path) -> Path | None:
    """A dpkg -x of libssl-dev beside the library: walk up to usr/include or include."""
    # Stop below the root: /usr/include there is the system's, not this library's.
    for base in [lib_dir, *lib_dir.parents][:5]:
        if base == Path(base.anchor) or str(base) in ("/usr", "/usr/local"):
            break
        # `sslconform fetch NAME-headers` unpacks libssl-dev beside the library's folder
        sibling = base.parent / f"{base.name}-headers" / "root" / "usr" / "include"
        for include in (base / "usr" / "include", base / "include", sibling):
            if (include / "openssl" / "ssl.h").exists():
                return include
    return None


# --- the C text --------------------------------------------------------------------


def c_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\?':  # ? too: "??/" would be a trigraph in strict C
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode())
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    return printable(text).replace("*/", "* /")


def canonical(observation: dict[str, Any]) -> str:
    """The fields a reproducer compares, in the C program's spelling."""
    keep: dict[str, Any] = {}
    if observation.get("freed"):
        keep["freed"] = observation["freed"]
    if observation.get("null"):
        keep["null"] = True
    if observation.get("object") is not None:
        keep["object"] = observation["object"]
    if observation.get("value") is not None:
        keep["value"] = observation["value"]
    return json.dumps(keep, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


OPTIONS = {
    "allow-no-dhe-kex": "SSL_OP_ALLOW_NO_DHE_KEX",
    "no-query-mtu": "SSL_OP_NO_QUERY_MTU",
    "no-ticket": "SSL_OP_NO_TICKET",
    "no-compression": "SSL_OP_NO_COMPRESSION",
    "enable-middlebox-compat": "SSL_OP_ENABLE_MIDDLEBOX_COMPAT",
    "prioritize-chacha": "SSL_OP_PRIORITIZE_CHACHA",
    "cipher-server-preference": "SSL_OP_CIPHER_SERVER_PREFERENCE",
    "no-anti-replay": "SSL_OP_NO_ANTI_REPLAY",
    "no-tlsv1": "SSL_OP_NO_TLSv1",
    "no-tlsv1.2": "SSL_OP_NO_TLSv1_2",
    "no-tlsv1.1": "SSL_OP_NO_TLSv1_1",
    "no-tlsv1.3": "SSL_OP_NO_TLSv1_3",
    "no-renegotiation": "SSL_OP_NO_RENEGOTIATION",
}
MODES = {
    "enable-partial-write": "SSL_MODE_ENABLE_PARTIAL_WRITE",
    "accept-moving-write-buffer": "SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER",
    "auto-retry": "SSL_MODE_AUTO_RETRY",
    "no-auto-chain": "SSL_MODE_NO_AUTO_CHAIN",
    "release-buffers": "SSL_MODE_RELEASE_BUFFERS",
    "send-fallback-scsv": "SSL_MODE_SEND_FALLBACK_SCSV",
}
VERIFY_MODES = {
    "peer": "SSL_VERIFY_PEER",
    "fail-if-no-peer-cert": "SSL_VERIFY_FAIL_IF_NO_PEER_CERT",
    "client-once": "SSL_VERIFY_CLIENT_ONCE",
    "post-handshake": "SSL_VERIFY_POST_HANDSHAKE",
}
VERIFY_FLAGS = {
    "crl-check": "X509_V_FLAG_CRL_CHECK",
    "crl-check-all": "X509_V_FLAG_CRL_CHECK_ALL",
    "x509-strict": "X509_V_FLAG_X509_STRICT",
    "partial-chain": "X509_V_FLAG_PARTIAL_CHAIN",
    "no-check-time": "X509_V_FLAG_NO_CHECK_TIME",
}
HOST_FLAGS = {
    "always-check-subject": "X509_CHECK_FLAG_ALWAYS_CHECK_SUBJECT",
    "no-wildcards": "X509_CHECK_FLAG_NO_WILDCARDS",
    "no-partial-wildcards": "X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS",
}
PROTO = {
    "any": "0",
    "tls1": "TLS1_VERSION",
    "tls1.1": "TLS1_1_VERSION",
    "tls1.2": "TLS1_2_VERSION",
    "tls1.3": "TLS1_3_VERSION",
}
METHODS = {
    "tls": "TLS_method",
    "tls-client": "TLS_client_method",
    "tls-server": "TLS_server_method",
}
FLAG_TABLES = {
    "options": OPTIONS,
    "modes": MODES,
    "verify_modes": VERIFY_MODES,
    "verify_flags": VERIFY_FLAGS,
    "host_flags": HOST_FLAGS,
}
CALLBACK_TYPES = {
    # setting -> (prefix of the two callbacks, their C definitions)
    "verify": (
        "static int verify_cb_a(int ok, X509_STORE_CTX *x) { (void)x; return ok; }\n"
        "static int verify_cb_b(int ok, X509_STORE_CTX *x) { (void)x; return ok; }\n"
    ),
    "info": (
        "static void info_cb_a(const SSL *s, int where, int ret)\n"
        "{ (void)s; (void)where; (void)ret; }\n"
        "static void info_cb_b(const SSL *s, int where, int ret)\n"
        "{ (void)s; (void)where; (void)ret; }\n"
    ),
    "passwd": (
        "static int passwd_cb_a(char *buf, int size, int rw, void *u) "
        "{ (void)buf; (void)size; (void)rw; (void)u; return 0; }\n"
        "static int passwd_cb_b(char *buf, int size, int rw, void *u) "
        "{ (void)buf; (void)size; (void)rw; (void)u; return 0; }\n"
    ),
    "security": (
        "static int security_cb_a(const SSL *s, const SSL_CTX *c, int op, int bits, int nid,\n"
        "                         void *other, void *ex)\n"
        "{ (void)s; (void)c; (void)op; (void)bits; (void)nid; (void)other; (void)ex; return 1; }\n"
        "static int security_cb_b(const SSL *s, const SSL_CTX *c, int op, int bits, int nid,\n"
        "                         void *other, void *ex)\n"
        "{ (void)s; (void)c; (void)op; (void)bits; (void)nid; (void)other; (void)ex; return 1; }\n"
    ),
    "msg": (
        "/* The msg callbacks note which of them is called first for the SSL object whose\n"
        " * handshake the msg-callback getter starts. */\n"
        "static const SSL *msg_watch;\n"
        "static char msg_first;\n"
        "static void msg_cb(char which, const SSL *ssl)\n"
        "{\n"
        "    if (ssl == msg_watch && !msg_first)\n"
        "        msg_first = which;\n"
        "}\n"
        "static void msg_cb_a(int w, int v, int t, const void *b, size_t n, SSL *s, void *a)\n"
        "{ (void)w; (void)v; (void)t; (void)b; (void)n; (void)a; msg_cb('a', s); }\n"
        "static void msg_cb_b(int w, int v, int t, const void *b, size_t n, SSL *s, void *a)\n"
        "{ (void)w; (void)v; (void)t; (void)b; (void)n; (void)a; msg_cb('b', s); }\n"
    ),
}

PRELUDE = r"""#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define MAX_OBJ 256

/* Object ids, as in the harness's traces: one counter for contexts and SSL objects, in
 * the order they were obtained. An SSL object that was really freed is dead: a new
 * object at the same address is a new object. */
static int next_id;
static const void *ssl_seen[MAX_OBJ];
static int ssl_ids[MAX_OBJ], ssl_live[MAX_OBJ], n_ssl_seen;
static const void *ctx_seen[MAX_OBJ];
static int ctx_ids[MAX_OBJ], n_ctx_seen;
static SSL *ssl_h[MAX_OBJ];     /* SSL handles by script position */
static int n_ssl_h;
static SSL_CTX *ctx_h[MAX_OBJ]; /* contexts by script position */
static int n_ctx_h;

static int ssl_id(const void *p)
{
    for (int i = n_ssl_seen - 1; i >= 0; i--)
        if (ssl_seen[i] == p && ssl_live[i])
            return ssl_ids[i];
    ssl_seen[n_ssl_seen] = p;
    ssl_live[n_ssl_seen] = 1;
    ssl_ids[n_ssl_seen] = next_id++;
    return ssl_ids[n_ssl_seen++];
}

static int new_ctx_id(const void *p)
{
    ctx_seen[n_ctx_seen] = p;
    ctx_ids[n_ctx_seen] = next_id++;
    return ctx_ids[n_ctx_seen++];
}

static int ctx_id(const void *p) /* -1: a context the script never made */
{
    for (int i = n_ctx_seen - 1; i >= 0; i--)
        if (ctx_seen[i] == p)
            return ctx_ids[i];
    return -1;
}

/* Reference counts, seen from outside: this ex_data free callback runs with the parent
 * SSL* exactly when an SSL object is really freed (it runs for every SSL object, set
 * or not, and SSL_dup's copy gets its own call). */
static int freed[MAX_OBJ], n_freed;

static void on_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)ptr; (void)ad; (void)idx; (void)argl; (void)argp;
    for (int i = n_ssl_seen - 1; i >= 0; i--)
        if (ssl_seen[i] == parent && ssl_live[i]) {
            ssl_live[i] = 0;
            freed[n_freed++] = ssl_ids[i];
            return;
        }
    freed[n_freed++] = -1; /* an SSL object the script never obtained */
}

static int data_index; /* the index application data is stored at (ex-data setting) */

/* The observation of the current operation, built as canonical JSON. */
static char V[16384];
static size_t vlen;
static int obs_object, obs_null, obs_skip;
static char obs_value[16384];

static void vput(const char *s)
{
    size_t n = strlen(s);
    if (vlen + n < sizeof V) {
        memcpy(V + vlen, s, n);
        vlen += n;
        V[vlen] = 0;
    }
}

static void vstr(const char *s)
{
    char b[8];
    vput("\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        /* As Python's json.dumps(ensure_ascii=False) writes it: UTF-8 passes through. */
        if (c == '"' || c == '\\') {
            b[0] = '\\'; b[1] = (char)c; b[2] = 0;
        } else if (c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
            b[0] = '\\';
            b[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c == '\b' ? 'b' : 'f';
            b[2] = 0;
        } else if (c < 0x20) {
            snprintf(b, sizeof b, "\\u%04x", c);
        } else {
            b[0] = (char)c; b[1] = 0;
        }
        vput(b);
    }
    vput("\"");
}

static void vint(long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    vput(b);
}

/* A flag word as the harness shows it: known names (sorted), then "0x.." for the rest. */
static void vflags(unsigned long long v, const char *const *names,
                   const unsigned long long *bits, int n)
{
    char b[32];
    int first = 1;
    vput("[");
    for (int i = 0; i < n; i++)
        if (bits[i] && (v & bits[i]) == bits[i]) {
            if (!first) vput(",");
            vstr(names[i]);
            first = 0;
        }
    for (int i = 0; i < n; i++)
        v &= ~bits[i];
    if (v) {
        snprintf(b, sizeof b, "0x%llx", v);
        if (!first) vput(",");
        vstr(b);
    }
    vput("]");
}

typedef void (*any_fn)(void);

/* A callback pointer as the harness names it: ours, none, or another (a default). */
static void vcallback(any_fn p, any_fn a, any_fn b)
{
    if (p == NULL) vput("null");
    else if (p == a) vstr("cb-a");
    else if (p == b) vstr("cb-b");
    else vstr("other");
}

static void begin(int i, const char *what)
{
    vlen = 0; V[0] = 0;
    obs_object = -1; obs_null = 0; obs_skip = 0; obs_value[0] = 0;
    n_freed = 0;
    printf("%2d: %s\n", i, what);
}

static void value_done(void)
{
    if (strcmp(V, "null") != 0)
        snprintf(obs_value, sizeof obs_value, "%s", V);
}

/* Print the observation; compare it with the deviating run's (NULL: not compared). */
static int end(const char *expected)
{
    char o[20000], b[64];
    unsigned long e;
    size_t n = 0;
    const char *sep = "";
    n += (size_t)snprintf(o + n, sizeof o - n, "{");
    if (n_freed) {
        n += (size_t)snprintf(o + n, sizeof o - n, "\"freed\":[");
        for (int i = 0; i < n_freed; i++)
            n += (size_t)snprintf(o + n, sizeof o - n, "%s%d", i ? "," : "", freed[i]);
        n += (size_t)snprintf(o + n, sizeof o - n, "]");
        sep = ",";
    }
    if (obs_null) {
        n += (size_t)snprintf(o + n, sizeof o - n, "%s\"null\":true", sep);
        sep = ",";
    }
    if (obs_object >= 0) {
        n += (size_t)snprintf(o + n, sizeof o - n, "%s\"object\":%d", sep, obs_object);
        sep = ",";
    }
    if (obs_value[0])
        n += (size_t)snprintf(o + n, sizeof o - n, "%s\"value\":%s", sep, obs_value);
    snprintf(o + n, sizeof o - n, "}");
    printf("    observed %s\n", obs_skip ? "nothing (no object at that position)" : o);
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, b, sizeof b);
        printf("    error %s\n", b);
    }
    if (expected == NULL || obs_skip)
        return 1;
    if (strcmp(o, expected) == 0)
        return 1;
    printf("    DIFFERS: the deviating run observed %s\n", expected);
    return 0;
}

/* Make s a client and send its first flight over a memory BIO pair. */
static int start_handshake(SSL *s)
{
    BIO *ours = NULL, *theirs = NULL;
    if (!BIO_new_bio_pair(&ours, 0, &theirs, 0))
        return 0;
    SSL_set_bio(s, ours, ours);
    SSL_set_connect_state(s);
    (void)SSL_do_handshake(s); /* -1, want read: the ClientHello waits in `theirs` */
    return !SSL_in_before(s);
}

static void setup(void)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* a crash must not swallow what was printed */
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
    CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, NULL, NULL, NULL, on_free);
    data_index = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, NULL, NULL, NULL, NULL);
}
"""


@dataclass
class _Gen:
    needs: set[str]
    helpers: dict[str, str]

    def flags_table(self, table: str) -> str:
        if table not in self.helpers:
            items = sorted(FLAG_TABLES[table].items())
            names = ", ".join(c_string(n) for n, _ in items)
            bits = ", ".join(f"(unsigned long long){c}" for _, c in items)
            self.helpers[table] = (
                f"static const char *const {table}_names[] = {{{names}}};\n"
                f"static const unsigned long long {table}_bits[] = {{{bits}}};\n"
            )
        return f"{table}_names, {table}_bits, {len(FLAG_TABLES[table])}"

    def callbacks(self, kind: str) -> None:
        self.needs.add(kind)


def _bits(table: dict[str, str], value: Json, setting: str) -> str:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CannotGenerate(f"{setting}: expected a list of names, got {value!r}")
    unknown = [v for v in value if v not in table]
    if unknown:
        raise CannotGenerate(f"{setting}: unknown names {unknown}")
    return " | ".join(table[str(v)] for v in value) or "0"


def _int(value: Json, setting: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise CannotGenerate(f"{setting}: expected an integer, got {value!r}")
    return value


def _callback(kind: str, value: Json, setting: str) -> str:
    if value is None:
        return "NULL"
    if value not in ("cb-a", "cb-b"):
        raise CannotGenerate(f"{setting}: unknown callback {value!r}")
    return f"{kind}_cb_{str(value)[-1]}"


def _names_stack(value: Json, setting: str) -> str:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CannotGenerate(f"{setting}: expected a list of CA names, got {value!r}")
    cns = ", ".join(c_string(str(v)) for v in value)
    return f"names((const char *const[]){{{cns or 'NULL'}}}, {len(value)})"


NAMES_HELPER = """/* A list of CA names, each just CN=<name>. */
static STACK_OF(X509_NAME) *names(const char *const *cn, int n)
{
    STACK_OF(X509_NAME) *sk = sk_X509_NAME_new_null();
    for (int i = 0; i < n; i++) {
        X509_NAME *name = X509_NAME_new();
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn[i],
                                   -1, -1, 0);
        sk_X509_NAME_push(sk, name);
    }
    return sk;
}

static void vnames(const STACK_OF(X509_NAME) *sk)
{
    char cn[256];
    vput("[");
    for (int i = 0; sk != NULL && i < sk_X509_NAME_num(sk); i++) {
        if (X509_NAME_get_text_by_NID(sk_X509_NAME_value(sk, i), NID_commonName, cn,
                                      sizeof cn) < 0)
            cn[0] = 0;
        if (i) vput(",");
        vstr(cn);
    }
    vput("]");
}
"""

CIPHERS_HELPER = """/* TLS 1.2 suites in preference order (cipher lists do not set TLS 1.3 ones). */
static void vciphers(const STACK_OF(SSL_CIPHER) *sk)
{
    int first = 1;
    vput("[");
    for (int i = 0; sk != NULL && i < sk_SSL_CIPHER_num(sk); i++) {
        const char *name = SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, i));
        if (strncmp(name, "TLS_", 4) == 0)
            continue;
        if (!first) vput(",");
        vstr(name);
        first = 0;
    }
    vput("]");
}
"""


def _setter(g: _Gen, kind: str, obj: str, setting: str, value: Json) -> str:
    p = "SSL_CTX_" if kind == "ctx" else "SSL_"
    if setting == "options":
        return f"{p}set_options({obj}, {_bits(OPTIONS, value, setting)});"
    if setting == "mode":
        return f"{p}set_mode({obj}, {_bits(MODES, value, setting)});"
    if setting in ("min-proto-version", "max-proto-version"):
        if value not in PROTO:
            raise CannotGenerate(f"{setting}: unknown version {value!r}")
        which = setting.split("-")[0]
        return f"{p}set_{which}_proto_version({obj}, {PROTO[str(value)]});"
    if setting == "verify-mode":
        return (
            f"{p}set_verify({obj}, {_bits(VERIFY_MODES, value, setting)}, "
            f"{p}get_verify_callback({obj}));"
        )
    if setting == "verify-callback":
        g.callbacks("verify")
        cb = _callback("verify", value, setting)
        return f"{p}set_verify({obj}, {p}get_verify_mode({obj}), {cb});"
    if setting == "verify-depth":
        return f"{p}set_verify_depth({obj}, {_int(value, setting)});"
    if setting == "verify-param":
        if not isinstance(value, dict) or not value:
            raise CannotGenerate(f"{setting}: expected an object of fields, got {value!r}")
        lines = []
        for name, field_value in sorted(value.items()):
            if name == "flags":
                lines.append(
                    f"X509_VERIFY_PARAM_set_flags({p}get0_param({obj}), "
                    f"{_bits(VERIFY_FLAGS, field_value, 'verify-param flags')});"
                )
            elif name == "hostflags":
                lines.append(
                    f"X509_VERIFY_PARAM_set_hostflags({p}get0_param({obj}), "
                    f"{_bits(HOST_FLAGS, field_value, 'verify-param hostflags')});"
                )
            elif name == "auth-level":
                lines.append(
                    f"X509_VERIFY_PARAM_set_auth_level({p}get0_param({obj}), "
                    f"{_int(field_value, setting)});"
                )
            elif name == "time":
                lines.append(
                    f"X509_VERIFY_PARAM_set_time({p}get0_param({obj}), "
                    f"(time_t){_int(field_value, setting)}LL);"
                )
            else:
                raise CannotGenerate(f"{setting}: unknown field {name!r}")
        return "\n    ".join(lines)
    if setting == "msg-callback":
        g.callbacks("msg")
        return f"{p}set_msg_callback({obj}, {_callback('msg', value, setting)});"
    if setting == "info-callback":
        g.callbacks("info")
        return f"{p}set_info_callback({obj}, {_callback('info', value, setting)});"
    if setting == "default-passwd-cb":
        g.callbacks("passwd")
        return f"{p}set_default_passwd_cb({obj}, {_callback('passwd', value, setting)});"
    if setting == "default-passwd-cb-userdata":
        return (
            f"{p}set_default_passwd_cb_userdata({obj}, (void *)(intptr_t){_int(value, setting)});"
        )
    if setting == "cipher-list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CannotGenerate(f"{setting}: expected a list of suites, got {value!r}")
        return f"{p}set_cipher_list({obj}, {c_string(':'.join(str(v) for v in value))});"
    if setting == "accept-connect-state" and kind == "ssl":
        if value == "accept":
            return f"SSL_set_accept_state({obj});"
        if value == "connect":
            return f"SSL_set_connect_state({obj});"
        raise CannotGenerate(f"{setting}: unknown state {value!r}")
    if setting == "max-cert-list":
        return f"{p}set_max_cert_list({obj}, {_int(value, setting)}L);"
    if setting == "read-ahead":
        return f"{p}set_read_ahead({obj}, {_int(value, setting)});"
    if setting == "ex-data" and kind == "ssl":
        return f"SSL_set_ex_data({obj}, data_index, (void *)(intptr_t){_int(value, setting)});"
    if setting == "ca-list":
        g.helpers["names"] = NAMES_HELPER
        return f"{p}set0_CA_list({obj}, {_names_stack(value, setting)});"
    if setting == "client-ca-list":
        g.helpers["names"] = NAMES_HELPER
        return f"{p}set_client_CA_list({obj}, {_names_stack(value, setting)});"
    if setting == "security-level":
        return f"{p}set_security_level({obj}, {_int(value, setting)});"
    if setting == "security-callback":
        g.callbacks("security")
        return f"{p}set_security_callback({obj}, {_callback('security', value, setting)});"
    raise CannotGenerate(f"no C setter for {kind} setting {setting!r}")


def _cb_getter(kind: str, getter: str) -> str:
    return f"vcallback((any_fn){getter}, (any_fn){kind}_cb_a, (any_fn){kind}_cb_b);"


def _getter(g: _Gen, kind: str, obj: str, setting: str) -> str:
    p = "SSL_CTX_" if kind == "ctx" else "SSL_"
    if setting == "method":
        return (
            f"{{ const SSL_METHOD *m = {p}get_ssl_method({obj});\n"
            '      vstr(m == TLS_method() ? "tls" : m == TLS_client_method() ? "tls-client"\n'
            '           : m == TLS_server_method() ? "tls-server" : "other"); }'
        )
    if setting == "options":
        table = g.flags_table("options")
        return f"vflags((unsigned long long){p}get_options({obj}), {table});"
    if setting == "mode":
        return f"vflags((unsigned long long){p}get_mode({obj}), {g.flags_table('modes')});"
    if setting in ("min-proto-version", "max-proto-version"):
        which = setting.split("-")[0]
        return (
            f"{{ long v = {p}get_{which}_proto_version({obj}); char b[16];\n"
            '      if (v == 0) vstr("any");\n'
            '      else if (v == TLS1_VERSION) vstr("tls1");\n'
            '      else if (v == TLS1_1_VERSION) vstr("tls1.1");\n'
            '      else if (v == TLS1_2_VERSION) vstr("tls1.2");\n'
            '      else if (v == TLS1_3_VERSION) vstr("tls1.3");\n'
            '      else { snprintf(b, sizeof b, "0x%lx", v); vstr(b); } }'
        )
    if setting == "verify-mode":
        table = g.flags_table("verify_modes")
        return f"vflags((unsigned long long){p}get_verify_mode({obj}), {table});"
    if setting == "verify-callback":
        g.callbacks("verify")
        return _cb_getter("verify", f"{p}get_verify_callback({obj})")
    if setting == "verify-depth":
        return f"vint({p}get_verify_depth({obj}));"
    if setting == "verify-param":
        vf, hf = g.flags_table("verify_flags"), g.flags_table("host_flags")
        return (
            f"{{ X509_VERIFY_PARAM *vp = {p}get0_param({obj});\n"
            "      unsigned long fl = X509_VERIFY_PARAM_get_flags(vp);\n"
            '      vput("{\\"auth-level\\":"); vint(X509_VERIFY_PARAM_get_auth_level(vp));\n'
            '      vput(",\\"flags\\":");\n'
            '      /* a set time shows as the USE_CHECK_TIME flag: reported as "time" */\n'
            "      vflags((unsigned long long)(fl & ~(unsigned long)X509_V_FLAG_USE_CHECK_TIME),\n"
            f"             {vf});\n"
            '      vput(",\\"hostflags\\":");\n'
            f"      vflags((unsigned long long)X509_VERIFY_PARAM_get_hostflags(vp), {hf});\n"
            '      vput(",\\"time\\":");\n'
            "      if (fl & X509_V_FLAG_USE_CHECK_TIME)\n"
            "          vint((long long)X509_VERIFY_PARAM_get_time(vp));\n"
            '      else vput("null");\n'
            '      vput("}"); }'
        )
    if setting == "msg-callback" and kind == "ssl":
        g.callbacks("msg")
        return (
            f"{{ msg_watch = {obj}; msg_first = 0;\n"
            "      /* no getter: start the handshake and see which callback hears it */\n"
            f"      if (!start_handshake({obj})) obs_skip = 1;\n"
            '      else if (msg_first) vstr(msg_first == \'a\' ? "cb-a" : "cb-b");\n'
            '      else vput("null"); }'
        )
    if setting == "info-callback":
        g.callbacks("info")
        return _cb_getter("info", f"{p}get_info_callback({obj})")
    if setting == "default-passwd-cb":
        g.callbacks("passwd")
        return _cb_getter("passwd", f"{p}get_default_passwd_cb({obj})")
    if setting == "default-passwd-cb-userdata":
        return (
            f"{{ void *u = {p}get_default_passwd_cb_userdata({obj});\n"
            '      if (u) vint((long long)(intptr_t)u); else vput("null"); }'
        )
    if setting == "cipher-list":
        g.helpers["ciphers"] = CIPHERS_HELPER
        return f"vciphers({p}get_ciphers({obj}));"
    if setting == "accept-connect-state" and kind == "ssl":
        return f'vstr(SSL_is_server({obj}) ? "accept" : "connect");'
    if setting == "max-cert-list":
        return f"vint({p}get_max_cert_list({obj}));"
    if setting == "read-ahead":
        return f"vint({p}get_read_ahead({obj}));"
    if setting == "ex-data" and kind == "ssl":
        return (
            f"{{ void *u = SSL_get_ex_data({obj}, data_index);\n"
            '      if (u) vint((long long)(intptr_t)u); else vput("null"); }'
        )
    if setting == "ca-list":
        g.helpers["names"] = NAMES_HELPER
        return f"vnames({p}get0_CA_list({obj}));"
    if setting == "client-ca-list":
        g.helpers["names"] = NAMES_HELPER
        return f"vnames({p}get_client_CA_list({obj}));"
    if setting == "security-level":
        return f"vint({p}get_security_level({obj}));"
    if setting == "security-callback":
        g.callbacks("security")
        return _cb_getter("security", f"{p}get_security_callback({obj})")
    raise CannotGenerate(f"no C getter for {kind} setting {setting!r}")


def _op_code(g: _Gen, op: dict[str, Any]) -> str:
    name = op.get("op")
    ctx, ssl = op.get("ctx"), op.get("ssl")

    def need(kind: str, pos: Any) -> str:
        if not isinstance(pos, int) or isinstance(pos, bool) or not 0 <= pos < 256:
            raise CannotGenerate(f"{name}: no {kind} position")
        return f"{kind}_h[{pos}]"

    def guard(kind: str, pos: Any, body: str) -> str:
        handle = need(kind, pos)
        limit = "n_ssl_h" if kind == "ssl" else "n_ctx_h"
        return f"if ({pos} >= {limit} || {handle} == NULL) obs_skip = 1;\n    else {{ {body} }}"

    if name == "ctx_new":
        method = op.get("method")
        if method not in METHODS:
            raise CannotGenerate(f"ctx_new: unknown method {method!r}")
        return (
            f"{{ SSL_CTX *c = SSL_CTX_new({METHODS[str(method)]}());\n"
            "      ctx_h[n_ctx_h++] = c;\n"
            "      if (c) obs_object = new_ctx_id(c); else obs_null = 1; }"
        )
    if name == "ctx_free":
        return guard("ctx", ctx, f"SSL_CTX_free({need('ctx', ctx)});")
    if name == "ssl_new":
        made = "SSL_new(NULL)" if ctx is None else "SSL_new(c)"
        body = (
            f"SSL *s = {made};\n"
            "      ssl_h[n_ssl_h++] = s;\n"
            "      if (s) obs_object = ssl_id(s); else obs_null = 1;"
        )
        if ctx is None:
            return "{ " + body + " }"
        # SSL_new on a context the script never got: pass NULL, as the position holds.
        need("ctx", ctx)
        return f"{{ SSL_CTX *c = {ctx} < n_ctx_h ? ctx_h[{ctx}] : NULL; {body} }}"
    if name == "ssl_dup":
        return guard(
            "ssl",
            ssl,
            f"SSL *d = SSL_dup({need('ssl', ssl)});\n"
            "      ssl_h[n_ssl_h++] = d;\n"
            "      if (d) obs_object = ssl_id(d); else obs_null = 1;",
        )
    if name == "ssl_up_ref":
        return guard("ssl", ssl, f"vint(SSL_up_ref({need('ssl', ssl)})); value_done();")
    if name == "ssl_free":
        return guard("ssl", ssl, f"SSL_free({need('ssl', ssl)});")
    if name == "ssl_get_ctx":
        return guard(
            "ssl", ssl, f"vint(ctx_id(SSL_get_SSL_CTX({need('ssl', ssl)}))); value_done();"
        )
    if name == "handshake":
        return guard(
            "ssl",
            ssl,
            f'vput(start_handshake({need("ssl", ssl)}) ? "true" : "false"); value_done();',
        )
    if name in ("ctx_set", "ssl_set"):
        kind = name.split("_")[0]
        pos = ctx if kind == "ctx" else ssl
        code = _setter(g, kind, need(kind, pos), str(op.get("setting")), op.get("value"))
        return guard(kind, pos, code)
    if name in ("ctx_get", "ssl_get"):
        kind = name.split("_")[0]
        pos = ctx if kind == "ctx" else ssl
        code = _getter(g, kind, need(kind, pos), str(op.get("setting")))
        return guard(kind, pos, f"{code}\n      value_done();")
    raise CannotGenerate(f"no C for operation {name!r}")


def _op_label(op: dict[str, Any]) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in op.items() if k != "op")
    return f"{op.get('op')}({args})"


def _header(rule: RuleInfo, column: Column, result: RuleResult, how: str) -> str:
    lines = [
        f"Reproducer for rule {rule.id} ({rule.group}) of SSL_new(3),",
        f"on {column.key}: {column.label}, held to page {column.page}.",
        "",
    ]
    for version, quote in rule.quotes:
        lines.append(f"The page ({version}) says:")
        lines += [f"  {chunk}" for chunk in _wrap(quote, 84)]
    measured = f"Status measured: {result.status}" + (
        f": {printable(result.detail)}" if result.detail else ""
    )
    lines += [
        "",
        *_wrap(measured, 86),
        *_wrap(f"Expected: {json.dumps(result.expected, sort_keys=True)}", 86),
        *_wrap(f"Observed: {json.dumps(result.observed, sort_keys=True)}", 86),
        "",
        *_wrap(how, 86),
        "Exit status: 0 if the deviation reproduces, 1 if it does not.",
    ]
    body = "\n".join(f" * {_comment(line)}".rstrip() for line in lines)
    return f"/*\n{body}\n */\n"


def _wrap(text: str, width: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def generate(rule: RuleInfo, column: Column, result: RuleResult) -> str:
    """The C program for one deviating cell; CannotGenerate says why there is none."""
    if result.status == "absent":
        return _absent_program(rule, column, result)
    if result.status not in ("fail", "crash", "timeout"):
        raise CannotGenerate(f"nothing to reproduce for status {result.status}")
    ops = result.script.get("ops") if result.script else None
    if not isinstance(ops, list):
        raise CannotGenerate("the results file has no minimal script for this cell")
    trace = result.trace or []
    if result.status == "fail" and not trace:
        raise CannotGenerate("the results file has no trace to compare with")
    g = _Gen(set(), {})
    steps = []
    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            raise CannotGenerate(f"operation {i} is not an object")
        code = _op_code(g, op)
        expected = "NULL"
        if result.status == "fail" and i < len(trace) and isinstance(trace[i], dict):
            obs = trace[i]
            if not obs.get("absent") and not obs.get("unobservable"):
                expected = c_string(canonical(obs))
        steps.append(
            f"    /* {_comment(_op_label(op))} */\n"
            f"    begin({i}, {c_string(_op_label(op))});\n"
            f"    {code}\n"
            f"    same &= end({expected});\n"
        )
    if result.status == "fail":
        how = (
            "It runs the minimal script and compares each observation (objects, NULLs, "
            "values, freed objects) with the deviating run's."
        )
    elif result.status == "crash":
        how = "It runs the minimal script in a child process: the deviation is that it crashes."
    else:
        how = (
            f"It runs the minimal script in a child process: the deviation is that it "
            f"does not finish within {CHILD_SECONDS} s."
        )
    parts = [_header(rule, column, result, how), PRELUDE]
    for kind in sorted(g.needs):
        parts.append(CALLBACK_TYPES[kind])
    parts += [g.helpers[k] for k in sorted(g.helpers)]
    run = "static int run_script(void)\n{\n    int same = 1;\n"
    run += "".join(steps) + "    return same;\n}\n"
    parts.append(run)
    parts.append(_main(result.status))
    return "\n".join(parts)


def _main(status: str) -> str:
    if status == "fail":
        return (
            "int main(void)\n{\n    setup();\n    if (run_script()) {\n"
            '        printf("REPRODUCED: every observation is the deviating run\'s\\n");\n'
            "        return 0;\n    }\n"
            '    printf("NOT REPRODUCED: this library behaves differently now\\n");\n'
            "    return 1;\n}\n"
        )
    crash = status == "crash"
    return (
        "#include <signal.h>\n#include <sys/wait.h>\n#include <unistd.h>\n\n"
        "int main(void)\n{\n    int st = 0;\n    pid_t pid;\n    setup();\n"
        "    pid = fork();\n    if (pid == 0) {\n"
        f"        alarm({CHILD_SECONDS});\n        run_script();\n        _exit(0);\n    }}\n"
        "    if (pid < 0 || waitpid(pid, &st, 0) < 0) {\n"
        '        printf("NOT REPRODUCED: could not run the script in a child\\n");\n'
        "        return 1;\n    }\n"
        + (
            "    if (WIFSIGNALED(st) && WTERMSIG(st) != SIGALRM) {\n"
            '        printf("REPRODUCED: the script died by signal %d\\n", WTERMSIG(st));\n'
            "        return 0;\n    }\n"
            if crash
            else "    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) {\n"
            f'        printf("REPRODUCED: the script did not finish within "\n'
            f'               "{CHILD_SECONDS} s\\n");\n'
            "        return 0;\n    }\n"
        )
        + '    printf("NOT REPRODUCED: the script %s\\n", WIFSIGNALED(st) ? "was killed"\n'
        '           : "finished");\n'
        "    return 1;\n}\n"
    )


def _missing_names(result: RuleResult) -> list[str]:
    names: list[str] = []
    for obs in result.trace or []:
        absent = obs.get("absent") if isinstance(obs, dict) else None
        if isinstance(absent, list):
            names += [str(n) for n in absent]
    if not names and result.detail:
        names = re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", result.detail)
        names = [n for n in names if "_" in n]
    return sorted(set(names))


def _absent_program(rule: RuleInfo, column: Column, result: RuleResult) -> str:
    names = _missing_names(result)
    if not names:
        raise CannotGenerate("the results file does not name the missing functions")
    files = _library_files(column)
    if not files:
        raise CannotGenerate("the results file does not say where the library is")
    how = (
        "It opens the library and looks the missing functions up with dlsym: the deviation "
        "is that they are not there."
    )
    syms = ", ".join(c_string(n) for n in names)
    libs = ", ".join(c_string(f) for f in files)
    return (
        _header(rule, column, result, how)
        + "#include <dlfcn.h>\n#include <stdio.h>\n\n"
        + f"static const char *const missing[] = {{{syms}}};\n"
        + f"static const char *const libraries[] = {{{libs}}}; /* dependencies first */\n\n"
        + "int main(void)\n{\n"
        + "    void *lib = NULL;\n"
        + "    int absent = 0;\n"
        + f"    for (unsigned i = 0; i < {len(files)}; i++) {{\n"
        + "        lib = dlopen(libraries[i], RTLD_NOW | RTLD_GLOBAL);\n"
        + "        if (lib == NULL) {\n"
        + '            printf("CANNOT RUN: cannot open %s: %s\\n", libraries[i], dlerror());\n'
        + "            return 2;\n        }\n    }\n"
        + f"    for (unsigned i = 0; i < {len(names)}; i++) {{\n"
        + "        int here = dlsym(lib, missing[i]) != NULL;\n"
        + '        printf("%s: %s\\n", missing[i], here ? "present" : "absent");\n'
        + "        absent += !here;\n    }\n"
        + f"    if (absent == {len(names)}) {{\n"
        + '        printf("REPRODUCED: the library lacks them\\n");\n        return 0;\n    }\n'
        + '    printf("NOT REPRODUCED: the library has them now\\n");\n    return 1;\n}\n'
    )


# --- building and running ----------------------------------------------------------


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _tail(text: str) -> str:
    """The start (the operations) and the end (the verdict) of a long output."""
    text = printable(text.rstrip())
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[: OUTPUT_LIMIT - 600] + "\n…\n" + text[-600:]


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return printable(line.strip())[:200]
    return ""


def _display(args: list[str], out_dir: Path) -> str:
    shown = [
        a.replace(str(out_dir) + os.sep, "") if a.startswith(str(out_dir)) else a for a in args
    ]
    return shlex.join(shown)


def build_and_run(
    source: str, filename: Path, out_dir: Path, target: Target | None, work: Path
) -> Repro:
    """Compile and run one program; `target` None: an absent-function probe (no OpenSSL)."""
    rel = str(filename.relative_to(out_dir))
    binary = work / _safe(filename.stem)
    if target is None:
        build = ["cc", "-std=c99", str(filename), "-o", str(binary), "-ldl"]
        run = [str(binary)]
    else:
        build = target.build_args(str(filename), str(binary))
        run = target.run_args(str(binary))
    shown_build = _display(build, out_dir).replace(str(binary), binary.name)
    shown_run = _display(run, out_dir).replace(str(binary), "./" + binary.name)
    common = {"source": source, "filename": rel, "build": shown_build, "run": shown_run}
    try:
        built = subprocess.run(
            build, capture_output=True, text=True, timeout=COMPILE_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Repro("not-built", f"the compiler could not run: {exc}", **common)
    if built.returncode != 0:
        return Repro(
            "not-built",
            f"compile failed: {_first_line(built.stderr)}",
            output=_tail(built.stderr),
            **common,
        )
    try:
        ran = subprocess.run(
            run,
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS,
            check=False,
            errors="replace",
        )
    except subprocess.TimeoutExpired:
        return Repro("no", f"the program did not finish within {RUN_SECONDS} s", **common)
    except OSError as exc:
        return Repro("not-built", f"built, but cannot run here: {exc}", **common)
    output = _tail(ran.stdout + ("\n" + ran.stderr if ran.stderr.strip() else ""))
    verdict = next(
        (ln for ln in ran.stdout.splitlines() if ln.startswith(("REPRODUCED", "NOT REPRODUCED"))),
        "",
    )
    if ran.returncode == 0 and verdict.startswith("REPRODUCED"):
        return Repro("yes", verdict, output=output, **common)
    if ran.returncode == 1 and verdict.startswith("NOT REPRODUCED"):
        return Repro("no", verdict, output=output, **common)
    if ran.returncode < 0:
        reason = f"the program died by {signal.Signals(-ran.returncode).name}"
        return Repro("no", reason, output=output, **common)
    if ran.returncode == 2 and "CANNOT RUN" in ran.stdout:
        return Repro(
            "not-built",
            f"built, but cannot run here: {_first_line(ran.stdout)}",
            output=output,
            **common,
        )
    if "GLIBC_" in ran.stderr or "cannot open shared object" in ran.stderr:
        return Repro(
            "not-built",
            f"built, but cannot run here: {_first_line(ran.stderr)}",
            output=output,
            **common,
        )
    return Repro("no", f"the program exited {ran.returncode}", output=output, **common)


def reproduce_all(
    matrix: Matrix,
    out_dir: Path,
    overrides: dict[str, dict[str, str]] | None = None,
    build: bool = True,
    jobs: int | None = None,
) -> dict[tuple[str, str], Repro]:
    """Write every deviating cell's program under out_dir/repro/, build and run them."""
    overrides = overrides or {}
    rules = {r.id: r for r in matrix.rules}
    repros: dict[tuple[str, str], Repro] = {}
    tasks: list[tuple[tuple[str, str], str, Path, Target | None]] = []
    targets = {c.key: resolve_target(c, overrides) for c in matrix.columns}
    for col in matrix.columns:
        for rule_id in sorted(r.id for r in matrix.rules):
            result = matrix.cells.get((rule_id, col.key))
            if result is None or result.status not in REPRODUCED:
                continue
            key = (rule_id, col.key)
            try:
                source = generate(rules[rule_id], col, result)
            except CannotGenerate as exc:
                repros[key] = Repro("not-built", str(exc))
                continue
            filename = out_dir / "repro" / _safe(col.key) / f"{_safe(rule_id)}.c"
            filename.parent.mkdir(parents=True, exist_ok=True)
            filename.write_text(source)
            rel = str(filename.relative_to(out_dir))
            target = targets[col.key]
            if result.status != "absent" and isinstance(target, str):
                repros[key] = Repro("not-built", target, source=source, filename=rel)
                continue
            if not build:
                repros[key] = Repro(
                    "not-built",
                    "building was turned off (--no-build)",
                    source=source,
                    filename=rel,
                )
                continue
            chosen = None if result.status == "absent" or isinstance(target, str) else target
            tasks.append((key, source, filename, chosen))
    if tasks:
        with (
            tempfile.TemporaryDirectory(prefix="sslconform-repro-") as tmp,
            ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool,
        ):
            futures = []
            for i, (key, source, filename, chosen) in enumerate(tasks):
                work = Path(tmp) / f"{i}"
                work.mkdir()
                futures.append(
                    (key, pool.submit(build_and_run, source, filename, out_dir, chosen, work))
                )
            for key, future in futures:
                repros[key] = future.result()
    return repros
