"""The fetch step: libraries come from Debian's archive, load, and are the ones asked for."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conformance import fetch as fetch_module
from conformance.fetch import Fetched, fetch, worker_command
from conformance.library import Unavailable
from conformance.provision import loader
from conformance.provision.apt import ArchiveUnreachable

# Run in the worker's place: load the fetched libcrypto and libssl by path, then report the
# version the library gives and every libcrypto/libssl/libc the process has mapped.
PROBE = """
import ctypes, sys
crypto = ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
ctypes.CDLL(sys.argv[2])
crypto.OpenSSL_version.restype = ctypes.c_char_p
crypto.OpenSSL_version.argtypes = [ctypes.c_int]
print(crypto.OpenSSL_version(0).decode())
for line in open("/proc/self/maps"):
    path = line.split()[-1]
    if "libcrypto" in path or "libssl" in path:
        print(path)
"""


def fetched_or_skip(name: str) -> Fetched:
    try:
        return fetch(name)
    except Unavailable as err:
        pytest.skip(f"{name} cannot be fetched here: {err}")


@pytest.mark.parametrize(
    ("name", "prefix"),
    [
        ("openssl111", "OpenSSL 1.1.1"),
        ("openssl35", "OpenSSL 3.5."),
        ("openssl36", "OpenSSL 3.6."),
        ("openssl40", "OpenSSL 4.0."),
    ],
)
def test_fetched_openssl_loads_alone(name: str, prefix: str) -> None:
    got = fetched_or_skip(name)
    ssl_so, crypto_so = got.files
    done = subprocess.run(
        worker_command(got, ["-c", PROBE, crypto_so, ssl_so]),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    version, *mapped = done.stdout.splitlines()
    assert version.startswith(prefix), version
    assert {Path(p).resolve() for p in mapped} == {
        Path(crypto_so).resolve(),
        Path(ssl_so).resolve(),
    }


@pytest.mark.parametrize(("name", "version"), [("wolfssl57", "5.7.2"), ("wolfssl59", "5.9.2")])
def test_fetched_wolfssl_reports_its_version(name: str, version: str) -> None:
    got = fetched_or_skip(name)
    probe = (
        "import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); "
        "lib.wolfSSL_lib_version.restype = ctypes.c_char_p; "
        "print(lib.wolfSSL_lib_version().decode())"
    )
    done = subprocess.run(
        worker_command(got, ["-c", probe, got.files[0]]),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == version
    assert loader.needed_glibc([Path(got.files[0])]) >= (2, 38)


def test_fetched_boringssl10_loads_alone() -> None:
    got = fetched_or_skip("boringssl10")
    ssl_so, crypto_so = got.files
    done = subprocess.run(
        worker_command(got, ["-c", PROBE, crypto_so, ssl_so]),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    version, *mapped = done.stdout.splitlines()
    assert version == "BoringSSL"
    assert got.loader is None  # built for an older glibc than the machine's
    assert {Path(p).resolve() for p in mapped} == {
        Path(crypto_so).resolve(),
        Path(ssl_so).resolve(),
    }


@pytest.mark.parametrize(
    ("name", "header", "says"),
    [
        ("wolfssl57-headers", "wolfssl/version.h", '#define LIBWOLFSSL_VERSION_STRING "5.7.2"'),
        ("wolfssl59-headers", "wolfssl/version.h", '#define LIBWOLFSSL_VERSION_STRING "5.9.2"'),
        ("boringssl10-headers", "openssl/base.h", "#define OPENSSL_IS_BORINGSSL"),
    ],
)
def test_new_header_sources_are_the_versions_asked_for(name: str, header: str, says: str) -> None:
    got = fetched_or_skip(name)
    assert says in (Path(got.lib_dir) / header).read_text().splitlines()
    assert got.loader is None


def test_a_library_built_for_glibc_238_runs_under_the_newer_loader() -> None:
    got = fetched_or_skip("openssl35")
    assert loader.needed_glibc([Path(f) for f in got.files]) >= (2, 38)
    have = loader.system_glibc()
    if have is not None and have >= (2, 38):
        assert got.loader is None
    else:
        assert got.loader is not None and Path(got.loader[0]).name == loader.LOADER


def test_every_fetch_is_verified_against_the_archive_keyring() -> None:
    got = fetched_or_skip("wolfssl")
    manifest = fetch_module.cache_root() / "libs" / "wolfssl" / "manifest.json"
    data = json.loads(manifest.read_text())
    assert data["files"] == list(got.files)
    assert Path(data["verified_by"]).is_file()
    sources = fetch_module.cache_root() / "apt" / "bookworm" / "sources.list"
    assert sources.read_text().startswith(f"deb [signed-by={data['verified_by']}] ")


def test_second_fetch_reuses_the_cache() -> None:
    first = fetched_or_skip("wolfssl")
    again = fetch("wolfssl")
    assert again.reused
    assert (again.version, again.files) == (first.version, first.files)


def test_unknown_name_is_one_line() -> None:
    with pytest.raises(Unavailable, match="unknown library 'nosuch'"):
        fetch("nosuch")


def test_unreachable_archive_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSLCONFORM_CACHE", str(tmp_path))
    # Port 9 (discard) on the loopback refuses at once: no waiting on a timeout.
    monkeypatch.setenv("SSLCONFORM_DEBIAN_MIRROR", "http://127.0.0.1:9/debian")
    if fetch_module.shutil.which("apt-get") is None:
        pytest.skip("not a Debian system")
    with pytest.raises(ArchiveUnreachable, match="cannot reach Debian's archive") as err:
        fetch("openssl111")
    assert "\n" not in str(err.value)
    assert "http://127.0.0.1:9/debian (bullseye)" in str(err.value)


def test_no_apt_says_not_debian(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SSLCONFORM_CACHE", str(tmp_path))
    monkeypatch.setattr(fetch_module.shutil, "which", lambda _tool: None)
    with pytest.raises(Unavailable, match="not Debian-based"):
        fetch("openssl111")


def test_cli_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert fetch_module.main(["nosuch"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("nosuch: unavailable:")
