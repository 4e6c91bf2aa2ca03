"""The rules catalogue: every sentence of SSL_new(3), as data.

Each normative statement of DESCRIPTION and RETURN VALUES, in either page version, is a
`Rule` with a stable id, its verbatim quote per page version, any version qualifier and
how it is observed. Statements that are advice or cannot be observed from outside are
rules too, with `testable=False` and the reason. Tests, CLI and report all read this.

Quotes are checked against ../shared/spec by the project's own tests (whitespace folded).
The 3.0.0 file is a rendering that dropped the text of list items without a link; where
it kept a fragment of a line, that fragment is the 3.0.0 quote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from conformance.settings import SETTINGS, Fields, Setting

PAGES = ("1.1.1k", "3.0.0")

Group = Literal[
    "SSL_new", "reference counting", "SSL_dup identity", "SSL_dup settings", "return values"
]
GROUPS: tuple[str, ...] = Group.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Break:
    """One promise of the rule broken at the library's boundary, through the library's own
    calls (conformance.breaks does it). A pass counts only if the rule fails under it."""

    kind: str  # what conformance.breaks does (BreakingLibrary)
    says: str  # one line, for people: what the broken library does
    setting: str | None = None  # the setting the break is about (dup-reset)
    field: str | None = None  # the field of a Fields setting it is about


@dataclass(frozen=True)
class Rule:
    id: str
    group: Group
    quotes: dict[str, str]  # page version -> verbatim quote
    how: str  # how it is observed (or what would be needed)
    since: str | None = None  # "Only from OpenSSL 1.1.1h and above": applies by version
    testable: bool = True
    reason: str | None = None  # why not testable
    needs: tuple[str, ...] = field(default=())  # library features (conformance.library)
    breaks: Break | None = None  # how a pass is shown able to fail (testable rules)
    setting: str | None = None  # the setting a new.inherits.* or dup.copies.* rule is about
    field: str | None = None  # the one field of a Fields setting the rule observes


def _both(text: str) -> dict[str, str]:
    return {"1.1.1k": text, "3.0.0": text}


_INHERIT = (
    "The new structure inherits the settings of the underlying context ctx: connection "
    "method, options, verification settings, timeout settings."
)
_DUP_NEW = (
    "The function SSL_dup() creates and returns a new SSL structure from the same SSL_CTX "
    "that was used to create s."
)
_NOT_INITIAL = (
    "For connections that are not in their initial state SSL_dup() just increments an "
    "internal reference count and returns the same handle."
)
_CREATION_FAILED = (
    "The creation of a new SSL structure failed. Check the error stack to find out the reason."
)
_OBJECT_OPS = ("ctx_new", "ssl_new", "ssl_free", "free_events")


def _static_rules() -> list[Rule]:
    return [
        Rule(
            "new.creates",
            "SSL_new",
            _both(
                "SSL_new() creates a new SSL structure which is needed to hold the data "
                "for a TLS/SSL connection."
            ),
            "SSL_new on a fresh context of every method returns a new, distinct object",
            needs=("ctx_new", "ssl_new"),
            breaks=Break(
                "new-same-object",
                "a second SSL_new on a context returns its first object again (one more "
                "reference, held at the boundary)",
            ),
        ),
        Rule(
            "ref.counted",
            "reference counting",
            _both("An SSL structure is reference counted."),
            "summary of the ref.* rules below, which observe it",
            testable=False,
            reason="a summary; each of its consequences is a rule of its own (ref.*)",
        ),
        Rule(
            "ref.new.count-one",
            "reference counting",
            _both("Creating an SSL structure for the first time increments the reference count."),
            "a new object is freed by exactly one SSL_free (ex_data free callback)",
            needs=_OBJECT_OPS,
            breaks=Break(
                "free-first-dropped",
                "the first SSL_free of each object does not reach the library",
            ),
        ),
        Rule(
            "ref.free.decrements",
            "reference counting",
            _both("Freeing it (using SSL_free) decrements it."),
            "an object with n references is freed by its n-th SSL_free, not earlier, "
            "not later (state machine against the model)",
            needs=(*_OBJECT_OPS, "ssl_up_ref"),
            breaks=Break(
                "free-after-up-ref-dropped",
                "the first SSL_free after an SSL_up_ref does not reach the library",
            ),
        ),
        Rule(
            "ref.free.at-zero",
            "reference counting",
            _both(
                "When the reference count drops to zero, any memory or resources allocated "
                "to the SSL structure are freed."
            ),
            "the free callback fires exactly once per object, at the SSL_free that takes "
            "the model's count to zero; nothing is left unfreed at the end",
            needs=(*_OBJECT_OPS, "ssl_up_ref"),
            breaks=Break(
                "new-extra-ref",
                "SSL_new takes one more reference (SSL_up_ref) that nobody gives back",
            ),
        ),
        Rule(
            "ref.up-ref.increments",
            "reference counting",
            _both("SSL_up_ref() increments the reference count for an existing SSL structure."),
            "after k SSL_up_ref calls the object survives k SSL_free calls",
            needs=(*_OBJECT_OPS, "ssl_up_ref"),
            breaks=Break(
                "up-ref-dropped",
                "SSL_up_ref does not reach the library (it returns 1)",
            ),
        ),
        Rule(
            "ref.threads.exact",
            "reference counting",
            _both("SSL_up_ref() increments the reference count for an existing SSL structure."),
            "several threads at once each call SSL_up_ref k times then SSL_free k times on "
            "one object: it is not freed then, and the caller's last SSL_free frees it once",
            needs=(*_OBJECT_OPS, "ssl_up_ref", "threads"),
            breaks=Break(
                "threads-extra-free",
                "one more SSL_free after the threads ran, as if one increment were lost",
            ),
        ),
        Rule(
            "dup.initial.new-object",
            "SSL_dup identity",
            _both(_DUP_NEW),
            "in the initial state SSL_dup returns a handle that is not s",
            needs=("ctx_new", "ssl_new", "ssl_dup"),
            breaks=Break(
                "dup-same-handle",
                "SSL_dup returns s itself (SSL_up_ref + return s)",
            ),
        ),
        Rule(
            "dup.initial.same-ctx",
            "SSL_dup identity",
            _both(_DUP_NEW),
            "SSL_get_SSL_CTX of the duplicate is the context s was made from",
            needs=("ctx_new", "ssl_new", "ssl_dup", "ssl_get_ctx"),
            breaks=Break(
                "dup-fresh-ctx",
                "SSL_dup makes its object with SSL_new from a new SSL_CTX of s's method",
            ),
        ),
        Rule(
            "dup.initial.copies",
            "SSL_dup identity",
            _both(
                "It additionally duplicates a subset of the settings in s into the new SSL object."
            ),
            "summary: the subset is the list below; each item is a dup.copies.* rule",
            testable=False,
            reason="a summary; each listed setting is a rule of its own (dup.copies.*)",
        ),
        Rule(
            "dup.initial.required",
            "SSL_dup identity",
            _both(
                "For SSL_dup() to work, the connection MUST be in its initial state and MUST "
                "NOT have yet started the SSL handshake."
            ),
            "a requirement on the caller; what SSL_dup does otherwise is dup.started.*",
            testable=False,
            reason="a precondition on the caller, not a behaviour of the library",
        ),
        Rule(
            "dup.started.same-handle",
            "SSL_dup identity",
            _both(_NOT_INITIAL),
            "after SSL_do_handshake has sent a ClientHello, SSL_dup returns s itself",
            needs=("ctx_new", "ssl_new", "ssl_dup", "handshake"),
            breaks=Break(
                "dup-started-new",
                "once the handshake started, SSL_dup makes a new object (SSL_new from s's context)",
            ),
        ),
        Rule(
            "dup.started.increments",
            "SSL_dup identity",
            _both(_NOT_INITIAL),
            "after such an SSL_dup, s needs one more SSL_free before it is freed",
            needs=(*_OBJECT_OPS, "ssl_dup", "handshake"),
            breaks=Break(
                "dup-started-no-ref",
                "once the handshake started, SSL_dup returns s without calling the library "
                "(no reference added)",
            ),
        ),
        Rule(
            "dup.initial.independent-settings",
            "SSL_dup identity",
            _both(_DUP_NEW),
            "a new structure is a separate object: after SSL_dup in the initial state, "
            "random settings set on the duplicate leave s's getters unchanged, and the reverse",
            needs=("ctx_new", "ssl_new", "ssl_dup"),
            breaks=Break(
                "dup-shared-settings",
                "a setting set on s or on its duplicate is set on the other too",
            ),
        ),
        Rule(
            "dup.initial.independent-lifetime",
            "SSL_dup identity",
            _both(_DUP_NEW),
            "a new structure is a separate object: SSL_free of the duplicate never frees s, "
            "and the reverse (free events, either order)",
            needs=(*_OBJECT_OPS, "ssl_dup"),
            breaks=Break(
                "dup-shared-lifetime",
                "SSL_free of the duplicate frees s too",
            ),
        ),
        Rule(
            "advice.ssl-clear",
            "SSL_dup identity",
            _both(
                "It may be possible to use SSL_clear(3) to recycle an SSL handle that is not "
                "in its initial state for re-use, but this is best avoided."
            ),
            "advice",
            testable=False,
            reason="advice to the caller ('may be possible', 'best avoided'), no promise",
        ),
        Rule(
            "advice.fresh-handle",
            "SSL_dup identity",
            _both(
                "Instead, save and restore the session, if desired, and construct a fresh "
                "handle for each connection."
            ),
            "advice",
            testable=False,
            reason="advice to the caller, no promise",
        ),
        Rule(
            "ret.new.null-ctx",
            "return values",
            _both(_CREATION_FAILED),
            "SSL_new(NULL) returns NULL and queues an error",
            needs=("ssl_new", "errors"),
            breaks=Break(
                "errors-drained-new-null",
                "the error queue is drained right after SSL_new(NULL)",
            ),
        ),
        Rule(
            "ret.new.alloc-failure",
            "return values",
            _both(_CREATION_FAILED),
            "the Nth allocation inside SSL_new fails (allocator hooks): NULL with an error "
            "queued, or a usable object; either way nothing the call allocated leaks",
            needs=("ctx_new", "ssl_new", "errors", "alloc_failures"),
            breaks=Break(
                "alloc-errors-dropped",
                "the errors a failing SSL_new queued are dropped",
            ),
        ),
        Rule(
            "ret.dup.alloc-failure",
            "return values",
            _both(_CREATION_FAILED),
            "the Nth allocation inside SSL_dup fails: NULL with an error queued, or a "
            "usable object; nothing the call allocated leaks and s is not freed",
            needs=("ctx_new", "ssl_new", "ssl_dup", "errors", "alloc_failures", "free_events"),
            breaks=Break(
                "alloc-errors-dropped",
                "the errors a failing SSL_dup queued are dropped",
            ),
        ),
        Rule(
            "ret.new.pointer",
            "return values",
            _both("The return value points to an allocated SSL structure."),
            "SSL_new returns a non-NULL object the library then accepts (it can be freed)",
            needs=("ctx_new", "ssl_new", "ssl_free"),
            breaks=Break(
                "new-null",
                "SSL_new frees the object it made and returns NULL",
            ),
        ),
        Rule(
            "ret.dup.pointer",
            "return values",
            _both("The return value points to an allocated SSL structure."),
            "SSL_dup returns a non-NULL object whose getters answer",
            needs=("ctx_new", "ssl_new", "ssl_dup"),
            breaks=Break(
                "dup-null",
                "SSL_dup frees the duplicate it made and returns NULL",
            ),
        ),
        Rule(
            "ret.up-ref.one",
            "return values",
            _both("SSL_up_ref() returns 1 for success and 0 for failure."),
            "SSL_up_ref on a live object returns 1",
            needs=("ctx_new", "ssl_new", "ssl_up_ref"),
            breaks=Break(
                "up-ref-fails",
                "SSL_up_ref does not reach the library and returns 0",
            ),
        ),
        Rule(
            "ret.up-ref.zero",
            "return values",
            _both("SSL_up_ref() returns 1 for success and 0 for failure."),
            "would need SSL_up_ref to fail",
            testable=False,
            reason="SSL_up_ref allocates nothing; no input from outside makes it fail",
        ),
    ]


# Where the 3.0.0 rendering kept a fragment of a line of the SSL_dup list.
_FRAGMENTS_300 = (
    "SSL_set_tmp_dh(3), SSL_set_tmp_dh_callback(3), or SSL_set_dh_auto(3)",
    "SSL_set_min_proto_version(3) or SSL_set_max_proto_version(3) (Note: Only from OpenSSL "
    "1.1.1h and above)",
    "SSL_set_verify(3) or SSL_set_verify_depth(3) or any configured X509 verification parameters",
    "SSL_set_msg_callback(3) or SSL_set_info_callback(3)",
    "SSL_set0_CA_list(3), SSL_set0_client_CA_list() or similar functions",
)


def _dup_quotes(line: str) -> dict[str, str]:
    quotes = {"1.1.1k": line}
    for fragment in _FRAGMENTS_300:
        if fragment in line:
            quotes["3.0.0"] = fragment
    return quotes


def _fields(s: Setting) -> list[str | None]:
    """The fields of a Fields setting, each observed on its own; none for other settings."""
    return [name for name, _ in s.domain.fields] if isinstance(s.domain, Fields) else []


def _inherit_break(s: Setting) -> Break:
    if s.domain is None:  # the method: chosen at SSL_CTX_new, no setter to undo it with
        return Break(
            "new-other-method", "SSL_new makes its object from a new SSL_CTX of another method"
        )
    return Break(
        "new-fresh-ctx",
        "SSL_new makes its object from a new SSL_CTX of the same method (it inherits nothing "
        "of ctx)",
        setting=s.name,
    )


def _dup_break(s: Setting, part: str | None) -> Break:
    what = f"{s.name} {part}" if part else s.name
    return Break(
        "dup-reset",
        f"after SSL_dup the duplicate's {what} is set back to a fresh object's value through "
        "the library's setter (where the setter cannot restore it, the duplicate is SSL_new "
        "from s's context, or from a new SSL_CTX for a setting only a context has: nothing "
        "of s copied)",
        setting=s.name,
        field=part,
    )


def _setting_rules() -> list[Rule]:
    rules: list[Rule] = []
    for s in SETTINGS:
        parts = _fields(s)
        if s.inherit:
            needs = ["ctx_new", "ssl_new", f"get:ssl:{s.name}", f"get:ctx:{s.name}"]
            if s.domain is not None:
                needs.append(f"set:ctx:{s.name}")
            rule_id = f"new.inherits.{s.name}"
            how = f"{s.inherit}: right after SSL_new the SSL shows the context's value ({s.how})"
            if parts:  # one deviation must not hide another: one rule per field
                rules.append(_summary(rule_id, "SSL_new", _both(_INHERIT), how, parts))
            for part in parts or [None]:
                rules.append(
                    Rule(
                        f"{rule_id}.{part}" if part else rule_id,
                        "SSL_new",
                        _both(_INHERIT),
                        how.replace("the context's value", f"the context's {part}")
                        if part
                        else how,
                        needs=tuple(needs),
                        breaks=_inherit_break(s),
                        setting=s.name,
                        field=part,
                    )
                )
        if s.dup:
            rule_id = f"dup.copies.{s.name}"
            how = (
                f"set on s (and on its context), then SSL_dup: the duplicate shows s's "
                f"value ({s.how})"
            )
            if parts:
                rules.append(_summary(rule_id, "SSL_dup settings", _dup_quotes(s.dup), how, parts))
            for part in parts or [None]:
                rules.append(
                    Rule(
                        f"{rule_id}.{part}" if part else rule_id,
                        "SSL_dup settings",
                        _dup_quotes(s.dup),
                        how.replace("s's value", f"s's {part}") if part else how,
                        since=s.since,
                        needs=(
                            "ctx_new",
                            "ssl_new",
                            "ssl_dup",
                            f"set:{'ssl' if s.on_ssl else 'ctx'}:{s.name}",
                            f"get:ssl:{s.name}",
                        ),
                        breaks=_dup_break(s, part),
                        setting=s.name,
                        field=part,
                    )
                )
    return rules


def _summary(
    rule_id: str, group: Group, quotes: dict[str, str], how: str, parts: list[str | None]
) -> Rule:
    """The rule over a whole Fields setting: observed field by field, so that a library
    failing on one field still shows whether it keeps the others."""
    return Rule(
        rule_id,
        group,
        quotes,
        how,
        testable=False,
        reason="observed field by field: " + ", ".join(f"{rule_id}.{p}" for p in parts),
    )


RULES: tuple[Rule, ...] = tuple(_static_rules() + _setting_rules())
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}


def rule(rule_id: str) -> Rule:
    try:
        return BY_ID[rule_id]
    except KeyError:
        raise KeyError(f"unknown rule {rule_id!r}") from None
