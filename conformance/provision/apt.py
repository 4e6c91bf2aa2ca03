"""apt with a private configuration: one suite of Debian's archive, verified, under a folder.

`PrivateApt(root, suite)` keeps its sources.list, package lists, download cache and an
empty package status under `root`, so the machine's own sources and state are never read
or changed and no root is needed. Its one source is the machine's Debian archive
(`archive.archive_uri`) for `suite`, `signed-by` Debian's archive keyring: apt checks the
Release file's signature against that keyring alone, and every package it downloads
against the hashes of that Release file. A source that is unsigned, or signed by another
key, is refused with `UnverifiedArchive`, in one line.

Nothing here imports a module that maps libcrypto: the rustls adapter's build runs this
inside a worker process.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

from conformance.library import Unavailable
from conformance.provision import archive

TOOLS = ("apt-get", "apt-cache", "dpkg")
LOCK = "sslconform.lock"
ANSWERS = "sslconform.madison"  # apt-cache madison's answers for the current index
UPDATED = "sslconform.updated"  # the sources of the last verified update, at its time
FRESH = float(os.environ.get("SSLCONFORM_APT_FRESH", 600))  # seconds an update stands

# What apt says when a Release file is unsigned or its signature does not check out
# against the keyring, and gpgv's status word for why (NO_PUBKEY KEYID, BADSIG KEYID, ...).
_SIGNATURE_TROUBLE = re.compile(
    r"is not signed|GPG error|signatures were invalid|signatures couldn't be verified"
)
_SIGNATURE_STATUS = re.compile(
    r"\b(?:NO_PUBKEY|BADSIG|EXPKEYSIG|REVKEYSIG|EXPSIG|ERRSIG) [0-9A-F]+|\bNODATA\b"
)


class ArchiveUnreachable(Unavailable):
    """The archive could not be asked: no network, no such host, a time-out."""


class UnverifiedArchive(Unavailable):
    """The archive answered with a Release file that Debian's keyring does not sign."""


def require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise Unavailable(
            f"needs Debian's {', '.join(missing)} to fetch from Debian's archive "
            "(this machine is not Debian-based)"
        )


def _failure_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [ln.strip() for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]


def run(argv: list[str], cwd: Path | None = None, timeout: float = 300) -> str:
    """stdout of the command; Unavailable with its first error line when it fails."""
    done = _completed(argv, cwd, timeout)
    if done.returncode != 0:
        lines = _failure_lines(done)
        errors = [ln for ln in lines if ln.startswith(("E:", "W:", "dpkg", "Err:"))] or lines[-1:]
        why = errors[0] if errors else f"exit status {done.returncode}"
        raise Unavailable(f"{Path(argv[0]).name} failed: {why}")
    return done.stdout


def _completed(
    argv: list[str], cwd: Path | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"},
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{' '.join(argv[:2])} took longer than {timeout:.0f} s") from None
    except OSError as err:
        raise Unavailable(f"cannot run {argv[0]}: {err.strerror}") from None


def unpack(deb: Path, dest: Path) -> None:
    """dpkg -x: the package's files under `dest`, nothing run, nothing installed."""
    run(["dpkg", "-x", str(deb), str(dest)])


class PrivateApt:
    """One suite of Debian's archive through apt, with all of apt's state under `root`."""

    def __init__(self, root: Path, suite: str) -> None:
        self.root = root
        self.suite = suite
        self.archive = archive.archive_uri()
        self.keyring = archive.archive_keyring()
        (root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (root / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        status = root / "status"
        if not status.exists():
            # An empty package status: what apt resolves must not depend on this machine.
            status.write_text("")
        sources = root / "sources.list"
        line = f"deb [signed-by={self.keyring}] {self.archive} {suite} main\n"
        if not sources.exists() or sources.read_text() != line:
            sources.write_text(line)

    def options(self) -> list[str]:
        return [
            "-o", f"Dir::Etc::sourcelist={self.root / 'sources.list'}",
            "-o", "Dir::Etc::sourceparts=-",
            "-o", f"Dir::State::Lists={self.root / 'lists'}",
            "-o", f"Dir::Cache={self.root / 'cache'}",
            "-o", f"Dir::State::status={self.root / 'status'}",
            # The lock is ours (`locked`): apt's own would want root for nothing.
            "-o", "Debug::NoLocking=1",
            "-o", "Acquire::Retries=0",
            "-o", "Acquire::http::Timeout=20",
            "-o", "APT::Update::Error-Mode=any",
            # Whatever the machine's configuration says: signed sources and packages only.
            "-o", "Acquire::AllowInsecureRepositories=false",
            "-o", "Acquire::AllowDowngradeToInsecureRepositories=false",
            "-o", "Acquire::AllowWeakRepositories=false",
            "-o", "APT::Get::AllowUnauthenticated=false",
            # Only the binary package indices: no translations, no Contents.
            "-o", "Acquire::Languages=none",
            "-o", "Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false",
        ]  # fmt: skip

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One user of this apt state at a time (tox -p fetches for several columns)."""
        with (self.root / LOCK).open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _where(self) -> str:
        return f"Debian's archive at {self.archive} ({self.suite})"

    def update(self) -> None:
        """Fetch and verify the suite's Release file and package index, unless this same
        source (archive, suite, keyring) was fetched and verified less than FRESH seconds
        ago: the archive changes a few times a day, and `tox -p` fetches for many columns
        within a minute, one at a time per suite."""
        marker = self.root / UPDATED
        sources = (self.root / "sources.list").read_text()
        if (
            marker.exists()
            and marker.read_text() == sources
            and time.time() - marker.stat().st_mtime < FRESH
            and any((self.root / "lists").glob("*_Packages*"))
        ):
            return
        marker.unlink(missing_ok=True)
        shutil.rmtree(self.root / ANSWERS, ignore_errors=True)  # they were of the old index
        self._update()
        marker.write_text(sources)

    def _update(self) -> None:
        done = _completed(["apt-get", *self.options(), "update"], None, 300)
        lines = _failure_lines(done)
        if done.returncode != 0:
            signature = [ln for ln in lines if _SIGNATURE_TROUBLE.search(ln)]
            if signature:
                status = _SIGNATURE_STATUS.search(" ".join(signature))
                # gpgv's word when there is one, else apt's E: line ("... is not signed.")
                told = [ln for ln in signature if ln.startswith("E:")] or signature
                why = status.group(0) if status else told[0]
                raise UnverifiedArchive(
                    f"refused {self._where()}: its Release file is not signed by Debian's "
                    f"archive keyring {self.keyring} ({why.removeprefix('E: ')})"
                )
            errors = [ln for ln in lines if ln.startswith(("E:", "W:", "Err:"))] or lines[-1:]
            why = errors[0] if errors else f"exit status {done.returncode}"
            raise ArchiveUnreachable(f"cannot reach {self._where()}: apt-get update: {why}")
        if not any((self.root / "lists").glob("*_Packages*")):
            raise ArchiveUnreachable(f"cannot reach {self._where()}: no package index came")

    def versions(self, package: str) -> list[str]:
        """The package's versions in the suite, newest first (`apt-cache madison`); kept
        until the next update, since apt-cache reads the whole index for each answer."""
        kept = self.root / ANSWERS / package
        if kept.exists():
            out = kept.read_text()
        else:
            out = run(["apt-cache", *self.options(), "madison", package])
            kept.parent.mkdir(exist_ok=True)
            kept.write_text(out)
        found = []
        for line in out.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) >= 3 and parts[0] == package and "Packages" in parts[2]:
                found.append(parts[1])
        return found

    def newest(self, package: str) -> str:
        found = self.versions(package)
        if not found:
            raise Unavailable(f"package {package} is not in Debian {self.suite}")
        return found[0]

    def closure(self, package: str) -> list[tuple[str, str]]:
        """(name, version) of every package installing `package` on an empty system takes."""
        out = run(
            ["apt-get", *self.options(), "install", "--print-uris", "-qq",
             "--no-install-recommends", "-y", package],
        )  # fmt: skip
        found: list[tuple[str, str]] = []
        for line in out.splitlines():
            # 'URI' NAME_VERSION_ARCH.deb SIZE SHA256:...
            fields = line.split()
            if len(fields) < 2 or not fields[1].endswith(".deb"):
                continue
            name, version, _arch = fields[1].removesuffix(".deb").split("_")
            found.append((name, unquote(version)))
        return found

    def download(self, wanted: list[str], dest: Path) -> list[Path]:
        """apt-get download NAME=VERSION... into `dest`; the .deb files it left there."""
        dest.mkdir(parents=True, exist_ok=True)
        run(["apt-get", *self.options(), "download", *wanted], cwd=dest)
        names = {spec.partition("=")[0] for spec in wanted}
        found = sorted(p for p in dest.glob("*.deb") if p.name.partition("_")[0] in names)
        missing = names - {p.name.partition("_")[0] for p in found}
        if missing:
            raise Unavailable(f"apt-get download left no .deb for {', '.join(sorted(missing))}")
        return found
