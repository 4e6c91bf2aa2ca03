"""Backends that misbehave on purpose, to show the worker turns that into results.

`crash=OP` kills the process (SIGSEGV through a NULL read) when OP is called;
`hang=OP` never returns from OP (with `while=PATH`: only while PATH exists).
Otherwise they are the reference model.
"""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any

from conformance.model import ModelLibrary


class Misbehaving(ModelLibrary):
    def __init__(self, crash: str | None, hang: str | None, hang_while: str | None) -> None:
        super().__init__()
        self.crash, self.hang, self.hang_while = crash, hang, hang_while

    def __getattribute__(self, name: str) -> Any:
        if name in ("crash", "hang", "hang_while") or name.startswith("_"):
            return super().__getattribute__(name)
        if name == self.crash:
            ctypes.string_at(0)  # a real segfault, as a library bug would give
        if name == self.hang:
            while self.hang_while is None or os.path.exists(self.hang_while):
                time.sleep(0.05)
        return super().__getattribute__(name)


def load(lib_dir: str | None, options: dict[str, str]) -> Misbehaving:
    return Misbehaving(options.get("crash"), options.get("hang"), options.get("while"))
