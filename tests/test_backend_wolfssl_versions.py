"""Every wolfSSL column (5.5, 5.7, 5.9) against its real library: what today's adapter
observes that it did not before, the settings a handshake shows and allocation failures
(skipped where a library cannot be fetched)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from backends.wolfssl import BACKENDS
from conformance import fixtures
from conformance.fetch import fetch
from conformance.library import Unavailable
from tests.worker_probe import run_adapter

BODY = """
out["version"] = lib.version()
out["alloc"] = lib.missing("alloc_failures")
out["timeout_needs"] = lib.missing("get:ssl:timeout")
ctx = lib.ctx_new("tls")
lib.set("ctx", ctx, "timeout", 60)
ssl = lib.ssl_new(ctx)
out["ssl_timeout"] = lib.get("ssl", ssl, "timeout")
out["ctx_timeout"] = lib.get("ctx", ctx, "timeout")
lib.ssl_free(ssl)
out["first_fails"] = lib.ssl_new_failing(ctx, 1)
out["none_fails"] = lib.ssl_new_failing(ctx, 10**6)
out["errors"] = lib.errors()
none_enabled = lib.ctx_new("tls")
lib.set("ctx", none_enabled, "min-proto-version", "tls1.3")
lib.set("ctx", none_enabled, "options", ["no-tlsv1.3"])
out["no_version_ssl"] = lib.ssl_new(none_enabled)
out["no_version_errors"] = lib.errors()
"""

COLUMNS = {b.name: b for b in BACKENDS}


@pytest.fixture(scope="module", params=sorted(COLUMNS))
def seen(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    column = COLUMNS[request.param]
    assert column.fetch is not None
    try:
        fetched = fetch(column.fetch)
    except Unavailable as err:
        pytest.skip(f"{column.name} cannot be fetched here: {err}")
    options = {**column.options, "alloc_hooks": "1"}
    env = {"SSLCONFORM_FIXTURES": str(fixtures.ensure())}
    return column.name, run_adapter(column.adapter, fetched, BODY, options, env)


def test_each_column_loads_its_own_version(seen: tuple[str, dict[str, Any]]) -> None:
    name, out = seen
    want = {"wolfssl": "wolfSSL 5.5.", "wolfssl57": "wolfSSL 5.7.", "wolfssl59": "wolfSSL 5.9."}
    assert out["version"].startswith(want[name])
    soname = COLUMNS[name].options["soname"]
    assert [m.rsplit("/", 1)[-1].startswith(soname) for m in out["maps"]] == [True]


def test_the_timeout_an_ssl_inherited_shows_in_its_handshake(
    seen: tuple[str, dict[str, Any]],
) -> None:
    _, out = seen
    assert out["timeout_needs"] == []
    assert out["ctx_timeout"] == 60
    assert out["ssl_timeout"] == 60  # the session a finished handshake made


def test_an_allocation_inside_wolfssl_new_fails_on_demand(
    seen: tuple[str, dict[str, Any]],
) -> None:
    _, out = seen
    assert out["alloc"] == []
    first, none = out["first_fails"], out["none_fails"]
    assert first["injected"] and first["allocations"] == 1 and first["result"] is None
    assert not none["injected"] and none["result"] and none["allocations"] > 1
    assert none["leaked"] == 0


def test_a_context_with_no_version_enabled_makes_no_ssl(seen: tuple[str, dict[str, Any]]) -> None:
    """What expected/wolfssl5*.toml's new.inherits.options entries say, on every version
    (5.5's column does not find it: its object's min proto getter shows nothing, so its
    scripts do not set the bound)."""
    _, out = seen
    assert out["no_version_ssl"] is None
    assert out["no_version_errors"] == ["record layer version error"]


NATIVE = Path(__file__).resolve().parent / "native"


@pytest.mark.parametrize("program", ["wolfssl_alloc_failure.c", "wolfssl_no_version.c"])
@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_the_deviations_show_in_c_too(name: str, program: str, tmp_path: Path) -> None:
    """The two deviations of the wolfSSL columns that no generated reproducer shows, shown
    by a C program of their own on each version's library and headers."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    column = COLUMNS[name]
    try:
        fetched = fetch(str(column.fetch))
        headers = fetch(f"{column.fetch}-headers")
    except Unavailable as err:
        pytest.skip(f"{name} cannot be fetched here: {err}")
    library = Path(fetched.lib_dir) / column.options["soname"]
    binary = tmp_path / program.removesuffix(".c")
    # A library built for a newer glibc links here only if its symbols are left to the
    # loader it runs under (trixie's).
    build = [compiler, str(NATIVE / program), "-o", str(binary), f"-I{headers.lib_dir}"]
    build += [str(library), "-Wl,--allow-shlib-undefined", f"-Wl,-rpath,{fetched.lib_dir}"]
    subprocess.run(build, check=True, capture_output=True)
    done = subprocess.run([*(fetched.loader or ()), str(binary)], capture_output=True, text=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "returned NULL" in done.stdout
