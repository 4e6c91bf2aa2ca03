"""Build AWS-LC's libssl and libcrypto from Debian's aws-lc-sys crate source, and cache it.

Debian ships no AWS-LC library, but its `librust-aws-lc-sys-dev` (sid) carries the whole
AWS-LC C source, with pre-generated assembly, under
usr/share/cargo/registry/aws-lc-sys-*/aws-lc. The build:

1. resolves the package's newest revision in SUITE and downloads it with the project's
   private apt (`conformance.provision.apt`: verified against Debian's archive keyring);
2. unpacks it with dpkg -x, and configures aws-lc with cmake (Ninja, shared libraries,
   no tests, no Go or Perl: the generated sources are used as they are);
3. builds the `ssl` and `crypto` targets and keeps build/ssl/libssl.so and
   build/crypto/libcrypto.so under lib/VERSION, with the source's include/ as
   lib/VERSION/usr/include and a manifest saying what they came from.

The libraries have no soname: a loader loads libcrypto.so first, RTLD_GLOBAL. cmake and
ninja come from the Python environment (the PyPI wheels `cmake` and `ninja` put them beside
the interpreter) or from PATH. Everything lives under $SSLCONFORM_CACHE/awslc or
~/.cache/sslconform/awslc; a revision built once is not built again, and when the archive
cannot be reached the newest earlier build is used.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from conformance.library import Unavailable
from conformance.provision import apt
from conformance.provision import cache as provision_cache

SUITE = "sid"
PACKAGE = "librust-aws-lc-sys-dev"
SOURCE_GLOB = "usr/share/cargo/registry/aws-lc-sys-*/aws-lc/CMakeLists.txt"
CMAKE_OPTIONS = (
    "-G", "Ninja",
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=ON",
    "-DBUILD_TESTING=OFF",
    "-DDISABLE_GO=ON",
    "-DDISABLE_PERL=ON",
    "-DBUILD_TOOL=OFF",
)  # fmt: skip
# What the build leaves, relative to the build folder, and the names they are kept under.
OUTPUTS = (("crypto/libcrypto.so", "libcrypto.so"), ("ssl/libssl.so", "libssl.so"))
MANIFEST = "manifest.json"

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class Built:
    version: str  # Debian's version of the crate package ("0.42.0+dfsg-1")
    lib_dir: str
    files: tuple[str, ...]  # libcrypto.so, libssl.so: load in this order
    archive: str
    verified_by: str
    reused: bool = False


def cache_root() -> Path:
    return provision_cache.cache_root() / "awslc"


def tool(name: str) -> str:
    """cmake or ninja: the Python environment's own (PyPI's wheels), else PATH's."""
    beside = Path(sysconfig.get_path("scripts")) / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise Unavailable(
            f"{name} not found: building AWS-LC needs cmake and ninja "
            "(pip install cmake ninja) and a C compiler"
        )
    return found


def _read_manifest(folder: Path) -> Built | None:
    try:
        data = json.loads((folder / MANIFEST).read_text())
        built = Built(**{**data, "files": tuple(data["files"]), "reused": True})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not built.verified_by or not all(Path(f).is_file() for f in built.files):
        return None
    return built


def _newest_built(cache: Path) -> Built | None:
    found = [b for b in map(_read_manifest, sorted((cache / "lib").glob("*"))) if b]
    return found[-1] if found else None


def _run(argv: list[str], what: str, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise Unavailable(f"{what}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        lines = [ln.strip() for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower()] or lines[-1:]
        raise Unavailable(f"{what} failed: {errors[0] if errors else done.returncode}")


def _compile(source: Path, work: Path, log: Log) -> Path:
    cmake, ninja = tool("cmake"), tool("ninja")
    build_dir = work / "build"
    log(f"cmake: configuring {source}")
    _run(
        [cmake, "-S", str(source), "-B", str(build_dir), *CMAKE_OPTIONS,
         f"-DCMAKE_MAKE_PROGRAM={ninja}"],
        "cmake",
    )  # fmt: skip
    jobs = str(os.cpu_count() or 1)
    log(f"ninja -j {jobs}: ssl crypto")
    _run([ninja, "-C", str(build_dir), "-j", jobs, "ssl", "crypto"], "ninja")
    return build_dir


def _build_version(cache: Path, private: apt.PrivateApt, version: str, log: Log) -> Built:
    dest = cache / "lib" / version
    work = Path(tempfile.mkdtemp(prefix="build-", dir=cache))
    try:
        log(f"apt-get download {PACKAGE}={version}")
        with private.locked():
            deb = private.download([f"{PACKAGE}={version}"], work / "debs")[-1]
        apt.unpack(deb, work / "root")
        sources = sorted((work / "root").glob(SOURCE_GLOB))
        if not sources:
            raise Unavailable(f"{PACKAGE} {version} holds no aws-lc source ({SOURCE_GLOB})")
        build_dir = _compile(sources[-1].parent, work, log)
        staging = work / "lib"
        staging.mkdir()
        files = []
        for built, name in OUTPUTS:
            if not (build_dir / built).is_file():
                raise Unavailable(f"the AWS-LC build produced no {built}")
            shutil.copy2(build_dir / built, staging / name)
            files.append(str(dest / name))
        # The headers stay with the libraries: reproducers are compiled against them.
        if (sources[-1].parent / "include").is_dir():
            shutil.copytree(sources[-1].parent / "include", staging / "usr" / "include")
        result = Built(version, str(dest), tuple(files), private.archive, str(private.keyring))
        record = {k: v for k, v in asdict(result).items() if k != "reused"}
        (staging / MANIFEST).write_text(json.dumps(record, indent=2) + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(dest)  # a loader sees the whole folder or none of it
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def build(cache: Path | None = None, log: Log = _quiet) -> Built:
    """AWS-LC's libraries for the newest revision in SUITE: cached, or built now."""
    cache = cache or cache_root()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        apt.require_tools()
        private = apt.PrivateApt(cache / "apt" / SUITE, SUITE)
        # One build at a time: a cold one takes minutes on two cores.
        with open(cache / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                with private.locked():
                    log(f"apt-get update ({SUITE})")
                    private.update()
                    version = private.newest(PACKAGE)
            except apt.ArchiveUnreachable:
                earlier = _newest_built(cache)
                if earlier is None:
                    raise
                return earlier
            cached = _read_manifest(cache / "lib" / version)
            if cached is not None:
                return cached
            return _build_version(cache, private, version, log)
    except OSError as exc:
        raise Unavailable(f"cache {cache}: {exc.strerror or exc}") from None


# --- command line ------------------------------------------------------------------


def _command(args: argparse.Namespace) -> int:
    cache = Path(args.cache) / "awslc" if args.cache else None
    start = time.monotonic()
    try:
        got = build(cache, log=lambda msg: print(f"awslc: {msg}", file=sys.stderr))
    except Unavailable as exc:
        print(f"awslc: unavailable: {exc}", file=sys.stderr)
        return 1 if args.require else 0
    how = "cached" if got.reused else "built"
    print(f"awslc: {PACKAGE} {got.version} {how} in {got.lib_dir} "
          f"({time.monotonic() - start:.1f} s)")  # fmt: skip
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = provision_cache.build_command(
        sub,
        "build-awslc",
        "build AWS-LC's libssl and libcrypto from Debian's crate source (cached)",
        __doc__,
        "AWS-LC",
    )
    parser.set_defaults(func=_command)
