"""A cell's minimal script, its rule and the library's family, turned into C text.

The program is the script's calls in order, one per line, on named variables (`ctx`,
`s`, `dup`), with the rule's check written where the rule compares: a broken promise
prints "broken: ..." and returns 1; the end prints "kept: ..." and returns 0. Crash and
timeout cells run the same calls in a forked child and say how it ended. Nothing here
runs a compiler or a library (conformance.repro.build does).

Settings are spelled from the binding table by conformance.repro.spell: this module
names no setting. The rules' checks are written per rule (CHECKS), as the properties
under conformance/properties make them.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from conformance import binding
from conformance.library import Kind
from conformance.repro.family import CannotSpell, Family
from conformance.repro.spell import CannotSpellSetting, Read, Spelling
from conformance.results import RuleResult
from conformance.rules import Rule
from conformance.script import Op, Script

REPRODUCED = ("fail", "crash", "timeout")  # statuses that get a reproducer
CHILD_SECONDS = 10  # how long the calls of a crash or timeout cell may run in the child
MAX_FAILING_CALLS = 3  # a longer sweep of failing allocations is no straight line
TRACKED_FREES = 256


class CannotGenerate(Exception):
    """The cell has no C program here; the message says why, in one line."""


@dataclass(frozen=True)
class Program:
    source: str
    flags: tuple[str, ...] = ()  # compiler flags beyond the library's own (-pthread)


@dataclass(eq=False)
class _Object:
    """One SSL object, with the references the page says it has."""

    refs: int = 1
    started: bool = False  # a handshake was started on it


@dataclass(frozen=True, eq=False)
class _Handle:
    """A script position: the variable that holds an object."""

    var: str
    obj: _Object


@dataclass
class _Writer:
    family: Family
    spell: Spelling
    lines: list[str] = field(default_factory=list)
    helpers: dict[str, str] = field(default_factory=dict)  # C code before main, by name
    includes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    ctxs: list[str] = field(default_factory=list)  # script ctx position -> variable
    ssls: list[_Handle] = field(default_factory=list)  # script ssl position -> handle
    reads: list[Read] = field(default_factory=list)  # getters' values, in order
    freeing: _Handle | None = None  # the handle the last SSL_free released
    free_events: bool = False  # the ex_data free callback is registered
    compared_field: str | None = None  # the one field of a Fields setting the rule compares
    set_fields: set[str] = field(default_factory=set)  # fields of Fields values the script sets

    def c(self, name: str) -> str:
        try:
            return self.family.c(name)
        except CannotSpell as exc:
            raise CannotGenerate(str(exc)) from None

    def include(self, *headers: str) -> None:
        for header in headers:
            if header not in self.includes:
                self.includes.append(header)

    def say(self, *lines: str) -> None:
        self.lines.extend("    " + line if line else line for line in lines)

    def fresh(self, base: str) -> str:
        """`base`, else base2, base3, ...: one variable per thing."""
        name, n = base, 1
        while name in self.names:
            n += 1
            name = f"{base}{n}"
        self.names.add(name)
        return name

    def declare(self, c_type: str, name: str, value: str) -> None:
        """`c_type name = value;` the first time, `name = value;` after."""
        first = name not in self.names
        self.names.add(name)
        space = "" if c_type.endswith("*") else " "
        self.say(f"{c_type}{space}{name} = {value};" if first else f"{name} = {value};")

    def broken(self, condition: str, message: str, *args: str) -> None:
        """If `condition`, the library broke the promise: say how and return 1."""
        self.say(
            *_if(condition),
            *_printf(f"broken: {c_text(message)}\\n", args),
            "    return 1;",
            "}",
        )

    def cannot_run(self, condition: str, message: str) -> None:
        """If `condition`, the program cannot show the promise either way: return 2."""
        self.say(
            f"if ({condition}) {{",
            f'    printf("cannot run: {c_text(message)}\\n");',
            "    return 2;",
            "}",
        )

    def ctx(self, op: Op) -> str:
        if op.ctx is None or not 0 <= op.ctx < len(self.ctxs):
            raise CannotGenerate(f"{op.op} names context {op.ctx}, which the script never made")
        return self.ctxs[op.ctx]

    def ssl(self, op: Op) -> _Handle:
        if op.ssl is None or not 0 <= op.ssl < len(self.ssls):
            raise CannotGenerate(f"{op.op} names SSL {op.ssl}, which the script never made")
        return self.ssls[op.ssl]

    def live(self, op: Op) -> _Handle | None:
        """The op's handle, or None (and a comment) when its object was freed: the
        harness skips such an operation, and so does the program."""
        handle = self.ssl(op)
        if handle.obj.refs > 0:
            return handle
        self.say(f"/* {op.op} on {handle.var}: already freed, not called */")
        return None


def _top_level_or(condition: str) -> list[str]:
    """`a || b || c` split where || is outside every parenthesis."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(condition):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0 and condition.startswith(" || ", i):
            parts.append(condition[start:i])
            start = i + 4
    return [*parts, condition[start:]]


def _if(condition: str) -> list[str]:
    """`if (condition) {`, one alternative a line when it is long."""
    if len(condition) <= 80:
        return [f"if ({condition}) {{"]
    parts = _top_level_or(condition)
    lines = [f"if ({parts[0]} ||", *(f"    {p} ||" for p in parts[1:-1]), f"    {parts[-1]}) {{"]
    return lines


def _printf(fmt: str, args: tuple[str, ...]) -> list[str]:
    """`printf(...)` inside a block: a long format in pieces, long arguments on lines of
    their own."""
    one = f'    printf("{fmt}"' + "".join(f", {a}" for a in args) + ");"
    if len(one) <= 92:
        return [one]
    pieces = _pieces(fmt, 72)
    lines = [f'    printf("{pieces[0]}"', *(f'           "{p}"' for p in pieces[1:])]
    if not args:
        return [*lines[:-1], lines[-1] + ");"]
    lines[-1] += ","
    line = "           "
    for i, arg in enumerate(args):
        piece = arg + (");" if i == len(args) - 1 else ",")
        if len(line) + len(piece) + 1 > 88 and line.strip():
            lines.append(line.rstrip())
            line = "           "
        line += piece + " "
    return [*lines, line.rstrip()]


def _pieces(text: str, width: int) -> list[str]:
    """A C string's text in pieces of about `width`, cut after spaces (no escape cut)."""
    pieces, start = [], 0
    while len(text) - start > width:
        cut = text.rfind(" ", start, start + width)
        if cut <= start:
            break
        pieces.append(text[start : cut + 1])
        start = cut + 1
    return [*pieces, text[start:]]


# --- C code that goes before main --------------------------------------------------------

FREE_EVENTS = f"""\
/* An SSL object is really freed when this ex_data free callback runs with it as parent
 * (it runs for every SSL object, whether data was set or not). */
static const void *freed[{TRACKED_FREES}];
static int n_freed;

static void note_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                      void *argp)
{{
    (void)ptr, (void)ad, (void)idx, (void)argl, (void)argp;
    if (n_freed < {TRACKED_FREES})
        freed[n_freed++] = parent;
}}

static int frees_of(const void *obj)
{{
    int n = 0;
    for (int i = 0; i < n_freed; i++)
        n += freed[i] == obj;
    return n;
}}"""

FAILING_ALLOCATIONS = """\
/* The library's allocator (installed in main): while `counting`, allocation
 * number `fail_at` fails, and each allocation made is followed until it is freed. */
static int counting, fail_at, made, live;
static void *live_at[4096];

static void follow(void *p)
{
    if (p != NULL && live < 4096)
        live_at[live++] = p;
}

static int unfollow(void *p)
{
    for (int i = 0; i < live; i++)
        if (live_at[i] == p) {
            live_at[i] = live_at[--live];
            return 1;
        }
    return 0;
}

static void *test_malloc(size_t size, const char *file, int line)
{
    (void)file, (void)line;
    if (counting && ++made == fail_at)
        return NULL;
    void *p = malloc(size);
    if (counting)
        follow(p);
    return p;
}

static void *test_realloc(void *old, size_t size, const char *file, int line)
{
    (void)file, (void)line;
    if (old != NULL && size == 0) {
        unfollow(old);
        free(old);
        return NULL;
    }
    if (counting && ++made == fail_at)
        return NULL;
    int followed = old != NULL && unfollow(old);
    void *p = realloc(old, size);
    if (p == NULL && followed)
        follow(old);
    else if (followed || (counting && old == NULL))
        follow(p);
    return p;
}

static void test_free(void *p, const char *file, int line)
{
    (void)file, (void)line;
    unfollow(p);
    free(p);
}"""


PLAIN_ALLOCATORS = """\
/* The same allocator, for a library whose hooks take no file and line. */
static void *plain_malloc(size_t size) { return test_malloc(size, NULL, 0); }
static void plain_free(void *p) { test_free(p, NULL, 0); }
static void *plain_realloc(void *old, size_t size) { return test_realloc(old, size, NULL, 0); }"""


def _threads_code(w: _Writer) -> str:
    ssl, up_ref, free = w.c("SSL"), w.c("SSL_up_ref"), w.c("SSL_free")
    return f"""\
/* Each thread waits for all the others, then calls SSL_up_ref on `shared` `per_thread`
 * times and SSL_free as many times: the count must come back where it was. */
static {ssl} *shared;
static int per_thread;
static pthread_barrier_t all_ready;

static void *up_ref_then_free(void *unused)
{{
    (void)unused;
    pthread_barrier_wait(&all_ready);
    for (int i = 0; i < per_thread; i++)
        {up_ref}(shared);
    for (int i = 0; i < per_thread; i++)
        {free}(shared);
    return NULL;
}}"""


# --- the operations ------------------------------------------------------------------

METHODS = binding.METHODS  # script method name -> the function returning it


def _op(w: _Writer, op: Op, rule: Rule) -> None:
    c = w.c
    if op.op == "ctx_new":
        method = METHODS.get(op.method or "")
        if method is None:
            raise CannotGenerate(f"ctx_new: unknown method {op.method!r}")
        var = w.fresh("ctx")
        w.ctxs.append(var)
        w.say(f"{c('SSL_CTX')} *{var} = {c('SSL_CTX_new')}({c(method)}());")
    elif op.op == "ctx_free":
        w.say(f"{c('SSL_CTX_free')}({w.ctx(op)});")
    elif op.op == "ssl_new":
        var = w.fresh("s")
        w.ssls.append(_Handle(var, _Object()))
        w.say(f"{c('SSL')} *{var} = {c('SSL_new')}({'NULL' if op.ctx is None else w.ctx(op)});")
    elif op.op == "ssl_dup":
        _dup(w, op)
    elif op.op == "ssl_up_ref":
        handle = w.live(op)
        if handle is not None:
            handle.obj.refs += 1
            if rule.id == "ret.up-ref.one":
                w.declare("int", "up", f"{c('SSL_up_ref')}({handle.var})")
                w.broken("up != 1", "SSL_up_ref returned %d, not 1", "up")
            else:
                w.say(f"{c('SSL_up_ref')}({handle.var});")
    elif op.op == "ssl_free":
        handle = w.live(op)
        w.freeing = handle
        if handle is not None:
            handle.obj.refs -= 1
            w.say(*(["n_freed = 0;"] if w.free_events else []), f"{c('SSL_free')}({handle.var});")
    elif op.op == "ssl_get_ctx":
        handle = w.live(op)
        if handle is not None:
            w.declare(
                f"{c('SSL_CTX')} *", f"{handle.var}_ctx", f"{c('SSL_get_SSL_CTX')}({handle.var})"
            )
    elif op.op == "handshake":
        handle = w.live(op)
        if handle is not None:
            _handshake(w, handle)
    elif op.op == "ssl_set_ctx":
        handle = w.live(op)
        if handle is not None:
            w.say(f"{c('SSL_set_SSL_CTX')}({handle.var}, {w.ctx(op)});")
    elif op.op == "ssl_clear":
        handle = w.live(op)
        if handle is not None:
            w.say(f"{c('SSL_clear')}({handle.var});")
            w.cannot_run(
                f"!{c('SSL_in_before')}({handle.var})",
                "SSL_clear did not bring the object back to its initial state",
            )
            handle.obj.started = False
    elif op.op == "resume":
        # A resumption needs a server with a certificate and a session cache, the sessions
        # it issued, and both ends driven over a BIO pair: the harness's machinery, which
        # a straight-line program of the script's calls does not have.
        raise CannotGenerate(
            "resume is a full handshake with the harness's own server, which resumes the "
            "sessions it issued; the reproducer has no such server"
        )
    elif op.op in ("ctx_set", "ssl_set", "ctx_get", "ssl_get"):
        _setting(w, op, rule)
    elif op.op in ("ssl_new_failing", "ssl_dup_failing"):
        _failing(w, op)
    elif op.op == "ssl_threads":
        _threads(w, op)
    else:
        raise CannotGenerate(f"no C for operation {op.op}")


def _dup(w: _Writer, op: Op) -> None:
    handle = w.live(op)
    var = w.fresh("dup")
    if handle is None:
        w.ssls.append(_Handle(var, _Object(refs=0)))
        return
    if handle.obj.started:  # the page: the same handle, one more reference
        handle.obj.refs += 1
        w.ssls.append(_Handle(var, handle.obj))
    else:
        w.ssls.append(_Handle(var, _Object()))
    w.say(f"{w.c('SSL')} *{var} = {w.c('SSL_dup')}({handle.var});")


def _handshake(w: _Writer, handle: _Handle) -> None:
    c, near, far = w.c, w.fresh("near"), w.fresh("far")
    w.say(
        f"BIO *{near} = NULL, *{far} = NULL;",
        f"{c('BIO_new_bio_pair')}(&{near}, 0, &{far}, 0);",
        f"{c('SSL_set_bio')}({handle.var}, {near}, {near});",
        f"{c('SSL_set_connect_state')}({handle.var});",
        f"{c('SSL_do_handshake')}({handle.var}); /* -1, want read: the ClientHello waits */",
    )
    handle.obj.started = True


def _setting(w: _Writer, op: Op, rule: Rule) -> None:
    if op.setting is None:
        raise CannotGenerate(f"{op.op} names no setting")
    kind: Kind = "ctx" if op.op.startswith("ctx") else "ssl"
    if kind == "ctx":
        var = w.ctx(op)
    else:
        handle = w.live(op)
        if handle is None:
            return
        var = handle.var
    try:
        if op.op.endswith("_set") and op.via is not None:
            w.say(*w.spell.assign_via(kind, var, op.setting, op.value, op.via))
        elif op.op.endswith("_set"):
            w.say(*w.spell.assign(kind, var, op.setting, op.value))
        else:
            # The field the rule compares, else those the program set: an optional
            # field's getter may be missing from the library compiled against.
            fields = {rule.field} if rule.field else w.set_fields
            read = w.spell.read(kind, var, op.setting, w.names, fields)
            w.say(*read.lines)
            w.reads.append(read)
        w.helpers.update(w.spell.helpers())
        w.include(*w.spell.includes())
    except CannotSpellSetting as exc:
        raise CannotGenerate(str(exc)) from None


def _failing(w: _Writer, op: Op) -> None:
    if not isinstance(op.value, int) or isinstance(op.value, bool) or op.value < 1:
        raise CannotGenerate(f"{op.op}: the failing allocation is {op.value!r}")
    c, nth = w.c, op.value
    s: _Handle | None = None
    if op.op == "ssl_new_failing":
        call, arg = "SSL_new", w.ctx(op)
    else:
        s = w.live(op)
        if s is None:
            raise CannotGenerate("SSL_dup of an object already freed")
        call, arg = "SSL_dup", s.var
    got = w.fresh("got")
    w.say(
        f"/* once with nothing failing: what {call} caches for good is made now */",
        f"{c('SSL_free')}({c(call)}({arg}));",
        f"{c('ERR_clear_error')}();",
        *(["n_freed = 0;"] if s is not None and w.free_events else []),
        f"counting = 1, made = 0, live = 0, fail_at = {nth};",
        f"{c('SSL')} *{got} = {c(call)}({arg});",
        "counting = 0;",
    )
    w.declare("unsigned long", "error", f"{c('ERR_get_error')}()")
    spelled = c(call)  # as the family spells it, in what the program prints
    w.cannot_run(f"made < {nth}", f"{spelled} made fewer than {nth} allocations")
    w.broken(
        f"{got} == NULL && error == 0",
        f"{spelled} returned NULL with allocation {nth} failing and nothing on the error stack",
    )
    w.say(f"{c('ERR_clear_error')}();", f"{c('SSL_free')}({got});")
    try:
        thread_stop = c("OPENSSL_thread_stop")
    except CannotGenerate:  # what stays allocated may be the error state's own buffers
        w.say(f"/* {w.family.name} has no OPENSSL_thread_stop: leaks are not checked */")
    else:
        w.say(f"{thread_stop}(); /* frees the error state's own buffers */")
        w.broken(
            "live != 0",
            f"%d allocations made by {spelled} with allocation {nth} failing were never freed",
            "live",
        )
    if s is not None and w.free_events:
        w.broken(f"frees_of({s.var}) != 0", f"{spelled} with allocation {nth} failing freed s")


def _threads(w: _Writer, op: Op) -> None:
    handle = w.live(op)
    value = op.value if isinstance(op.value, dict) else {}
    threads, per_thread = value.get("threads"), value.get("per_thread")
    if handle is None or not isinstance(threads, int) or not isinstance(per_thread, int):
        raise CannotGenerate(f"ssl_threads needs a live object and its counts, not {op.value!r}")
    w.helpers["threads"] = _threads_code(w)
    w.include("pthread.h")
    if "-pthread" not in w.flags:
        w.flags.append("-pthread")
    if "threads" not in w.names:
        w.names.add("threads")
        w.say(f"pthread_t threads[{threads}];")
    w.say(
        *(["n_freed = 0;"] if w.free_events else []),
        f"shared = {handle.var}, per_thread = {per_thread};",
        f"pthread_barrier_init(&all_ready, NULL, {threads});",
        f"for (int i = 0; i < {threads}; i++)",
        "    pthread_create(&threads[i], NULL, up_ref_then_free, NULL);",
        f"for (int i = 0; i < {threads}; i++)",
        "    pthread_join(threads[i], NULL);",
    )


# --- the rules' checks ---------------------------------------------------------------

# A check is told about each operation right after its C is written, and writes the
# rule's comparison at the point the rule's property compares.
Check = Callable[[_Writer, int, Op, Script], None]


def _new_object(w: _Writer, i: int, op: Op, script: Script) -> None:
    """SSL_dup in the initial state gives a new object."""
    if op.op == "ssl_dup" and w.ssl(op).obj.refs > 0:
        s, dup = w.ssl(op), w.ssls[-1]
        # A NULL is the page's "creation of a new SSL structure failed": ret.dup.*'s.
        w.cannot_run(
            f"{dup.var} == NULL",
            f"{w.c('SSL_dup')} returned NULL (the return-value rules judge that)",
        )
        w.broken(
            f"{dup.var} == {s.var}",
            f"{w.c('SSL_dup')} in the initial state gave s itself, not a new SSL object",
        )


def _pointer(w: _Writer, i: int, op: Op, script: Script) -> None:
    if op.op in ("ssl_new", "ssl_dup") and w.ssls[-1].obj.refs > 0:
        call = w.c("SSL_new" if op.op == "ssl_new" else "SSL_dup")
        w.broken(f"{w.ssls[-1].var} == NULL", f"{call} returned NULL, not an SSL structure")


def _null_ctx(w: _Writer, i: int, op: Op, script: Script) -> None:
    if op.op == "ssl_new" and op.ctx is None:
        s = w.ssls[-1].var
        new = w.c("SSL_new")
        w.broken(f"{s} != NULL", f"{new}(NULL) returned an SSL object, not NULL")
        w.broken(
            f"{w.c('ERR_get_error')}() == 0",
            f"{new}(NULL) returned NULL with nothing on the error stack",
        )


def _creates(w: _Writer, i: int, op: Op, script: Script) -> None:
    if op.op == "ssl_new":
        made = w.ssls[-1].var
        new = w.c("SSL_new")
        w.broken(f"{made} == NULL", f"{new} returned NULL for a valid context")
        for other in w.ssls[:-1]:
            w.broken(f"{made} == {other.var}", f"{new} gave {made} the object of {other.var}")


def _same_ctx(w: _Writer, i: int, op: Op, script: Script) -> None:
    _new_object(w, i, op, script)
    # The duplicate's context, read last (as the rule's property reads it); an earlier
    # read of s's own context after SSL_set_SSL_CTX is no part of the promise.
    if op.op == "ssl_get_ctx" and i == len(script.ops) - 1 and w.ssl(op).obj.refs > 0:
        made_from = next(o.ctx for o in script.ops if o.op == "ssl_new")
        ctx, var = w.ctxs[made_from or 0], w.ssl(op).var
        w.broken(f"{var}_ctx != {ctx}", f"SSL_get_SSL_CTX({var}) is not the context s came from")


def _started_same_handle(w: _Writer, i: int, op: Op, script: Script) -> None:
    if op.op == "handshake" and w.ssl(op).obj.refs > 0:
        w.cannot_run(f"{w.c('SSL_in_before')}({w.ssl(op).var})", "the handshake did not start")
    if op.op == "ssl_dup" and w.ssl(op).obj.refs > 0:
        s, got = w.ssl(op).var, w.ssls[-1].var
        w.broken(
            f"{got} != {s}",
            "once the handshake started SSL_dup returned %s, not s",
            f'{got} == NULL ? "NULL" : "a new object"',
        )


def _frees(early: bool, late: bool) -> Check:
    """At each SSL_free: an object is freed exactly when its count reaches zero.

    early: nothing is freed while it still has references; late: the SSL_free that
    takes the count to zero frees it (once)."""

    def check(w: _Writer, i: int, op: Op, script: Script) -> None:
        if op.op == "handshake" and w.ssl(op).obj.refs > 0:
            w.cannot_run(f"{w.c('SSL_in_before')}({w.ssl(op).var})", "the handshake did not start")
        if op.op != "ssl_free" or w.freeing is None:
            return
        var, refs = w.freeing.var, w.freeing.obj.refs
        if refs == 0 and late:
            w.broken(
                f"frees_of({var}) != 1",
                f"the SSL_free that took {var}'s count to zero freed it %d times",
                f"frees_of({var})",
            )
        if refs == 0 and early:
            w.broken("n_freed > 1", f"SSL_free of {var} also freed another object")
        if refs > 0 and early:
            held = f"{refs} reference{'s' if refs > 1 else ''}"
            w.broken("n_freed != 0", f"SSL_free freed an object while {var} still had {held}")

    return check


def _threads_check(w: _Writer, i: int, op: Op, script: Script) -> None:
    if op.op == "ssl_threads" and w.ssl(op).obj.refs > 0:
        var = w.ssl(op).var
        w.broken(
            f"frees_of({var}) != 0",
            f"{var} was freed while the threads each called SSL_up_ref then SSL_free",
        )
    _frees(early=True, late=True)(w, i, op, script)


def _alloc(w: _Writer, i: int, op: Op, script: Script) -> None:
    """Written with the failing call itself (see _failing)."""


def _compared(w: _Writer, first: Read, second: Read, message: str) -> None:
    """`message` has two {} for the two values (as the program prints them)."""
    spell = w.spell
    if w.compared_field is not None:  # a per-field rule compares (and prints) that field only
        first, second = (_only(read, w.compared_field) for read in (first, second))
    w.broken(
        spell.differ(first, second),
        message.format(spell.shown(first), spell.shown(second)),
        *spell.args(first),
        *spell.args(second),
    )


def _only(read: Read, name: str) -> Read:
    parts = tuple(p for p in read.parts if p.label == name)
    if not parts:
        raise CannotGenerate(f"the getter shows no field {name!r}")
    return replace(read, parts=parts)


def _copies(w: _Writer, i: int, op: Op, script: Script) -> None:
    _new_object(w, i, op, script)
    if i == len(script.ops) - 1 and len(w.reads) >= 2:
        original, copied = w.reads[-2], w.reads[-1]
        _compared(w, copied, original, "the duplicate shows {}, s shows {}")


def _inherits(w: _Writer, i: int, op: Op, script: Script) -> None:
    if op.op == "ssl_new":
        _pointer(w, i, op, script)
    if i == len(script.ops) - 1 and len(w.reads) >= 2:
        of_ctx, of_ssl = w.reads[-2], w.reads[-1]
        _compared(w, of_ssl, of_ctx, "the SSL shows {}, its context had {} at SSL_new")


def _independent_settings(w: _Writer, i: int, op: Op, script: Script) -> None:
    if op.op == "ssl_dup":
        _new_object(w, i, op, script)
    total = sum(o.op == "ssl_get" for o in script.ops)
    if op.op == "ssl_get" and len(w.reads) == total:
        half = total // 2
        for before, after in zip(w.reads[:half], w.reads[half:], strict=True):
            _compared(
                w,
                after,
                before,
                "what was set on the other object changed this one: now {}, before {}",
            )


CHECKS: dict[str, Check] = {
    "new.creates": _creates,
    "ret.new.null-ctx": _null_ctx,
    "ret.new.pointer": _pointer,
    "ret.dup.pointer": _pointer,
    "ret.up-ref.one": lambda w, i, op, script: None,  # written with SSL_up_ref itself
    "dup.initial.new-object": _new_object,
    "dup.initial.same-ctx": _same_ctx,
    "dup.started.same-handle": _started_same_handle,
    "dup.started.increments": _frees(early=True, late=True),
    "dup.initial.independent-lifetime": _frees(early=True, late=False),
    "dup.initial.independent-settings": _independent_settings,
    "ref.new.count-one": _frees(early=True, late=True),
    "ref.up-ref.increments": _frees(early=True, late=False),
    "ref.free.decrements": _frees(early=False, late=True),
    "ref.free.at-zero": _frees(early=True, late=True),
    "ref.threads.exact": _threads_check,
    "ret.new.alloc-failure": _alloc,
    "ret.dup.alloc-failure": _alloc,
}
# Rules whose checks look at free events (the ex_data free callback).
FREE_EVENT_RULES = frozenset(
    {
        "dup.started.increments",
        "dup.initial.independent-lifetime",
        "ref.new.count-one",
        "ref.up-ref.increments",
        "ref.free.decrements",
        "ref.free.at-zero",
        "ref.threads.exact",
        "ret.dup.alloc-failure",
    }
)


def _kept(rule: Rule) -> str:
    """What the program saw when the library keeps the promise, in a few words."""
    for lead, said in (
        ("dup.copies.", "the duplicate shows s's "),
        ("new.inherits.", "the SSL shows its context's "),
    ):
        if rule.id.startswith(lead):
            return said + rule.id[len(lead) :]
    return rule.how


def check_for(rule_id: str) -> Check:
    if rule_id in CHECKS:
        return CHECKS[rule_id]
    if rule_id.startswith("dup.copies."):
        return _copies
    if rule_id.startswith("new.inherits."):
        return _inherits
    raise CannotGenerate(f"no C check for rule {rule_id}")


# --- the whole program ---------------------------------------------------------------


def c_text(text: str) -> str:
    """`text` inside a C string literal (a printf format: any % is the caller's)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "?":
            out.append("\\?")  # "??/" would be a trigraph in strict C
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.extend(f"\\{b:03o}" for b in ch.encode())
    return "".join(out)


def _comment(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text).replace("*/", "* /")


def _header(rule: Rule, status: str, seen_on: str | None, build: str) -> list[str]:
    lines = [f"{rule.id}: SSL_new(3) says"]
    pages: dict[str, list[str]] = {}
    for page, quote in sorted(rule.quotes.items()):
        pages.setdefault(quote, []).append(page)
    for quote, versions in pages.items():
        lead = f"  ({', '.join(versions)}) "
        wrapped = textwrap.wrap(f'"{quote}"', 86 - len(lead))
        lines += [lead + wrapped[0], *(" " * len(lead) + part for part in wrapped[1:])]
    how = re.sub(r"\s*\([^()]*\)$", "", rule.how)  # the calls in parentheses: see below
    lines += textwrap.wrap(f"Checked: {how}.", 86, subsequent_indent="  ")
    if seen_on:
        lines += textwrap.wrap(f"Found {status} on {seen_on}.", 86, subsequent_indent="  ")
    lines += [f"Build: {build}", "Exit 1: the library breaks the promise; 0: it keeps it."]
    return ["/*", *(f" * {_comment(line)}".rstrip() for line in lines), " */"]


def generate(
    rule: Rule,
    result: RuleResult,
    family: Family,
    spell: Spelling,
    seen_on: str | None = None,
) -> Program:
    """The C program for one cell; CannotGenerate says why there is none."""
    if result.status not in REPRODUCED:
        raise CannotGenerate(f"nothing to reproduce for status {result.status}")
    if result.script is None:
        raise CannotGenerate("the results file has no minimal script for this cell")
    try:
        script = Script.from_json(result.script)
    except (ValueError, TypeError) as exc:
        raise CannotGenerate(f"the minimal script is not one: {exc}") from None
    check = check_for(rule.id)
    failing = sum(op.op.endswith("_failing") for op in script.ops)
    if failing > MAX_FAILING_CALLS:
        raise CannotGenerate(f"{failing} calls with failing allocations: no straight line")
    w = _Writer(family, spell, compared_field=rule.field)
    w.set_fields = {k for o in script.ops if isinstance(o.value, dict) for k in o.value}
    w.include(*family.headers)
    w.say(*family.init)
    if failing:
        w.include("stdlib.h")
        w.helpers["allocations"] = FAILING_ALLOCATIONS
        plain = binding.PROGRAM_ALLOCATORS.get(family.name)
        if plain is None:
            w.cannot_run(
                f"!{w.c('CRYPTO_set_mem_functions')}(test_malloc, test_realloc, test_free)",
                "the library allocated before main",
            )
        else:
            w.helpers["plain allocations"] = PLAIN_ALLOCATORS
            w.cannot_run(
                f"{plain}(plain_malloc, plain_free, plain_realloc) != 0",
                f"{plain} refused the allocator",
            )
    if rule.id in FREE_EVENT_RULES:
        w.helpers["free events"] = FREE_EVENTS
        w.free_events = True
        w.say(f"{w.c('SSL_get_ex_new_index')}(0, NULL, NULL, NULL, note_free);")
    for i, op in enumerate(script.ops):
        _op(w, op, rule)
        check(w, i, op, script)
    if not failing and any(p.borrowed for read in w.reads for p in read.parts):
        _fill_slack(w)
    w.say(*(line[4:] for line in _printf(f"kept: {c_text(_kept(rule))}\\n", ())), "return 0;")
    build = " ".join(("cc", f"{rule.id}.c", *(f"-l{lib}" for lib in family.libraries), *w.flags))
    forked = result.status in ("crash", "timeout")
    includes = ["stdio.h", *w.includes]
    if forked:
        includes += ["signal.h", "string.h", "sys/wait.h", "unistd.h"]
    parts = _header(rule, result.status, seen_on, build)
    parts += [f"#include <{h}>" for h in dict.fromkeys(includes)]
    for code in w.helpers.values():
        parts += ["", code]
    if forked:
        parts += ["", "static int run(void)", "{", *w.lines, "}", "", *_forking_main()]
    else:
        parts += ["", "int main(void)", "{", *w.lines, "}"]
    return Program("\n".join(parts) + "\n", tuple(w.flags))


# The allocator that fills each allocation's slack: the worker's adapter gives the library
# the same one (backends/helpers.py builds this file), so the program reads what the
# column read.
SLACK_SOURCE = Path(__file__).with_name("slack.c")


def _fill_slack(w: _Writer) -> None:
    """The program reads strings the library holds: installed first, so that a string
    kept without its NUL shows on every run (the worker's allocator does the same)."""
    try:
        install = w.family.c("CRYPTO_set_mem_functions")
    except CannotSpell:
        return  # a family without it (BoringSSL): the program reads what the heap holds
    if binding.PROGRAM_ALLOCATORS.get(w.family.name):
        return  # wolfSSL's allocator hooks take no file and line; its adapter has none
    lines = SLACK_SOURCE.read_text().rstrip("\n").splitlines()
    w.include(*(ln.split("<")[1].rstrip(">") for ln in lines if ln.startswith("#include <")))
    w.helpers["slack"] = "\n".join(ln for ln in lines if not ln.startswith("#include"))
    first = [
        f"if (!{install}(slack_malloc, slack_realloc, slack_free)) {{",
        '    printf("cannot run: the library allocated before main\\n");',
        "    return 2;",
        "}",
    ]
    w.lines[:0] = ["    " + line for line in first]


def _forking_main() -> list[str]:
    return [
        "/* The calls run in a child: how it ends is what the library did. */",
        "int main(void)",
        "{",
        "    setvbuf(stdout, NULL, _IONBF, 0); /* a crash must not swallow the output */",
        "    pid_t child = fork();",
        "    if (child == 0) {",
        f"        alarm({CHILD_SECONDS});",
        "        _exit(run());",
        "    }",
        "    int status = 0;",
        "    if (child < 0 || waitpid(child, &status, 0) < 0) {",
        '        printf("cannot run: no child process\\n");',
        "        return 2;",
        "    }",
        "    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {",
        f'        printf("broken: the calls did not finish within {CHILD_SECONDS} s\\n");',
        "        return 1;",
        "    }",
        "    if (WIFSIGNALED(status)) {",
        '        printf("broken: the calls died by signal %d (%s)\\n", WTERMSIG(status),',
        "               strsignal(WTERMSIG(status)));",
        "        return 1;",
        "    }",
        "    return WEXITSTATUS(status);",
        "}",
    ]
