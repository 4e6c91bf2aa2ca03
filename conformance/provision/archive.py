"""Debian's archive as this machine knows it: where it is, and the keyring that signs it.

The address is the machine's own: the `URIs:` of /etc/apt/sources.list.d/debian.sources
(deb822) or a `deb` line of /etc/apt/sources.list, whichever names a Debian suite first;
`$SSLCONFORM_DEBIAN_MIRROR` overrides both. The project writes no archive host of its own,
so a machine that uses a local mirror or a proxy is served from there.

The keyring is the one `debian-archive-keyring` installs. Every Release file is checked
against it (apt's `signed-by`), since the libraries fetched from the archive are then run.
When it is missing, root installs it with apt; anyone else gets one line saying how.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from conformance.library import Unavailable

MIRROR_ENV = "SSLCONFORM_DEBIAN_MIRROR"
DEB822_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
ONE_LINE_SOURCES = Path("/etc/apt/sources.list")

KEYRING_PACKAGE = "debian-archive-keyring"
# Where the package puts it: .gpg up to bookworm, .pgp beside it from trixie on.
KEYRING_PATHS = (
    Path("/usr/share/keyrings/debian-archive-keyring.gpg"),
    Path("/usr/share/keyrings/debian-archive-keyring.pgp"),
)

# Debian's suite names and codenames. A source whose suite is none of these (a vendor's
# repository, Ubuntu's archive) is not Debian's archive.
_DEBIAN_SUITES = frozenset(
    {
        *("oldoldstable", "oldstable", "stable", "testing", "unstable", "experimental"),
        *("sid", "buster", "bullseye", "bookworm", "trixie", "forky", "duke"),
    }
)
# The security archive is a tree of its own that holds only the -security suites.
_SUITE_SUFFIXES = ("-updates", "-backports", "-proposed-updates")


def _is_debian_suite(suite: str) -> bool:
    base, dash, rest = suite.partition("-")
    return base in _DEBIAN_SUITES and (not dash or f"-{rest}" in _SUITE_SUFFIXES)


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    """The stanzas of a deb822 file: field names lowercased, continuation lines joined."""
    fields: dict[str, str] = {}
    name = ""
    for raw in [*text.splitlines(), ""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if fields:
                yield fields
            fields, name = {}, ""
        elif raw[0] in " \t" and name:
            fields[name] += " " + raw.strip()
        elif ":" in raw:
            key, _, value = raw.partition(":")
            name = key.strip().lower()
            fields[name] = value.strip()


def uris_in_deb822(text: str) -> list[str]:
    """The URIs of the enabled `deb` stanzas that name a Debian suite, in file order."""
    found: list[str] = []
    for stanza in _deb822_stanzas(text):
        if stanza.get("enabled", "yes").lower() == "no":
            continue
        if "deb" not in stanza.get("types", "").split():
            continue
        if not any(_is_debian_suite(s) for s in stanza.get("suites", "").split()):
            continue
        found += stanza.get("uris", "").split()
    return found


def uris_in_one_line(text: str) -> list[str]:
    """The URIs of the `deb` lines of a sources.list that name a Debian suite."""
    found: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0]
        # deb [ option=value ... ] URI SUITE COMPONENT...
        line = re.sub(r"\[[^\]]*\]", " ", line)
        words = line.split()
        if len(words) >= 3 and words[0] == "deb" and _is_debian_suite(words[2]):
            found.append(words[1])
    return found


def archive_uri(deb822: Path = DEB822_SOURCES, one_line: Path = ONE_LINE_SOURCES) -> str:
    """The address of Debian's archive: $SSLCONFORM_DEBIAN_MIRROR, else the machine's own."""
    explicit = os.environ.get(MIRROR_ENV, "").strip()
    if explicit:
        return explicit.rstrip("/")
    for path, parse in ((deb822, uris_in_deb822), (one_line, uris_in_one_line)):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        uris = parse(text)
        if uris:
            return uris[0].rstrip("/")
    raise Unavailable(
        f"no Debian archive in this machine's apt configuration ({deb822}, {one_line}): "
        f"set ${MIRROR_ENV} to one"
    )


def _install_keyring() -> str | None:
    """Install the keyring package with the machine's apt; None when that worked."""
    try:
        done = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", KEYRING_PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"},
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"apt-get install {KEYRING_PACKAGE}: {err}"
    if done.returncode == 0:
        return None
    lines = [ln.strip() for ln in (done.stderr + done.stdout).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("E:")] or lines[-1:] or ["failed"]
    return f"apt-get install {KEYRING_PACKAGE}: {errors[0]}"


def _installed_keyring() -> Path | None:
    """The keyring file where the package's own file list says it is."""
    for path in KEYRING_PATHS:
        if path.is_file():
            return path
    try:
        done = subprocess.run(
            ["dpkg-query", "-L", KEYRING_PACKAGE], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in done.stdout.splitlines():
        path = Path(line.strip())
        if path.name.startswith("debian-archive-keyring.") and path.is_file():
            return path
    return None


def archive_keyring() -> Path:
    """Debian's archive keyring, installed first when missing and this process is root."""
    found = _installed_keyring()
    if found is not None:
        return found
    if os.geteuid() != 0:
        raise Unavailable(
            f"Debian's archive keyring ({KEYRING_PATHS[0]}) is not on this machine, so no "
            f"download can be verified: install {KEYRING_PACKAGE}"
        )
    failed = _install_keyring()
    found = _installed_keyring()
    if found is None:
        why = failed or f"{KEYRING_PACKAGE} installed no keyring"
        raise Unavailable(
            f"Debian's archive keyring ({KEYRING_PATHS[0]}) is not on this machine and "
            f"could not be installed ({why}), so no download can be verified"
        )
    return found
