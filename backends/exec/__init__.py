"""Any program that speaks the worker protocol (conformance/PROTOCOL.md), as a column.

`SSLCONFORM_EXEC="COMMAND"` declares the column `exec`, whose worker is COMMAND (a
program and its first arguments, split as a shell would): a shim in C, Go or Java for a
library Python cannot load. The column's version is what the program's hello says.
Without the variable there is no such column (so `tox -p` does not list it).
"""

import os

from conformance.registry import Backend

COMMAND = os.environ.get("SSLCONFORM_EXEC", "").strip()

BACKENDS = (
    [
        Backend(
            name="exec",
            family=os.environ.get("SSLCONFORM_EXEC_FAMILY", "executable"),
            adapter=f"exec:{COMMAND}",
            summary=f"the program {COMMAND} speaking the worker protocol",
        )
    ]
    if COMMAND
    else []
)
