"""How a library family's C program spells the page's calls and types.

Everything comes from the binding table (conformance.binding): the family's headers and
libraries, which exported name implements each of OpenSSL's (wolfSSL's programs call
`wolfSSL_new` on a `WOLFSSL *`; BoringSSL and GnuTLS's layer use OpenSSL's names with
their own headers), and what a whole program adds (PROGRAM_TYPES, PROGRAM_INIT,
PROGRAM_SYMBOLS). A name the family lacks makes the program impossible (CannotSpell).
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance import binding


class CannotSpell(Exception):
    """The family has no C spelling for this name; the message says which."""


@dataclass(frozen=True)
class Family:
    table: binding.Family

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def headers(self) -> tuple[str, ...]:
        return self.table.header

    @property
    def libraries(self) -> tuple[str, ...]:
        return self.table.link

    @property
    def init(self) -> tuple[str, ...]:
        return binding.PROGRAM_INIT.get(self.name, ())

    def c(self, name: str) -> str:
        """The family's C name for OpenSSL's function or type `name`."""
        types = binding.PROGRAM_TYPES.get(self.name, {})
        if name in ("SSL", "SSL_CTX", "SSL_METHOD", "X509_VERIFY_PARAM"):
            return types.get(name, name)
        extra = binding.PROGRAM_SYMBOLS.get(self.name, {})
        mapped = extra[name] if name in extra else self.table.symbol(name)
        if mapped is None:
            raise CannotSpell(f"{self.name} has no {name}")
        if name in extra or self.table.c_calls_exported:
            return mapped.symbol if isinstance(mapped, binding.Sym) else mapped
        return name

    def returns(self, name: str, declared: str) -> str:
        """The C type `name` returns in this family (a Sym may say another)."""
        mapped = self.table.symbol(name)
        if isinstance(mapped, binding.Sym) and mapped.returns is not None:
            return mapped.returns
        return declared

    def constant(self, c_name: str) -> str:
        """A macro as the family's headers spell it."""
        return self.table.header_names.get(c_name, c_name)


def family_for(name: str) -> Family | None:
    """The family of a results file's library name; None without OpenSSL's C API."""
    table = binding.FAMILIES.get(name)
    return Family(table) if table is not None else None
