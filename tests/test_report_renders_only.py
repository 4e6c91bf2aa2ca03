"""`sslconform report` only renders: no compiler, no library, no backend module.

The report is built twice from the same results files, once with the machine's PATH
and once with a PATH that holds no C compiler; every output file must be the same
bytes, and neither run may import a module of backends/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from report_samples import write_samples

ROOT = Path(__file__).resolve().parent.parent
BASELINE = Path("/work/baseline-results")

REPORT = """
import json, sys
from conformance.cli import main
code = main(["report", *sys.argv[1:]])
backends = sorted(m for m in sys.modules if m == "backends" or m.startswith("backends."))
print(json.dumps({"code": code, "backends": backends}))
"""


def _report(inputs: list[Path], out: Path, path_env: str) -> dict[str, object]:
    env = {**os.environ, "PATH": path_env, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", REPORT, *map(str, inputs), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return answer


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _same_without_a_compiler(inputs: list[Path], tmp_path: Path) -> dict[str, bytes]:
    no_cc = tmp_path / "bin-without-cc"
    no_cc.mkdir()
    assert shutil.which("cc", path=str(no_cc)) is None
    assert shutil.which("gcc", path=str(no_cc)) is None
    with_cc = _report(inputs, tmp_path / "with-cc", os.environ.get("PATH", ""))
    without = _report(inputs, tmp_path / "without-cc", str(no_cc))
    assert with_cc == without == {"code": 0, "backends": []}
    built = _files(tmp_path / "with-cc")
    assert built == _files(tmp_path / "without-cc")
    return built


def test_samples_report_is_the_same_without_a_compiler(tmp_path: Path) -> None:
    built = _same_without_a_compiler(write_samples(tmp_path / "in"), tmp_path)
    assert "index.html" in built and "repro/openssl30/dup.copies.verify-param.c" in built


def test_baseline_report_is_the_same_without_a_compiler(tmp_path: Path) -> None:
    if not BASELINE.is_dir():
        pytest.skip(f"{BASELINE} is not on this machine")
    copy = tmp_path / "baseline"
    shutil.copytree(BASELINE, copy)
    built = _same_without_a_compiler([copy], tmp_path)
    assert len([f for f in built if f.startswith("junit/")]) == len(list(copy.glob("*.json")))


def test_known_deviations_and_changes_import_no_backend(tmp_path: Path) -> None:
    inputs = write_samples(tmp_path / "in")
    expected = tmp_path / "e.toml"
    expected.write_text(
        'format = 1\n[[expected]]\nrule = "dup.copies.verify-param"\ncolumn = "openssl30"\n'
        'status = "fail"\nreason = "known"\n'
    )
    extra = ["--expected", str(expected), "--previous", str(tmp_path / "in")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", REPORT, *map(str, inputs), "--out", str(tmp_path / "o"), *extra],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"code": 0, "backends": []}
