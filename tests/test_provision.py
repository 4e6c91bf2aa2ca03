"""Provisioning: where the archive is, that its signature is checked, and glibc needs.

The signature tests serve a tiny apt repository from a temporary folder (file://): a
Packages index, a Release file, and where asked an InRelease signed with a throwaway gpg
key made offline. Debian's keyring does not sign it, so fetch must refuse it; the same
repository with the throwaway key as the keyring must be accepted, which shows that the
refusal comes from the signature and not from a broken repository.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import cli
from conformance import fetch as fetch_module
from conformance.fetch import Source, fetch
from conformance.library import Unavailable
from conformance.provision import apt, archive, loader

ROOT = Path(__file__).resolve().parent.parent

DEB822 = """\
Types: deb
# a snapshot of the archive, for the record
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""

ONE_LINE = "\n".join(
    (
        "# deb http://commented.example/debian bookworm main",
        "deb-src http://source.example/debian bookworm main",
        "deb [arch=amd64 signed-by=/usr/share/keyrings/vendor.gpg] https://vendor.example/apt "
        "cloud-sdk main",
        "deb http://security.example/debian-security bookworm-security main",
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
        "http://mirror.example/debian bookworm main contrib",
        "",
    )
)


# --- where the archive is -------------------------------------------------------------


def test_deb822_gives_the_archive_not_the_security_archive() -> None:
    assert archive.uris_in_deb822(DEB822) == ["http://mirror.example/debian/"]


def test_deb822_skips_disabled_and_foreign_stanzas() -> None:
    text = (
        "Types: deb\nURIs: http://off.example/debian\nSuites: trixie\nEnabled: no\n\n"
        "Types: deb\nURIs: https://deb.vendor.example/node\nSuites: nodistro\n\n"
        "Types: deb-src\nURIs: http://src.example/debian\nSuites: trixie\n\n"
        "Types: deb\nURIs:\n http://cont.example/debian\nSuites: trixie\n"
    )
    assert archive.uris_in_deb822(text) == ["http://cont.example/debian"]


def test_one_line_format_gives_the_debian_deb_line() -> None:
    assert archive.uris_in_one_line(ONE_LINE) == ["http://mirror.example/debian"]


def _files(tmp_path: Path, deb822: str | None, one_line: str | None) -> tuple[Path, Path]:
    first, second = tmp_path / "debian.sources", tmp_path / "sources.list"
    if deb822 is not None:
        first.write_text(deb822)
    if one_line is not None:
        second.write_text(one_line)
    return first, second


def test_archive_uri_prefers_deb822_then_sources_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(archive.MIRROR_ENV, raising=False)
    other = ONE_LINE.replace("mirror.example", "other.example")
    assert archive.archive_uri(*_files(tmp_path, DEB822, other)) == "http://mirror.example/debian"
    (tmp_path / "debian.sources").unlink()
    assert archive.archive_uri(*_files(tmp_path, None, other)) == "http://other.example/debian"


def test_the_environment_overrides_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(archive.MIRROR_ENV, "http://override.example/debian/")
    assert archive.archive_uri(*_files(tmp_path, DEB822, None)) == "http://override.example/debian"


def test_no_apt_configuration_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(archive.MIRROR_ENV, raising=False)
    only_vendor = "deb https://vendor.example/apt cloud-sdk main\n"
    for files in (_files(tmp_path, None, None), _files(tmp_path, None, only_vendor)):
        with pytest.raises(Unavailable, match="no Debian archive in this machine's apt") as err:
            archive.archive_uri(*files)
        assert "\n" not in str(err.value) and archive.MIRROR_ENV in str(err.value)


def test_the_code_names_no_archive_host() -> None:
    host = "debian" + ".org"
    named = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("conformance", "backends", "tests")
        for path in sorted((ROOT / folder).rglob("*"))
        if path.is_file() and path.suffix in (".py", ".toml", ".rs", ".md", ".c", ".txt")
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if host in line
    ]
    assert named == []


def test_no_source_is_trusted_without_a_signature() -> None:
    words = ("trusted=" + "yes", "AllowUnauthenticated=" + "true")
    for folder in ("conformance", "backends"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            assert not any(w in text for w in words), path


# --- the keyring ----------------------------------------------------------------------


@pytest.fixture
def no_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "KEYRING_PATHS", (tmp_path / "no-keyring.gpg",))
    monkeypatch.setattr(archive, "KEYRING_PACKAGE", "sslconform-no-such-keyring")


@pytest.mark.usefixtures("no_keyring")
def test_a_missing_keyring_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive.os, "geteuid", lambda: 1000)
    with pytest.raises(Unavailable, match=r"keyring .* is not on this machine") as err:
        archive.archive_keyring()
    assert "\n" not in str(err.value) and "install sslconform-no-such-keyring" in str(err.value)


@pytest.mark.usefixtures("no_keyring")
def test_root_installs_a_missing_keyring_and_says_when_that_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried: list[str] = []

    def install() -> str | None:
        tried.append(archive.KEYRING_PACKAGE)
        return "apt-get install sslconform-no-such-keyring: E: Unable to locate package"

    monkeypatch.setattr(archive.os, "geteuid", lambda: 0)
    monkeypatch.setattr(archive, "_install_keyring", install)
    with pytest.raises(Unavailable, match=r"could not be installed .*Unable to locate") as err:
        archive.archive_keyring()
    assert tried == ["sslconform-no-such-keyring"]
    assert "\n" not in str(err.value)


@pytest.mark.usefixtures("no_keyring")
def test_root_uses_the_keyring_once_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def install() -> str | None:
        (tmp_path / "no-keyring.gpg").write_bytes(b"keyring")
        return None

    monkeypatch.setattr(archive.os, "geteuid", lambda: 0)
    monkeypatch.setattr(archive, "_install_keyring", install)
    assert archive.archive_keyring() == tmp_path / "no-keyring.gpg"


# --- a local repository ---------------------------------------------------------------


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (a Debian system)")


@dataclass
class Repo:
    folder: Path
    suite: str
    package: str
    library: str  # the file the package holds, as a Source names it
    key: Path | None = None  # the throwaway public key that signed InRelease

    @property
    def uri(self) -> str:
        return f"file://{self.folder}"

    def source(self, name: str = "probe") -> Source:
        return Source(name, self.package, self.suite, (self.library,), "a local probe")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_repo(folder: Path, suite: str, package: str, library: str) -> Repo:
    """A one-package apt repository with an unsigned Release file; the package holds
    `library` (any ELF shared object will do: the interpreter's own _ctypes module)."""
    import _ctypes

    files = {f"usr/lib/probe/{library}": Path(_ctypes.__file__).read_bytes()}
    return make_repo_of(folder, suite, package, files, library)


def make_repo_of(
    folder: Path, suite: str, package: str, files: dict[str, bytes], library: str = ""
) -> Repo:
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = folder / "build"
    (tree / "DEBIAN").mkdir(parents=True)
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: 1.0-1\nArchitecture: {arch}\n"
        "Maintainer: probe <probe@example.invalid>\nDescription: a probe\n"
    )
    pool = folder / "repo" / "pool"
    pool.mkdir(parents=True)
    deb = pool / f"{package}_1.0-1_{arch}.deb"
    subprocess.run(
        ["dpkg-deb", "-Zgzip", "--build", str(tree), str(deb)], check=True, capture_output=True
    )
    data = deb.read_bytes()
    packages = (
        f"Package: {package}\nVersion: 1.0-1\nArchitecture: {arch}\n"
        "Maintainer: probe <probe@example.invalid>\n"
        f"Filename: pool/{deb.name}\nSize: {len(data)}\nSHA256: {_sha256(data)}\n"
        "Description: a probe\n\n"
    ).encode()
    dists = folder / "repo" / "dists" / suite
    (dists / "main" / f"binary-{arch}").mkdir(parents=True)
    (dists / "main" / f"binary-{arch}" / "Packages").write_bytes(packages)
    (dists / "Release").write_text(
        f"Origin: probe\nSuite: {suite}\nCodename: {suite}\nArchitectures: {arch}\n"
        "Components: main\nDate: Tue, 01 Dec 2026 00:00:00 UTC\nSHA256:\n"
        f" {_sha256(packages)} {len(packages)} main/binary-{arch}/Packages\n"
    )
    return Repo(folder / "repo", suite, package, library)


@pytest.fixture
def gnupg(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A throwaway gpg home with one signing key; its agent is stopped afterwards."""
    _need("gpg", "gpgconf")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
         "probe <probe@example.invalid>", "ed25519", "sign", "never"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield env
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)


def sign(repo: Repo, env: dict[str, str]) -> Repo:
    dists = repo.folder / "dists" / repo.suite
    subprocess.run(
        ["gpg", "--batch", "--yes", "--clearsign", "-o", str(dists / "InRelease"),
         str(dists / "Release")],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    key = repo.folder.parent / "probe-key.gpg"
    key.write_bytes(
        subprocess.run(
            ["gpg", "--batch", "--export"], env=env, check=True, capture_output=True
        ).stdout
    )
    repo.key = key
    return repo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """An unsigned local repository, with fetch pointed at it and a fresh cache."""
    _need("apt-get", "apt-cache", "dpkg", "dpkg-deb")
    if not any(p.is_file() for p in archive.KEYRING_PATHS):
        pytest.skip("Debian's archive keyring is not on this machine")
    made = make_repo(tmp_path / "archive", "probesuite", "libprobe1", "libprobe.so.1")
    monkeypatch.setenv("SSLCONFORM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(archive.MIRROR_ENV, made.uri)
    monkeypatch.setitem(fetch_module.SOURCES, "probe", made.source())
    return made


def _refused(err: pytest.ExceptionInfo[Unavailable], repo: Repo) -> None:
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith(f"probe: refused Debian's archive at {repo.uri} ({repo.suite})"), text
    assert "not signed by Debian's archive keyring" in text


def test_an_unsigned_archive_is_refused(repo: Repo) -> None:
    with pytest.raises(apt.UnverifiedArchive) as err:
        fetch("probe")
    _refused(err, repo)
    assert str(err.value).endswith(
        f"(The repository '{repo.uri.replace('file://', 'file:')} "
        f"{repo.suite} Release' is not signed.)"
    )
    assert not (Path(os.environ["SSLCONFORM_CACHE"]) / "libs" / "probe").exists()


def test_an_archive_signed_by_another_key_is_refused(repo: Repo, gnupg: dict[str, str]) -> None:
    sign(repo, gnupg)
    with pytest.raises(apt.UnverifiedArchive) as err:
        fetch("probe")
    _refused(err, repo)
    assert re.search(r"\(NO_PUBKEY [0-9A-F]{16}\)$", str(err.value)), str(err.value)


def test_the_same_archive_is_accepted_with_its_own_key_as_the_keyring(
    repo: Repo, gnupg: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    debian = archive.KEYRING_PATHS
    sign(repo, gnupg)
    assert repo.key is not None
    monkeypatch.setattr(archive, "KEYRING_PATHS", (repo.key,))
    got = fetch("probe")
    assert (got.version, got.reused) == ("1.0-1", False)
    assert Path(got.files[0]).name == "libprobe.so.1" and Path(got.files[0]).is_file()
    manifest = json.loads(
        (Path(os.environ["SSLCONFORM_CACHE"]) / "libs/probe/manifest.json").read_text()
    )
    assert (manifest["archive"], manifest["verified_by"]) == (repo.uri, str(repo.key))
    assert fetch("probe").reused
    # The archive now answers with a signature Debian's keyring does not know: an earlier
    # verified copy is no reason to go on.
    monkeypatch.setattr(archive, "KEYRING_PATHS", debian)
    with pytest.raises(apt.UnverifiedArchive):
        fetch("probe")


def test_a_cached_fetch_from_before_verification_is_fetched_again(
    repo: Repo, gnupg: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sign(repo, gnupg)
    assert repo.key is not None
    monkeypatch.setattr(archive, "KEYRING_PATHS", (repo.key,))
    fetch("probe")
    path = Path(os.environ["SSLCONFORM_CACHE"]) / "libs" / "probe" / "manifest.json"
    old = json.loads(path.read_text())
    del old["verified_by"]
    path.write_text(json.dumps(old))
    assert not fetch("probe").reused


def test_the_run_writes_the_column_unavailable_with_the_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _need("apt-get", "apt-cache", "dpkg", "dpkg-deb")
    if not any(p.is_file() for p in archive.KEYRING_PATHS):
        pytest.skip("Debian's archive keyring is not on this machine")
    made = make_repo(tmp_path / "archive", "bullseye", "libssl1.1", "libssl.so.1.1")
    monkeypatch.setenv("SSLCONFORM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(archive.MIRROR_ENV, made.uri)
    out = tmp_path / "openssl111.json"
    assert cli.main(["run", "--backend", "openssl111", "--results", str(out)]) == 0
    column = json.loads(out.read_text())
    assert column["state"] == "unavailable"
    assert column["reason"].startswith(f"openssl111: refused Debian's archive at {made.uri}")
    assert "not signed by Debian's archive keyring" in column["reason"]


def test_build_rustls_refuses_an_unsigned_archive(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from backends.rustls import build

    unsigned = make_repo(tmp_path / "trixie-archive", build.SUITE, build.ROOT_PACKAGE, "x.so")
    monkeypatch.setenv(archive.MIRROR_ENV, unsigned.uri)
    with pytest.raises(apt.UnverifiedArchive, match=f"refused Debian's archive at {unsigned.uri}"):
        build.fetch_crates(tmp_path / "rustls-cache")


# --- glibc needs ----------------------------------------------------------------------


def _elf() -> Path:
    import _ctypes

    return Path(_ctypes.__file__)


def test_glibc_needs_come_from_the_version_needs_section(tmp_path: Path) -> None:
    needs = loader.glibc_needs(_elf())
    have = loader.system_glibc()
    assert needs >= (2, 2)
    assert have is None or needs <= have
    # A GLIBC_x.y string elsewhere in the file is no need: only .gnu.version_r counts.
    padded = tmp_path / "padded.so"
    padded.write_bytes(_elf().read_bytes() + b"\0GLIBC_9.99\0")
    assert loader.glibc_needs(padded) == needs


def test_a_file_that_is_not_elf_is_one_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "libnot.so"
    text.write_text("GLIBC_2.38\n")
    with pytest.raises(Unavailable, match=r"cannot read libnot\.so as an ELF file"):
        loader.glibc_needs(text)


def test_headers_and_glibc_itself_are_not_asked(tmp_path: Path) -> None:
    header = tmp_path / "ssl.h"
    header.write_text("#define GLIBC_9_99\n")
    assert loader.needed_glibc([header, _elf()]) == loader.glibc_needs(_elf())


def test_the_prefix_puts_the_loaders_libc_first() -> None:
    assert loader.prefix("/g", "/l") == ("/g/ld-linux-x86-64.so.2", "--library-path", "/g:/l")


# --- AWS-LC's build, on a stand-in source -----------------------------------------------

# A CMake project laid out as aws-lc is: targets crypto and ssl in crypto/ and ssl/.
STAND_IN = {
    "CMakeLists.txt": "cmake_minimum_required(VERSION 3.10)\nproject(standin C)\n"
    "add_subdirectory(crypto)\nadd_subdirectory(ssl)\n",
    "crypto/CMakeLists.txt": "add_library(crypto crypto.c)\n",
    "crypto/crypto.c": 'const char *OpenSSL_version(int t) { (void)t; return "stand-in"; }\n',
    "ssl/CMakeLists.txt": "add_library(ssl ssl.c)\ntarget_link_libraries(ssl crypto)\n",
    "ssl/ssl.c": "const char *OpenSSL_version(int);\n"
    "const char *SSL_version_of_crypto(void) { return OpenSSL_version(0); }\n",
}


@pytest.fixture
def awslc_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    _need("apt-get", "apt-cache", "dpkg", "dpkg-deb")
    from conformance.provision import awslc

    where = "usr/share/cargo/registry/aws-lc-sys-0.0.1/aws-lc"
    files = {f"{where}/{name}": text.encode() for name, text in STAND_IN.items()}
    made = make_repo_of(tmp_path / "archive", awslc.SUITE, awslc.PACKAGE, files)
    monkeypatch.setenv(archive.MIRROR_ENV, made.uri)
    return made


def test_build_awslc_refuses_an_unsigned_archive(awslc_repo: Repo, tmp_path: Path) -> None:
    from conformance.provision import awslc

    if not any(p.is_file() for p in archive.KEYRING_PATHS):
        pytest.skip("Debian's archive keyring is not on this machine")
    with pytest.raises(apt.UnverifiedArchive, match=r"refused Debian's archive at file:"):
        awslc.build(tmp_path / "cache")
    assert not (tmp_path / "cache" / "lib").exists()


def test_build_awslc_builds_and_keeps_ssl_and_crypto(
    awslc_repo: Repo, gnupg: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conformance.provision import awslc

    _need("cc")
    try:
        for name in ("cmake", "ninja"):
            awslc.tool(name)
    except Unavailable as err:
        pytest.skip(str(err))
    sign(awslc_repo, gnupg)
    assert awslc_repo.key is not None
    monkeypatch.setattr(archive, "KEYRING_PATHS", (awslc_repo.key,))
    got = awslc.build(tmp_path / "cache")
    assert (got.version, got.reused, got.verified_by) == ("1.0-1", False, str(awslc_repo.key))
    assert [Path(f).name for f in got.files] == ["libcrypto.so", "libssl.so"]
    probe = (
        "import ctypes, sys; ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL); "
        "ssl = ctypes.CDLL(sys.argv[2]); ssl.SSL_version_of_crypto.restype = ctypes.c_char_p; "
        "print(ssl.SSL_version_of_crypto().decode())"
    )
    done = subprocess.run(
        [loader.python_executable(), "-c", probe, *got.files],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "stand-in"
    again = awslc.build(tmp_path / "cache")
    assert again.reused and again.files == got.files
    # The archive out of reach: the earlier build stands.
    monkeypatch.setenv(archive.MIRROR_ENV, "http://127.0.0.1:9/debian")
    assert awslc.build(tmp_path / "cache").files == got.files


def test_build_awslc_without_cmake_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from conformance.provision import awslc

    monkeypatch.setattr(awslc.sysconfig, "get_path", lambda _name: str(tmp_path))
    monkeypatch.setattr(awslc.shutil, "which", lambda _name: None)
    with pytest.raises(Unavailable, match=r"cmake not found: building AWS-LC needs cmake"):
        awslc.tool("cmake")


def test_an_update_stands_for_a_while_and_not_across_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One package-index update per suite serves the fetches of one `tox -p`; another
    archive, an old update, or no index at all means updating again (and forgetting the
    answers apt-cache gave for the old index)."""
    monkeypatch.setattr(archive, "archive_keyring", lambda: Path("/usr/share/keyrings/k.gpg"))
    monkeypatch.setenv(archive.MIRROR_ENV, "http://one.example/debian")
    updates: list[str] = []

    def fake_update(self: apt.PrivateApt) -> None:
        updates.append(self.archive)
        (self.root / "lists" / "x_Packages").write_text("")

    monkeypatch.setattr(apt.PrivateApt, "_update", fake_update)
    private = apt.PrivateApt(tmp_path, "trixie")
    private.update()
    (tmp_path / apt.ANSWERS).mkdir()
    (tmp_path / apt.ANSWERS / "libssl3t64").write_text("kept")
    private.update()
    assert updates == ["http://one.example/debian"]
    assert (tmp_path / apt.ANSWERS / "libssl3t64").exists()
    monkeypatch.setenv(archive.MIRROR_ENV, "http://two.example/debian")
    apt.PrivateApt(tmp_path, "trixie").update()
    assert updates[-1] == "http://two.example/debian" and len(updates) == 2
    assert not (tmp_path / apt.ANSWERS).exists()
    monkeypatch.setattr(apt, "FRESH", 0.0)
    apt.PrivateApt(tmp_path, "trixie").update()
    assert len(updates) == 3
