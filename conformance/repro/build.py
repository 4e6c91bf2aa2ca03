"""Build and run one C reproducer against the library a run measured.

`target_for` finds what the compiler needs: the library's own headers (the system's
for the system library; for a fetched one, the `NAME-headers` package unpacked beside
it by `sslconform fetch`), its folder for -L and -rpath, and the loader a newer glibc
needs (recorded by the run in LibraryInfo.loader). `build_and_run` compiles in a
scratch folder, runs the program and reads its verdict from the exit status:
1 reproduces, 0 does not. A missing compiler or header is `not-built` with the
compiler's own one-line message, never an exception.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from conformance.provision.cache import cache_root
from conformance.repro.family import Family
from conformance.repro.generate import Program
from conformance.results import LibraryInfo, Reproducer

COMPILER = "cc"
SYSTEM_INCLUDE = Path("/usr/include")
SYSTEM_LIB_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib", "/lib")
COMPILE_SECONDS = 120
RUN_SECONDS = 30
OUTPUT_LIMIT = 4000


@dataclass(frozen=True)
class Target:
    """Where a program is built and run: headers, libraries, loader."""

    includes: tuple[str, ...] = ()  # empty: the compiler's own search path
    lib_dir: str | None = None  # None: the system's libraries
    libraries: tuple[str, ...] = ("ssl", "crypto")  # what follows -l
    loader: tuple[str, ...] = ()  # argv prefix the program runs under
    problem: str | None = None  # why it cannot be built here (one line)

    def build_args(self, source: str, binary: str, flags: tuple[str, ...]) -> list[str]:
        args = [COMPILER, source, "-o", binary, *(f"-I{d}" for d in self.includes)]
        if self.lib_dir:
            # Every library stays a direct dependency, found through our rpath: some
            # (Debian's BoringSSL) point their own search path at a folder not there.
            args += [f"-L{self.lib_dir}", "-Wl,--no-as-needed"]
        args += [f"-l{lib}" for lib in self.libraries]
        args += flags
        if self.lib_dir:
            args.append(f"-Wl,-rpath,{self.lib_dir}")
        if self.loader:
            # The library wants a newer glibc than the toolchain's; the loader the
            # program runs under brings it.
            args.append("-Wl,--allow-shlib-undefined")
        return args


def _paths(path: str | None) -> list[Path]:
    """LibraryInfo.path: a folder, a file, or the files mapped, separated by commas."""
    return [Path(p.strip()) for p in (path or "").split(",") if p.strip()]


def _lib_dir(library: LibraryInfo) -> str | None:
    paths = _paths(library.path)
    if not paths:
        return None
    chosen = next((p for p in paths if "ssl" in p.name), paths[0])
    folder = chosen.parent if chosen.is_file() or ".so" in chosen.name else chosen
    return None if str(folder).rstrip("/") in SYSTEM_LIB_DIRS else str(folder)


def _link_name(lib_dir: str, stem: str) -> str | None:
    """`ssl` if libssl.so is there, else `:libssl.so.N` (runtime packages lack the link)."""
    folder = Path(lib_dir)
    if (folder / f"lib{stem}.so").exists():
        return stem
    versions = sorted(folder.glob(f"lib{stem}.so.*"), key=lambda p: len(p.name))
    return f":{versions[0].name}" if versions else None


def _headers_beside(lib_dir: Path, header: str) -> Path | None:
    """The include folder of `NAME-headers`, unpacked by `sslconform fetch` beside the
    library's own folder NAME (the library sits a few levels below it)."""
    for base in [lib_dir, *lib_dir.parents][:7]:
        if base == Path(base.anchor) or str(base) in ("/usr", "/usr/local"):
            break  # below the root only: /usr/include there is the system's
        for root in (base / "usr" / "include", base.parent / f"{base.name}-headers" / "root"):
            found = sorted(root.glob(f"**/{header}"), key=lambda p: len(p.parts))
            if found:
                include = found[0]
                for _ in header.split("/"):
                    include = include.parent
                return include
    return None


def _multiarch(include: Path) -> tuple[str, ...]:
    """Debian keeps opensslconf.h and configuration.h under include/<triplet>/."""
    return (str(include), *sorted(str(p) for p in include.glob("*-linux-gnu*") if p.is_dir()))


def _header_version(include: Path) -> str | None:
    try:
        text = (include / "openssl" / "opensslv.h").read_text(errors="replace")
    except OSError:
        return None
    for pattern in (
        r'OPENSSL_FULL_VERSION_STR\s+"([^"]+)"',
        r'OPENSSL_VERSION_TEXT\s+"OpenSSL ([^ "]+)',
    ):
        found = re.search(pattern, text)
        if found:
            return found.group(1)
    return None


def _fetched_name(lib_dir: str) -> str:
    """`NAME-headers` for a library the cache holds under libs/NAME/."""
    for folder in Path(lib_dir).parents:
        if folder.parent.name == "libs":
            return f"{folder.name}-headers"
    return "NAME-headers"


def target_for(library: LibraryInfo, family: Family) -> Target:
    """What building against `library` needs; `problem` says when it is not here."""
    lib_dir = _lib_dir(library)
    header = family.headers[0]
    loader = tuple(library.loader or ())
    if lib_dir is None:
        # The system's library and the compiler's own search path: without the headers
        # (libssl-dev, libgnutls28-dev, ...) the compiler says which one it misses.
        have = _header_version(SYSTEM_INCLUDE) if family.name == "OpenSSL" else None
        if have is not None and have not in library.version:
            return Target(
                libraries=family.libraries,
                problem=f"{SYSTEM_INCLUDE} has OpenSSL {have}'s headers, "
                f"the library is {library.version}",
            )
        return Target((), None, family.libraries, loader)
    if not Path(lib_dir).is_dir():
        return Target(
            libraries=family.libraries,
            problem=f"the library's folder {lib_dir} is not on this machine",
        )
    include = _headers_beside(Path(lib_dir), header)
    if include is None:
        return Target(
            libraries=family.libraries,
            problem=f"no <{header}> beside {lib_dir} (sslconform fetch {_fetched_name(lib_dir)})",
        )
    have = _header_version(include) if family.name == "OpenSSL" else None
    if have is not None and have not in library.version:
        return Target(
            libraries=family.libraries,
            problem=f"the headers at {include} are OpenSSL {have}, "
            f"the library is {library.version}",
        )
    libraries = []
    for stem in family.libraries:
        name = _link_name(lib_dir, stem)
        if name is None:
            return Target(libraries=family.libraries, problem=f"no lib{stem}.so* in {lib_dir}")
        libraries.append(name)
    return Target(_multiarch(include), lib_dir, tuple(libraries), loader)


def _first_line(text: str) -> str:
    """The compiler's or linker's own one-line reason (not the linker's summary)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for wanted in ("undefined reference", "error:", "error"):
        found = [ln for ln in lines if wanted in ln and "ld returned" not in ln]
        if found:
            return found[0][:200]
    return (lines[0] if lines else "")[:200]


def _output(text: str) -> str:
    text = text.rstrip()
    if len(text) <= OUTPUT_LIMIT:
        return text
    return text[: OUTPUT_LIMIT - 600] + "\n…\n" + text[-600:]


def _verdict(stdout: str, prefix: str) -> str | None:
    return next((ln for ln in stdout.splitlines() if ln.startswith(prefix)), None)


def _kept_binary(program: Program, target: Target, filename: str, stem: str) -> Path:
    """Where the binary of this source, built this way against these files, is kept: the
    same program is built once, not once per run (a column's reproducers are mostly the
    same from run to run). A library or header folder unpacked anew changes the key."""
    key = hashlib.sha256()
    key.update(program.source.encode())
    key.update(shlex.join(target.build_args(filename, stem, program.flags)).encode())
    for folder in (*target.includes, target.lib_dir or ""):
        with contextlib.suppress(OSError):
            key.update(str(os.stat(folder).st_mtime_ns).encode() if folder else b"system")
    if not target.lib_dir:
        for folder in SYSTEM_LIB_DIRS:  # the system's library, upgraded in place
            for lib in sorted(Path(folder).glob("libssl.so*")):
                with contextlib.suppress(OSError):
                    key.update(f"{lib}:{lib.stat().st_mtime_ns}".encode())
    return cache_root() / "repro" / key.hexdigest()[:32]


def _keep(binary: Path, kept: Path) -> None:
    with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_suffix(f".{os.getpid()}")
        shutil.copy2(binary, partial)
        partial.replace(kept)


def build_and_run(
    filename: str, program: Program, target: Target, env: Mapping[str, str]
) -> Reproducer:
    """Compile `program` as `filename` against `target`, run it, read its verdict."""
    stem = filename.removesuffix(".c")
    build = shlex.join(target.build_args(filename, stem, program.flags))
    shown_env = [f"{k}={v}" for k, v in sorted(env.items())]
    run = shlex.join([*shown_env, *target.loader, f"./{stem}"])

    def record(outcome: str, detail: str, output: str = "") -> Reproducer:
        return Reproducer(filename, program.source, build, run, outcome, detail, _output(output))  # type: ignore[arg-type]

    if target.problem:
        return record("not-built", target.problem)
    if shutil.which(COMPILER) is None:
        return record("not-built", f"no C compiler: {COMPILER} is not on PATH")
    with tempfile.TemporaryDirectory(prefix="sslconform-repro-") as work:
        (Path(work) / filename).write_text(program.source)
        kept = _kept_binary(program, target, filename, stem)
        if kept.exists():
            shutil.copy2(kept, Path(work) / stem)
        else:
            try:
                built = subprocess.run(
                    target.build_args(filename, stem, program.flags),
                    cwd=work,
                    capture_output=True,
                    text=True,
                    errors="replace",
                    timeout=COMPILE_SECONDS,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return record("not-built", f"the compiler did not run: {exc}")
            if built.returncode != 0:
                return record("not-built", _first_line(built.stderr), built.stderr)
            _keep(Path(work) / stem, kept)
        try:
            ran = subprocess.run(
                [*target.loader, str(Path(work) / stem)],
                cwd=work,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                errors="replace",
                timeout=RUN_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return record("does-not-reproduce", f"the program did not finish in {RUN_SECONDS} s")
        except OSError as exc:
            return record("not-built", f"built, but it cannot run here: {exc}")
    output = ran.stdout + (("\n" + ran.stderr) if ran.stderr.strip() else "")
    if ran.returncode == 1 and (line := _verdict(ran.stdout, "broken:")):
        return record("reproduces", line, output)
    if ran.returncode == 0 and (line := _verdict(ran.stdout, "kept:")):
        return record("does-not-reproduce", line, output)
    if ran.returncode == 2 and (line := _verdict(ran.stdout, "cannot run:")):
        return record("does-not-reproduce", line, output)
    if "GLIBC_" in ran.stderr or "cannot open shared object" in ran.stderr:
        return record(
            "not-built", f"built, but it cannot run here: {_first_line(ran.stderr)}", output
        )
    if ran.returncode < 0:
        how = signal.Signals(-ran.returncode).name
        return record("does-not-reproduce", f"the program itself died by {how}", output)
    return record("does-not-reproduce", f"the program exited {ran.returncode}", output)
