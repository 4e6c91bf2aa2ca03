"""An exception inside an adapter is the harness's error, not the library's crash.

A library that kills its process (a signal, an exit it causes) is a `crash`. An adapter
that raises is a bug of the harness around the library: the rule ends as `error`, its
detail the exception and its traceback, and the worker process lives on.

This module is imported by the parent side only: the worker process must not import
hypothesis (which the engine's `Stop` comes with).
"""

from __future__ import annotations

from collections.abc import Sequence

from conformance.properties.common import Stop
from conformance.script import Op, Script


class AdapterFault(Stop):
    """The adapter raised while running `ops`: the rule is an `error`, with the traceback."""

    def __init__(self, summary: str, traceback: str, ops: Sequence[Op]) -> None:
        detail = f"the adapter raised {summary}\n{traceback.rstrip()}"
        super().__init__("error", detail, Script(tuple(ops)) if ops else None)
        self.summary = summary
        self.traceback = traceback
        self.ops = list(ops)
