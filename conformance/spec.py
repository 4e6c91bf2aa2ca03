"""The specification files, and how much of them the rules catalogue accounts for."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from conformance.rules import PAGES, RULES

SPEC_FILES = {
    "1.1.1k": "SSL_new.3-openssl-1.1.1k.txt",
    "3.0.0": "SSL_new.3-openssl-3.0.0.txt",
}
SPEC_ENV = "SSLCONFORM_SPEC"
# The project's own copy: spec/ at the top of the checkout, which this link points at, and
# the same files as package data in an installed wheel.
PROJECT_SPEC = Path(__file__).resolve().parent / "spec_pages"


def spec_dir() -> Path | None:
    """$SSLCONFORM_SPEC when set, else the project's own copy; None if its files are not there.

    A folder named in $SSLCONFORM_SPEC that lacks the files is not silently replaced by
    the project's copy: the coverage then says the files are missing.
    """
    explicit = os.environ.get(SPEC_ENV)
    folder = Path(explicit) if explicit else PROJECT_SPEC
    if all((folder / name).is_file() for name in SPEC_FILES.values()):
        return folder
    return None


def fold(text: str) -> str:
    """Whitespace folded: the renderings wrap lines and use tabs differently."""
    return re.sub(r"\s+", " ", text).strip()


def normative_text(page: str, text: str) -> str:
    """DESCRIPTION and RETURN VALUES of one rendering, without headings."""
    if page == "1.1.1k":
        start = text.index("DESCRIPTION") + len("DESCRIPTION")
        end = text.index("SEE ALSO", start)
        body = text[start:end].replace("RETURN VALUES", "")
    else:  # the 3.0.0 rendering has no headings: from after the synopsis to SEE ALSO's list
        start = text.index("int SSL_up_ref(SSL *s);") + len("int SSL_up_ref(SSL *s);")
        end = text.index("SSL_free(3), SSL_clear(3)", start)
        body = text[start:end]
    return fold(body)


@dataclass
class Coverage:
    page: str
    characters: int  # of DESCRIPTION and RETURN VALUES, whitespace folded
    covered: int  # of those inside some rule's quote
    uncovered: list[str]  # the stretches no rule quotes

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.characters if self.characters else 0.0


# Words that introduce or label, and state nothing themselves.
_LABELS = (
    "The subset of settings in s that are duplicated are:",
    "The following return values can occur:",
    "NULL",
    "Pointer to an SSL structure",
)


def coverage() -> list[Coverage] | None:
    """For each page version: how much of its normative text the rules quote."""
    folder = spec_dir()
    if folder is None:
        return None
    out = []
    for page in PAGES:
        body = normative_text(page, (folder / SPEC_FILES[page]).read_text())
        marked = [False] * len(body)
        for quote in [fold(r.quotes[page]) for r in RULES if page in r.quotes] + list(_LABELS):
            start = body.find(quote)
            while start >= 0:
                marked[start : start + len(quote)] = [True] * len(quote)
                start = body.find(quote, start + 1)
        gaps = re.findall(
            r"[^\x00]+", "".join("\x00" if m else c for m, c in zip(marked, body, strict=False))
        )
        uncovered = [g.strip() for g in gaps if re.search(r"\w{3}", g)]
        counted = [c for c in body if not c.isspace()]
        missed = sum(len(g.replace(" ", "")) for g in uncovered)
        out.append(Coverage(page, len(counted), len(counted) - missed, uncovered))
    return out


def quote_problems() -> list[str] | None:
    """Rules whose quote is not verbatim in the page version it names."""
    folder = spec_dir()
    if folder is None:
        return None
    texts = {p: fold((folder / SPEC_FILES[p]).read_text()) for p in PAGES}
    return [
        f"{r.id}: not in {p}: {q!r}"
        for r in RULES
        for p, q in r.quotes.items()
        if fold(q) not in texts[p]
    ]
