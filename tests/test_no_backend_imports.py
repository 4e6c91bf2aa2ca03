"""The harness (conformance/) imports nothing from backends/: backends register themselves.

Adapters are known to the harness by module name only (conformance.registry's entry
points), and imported by the worker process that runs them. A direct import would tie
the harness, the report and their tests to every library's adapter.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "conformance"


def _is_backends(name: str | None) -> bool:
    return name is not None and (name == "backends" or name.startswith("backends."))


def backend_imports(path: Path) -> list[str]:
    """`import backends…`, `from backends… import`, and import_module/__import__ of one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str | None] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if called in ("import_module", "__import__") and isinstance(first, ast.Constant):
                names = [str(first.value)]
        found += [str(n) for n in names if _is_backends(n)]
    return found


def test_the_scanner_sees_every_kind_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import backends\n"
        "import os, backends.openssl.library as lib\n"
        "from backends.reference import model\n"
        "from backendsx import y\n"
        "import importlib\n"
        "importlib.import_module('backends.rustls.build')\n"
        "__import__('backends.gnutls')\n"
        "def f():\n    from backends import wolfssl\n"
    )
    assert backend_imports(sample) == [
        "backends",
        "backends.openssl.library",
        "backends.reference",
        "backends.rustls.build",
        "backends.gnutls",
        "backends",
    ]


def test_conformance_imports_nothing_from_backends() -> None:
    found = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted(HARNESS.rglob("*.py"))
        for name in backend_imports(path)
    }
    assert found == set()
