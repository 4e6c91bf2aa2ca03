"""The CI examples spread one job per column sslconform knows, and merge them into the gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.registry import all_backends

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "ci"
GITLAB_KEYWORDS = {"stages", "default", "variables", "workflow", "include", "image", "cache"}


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((EXAMPLES / name).read_text())
    assert isinstance(data, dict), name
    return data


def _columns() -> list[str]:
    return sorted(n for n in all_backends() if n != "exec")  # exec: $SSLCONFORM_EXEC's, one run


def _text(job: dict[str, Any]) -> str:
    """Every command a job runs, as one text."""
    steps = job.get("steps") or []
    lines = [str(s.get("run", "")) for s in steps if isinstance(s, dict)]
    for key in ("before_script", "script"):
        lines += [str(line) for line in job.get(key) or []]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def github() -> dict[str, dict[str, Any]]:
    jobs = _load("github-actions.yml")["jobs"]
    assert isinstance(jobs, dict)
    return jobs


@pytest.fixture(scope="module")
def gitlab() -> dict[str, dict[str, Any]]:
    data = _load("gitlab-ci.yml")
    return {k: v for k, v in data.items() if k not in GITLAB_KEYWORDS and not k.startswith(".")}


def test_github_matrix_is_every_column(github: dict[str, dict[str, Any]]) -> None:
    spread = {name: job for name, job in github.items() if "strategy" in job}
    assert list(spread) == ["column"]
    backends = spread["column"]["strategy"]["matrix"]["backend"]
    assert len(backends) == len(set(backends)), "a column listed twice"
    assert sorted(backends) == _columns()
    assert spread["column"]["strategy"]["fail-fast"] is False


def test_github_column_job_runs_its_column_and_uploads_its_results(
    github: dict[str, dict[str, Any]],
) -> None:
    job = github["column"]
    assert "tox -e ${{ matrix.backend }}" in _text(job)
    uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload")]
    assert len(uploads) == 1
    assert "reports/results/${{ matrix.backend }}.json" in uploads[0]["with"]["path"]
    assert uploads[0]["with"]["if-no-files-found"] == "error"


def test_github_merge_job_reports_and_gates_after_every_column(
    github: dict[str, dict[str, Any]],
) -> None:
    merge = [job for job in github.values() if "strategy" not in job]
    assert len(merge) == 1
    job = merge[0]
    needs = job["needs"] if isinstance(job["needs"], list) else [job["needs"]]
    assert needs == ["column"]
    assert job["if"] == "always()"
    downloads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/download")]
    assert downloads and downloads[0]["with"]["pattern"] == "results-*"
    commands = _text(job)
    assert "sslconform report reports/results" in commands
    assert "sslconform check reports/results --expected expected" in commands


def test_gitlab_matrix_is_every_column(gitlab: dict[str, dict[str, Any]]) -> None:
    spread = {name: job for name, job in gitlab.items() if "parallel" in job}
    assert list(spread) == ["column"]
    (axes,) = spread["column"]["parallel"]["matrix"]
    assert list(axes) == ["BACKEND"]
    backends = axes["BACKEND"]
    assert len(backends) == len(set(backends)), "a column listed twice"
    assert sorted(backends) == _columns()


def test_gitlab_column_job_runs_its_column_and_keeps_its_results(
    gitlab: dict[str, dict[str, Any]],
) -> None:
    job = gitlab["column"]
    assert 'tox -e "$BACKEND"' in _text(job)
    assert job["artifacts"]["when"] == "always"
    assert "reports/results/*.json" in job["artifacts"]["paths"]


def test_gitlab_merge_job_reports_and_gates_after_every_column(
    gitlab: dict[str, dict[str, Any]],
) -> None:
    merge = [job for job in gitlab.values() if "parallel" not in job]
    assert len(merge) == 1
    job = merge[0]
    assert job["needs"] == ["column"]
    assert job["when"] == "always"
    commands = _text(job)
    assert "sslconform report reports/results" in commands
    assert "sslconform check reports/results --expected expected" in commands
    stages = _load("gitlab-ci.yml")["stages"]
    assert stages.index(job["stage"]) > stages.index(gitlab["column"]["stage"])
