"""How each library family spells the page's object operations in C.

OpenSSL 1.1.1 to 4.0 and BoringSSL use OpenSSL's names, each with its own headers.
wolfSSL's own API renames them (`wolfSSL_new`, `WOLFSSL *`) under <wolfssl/ssl.h>;
GnuTLS's compatibility layer declares a few of OpenSSL's names in <gnutls/openssl.h>.
A program is written in OpenSSL's names and `Family.c` turns each into the family's;
a name the family does not have makes the program impossible (CannotGenerate).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


class CannotSpell(Exception):
    """The family has no C spelling for this name; the message says which."""


@dataclass(frozen=True)
class Family:
    name: str  # LibraryInfo.name
    headers: tuple[str, ...]  # in the order they must be included
    libraries: tuple[str, ...]  # what follows -l, in link order
    init: tuple[str, ...] = ()  # statements every program starts with
    # OpenSSL's name -> this family's; None: the family has no such call or type.
    # Names not listed are spelled as in OpenSSL.
    renamed: Mapping[str, str | None] = field(default_factory=dict)
    # OpenSSL names this family lacks (none of the family's headers declare them).
    lacks: frozenset[str] = frozenset()

    def c(self, name: str) -> str:
        if name in self.lacks:
            raise CannotSpell(f"{self.name} has no {name}")
        spelled = self.renamed.get(name, name)
        if spelled is None:
            raise CannotSpell(f"{self.name} has no {name}")
        return spelled


_OPENSSL_HEADERS = ("openssl/ssl.h", "openssl/err.h")

OPENSSL = Family("OpenSSL", _OPENSSL_HEADERS, ("ssl", "crypto"))
BORINGSSL = Family(
    "BoringSSL",
    _OPENSSL_HEADERS,
    ("ssl", "crypto"),
    # BoringSSL's SSL objects are not reference counted.
    lacks=frozenset({"SSL_dup", "SSL_up_ref", "CRYPTO_set_mem_functions"}),
)
WOLFSSL = Family(
    "wolfSSL",
    ("wolfssl/options.h", "wolfssl/ssl.h"),
    ("wolfssl",),
    init=("wolfSSL_Init();",),
    renamed={
        "SSL": "WOLFSSL",
        "SSL_CTX": "WOLFSSL_CTX",
        "SSL_METHOD": "WOLFSSL_METHOD",
        "SSL_CTX_new": "wolfSSL_CTX_new",
        "SSL_CTX_free": "wolfSSL_CTX_free",
        "TLS_method": "wolfSSLv23_method",
        "TLS_client_method": "wolfSSLv23_client_method",
        "TLS_server_method": "wolfSSLv23_server_method",
        "SSL_new": "wolfSSL_new",
        "SSL_free": "wolfSSL_free",
        "SSL_get_SSL_CTX": "wolfSSL_get_SSL_CTX",
        "ERR_peek_error": "wolfSSL_ERR_peek_error",
        "ERR_clear_error": "wolfSSL_ERR_clear_error",
        "ERR_error_string_n": "wolfSSL_ERR_error_string_n",
        "SSL_get_ex_new_index": "wolfSSL_get_ex_new_index",
        "SSL_dup": None,
        "SSL_up_ref": None,
    },
)
GNUTLS = Family(
    "GnuTLS",
    ("gnutls/openssl.h",),
    ("gnutls-openssl",),
    init=("SSL_library_init();",),
    renamed={
        "TLS_method": None,
        "TLS_client_method": "SSLv23_client_method",
        "TLS_server_method": "SSLv23_server_method",
        # The layer has no ERR_peek_error: reading the first error takes it off the stack.
        "ERR_peek_error": "ERR_get_error",
    },
    lacks=frozenset({"SSL_dup", "SSL_up_ref", "SSL_get_SSL_CTX", "SSL_get_ex_new_index"}),
)

FAMILIES: dict[str, Family] = {f.name: f for f in (OPENSSL, BORINGSSL, WOLFSSL, GNUTLS)}


def family_for(name: str) -> Family | None:
    """The family of a results file's library name; None for one without OpenSSL's C API."""
    return FAMILIES.get(name)
