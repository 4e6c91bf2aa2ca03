"""C reproducers: a deviating cell as a short C program a library's maintainers can run.

A reproducer is straight-line C on the library's public API: the minimal script's calls,
one per line, and a check where the rule compares. It quotes the page's promise, prints
what it expected and what it saw, and exits 1 when the library breaks the promise, 0
when it keeps it. Pasted into a bug report it shows the bug; after the fix it is a test.

- `generate` turns a script, its rule and the library family into C text (pure);
- `spell` writes settings in C from the binding table (conformance.binding);
- `family` gives each family's names, types and headers, from the same table;
- `build` compiles and runs a program against the library a run measured.

`sslconform run` calls `reproduce` after each rule; the result goes into the results
file (`RuleResult.reproducer`), which is all the report shows.
"""

from __future__ import annotations

from collections.abc import Mapping

from conformance.repro.build import build_and_run, target_for
from conformance.repro.family import family_for
from conformance.repro.generate import REPRODUCED, CannotGenerate
from conformance.repro.generate import generate as c_program  # the submodule keeps its name
from conformance.repro.spell import Spelling
from conformance.results import LibraryInfo, Reproducer, RuleResult
from conformance.rules import rule

__all__ = ["reproduce"]


def reproduce(
    result: RuleResult, library: LibraryInfo | None, env: Mapping[str, str] | None = None
) -> Reproducer | None:
    """The reproducer of one cell, built and run here; None where there is nothing to run.

    Only fail, crash and timeout cells get one, and only on libraries with OpenSSL's C
    API (the reference model, pyOpenSSL and rustls have none to build against). `env`
    is the environment the run gave the library (OPENSSL_CONF of a fetched OpenSSL).
    """
    if result.status not in REPRODUCED or library is None:
        return None
    family = family_for(library.name)
    if family is None:
        return None
    filename = result.id + ".c"
    # Only what the library itself reads (a fetched OpenSSL's OPENSSL_CONF) goes along.
    library_env = {k: v for k, v in (env or {}).items() if k.startswith("OPENSSL_")}
    try:
        program = c_program(rule(result.id), result, family, Spelling(family), library.version)
        return build_and_run(filename, program, target_for(library, family), library_env)
    except CannotGenerate as exc:
        return Reproducer(filename, "", "", "", "not-built", f"no C program: {exc}")
    except Exception as exc:  # a generator bug must not lose the run's results
        detail = f"the reproducer could not be made: {type(exc).__name__}: {exc}"
        return Reproducer(filename, "", "", "", "not-built", detail)
