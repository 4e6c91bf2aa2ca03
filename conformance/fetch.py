"""Fetch the libraries under test from Debian's archive into a user cache folder.

Each entry of `SOURCES` names a Debian binary package in one suite. `fetch(name)`
resolves the package's newest revision in that suite, downloads it, unpacks it with
`dpkg -x` and checks that the shared objects the adapters load are there. apt runs with a
private configuration under the cache folder, against the machine's own Debian archive,
and verifies every download against Debian's archive keyring (`conformance.provision`).
A manifest beside the unpacked tree records what was fetched and that it was verified, so
the next run reuses it when the revision has not moved (and when the archive cannot be
reached at all; never when the archive answered with something the keyring does not sign).

Libraries built against a newer glibc than the machine's cannot be loaded by the
machine's loader. For those `Fetched.loader` is the argv prefix that runs a program
under trixie's loader and libc instead (see `worker_command`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from conformance.library import Unavailable
from conformance.provision import apt, loader
from conformance.provision.apt import ArchiveUnreachable, PrivateApt
from conformance.provision.cache import cache_root
from conformance.provision.loader import python_executable

__all__ = ["SOURCES", "Fetched", "Source", "cache_root", "fetch", "python_executable"]

MANIFEST = "manifest.json"
# Bumped when the layout of the cache or of the manifest changes.
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Source:
    name: str
    package: str
    suite: str
    # Paths the adapter needs, relative to one folder of the package (which becomes
    # Fetched.lib_dir): shared objects by name, headers as "openssl/ssl.h".
    files: tuple[str, ...]
    summary: str
    # A library the machine may already have: used instead of fetching when present.
    system_dir: str | None = None


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "openssl111",
            "libssl1.1",
            "bullseye",
            ("libssl.so.1.1", "libcrypto.so.1.1"),
            "OpenSSL 1.1.1",
        ),
        Source(
            "openssl35", "libssl3t64", "trixie", ("libssl.so.3", "libcrypto.so.3"), "OpenSSL 3.5"
        ),
        Source("openssl36", "libssl3t64", "sid", ("libssl.so.3", "libcrypto.so.3"), "OpenSSL 3.6"),
        Source(
            "openssl40", "libssl4", "experimental", ("libssl.so.4", "libcrypto.so.4"), "OpenSSL 4.0"
        ),
        Source(
            "boringssl",
            "android-libboringssl",
            "trixie",
            ("libssl.so.0", "libcrypto.so.0"),
            "BoringSSL (Android's build)",
        ),
        Source("wolfssl", "libwolfssl35", "bookworm", ("libwolfssl.so.35",), "wolfSSL 5.5"),
        # Built against glibc 2.38: run under GLIBC_SOURCE's loader, as OpenSSL 3.5+ are.
        Source("wolfssl57", "libwolfssl42t64", "trixie", ("libwolfssl.so.42",), "wolfSSL 5.7.2"),
        Source("wolfssl59", "libwolfssl45", "sid", ("libwolfssl.so.45",), "wolfSSL 5.9.2"),
        Source(
            "boringssl10",
            "android-libboringssl",
            "bullseye",
            ("libssl.so.0", "libcrypto.so.0"),
            "BoringSSL (Android 10's build)",
        ),
        Source(
            "gnutls",
            "libgnutls-openssl27",
            "bookworm",
            ("libgnutls-openssl.so.27",),
            "GnuTLS's OpenSSL compatibility layer",
            system_dir="/usr/lib/x86_64-linux-gnu",
        ),
        Source(
            "glibc241",
            "libc6",
            "trixie",
            ("ld-linux-x86-64.so.2", "libc.so.6"),
            "glibc 2.41: the loader for libraries built against glibc 2.38 or newer",
        ),
        # Headers, to check ctrl numbers and constants against the library's own word.
        Source(
            "wolfssl-headers",
            "libwolfssl-dev",
            "bookworm",
            ("wolfssl/openssl/ssl.h", "wolfssl/ssl.h"),
            "wolfSSL 5.5 headers",
        ),
        Source(
            "wolfssl57-headers",
            "libwolfssl-dev",
            "trixie",
            ("wolfssl/openssl/ssl.h", "wolfssl/ssl.h"),
            "wolfSSL 5.7.2 headers",
        ),
        Source(
            "wolfssl59-headers",
            "libwolfssl-dev",
            "sid",
            ("wolfssl/openssl/ssl.h", "wolfssl/ssl.h"),
            "wolfSSL 5.9.2 headers",
        ),
        Source(
            "boringssl10-headers",
            "android-libboringssl-dev",
            "bullseye",
            ("openssl/ssl.h", "openssl/base.h"),
            "BoringSSL headers (Android 10's)",
        ),
        # AWS-LC's library is built (conformance.provision.awslc); its headers are in the
        # crate source it is built from.
        Source(
            "awslc-headers",
            "librust-aws-lc-sys-dev",
            "sid",
            ("openssl/ssl.h", "openssl/base.h"),
            "AWS-LC headers (the aws-lc-sys crate's source)",
        ),
        Source(
            "boringssl-headers",
            "android-libboringssl-dev",
            "trixie",
            ("openssl/ssl.h", "openssl/base.h"),
            "BoringSSL headers (Android's)",
        ),
        Source(
            "openssl111-headers",
            "libssl-dev",
            "bullseye",
            ("openssl/ssl.h",),
            "OpenSSL 1.1.1 headers",
        ),
        Source(
            "openssl35-headers", "libssl-dev", "trixie", ("openssl/ssl.h",), "OpenSSL 3.5 headers"
        ),
        Source("openssl36-headers", "libssl-dev", "sid", ("openssl/ssl.h",), "OpenSSL 3.6 headers"),
        Source(
            "openssl40-headers",
            "libssl-dev",
            "experimental",
            ("openssl/ssl.h",),
            "OpenSSL 4.0 headers",
        ),
    )
}

# The loader library the newer-glibc libraries run under.
GLIBC_SOURCE = "glibc241"
# Fetched libraries that read an OpenSSL configuration file at start.
READS_OPENSSL_CONF = ("openssl111", "openssl35", "openssl36", "openssl40")


@dataclass(frozen=True)
class Fetched:
    name: str
    package: str
    version: str  # Debian's version of the package ("3.5.9-1~deb13u1")
    lib_dir: str  # the folder that holds every file of Source.files
    files: tuple[str, ...]  # absolute paths of those files
    # argv prefix that runs a program with the library loadable: trixie's loader with its
    # libc first on the library path. None: the machine's own loader will do.
    loader: tuple[str, ...] | None = None
    reused: bool = False  # came from the cache without downloading
    system: bool = False  # the machine's own copy, not fetched
    # Environment for the process that loads it. A fetched OpenSSL reads no
    # configuration (OPENSSL_CONF names an empty file): the machine's openssl.cnf was
    # written for its own OpenSSL, and a column should show the library's defaults.
    env: dict[str, str] = field(default_factory=dict)


# --- the manifest and the cache ------------------------------------------------------


def _read_manifest(folder: Path, source: Source) -> dict[str, object] | None:
    """The manifest of a whole, verified earlier fetch of `source`; None otherwise."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    if data.get("package") != source.package or data.get("wanted") != list(source.files):
        return None
    # Fetches from before downloads were verified carry no keyring: fetched again.
    if not data.get("verified_by"):
        return None
    files = data.get("files")
    if not isinstance(files, list) or not all(
        isinstance(f, str) and Path(f).exists() for f in files
    ):
        return None
    return data


def _from_manifest(source: Source, data: dict[str, object], reused: bool) -> Fetched:
    files = tuple(str(f) for f in data["files"])  # type: ignore[attr-defined]
    return Fetched(
        name=source.name,
        package=source.package,
        version=str(data["version"]),
        lib_dir=str(data["lib_dir"]),
        files=files,
        reused=reused,
    )


def _locate(tree: Path, files: tuple[str, ...]) -> Path:
    """The folder of the unpacked tree that holds all of `files` (real files or links)."""
    depth = len(Path(files[0]).parts)
    for candidate in sorted(tree.rglob(files[0])):
        folder = candidate.parents[depth - 1]
        if all((folder / f).exists() for f in files):
            return folder
    raise Unavailable(f"the package does not hold {', '.join(files)} in one folder")


def _check_elf(paths: list[Path]) -> None:
    for path in paths:
        if path.suffix == ".h":
            continue
        with path.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                raise Unavailable(f"{path.name} in the package is not an ELF shared object")


def _unpack(source: Source, private: PrivateApt, version: str, folder: Path) -> Fetched:
    """Download and unpack into a fresh folder, then swap it in for the old one."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{source.name}-", dir=folder.parent))
    try:
        deb = private.download([f"{source.package}={version}"], staging / "debs")[-1]
        tree = staging / "root"
        apt.unpack(deb, tree)
        lib_dir = _locate(tree, source.files)
        paths = [lib_dir / f for f in source.files]
        _check_elf(paths)
        final_lib_dir = folder / lib_dir.relative_to(staging)
        manifest = {
            "format": MANIFEST_FORMAT,
            "name": source.name,
            "package": source.package,
            "suite": source.suite,
            "version": version,
            "deb": deb.name,
            "archive": private.archive,
            "verified_by": str(private.keyring),
            "lib_dir": str(final_lib_dir),
            "wanted": list(source.files),
            "files": [str(final_lib_dir / f) for f in source.files],
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    data = _read_manifest(folder, source)
    if data is None:
        raise Unavailable(f"unpacked {source.package} {version} but its files are not there")
    return _from_manifest(source, data, reused=False)


def _installed_version(package: str) -> str:
    """Debian's version of an installed package, or "system" when dpkg cannot say."""
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "system"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "system"


def _fetch_files(source: Source) -> Fetched:
    if source.system_dir is not None:
        folder = Path(source.system_dir)
        if all((folder / f).exists() for f in source.files):
            return Fetched(
                name=source.name,
                package=source.package,
                version=_installed_version(source.package),
                lib_dir=str(folder),
                files=tuple(str(folder / f) for f in source.files),
                system=True,
            )
    try:
        apt.require_tools()
        # One private apt state per suite, so `madison` only ever answers for that suite.
        private = PrivateApt(cache_root() / "apt" / source.suite, source.suite)
    except Unavailable as err:
        raise type(err)(f"{source.name}: {err}") from None
    # tox -p fetches for several columns at once, and apt's state for a suite is shared.
    with private.locked():
        return _fetch_locked(source, private)


def _fetch_locked(source: Source, private: PrivateApt) -> Fetched:
    folder = cache_root() / "libs" / source.name
    cached = _read_manifest(folder, source)
    try:
        private.update()
        version = private.newest(source.package)
    except ArchiveUnreachable as err:
        if cached is not None:
            # The archive is out of reach but an earlier verified fetch is whole: use it,
            # and say so through `reused`; its version is the one it was fetched at.
            return _from_manifest(source, cached, reused=True)
        raise type(err)(f"{source.name}: {err}") from None
    except Unavailable as err:  # a refused signature too: never the cache then
        raise type(err)(f"{source.name}: {err}") from None
    if cached is not None and cached.get("version") == version:
        return _from_manifest(source, cached, reused=True)
    try:
        return _unpack(source, private, version, folder)
    except Unavailable as err:
        raise type(err)(f"{source.name}: {err}") from None


def fetch(name: str) -> Fetched:
    """Make library `name` of `SOURCES` loadable here; raise Unavailable saying why not."""
    source = SOURCES.get(name)
    if source is None:
        raise Unavailable(f"unknown library {name!r}; known: {', '.join(sorted(SOURCES))}")
    got = _fetch_files(source)
    if name in READS_OPENSSL_CONF:
        got = replace(got, env={"OPENSSL_CONF": str(empty_openssl_conf())})
    if name == GLIBC_SOURCE or source.files[0].endswith(".h"):
        return got
    if not loader.needs_newer_glibc([Path(f) for f in got.files]):
        return got
    glibc = fetch(GLIBC_SOURCE)
    return replace(got, loader=loader.prefix(glibc.lib_dir, got.lib_dir))


def empty_openssl_conf() -> Path:
    path = cache_root() / "openssl-empty.cnf"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("# sslconform: no configuration, so the library shows its defaults\n")
    return path


def worker_command(fetched: Fetched | None, args: list[str]) -> list[str]:
    """argv that runs `python ARGS` with the fetched library loadable."""
    python = python_executable()
    if fetched is None or fetched.loader is None:
        return [python, *args]
    return [*fetched.loader, python, *args]


# --- `sslconform fetch NAME...` -------------------------------------------------------


def _cmd_fetch(args: argparse.Namespace) -> int:
    names: list[str] = args.names or sorted(n for n in SOURCES if not n.endswith("-headers"))
    failures = 0
    for name in names:
        try:
            got = fetch(name)
        except Unavailable as err:
            print(f"{name}: unavailable: {err}", file=sys.stderr)
            failures += 1
            continue
        if args.json:
            print(json.dumps(asdict(got), sort_keys=True))
            continue
        how = "cached" if got.reused else "fetched"
        if got.system:
            how = "installed"
        line = f"{name}: {got.package} {got.version} {how} in {got.lib_dir}"
        if got.loader:
            line += f" (run under {got.loader[0]})"
        print(line)
    return 1 if failures else 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "fetch",
        help="fetch libraries under test from Debian's archive into the cache",
        description=(
            "Fetch each library into "
            f"{cache_root()} ($SSLCONFORM_CACHE overrides). Known: {', '.join(sorted(SOURCES))}."
            " Without names: every library (not the headers)."
        ),
    )
    parser.add_argument("names", nargs="*", metavar="NAME")
    parser.add_argument("--json", action="store_true", help="one JSON object per library")
    parser.set_defaults(func=_cmd_fetch)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.fetch")
    sub = parser.add_subparsers(required=True)
    register(sub)
    args = parser.parse_args(["fetch", *(argv if argv is not None else sys.argv[1:])])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
