"""Reads past a string's end read the same bytes every run: the worker's allocator
(conformance/repro/slack.c) and the reproducers' fill each allocation's slack with 'X'.

OpenSSL 4.0.3 keeps the host and email that SSL_new and SSL_dup copy into the SSL
without their NUL (its context's own copy has one). Read back, the string runs on into
whatever the heap holds past it: most often a NUL in a fresh process, most often not in
a long-lived one, so the same script deviated on some runs only. With the slack filled
it deviates on every run, and its C program shows it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.library import Json
from conformance.repro.family import family_for
from conformance.repro.generate import generate
from conformance.repro.spell import Spelling
from conformance.results import RuleResult
from conformance.rules import rule

needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
needs_openssl = pytest.mark.skipif(
    not any(Path(d, "libssl.so.3").exists() for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64")),
    reason="no system libssl.so.3",
)

# In a fresh interpreter: the allocator is installed before libcrypto's first allocation.
ALLOCATE_AND_LOOK = """
import ctypes, json
from backends.openssl.library import load
lib = load(None, {})
crypto = lib.crypto
crypto.CRYPTO_malloc.restype = ctypes.c_void_p
crypto.CRYPTO_malloc.argtypes = [ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int]
libc = ctypes.CDLL(None)
libc.malloc_usable_size.restype = ctypes.c_size_t
libc.malloc_usable_size.argtypes = [ctypes.c_void_p]
p = crypto.CRYPTO_malloc(10, b"test", 1)
usable = libc.malloc_usable_size(p)
print(json.dumps(ctypes.string_at(p + 10, usable - 10).decode("latin-1")))
"""


@needs_cc
@needs_openssl
def test_the_worker_fills_the_slack_of_the_librarys_allocations() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", ALLOCATE_AND_LOOK],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent.parent,
    )
    assert ran.returncode == 0, ran.stderr
    slack = json.loads(ran.stdout)
    assert slack and set(slack) == {"X"}


HOST_SCRIPT: dict[str, Json] = {
    "ops": [
        {"op": "ctx_new", "method": "tls"},
        {"op": "ctx_set", "ctx": 0, "setting": "verify-param", "value": {"host": "bravo.test"}},
        {"op": "ssl_new", "ctx": 0},
        {"op": "ctx_get", "ctx": 0, "setting": "verify-param"},
        {"op": "ssl_get", "ssl": 0, "setting": "verify-param"},
    ]
}
DEPTH_SCRIPT: dict[str, Json] = {
    "ops": [
        {"op": "ctx_new", "method": "tls"},
        {"op": "ctx_set", "ctx": 0, "setting": "verify-depth", "value": 3},
        {"op": "ssl_new", "ctx": 0},
        {"op": "ctx_get", "ctx": 0, "setting": "verify-depth"},
        {"op": "ssl_get", "ssl": 0, "setting": "verify-depth"},
    ]
}


def _source(rule_id: str, script: dict[str, Json]) -> str:
    family = family_for("OpenSSL")
    assert family is not None
    cell = RuleResult(rule_id, "fail", script=script)
    return generate(rule(rule_id), cell, family, Spelling(family)).source


def test_a_program_that_reads_a_librarys_string_fills_the_slack_first() -> None:
    source = _source("new.inherits.verify-param.host", HOST_SCRIPT)
    body = source.split("int main(void)\n{\n", 1)[1]
    first = body.splitlines()[0].strip()
    assert first == "if (!CRYPTO_set_mem_functions(slack_malloc, slack_realloc, slack_free)) {"
    assert "memset((char *)p + size, 'X'" in source


def test_a_program_that_reads_no_string_has_no_allocator() -> None:
    assert "slack" not in _source("new.inherits.verify-depth", DEPTH_SCRIPT)


@needs_cc
@needs_openssl
def test_a_library_that_terminates_its_copies_still_keeps_the_promise(tmp_path: Path) -> None:
    (tmp_path / "repro.c").write_text(_source("new.inherits.verify-param.host", HOST_SCRIPT))
    built = subprocess.run(
        ["cc", "repro.c", "-lssl", "-lcrypto"], cwd=tmp_path, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    ran = subprocess.run(["./a.out"], cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stdout  # OpenSSL 3.0 ends each copy with its NUL
    assert ran.stdout.startswith("kept:")
