"""Sample rules and results files for the report tests: three backends that disagree.

The results carry what a run records: the catalogue entries of their rules and, on
deviating cells, the C reproducer as the run built and ran it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from conformance.library import Json
from conformance.report.model import RuleInfo, rule_info
from conformance.results import (
    CatalogueEntry,
    LibraryInfo,
    Observed,
    Reproducer,
    Results,
    RuleResult,
)

HOSTILE = "<script>alert(\"x\")</script> & \x1b[31m\x00 'quoted'"


@dataclass(frozen=True)
class StandInRule:
    """The shape of conformance.rules.Rule, for tests that must not depend on the catalogue."""

    id: str
    group: str
    quotes: dict[str, str] = field(default_factory=dict)
    since: str | None = None
    how: str = ""
    testable: bool = True
    reason: str | None = None


_DUP_QUOTE = {
    "1.1.1k": "any Verify mode, callback or depth set via SSL_set_verify(3) or "
    "SSL_set_verify_depth(3) or any configured X509 verification parameters",
    "3.0.0": "SSL_set_verify(3) or SSL_set_verify_depth(3) or any configured X509 "
    "verification parameters",
}

STAND_IN_RULES = (
    StandInRule(
        "new.inherits.options",
        "SSL_new",
        {
            v: "The new structure inherits the settings of the underlying context ctx: "
            "connection method, options, verification settings, timeout settings."
            for v in ("1.1.1k", "3.0.0")
        },
        how="SSL_CTX_set_options, SSL_new, SSL_get_options",
    ),
    StandInRule(
        "ref.up-ref.increments",
        "reference counting",
        {"3.0.0": "SSL_up_ref() increments the reference count for an existing SSL structure."},
        how="ex_data free callback",
    ),
    StandInRule(
        "dup.started.same-handle",
        "SSL_dup identity",
        {
            "3.0.0": "For connections that are not in their initial state SSL_dup() just "
            "increments an internal reference count and returns the same handle."
        },
    ),
    StandInRule("dup.copies.verify-depth", "SSL_dup settings", _DUP_QUOTE),
    StandInRule("dup.copies.verify-mode", "SSL_dup settings", _DUP_QUOTE),
    StandInRule("dup.copies.verify-param", "SSL_dup settings", _DUP_QUOTE),
    StandInRule(
        "dup.copies.min-proto-version",
        "SSL_dup settings",
        {
            "1.1.1k": "any minimum or maximum protocol settings (Note: Only from OpenSSL 1.1.1h "
            "and above)"
        },
        since="1.1.1h",
    ),
    StandInRule(
        "ret.new.null-ctx",
        "return values",
        {
            "3.0.0": "The creation of a new SSL structure failed. Check the error stack to find "
            "out the reason."
        },
    ),
    StandInRule(
        "ret.dup.timeout-settings",
        "return values",
        {"3.0.0": "timeout settings"},
        testable=False,
        reason="the page names no call that sets them on an SSL",
    ),
)


def sample_rules() -> list[RuleInfo]:
    return [rule_info(r) for r in STAND_IN_RULES]


def sample_catalogue() -> list[CatalogueEntry]:
    """The stand-in rules as a run records them in its results file."""
    return [
        CatalogueEntry(
            id=r.id,
            group=r.group,
            quotes=dict(r.quotes),
            how=r.how,
            since=r.since,
            testable=r.testable,
            reason=r.reason,
        )
        for r in STAND_IN_RULES
    ]


def _c_program(rule_id: str) -> str:
    return (
        "#include <openssl/ssl.h>\n"
        f"/* {rule_id}: the minimal script as straight-line C */\n"
        "int main(void) { return 1; }\n"
    )


REPRO_DEPTH = Reproducer(
    filename="dup.copies.verify-depth.c",
    source=_c_program("dup.copies.verify-depth"),
    build="cc -std=c99 -O0 dup.copies.verify-depth.c -o dup.copies.verify-depth -lssl -lcrypto",
    run="./dup.copies.verify-depth",
    outcome="does-not-reproduce",
    detail="NOT REPRODUCED: this library behaves differently now",
    output=" 4: ssl_get(setting='verify-depth', ssl=1)\n    observed {\"value\":7}\n",
)
REPRO_PARAM = Reproducer(
    filename="dup.copies.verify-param.c",
    source=_c_program("dup.copies.verify-param"),
    build="cc -std=c99 -O0 dup.copies.verify-param.c -o dup.copies.verify-param -lssl -lcrypto",
    run="./dup.copies.verify-param",
    outcome="reproduces",
    detail="REPRODUCED: every observation is the deviating run's",
    output="REPRODUCED: every observation is the deviating run's\n" + HOSTILE,
)
REPRO_NULL_CTX = Reproducer(
    filename="../../ret.new.null-ctx.c",  # a hostile name: the report keeps it in its folder
    source=_c_program("ret.new.null-ctx"),
    build="",
    run="",
    outcome="not-built",
    detail="the library folder /x/lib is not on this machine",
)


DUP_DEPTH_SCRIPT: dict[str, Json] = {
    "ops": [
        {"op": "ctx_new", "method": "tls"},
        {"op": "ssl_new", "ctx": 0},
        {"op": "ssl_set", "ssl": 0, "setting": "verify-depth", "value": 7},
        {"op": "ssl_dup", "ssl": 0},
        {"op": "ssl_get", "ssl": 1, "setting": "verify-depth"},
    ]
}
# Claims a deviation OpenSSL does not have: its reproducer must say "does not reproduce".
DUP_DEPTH_TRACE: list[dict[str, Json]] = [
    {"object": 0},
    {"object": 1},
    {},
    {"object": 2},
    {"value": -1},
]

# A deviation OpenSSL 1.1.1 and 3.0 really have (found by the harness): SSL_dup does not
# copy the verification parameters' auth level.
_PARAM: dict[str, Json] = {
    "auth-level": 1,
    "flags": ["crl-check"],
    "hostflags": [],
    "time": 1000000000,
}
DUP_PARAM_SCRIPT: dict[str, Json] = {
    "ops": [
        {"op": "ctx_new", "method": "tls"},
        {
            "op": "ctx_set",
            "ctx": 0,
            "setting": "verify-param",
            "value": {"auth-level": 0, "flags": ["crl-check"], "time": 1000000000},
        },
        {"op": "ssl_new", "ctx": 0},
        {"op": "ssl_set", "ssl": 0, "setting": "verify-param", "value": {"auth-level": 1}},
        {"op": "ssl_dup", "ssl": 0},
        {"op": "ssl_get", "ssl": 0, "setting": "verify-param"},
        {"op": "ssl_get", "ssl": 1, "setting": "verify-param"},
    ]
}
DUP_PARAM_TRACE: list[dict[str, Json]] = [
    {"object": 0},
    {},
    {"object": 1},
    {},
    {"object": 2},
    {"value": _PARAM},
    {"value": {**_PARAM, "auth-level": 0}},
]


def system_openssl() -> str:
    """The system OpenSSL's version text, as its headers give it (what reproducers build on)."""
    try:
        text = Path("/usr/include/openssl/opensslv.h").read_text()
    except OSError:
        return "OpenSSL 3.0.19 27 Jan 2026"
    found = re.search(r'OPENSSL_VERSION_TEXT\s+"([^"]+)"', text)
    return found.group(1) if found else "OpenSSL 3.0.19 27 Jan 2026"


# The break under which openssl30 failed new.inherits.options: that pass could fail.
ABLE_TO_FAIL = "SSL_get_options answering 0 on every SSL: the rule failed on this library"


def sample_results() -> list[Results]:
    ossl30 = Results(
        backend="openssl30",
        library=LibraryInfo("OpenSSL", system_openssl(), "3.0.0", None),
        state="complete",
        command="sslconform run openssl30 --seed 1234",
        seed=1234,
        rules=[
            RuleResult(
                "new.inherits.options",
                "pass",
                examples=100,
                seed=1234,
                seconds=0.5,
                able_to_fail=ABLE_TO_FAIL,
            ),
            RuleResult("ref.up-ref.increments", "pass", examples=100, seconds=0.25),
            RuleResult("dup.started.same-handle", "pass", examples=50),
            RuleResult(
                "dup.copies.verify-depth",
                "fail",
                examples=3,
                detail="SSL_dup gave depth -1, not 7",
                script=DUP_DEPTH_SCRIPT,
                expected=7,
                observed=-1,
                trace=DUP_DEPTH_TRACE,
                seed=1234,
                reproducer=REPRO_DEPTH,
            ),
            RuleResult("dup.copies.verify-mode", "pass", examples=100),
            RuleResult(
                "dup.copies.verify-param",
                "fail",
                examples=200,
                detail="the duplicate shows auth-level 0, s shows 1",
                script=DUP_PARAM_SCRIPT,
                expected=_PARAM,
                observed={**_PARAM, "auth-level": 0},
                trace=DUP_PARAM_TRACE,
                seed=1234,
                reproducer=REPRO_PARAM,
            ),
            RuleResult("dup.copies.min-proto-version", "pass", examples=100),
            RuleResult("ret.new.null-ctx", "pass", examples=1),
        ],
        observations=[Observed("dup.copies.mode", "SSL_dup copies the mode too")],
    )
    ossl111 = Results(
        backend="openssl111",
        library=LibraryInfo("OpenSSL", "OpenSSL 1.1.1w  11 Sep 2023", "1.1.1k", "/x/lib"),
        state="complete",
        seed=99,
        rules=[
            RuleResult("new.inherits.options", "pass", examples=100),
            RuleResult("ref.up-ref.increments", "pass", examples=100),
            RuleResult("dup.started.same-handle", "pass", examples=50),
            RuleResult("dup.copies.verify-depth", "pass", examples=100),
            RuleResult("dup.copies.verify-mode", "pass", examples=100),
            RuleResult("dup.copies.verify-param", "fail", detail="auth-level not copied"),
            RuleResult("dup.copies.min-proto-version", "not-applicable", detail="page 1.1.1k"),
            RuleResult(
                "ret.new.null-ctx",
                "crash",
                detail="SIGSEGV in SSL_new(NULL)",
                script={"ops": [{"op": "ssl_new"}]},
                seed=99,
                reproducer=REPRO_NULL_CTX,
            ),
        ],
    )
    boring = Results(
        backend="boringssl",
        library=LibraryInfo("BoringSSL", HOSTILE, "3.0.0", "/usr/lib/android"),
        state="complete",
        seed=7,
        rules=[
            RuleResult(
                "new.inherits.options",
                "fail",
                detail=HOSTILE,
                expected=["no-ticket"],
                observed=[HOSTILE],
                script={"ops": [{"op": "ctx_new", "method": "tls"}]},
            ),
            RuleResult(
                "ref.up-ref.increments",
                "absent",
                detail="SSL_up_ref",
                script={
                    "ops": [
                        {"op": "ctx_new", "method": "tls"},
                        {"op": "ssl_new", "ctx": 0},
                        {"op": "ssl_up_ref", "ssl": 0},
                    ]
                },
                trace=[{"object": 0}, {"object": 0}, {"absent": ["SSL_up_ref"]}],
            ),
            RuleResult("dup.started.same-handle", "absent", detail="SSL_dup"),
            RuleResult("dup.copies.verify-depth", "absent", detail="SSL_dup"),
            RuleResult("dup.copies.verify-mode", "absent", detail="SSL_dup"),
            RuleResult("dup.copies.verify-param", "absent", detail="SSL_dup"),
            RuleResult("dup.copies.min-proto-version", "absent", detail="SSL_dup"),
            RuleResult("ret.new.null-ctx", "pass"),
            RuleResult("extra.unknown.rule", "error", detail="worker died: " + HOSTILE),
        ],
    )
    for results in (ossl30, ossl111, boring):
        results.catalogue = sample_catalogue()
    return [ossl30, ossl111, boring]


def write_samples(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for results in sample_results():
        path = folder / f"{results.backend}.json"
        results.write(path)
        paths.append(path)
    return paths


# --- one family in several versions, and the same column run several times -------------

FAMILY_RULE = "ret.new.null-ctx"


def versioned_run(
    backend: str,
    family: str,
    version: str,
    status: str,
    started: str | None = None,
    page: str = "3.0.0",
) -> Results:
    """A run of one library version whose cell of FAMILY_RULE has `status`; the others pass."""
    rules = [
        RuleResult(r.id, "pass", examples=10)
        for r in STAND_IN_RULES
        if r.testable and r.id != FAMILY_RULE
    ]
    detail = None if status == "pass" else f"{FAMILY_RULE} {status} on {version}"
    rules.append(RuleResult(FAMILY_RULE, status, examples=10, detail=detail))  # type: ignore[arg-type]
    return Results(
        backend=backend,
        library=LibraryInfo(family, version, page),
        state="complete",
        started=started,
        rules=rules,
        catalogue=sample_catalogue(),
    )


# Written in no particular order: the report orders them by family and version.
FAMILY_RUNS = (
    ("openssl36", "OpenSSL", "OpenSSL 3.6.5 29 Sep 2026", "pass"),
    ("wolfssl59", "wolfSSL", "wolfSSL 5.9.2", "fail"),
    ("reference", "reference model", "sslconform reference model of SSL_new(3)", "pass"),
    ("openssl111", "OpenSSL", "OpenSSL 1.1.1w  11 Sep 2023", "fail"),
    ("rustls", "rustls", "rustls 0.23.26", "crash"),
    ("openssl", "OpenSSL", "OpenSSL 3.0.19 27 Jan 2026", "fail"),
    ("wolfssl", "wolfSSL", "wolfSSL 5.5.4", "pass"),
    ("awslc", "AWS-LC", "AWS-LC 5.1.0", "pass"),
    ("openssl40", "OpenSSL", "OpenSSL 4.0.3 29 Sep 2026", "crash"),
    ("openssl35", "OpenSSL", "OpenSSL 3.5.9 29 Sep 2026", "pass"),
    ("wolfssl57", "wolfSSL", "wolfSSL 5.7.2", "absent"),
    ("gnutls", "GnuTLS", "GnuTLS 3.7.9 (OpenSSL compatibility layer)", "pass"),
)


def write_family_runs(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for backend, family, version, status in FAMILY_RUNS:
        page = "1.1.1k" if "1.1.1" in version else "3.0.0"
        path = folder / f"{backend}.json"
        versioned_run(backend, family, version, status, page=page).write(path)
        paths.append(path)
    return paths
