"""SSL_up_ref and SSL_free from several threads: the native threads (threads.c) and the
Python threads that stand in without a compiler run the same operation, with the same
value, on the system OpenSSL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backends import helpers, threads
from backends.openssl.library import OpenSSL


@pytest.mark.parametrize("path", ["native", "python"])
def test_threads_take_and_give_back_every_reference(
    system_openssl: OpenSSL, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if path == "native":
        if shutil.which(helpers.COMPILER) is None:
            pytest.skip(f"no C compiler ({helpers.COMPILER}) for the native threads")
        assert threads._native() is not None, "threads.c did not build"
    else:
        monkeypatch.setattr(threads, "_native", lambda: None)
    lib = system_openssl
    ctx = lib.ctx_new("tls")
    assert ctx
    ssl = lib.ssl_new(ctx)
    assert ssl
    lib.freed()  # drop earlier events
    assert lib.threads_up_ref_free(ssl, 4, 300) == 1200
    assert lib.freed() == []  # every SSL_free was matched by an SSL_up_ref
    lib.ssl_free(ssl)
    # (Once per adapter over this libssl: other tests of this process may load one too.)
    assert set(lib.freed()) == {ssl}
    lib.ctx_free(ctx)


def test_native_threads_refuse_a_count_they_cannot_make() -> None:
    if shutil.which(helpers.COMPILER) is None:
        pytest.skip(f"no C compiler ({helpers.COMPILER}) for the native threads")
    native = threads._native()
    assert native is not None
    assert native(None, None, None, 0, 1) == -1
    assert native(None, None, None, 65, 1) == -1


def test_a_cache_that_cannot_be_written_leaves_the_python_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("SSLCONFORM_CACHE", str(blocked / "cache"))
    monkeypatch.setattr(helpers, "_loaded", {})
    assert helpers.helper(helpers.THREADS) is None
    assert threads._native() is None
