"""The contract every backend implements: the page's operations on one library.

A backend is a `Library`: a thin, stateless-as-possible adapter that performs one
operation of the page on real objects and reports what it saw. It knows nothing of
scripts, rules or hypothesis; the interpreter (conformance.interpreter) drives it.

Objects are named by opaque integer handles (real pointers for native libraries).
Setting values are plain JSON data whose shape the settings table
(conformance.settings) fixes, so that observations from any library compare.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypedDict

# JSON data (None, bool, int, float, str, lists and str-keyed dicts of those).
# Checked at the edges (Script.from_json, the results schema), not by the type checker.
Json = Any
Kind = Literal["ctx", "ssl"]


class Absent(Exception):
    """The library does not have what an operation needs (a missing function)."""

    def __init__(self, *missing: str) -> None:
        super().__init__(", ".join(missing))
        self.missing = list(missing)


class Unobservable(Exception):
    """The library has the functions, but they cannot show what a rule needs to see.

    For example a getter that returns 0 whatever its setter stored. The message says
    what was tried and what came back.
    """


class Unavailable(Exception):
    """The library cannot be had or loaded here; the message says why, in one line."""


class Library(Protocol):
    """One TLS library, seen through the operations of SSL_new(3)."""

    def version(self) -> str:
        """The library's own version string (OpenSSL_version(0) or its equivalent)."""
        ...

    def missing(self, feature: str) -> list[str]:
        """Names of what the library lacks for `feature`; empty when it has all.

        Features: "ctx_new", "ssl_new", "ssl_dup", "ssl_up_ref", "ssl_free",
        "ssl_get_ctx", "ssl_set_ctx", "ssl_clear", "handshake", "resume", "free_events",
        "errors",
        "threads" (threads_up_ref_free), "alloc_failures" (ssl_new_failing, ssl_dup_failing),
        "set:ctx:SETTING", "get:ctx:SETTING", "set:ssl:SETTING", "get:ssl:SETTING".
        """
        ...

    def ctx_new(self, method: str) -> int | None:
        """SSL_CTX_new for method "tls", "tls-client" or "tls-server"; None for NULL."""
        ...

    def ctx_free(self, ctx: int) -> None: ...

    def ssl_new(self, ctx: int | None) -> int | None:
        """SSL_new(ctx); ctx None means SSL_new(NULL). None for a NULL result."""
        ...

    def ssl_dup(self, ssl: int) -> int | None: ...

    def ssl_up_ref(self, ssl: int) -> int: ...

    def ssl_free(self, ssl: int) -> None: ...

    def ssl_get_ctx(self, ssl: int) -> int: ...

    def start_handshake(self, ssl: int) -> bool:
        """Make `ssl` a client and send its first flight over a memory BIO pair.

        Returns whether the object has left its initial state (SSL_in_before is 0).
        """
        ...

    def ssl_set_ctx(self, ssl: int, ctx: int) -> int | None:
        """SSL_set_SSL_CTX(ssl, ctx): the context handle it returns, None for NULL."""
        ...

    def ssl_clear(self, ssl: int) -> bool:
        """SSL_clear(ssl); whether the object is in its initial state afterwards."""
        ...

    def resume(self, ssl: int) -> bool:
        """`ssl`, as a client, completes a full handshake with the adapter's own server,
        the one that issued the session fixtures (session-a, session-b) and resumes them:
        whether the session was reused (SSL_session_reused). Unobservable, with the
        reason, when the handshake cannot complete (other settings on `ssl` forbid it).
        Optional: an adapter without it cannot run scripts that resume."""
        ...

    def set(self, kind: Kind, obj: int, setting: str, value: Json) -> None: ...

    def set_via(self, kind: Kind, obj: int, setting: str, value: Json, form: str) -> None:
        """Set `setting` through another setter of the API, the settings table's Form
        `form` (SSL_add1_to_CA_list for a CA list). Optional: an adapter without it cannot
        run scripts that use forms."""
        ...

    def get(self, kind: Kind, obj: int, setting: str) -> Json: ...

    def errors(self) -> list[str]:
        """Drain the library's error queue: one string per queued error."""
        ...

    def freed(self) -> list[int]:
        """Handles of SSL objects really freed since the last call, in order."""
        ...

    def threads_up_ref_free(self, ssl: int, threads: int, per_thread: int) -> int:
        """`threads` threads started together, each calling SSL_up_ref(ssl) `per_thread`
        times, then SSL_free(ssl) as many times. Returns how many SSL_up_ref calls
        returned 1. Absent where the library cannot run it from several threads."""
        ...

    def ssl_new_failing(self, ctx: int, nth: int) -> AllocReport:
        """SSL_new(ctx) with the nth allocation made during the call failing (1 is the
        first). Any result is freed before returning (see AllocReport)."""
        ...

    def ssl_dup_failing(self, ssl: int, nth: int) -> AllocReport:
        """SSL_dup(ssl) with the nth allocation made during the call failing."""
        ...


class AllocReport(TypedDict):
    """What a call with an injected allocation failure did.

    result: the handle returned (already freed by the adapter), None for NULL.
    errors: the error queue right after the call, drained.
    allocations: allocation attempts made during the call (the failed one included).
    injected: whether the call reached the nth allocation, so one really failed.
    leaked: allocations made during the call still live once the result is freed and
    the thread's error state released; 0 means nothing leaked.
    leaked_at: where each leaked allocation was asked for ("file:line"), when known.
    """

    result: int | None
    errors: list[str]
    allocations: int
    injected: bool
    leaked: int
    leaked_at: list[str]
