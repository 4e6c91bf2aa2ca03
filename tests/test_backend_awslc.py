"""The AWS-LC column against the build `sslconform build-awslc` cached (skipped without one)."""

from __future__ import annotations

from typing import Any

import pytest

from backends.awslc.library import built_dir
from conformance.library import Unavailable
from tests.worker_probe import run_adapter

BODY = """
out["version"] = lib.version()
out["family"] = lib.family
out["missing"] = {f: lib.missing(f) for f in ("ssl_dup", "ssl_up_ref", "alloc_failures")}
ctx = lib.ctx_new("tls")
out["fails"] = lib.ssl_new_failing(ctx, 1)
"""


@pytest.fixture(scope="module")
def seen() -> tuple[str, dict[str, Any]]:
    try:
        folder = built_dir()
    except Unavailable as err:
        pytest.skip(str(err))
    return folder, run_adapter("backends.awslc.library", None, BODY, {"alloc_hooks": "1"})


def test_the_build_says_it_is_aws_lc(seen: tuple[str, dict[str, Any]]) -> None:
    folder, out = seen
    assert out["version"].startswith("AWS-LC ")
    assert out["family"] == "AWS-LC"
    assert sorted(m.rsplit("/", 1)[-1] for m in out["maps"]) == ["libcrypto.so", "libssl.so"]
    assert all(m.startswith(folder) for m in out["maps"])


def test_what_aws_lc_lacks_and_has(seen: tuple[str, dict[str, Any]]) -> None:
    _, out = seen
    assert out["missing"] == {
        "ssl_dup": ["SSL_dup"],
        "ssl_up_ref": ["SSL_up_ref"],
        "alloc_failures": [],
    }
    # The deviation its column shows: NULL, and nothing on the error queue.
    assert out["fails"]["injected"] and out["fails"]["result"] is None
    assert out["fails"]["errors"] == []
