"""Backends that misbehave on purpose, to show the worker turns that into results.

Library faults (the process dies): `crash=OP` kills the process (SIGSEGV through a
NULL read) when OP is called; `exit=OP` ends it with status 3, as a library calling
exit() would; `hang=OP` never returns from OP (with `while=PATH`: only while PATH
exists). An adapter fault (the process lives): `raise=OP` raises an exception from
the adapter's own code. `unobserved=OP` raises NotImplementedError, the contract's way
to say the adapter does not observe OP yet. Otherwise they are the reference model.
"""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any

from conformance.model import ModelLibrary

EXIT_STATUS = 3


class AdapterBug(RuntimeError):
    """What an adapter's own mistake raises (a wrong ctypes signature, a typo)."""


class Misbehaving(ModelLibrary):
    def __init__(self, options: dict[str, str]) -> None:
        super().__init__()
        self.faults = dict(options)

    def __getattribute__(self, name: str) -> Any:
        if name == "faults" or name.startswith("_"):
            return super().__getattribute__(name)
        faults = self.faults
        if name == faults.get("crash"):
            ctypes.string_at(0)  # a real segfault, as a library bug would give
        if name == faults.get("exit"):
            os._exit(EXIT_STATUS)
        if name == faults.get("hang"):
            while "while" not in faults or os.path.exists(faults["while"]):
                time.sleep(0.05)
        if name == faults.get("raise"):
            raise AdapterBug(f"the adapter got {name} wrong")
        if name == faults.get("unobserved"):
            raise NotImplementedError(f"{name} is not observed by this adapter yet")
        return super().__getattribute__(name)


def load(lib_dir: str | None, options: dict[str, str]) -> Misbehaving:
    return Misbehaving(options)
