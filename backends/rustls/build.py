"""Build the rustls adapter's cdylib offline from Debian's crate sources, and cache it.

Debian packages every crate of rustls's dependency closure as librust-*-dev, whose
/usr/share/cargo/registry/ is a directory source cargo accepts as it is. The build:

1. resolves librust-rustls-dev's closure against SUITE with the project's private apt
   (`conformance.provision.apt`: the system's sources are never touched, and every
   download is verified against Debian's archive keyring) and downloads only the
   librust-* packages;
2. unpacks them with dpkg -x into one folder and points cargo at it through a cargo
   config ([source.crates-io] replaced by that directory, [net] offline);
3. runs `cargo build --offline --release` on a copy of this crate and keeps the .so
   under a key computed from the crate's own files, so an unchanged crate is not rebuilt.

Everything lives under $SSLCONFORM_CACHE/rustls or ~/.cache/sslconform/rustls. When cargo,
apt or the archive is missing, `Unavailable` says which, in one line.

This module is imported inside the worker process (the adapter builds on first load), so
it uses no module that maps libcrypto: zlib, not hashlib, keys the cache.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from conformance.library import Unavailable
from conformance.provision import apt
from conformance.provision import cache as provision_cache

SUITE = "trixie"  # Debian's rustls 0.23 (0.23.26); bookworm has only 0.21
ROOT_PACKAGE = "librust-rustls-dev"
LIB_NAME = "librustls_sslconform.so"
CRATE_DIR = Path(__file__).resolve().parent
CRATE_FILES = ("Cargo.toml", "build.rs", "src")

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def cache_root() -> Path:
    return provision_cache.cache_root() / "rustls"


def _crate_files() -> list[Path]:
    files: list[Path] = []
    for name in CRATE_FILES:
        path = CRATE_DIR / name
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
    return files


def source_key() -> str:
    """A key over the crate's files and the suite: a change to either means a rebuild.

    CRC-32 is enough to tell versions of a handful of files apart; it is no security check.
    """
    crc = zlib.crc32(SUITE.encode())
    for path in _crate_files():
        crc = zlib.crc32(str(path.relative_to(CRATE_DIR)).encode(), crc)
        crc = zlib.crc32(path.read_bytes(), crc)
    return f"{crc:08x}"


def cached_library(cache: Path | None = None) -> Path | None:
    path = (cache or cache_root()) / "lib" / source_key() / LIB_NAME
    return path if path.is_file() else None


def _run(
    cmd: list[str], what: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise Unavailable(f"{what}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith(("E:", "error", "Err:"))]
        detail = (errors or lines or [f"exit status {done.returncode}"])[0]
        raise Unavailable(f"{what} failed: {detail}")
    return done.stdout


def fetch_crates(cache: Path | None = None, log: Log = _quiet) -> Path:
    """The unpacked crate registry of librust-rustls-dev's closure; fetched once."""
    cache = cache or cache_root()
    crates = cache / "crates" / SUITE
    registry = crates / "usr" / "share" / "cargo" / "registry"
    # Written once every crate package is unpacked, and only by downloads verified against
    # Debian's archive keyring (crates fetched before that have no such marker).
    marker = crates / ".verified"
    if marker.is_file():
        return registry
    apt.require_tools()
    private = apt.PrivateApt(cache / "apt" / SUITE, SUITE)
    with private.locked():
        log(f"apt-get update ({SUITE})")
        private.update()
        # The closure as apt resolves it on an empty system; only the crate packages are
        # kept, the toolchain and libc packages it also lists are not needed.
        wanted = [
            f"{name}={version}"
            for name, version in private.closure(ROOT_PACKAGE)
            if name.startswith("librust-")
        ]
        if not any(w.startswith(f"{ROOT_PACKAGE}=") for w in wanted):
            raise Unavailable(f"{ROOT_PACKAGE} is not in Debian {SUITE}")
        debs = private.root / "debs"
        shutil.rmtree(debs, ignore_errors=True)
        log(f"apt-get download: {len(wanted)} crate packages")
        downloaded = private.download(wanted, debs)
    staging = Path(tempfile.mkdtemp(prefix="crates-", dir=cache))
    try:
        for deb in downloaded:
            apt.unpack(deb, staging)
        (staging / marker.name).write_text(
            "\n".join([f"archive: {private.archive}", f"verified-by: {private.keyring}", *wanted])
            + "\n"
        )
        shutil.rmtree(crates, ignore_errors=True)
        crates.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(crates)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return registry


def find_cargo() -> str:
    cargo = shutil.which("cargo")
    if cargo is None:
        # rustup's default place, which a non-login shell's PATH often lacks
        home_cargo = Path.home() / ".cargo" / "bin" / "cargo"
        if home_cargo.is_file():
            cargo = str(home_cargo)
    if cargo is None:
        raise Unavailable("cargo not found: a Rust toolchain is needed to build the adapter")
    return cargo


def _failure_note(cache: Path) -> Path:
    return cache / "unavailable" / f"{source_key()}.txt"


def build(cache: Path | None = None, log: Log = _quiet) -> Path:
    """The path of the built cdylib: the cached one, or a fresh offline build.

    When the build cannot be done, the reason is also kept in the cache, so that a
    worker that may not build (see `prebuilt`) can give the same reason.
    """
    cache = cache or cache_root()
    found = cached_library(cache)
    if found is not None:
        return found
    note = _failure_note(cache)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        # Test runs in parallel may build at once; they share the crate copy and target.
        with open(cache / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = _build(cache, log)
    except OSError as exc:
        raise Unavailable(f"cache {cache}: {exc.strerror or exc}") from None
    except Unavailable as exc:
        try:
            note.parent.mkdir(parents=True, exist_ok=True)
            note.write_text(f"{exc}\n")
        except OSError:
            pass  # the reason still reaches this caller; only a later worker misses it
        raise
    note.unlink(missing_ok=True)
    return path


def prebuilt(cache: Path | None = None) -> Path:
    """The cached cdylib, without building: a cold build takes about a minute, longer
    than a worker may take to start. Unavailable with the reason if there is none."""
    cache = cache or cache_root()
    found = cached_library(cache)
    if found is not None:
        return found
    find_cargo()
    note = _failure_note(cache)
    if note.is_file():
        raise Unavailable(note.read_text().strip())
    raise Unavailable("the rustls adapter is not built yet: run `sslconform build-rustls`")


def _build(cache: Path, log: Log) -> Path:
    found = cached_library(cache)
    if found is not None:
        return found
    cargo = find_cargo()
    if not (CRATE_DIR / "src" / "lib.rs").is_file():
        raise Unavailable(f"the crate's sources are not installed in {CRATE_DIR} (src/*.rs)")
    registry = fetch_crates(cache, log)
    key = source_key()
    work = cache / "build"
    crate = work / "crate"
    # One crate copy and one target folder: a changed crate rebuilds only itself.
    shutil.rmtree(crate, ignore_errors=True)
    crate.mkdir(parents=True)
    for name in CRATE_FILES:
        src = CRATE_DIR / name
        if src.is_dir():
            shutil.copytree(src, crate / name)
        elif src.is_file():
            shutil.copy2(src, crate / name)
    (crate / ".cargo").mkdir()
    (crate / ".cargo" / "config.toml").write_text(
        "[source.crates-io]\n"
        'replace-with = "debian"\n\n'
        "[source.debian]\n"
        f'directory = "{registry}"\n\n'
        "[net]\n"
        "offline = true\n"
    )
    env = dict(os.environ, CARGO_TARGET_DIR=str(work / "target"))
    log("cargo build --offline --release")
    _run([cargo, "build", "--offline", "--release"], "cargo build", cwd=crate, env=env)
    built = work / "target" / "release" / LIB_NAME
    if not built.is_file():
        raise Unavailable(f"cargo build produced no {LIB_NAME}")
    dest = cache / "lib" / key
    dest.mkdir(parents=True, exist_ok=True)
    tmp = dest / f".{LIB_NAME}.{os.getpid()}"
    shutil.copy2(built, tmp)
    tmp.rename(dest / LIB_NAME)  # atomic: a concurrent loader sees all of it or nothing
    return dest / LIB_NAME


# --- command line ------------------------------------------------------------------


def _command(args: argparse.Namespace) -> int:
    cache = Path(args.cache) / "rustls" if args.cache else None
    start = time.monotonic()
    try:
        path = build(cache, log=lambda msg: print(f"rustls: {msg}", file=sys.stderr))
    except Unavailable as exc:
        print(f"rustls: unavailable: {exc}", file=sys.stderr)
        return 1 if args.require else 0
    print(f"{path} ({time.monotonic() - start:.1f} s)")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = provision_cache.build_command(
        sub,
        "build-rustls",
        "build the rustls adapter offline from Debian's crate sources (cached)",
        __doc__,
        "the adapter",
    )
    parser.set_defaults(func=_command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backends.rustls.build")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["build-rustls", *(argv if argv is not None else sys.argv[1:])])
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
