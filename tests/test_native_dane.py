"""dup.copies.dane and dup.copies.sigalgs crash on OpenSSL 3.0: the library's, not the harness's.

The cells' scripts, written in C against the system libssl (tests/native/): a DANE client
moved with SSL_set_SSL_CTX to a context without DANE, SSL_dup, then a handshake of the
duplicate. The duplicate's certificate verification dies of SIGSEGV; the same program
with s left on its DANE context (the control) completes both handshakes.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from conformance import fixtures

SOURCE = Path(__file__).parent / "native" / "dane_dup_moved_context.c"

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None or not Path("/usr/include/openssl/ssl.h").is_file(),
    reason="needs cc and the OpenSSL headers",
)


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("native") / "dane_dup_moved_context"
    subprocess.run(
        ["cc", "-Wall", "-o", str(binary), str(SOURCE), "-lssl", "-lcrypto"],
        check=True,
        capture_output=True,
    )
    return binary


def _run(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    folder = fixtures.ensure()
    return subprocess.run(
        [str(program), str(folder), *args], capture_output=True, text=True, timeout=60
    )


def _is_openssl_3(run: subprocess.CompletedProcess[str]) -> bool:
    return run.stdout.startswith("OpenSSL 3.")


@pytest.mark.parametrize("sigalgs", [(), ("RSA+SHA256",)], ids=["dane", "sigalgs"])
def test_the_duplicate_of_a_moved_dane_client_crashes_in_its_handshake(
    program: Path, sigalgs: tuple[str, ...]
) -> None:
    run = _run(program, "moved", *sigalgs)
    if not _is_openssl_3(run):
        pytest.skip(f"the system libssl is not OpenSSL 3: {run.stdout.splitlines()[:1]}")
    assert run.returncode == -signal.SIGSEGV, (run.returncode, run.stdout, run.stderr)
    lines = run.stdout.splitlines()
    assert "SSL_set_SSL_CTX(s, ctx1) = ctx1" in lines
    assert "SSL_dup(s) = a new object" in lines
    # s itself (whose DANE state still names its first context) completes and matches.
    assert lines[-3:] == [
        "handshake of s",
        "  completed 1; SSL_get0_dane_tlsa depth 1, record 2 0 0",
        "handshake of the duplicate",
    ]


@pytest.mark.parametrize("sigalgs", [(), ("RSA+SHA256",)], ids=["dane", "sigalgs"])
def test_the_duplicate_of_a_dane_client_left_on_its_context_completes(
    program: Path, sigalgs: tuple[str, ...]
) -> None:
    run = _run(program, "kept", *sigalgs)
    assert run.returncode == 0, (run.returncode, run.stdout, run.stderr)
    lines = run.stdout.splitlines()
    assert lines.count("  completed 1; SSL_get0_dane_tlsa depth 1, record 2 0 0") == 2
    assert lines[-1] == "finished"
