"""Running a program under a newer glibc's loader when a library needs that glibc.

A shared object asks for the glibc versions it was linked against in its GNU version-needs
section (`.gnu.version_r`: one `GLIBC_x.y` entry per symbol version it binds to). When the
newest of those is newer than the machine's glibc, the machine's loader cannot load it;
running the whole program under a newer loader, with that loader's libc first on the
library path, can (`prefix`).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from conformance.library import Unavailable

LOADER = "ld-linux-x86-64.so.2"
_GLIBC_VERSION = re.compile(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?")


def glibc_needs(path: Path) -> tuple[int, int]:
    """The newest GLIBC_x.y the ELF file's version-needs section asks for; (0, 0) if none."""
    # Imported here: the worker imports this module for `python_executable` alone, and
    # pyelftools would add a quarter of its start-up time.
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    newest = (0, 0)
    try:
        with path.open("rb") as handle:
            for section in ELFFile(handle).iter_sections():
                if not isinstance(section, GNUVerNeedSection):
                    continue
                for _needed_file, versions in section.iter_versions():
                    for version in versions:
                        found = _GLIBC_VERSION.fullmatch(version.name)
                        if found:
                            newest = max(newest, (int(found.group(1)), int(found.group(2))))
    except (OSError, ELFError) as err:
        raise Unavailable(f"cannot read {path.name} as an ELF file: {err}") from None
    return newest


def needed_glibc(paths: list[Path]) -> tuple[int, int]:
    """The newest glibc any of the shared objects asks for (headers and glibc itself skipped)."""
    newest = (0, 0)
    for path in paths:
        if path.suffix == ".h" or path.name.startswith(("ld-linux", "libc.so")):
            continue
        newest = max(newest, glibc_needs(path))
    return newest


def system_glibc() -> tuple[int, int] | None:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        return None
    found = re.fullmatch(r"glibc (\d+)\.(\d+).*", text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def needs_newer_glibc(paths: list[Path]) -> bool:
    have = system_glibc()
    return have is None or needed_glibc(paths) > have


def prefix(glibc_dir: str, lib_dir: str) -> tuple[str, ...]:
    """argv prefix: the loader of `glibc_dir`, its libc first, then the library's folder."""
    return (str(Path(glibc_dir) / LOADER), "--library-path", f"{glibc_dir}:{lib_dir}")


def python_executable() -> str:
    """The interpreter to run under a foreign loader: an ELF file, never a shell shim.

    `sys.executable` is kept as given (not resolved), because inside a virtual
    environment the path is what tells Python where its site-packages are; the loader
    follows the symlink to the binary itself.
    """
    exe = sys.executable
    with open(os.path.realpath(exe), "rb") as handle:
        if handle.read(4) != b"\x7fELF":
            raise Unavailable(f"{exe} is not an ELF executable; cannot run it under a loader")
    return exe
