"""Load the AWS-LC build `sslconform build-awslc` cached, through the OpenSSL ABI adapter.

The build's libraries have no soname, so they are loaded by path: libcrypto.so first
(RTLD_GLOBAL), then libssl.so, which finds libcrypto's symbols already mapped. With
--lib DIR, the libcrypto.so and libssl.so in DIR are used instead.

Runs inside a worker process; reads the build's manifest, maps nothing else.
"""

from __future__ import annotations

from backends.openssl.library import OpenSSL
from backends.openssl.library import load as load_openssl
from conformance.library import Unavailable
from conformance.provision import awslc


def built_dir() -> str:
    """The folder of the newest cached AWS-LC build; Unavailable when there is none."""
    built = awslc._newest_built(awslc.cache_root())  # the cached build, not a new one
    if built is None:
        raise Unavailable(
            f"no AWS-LC build in {awslc.cache_root()}: run `sslconform build-awslc` first"
        )
    return built.lib_dir


def load(lib_dir: str | None, options: dict[str, str]) -> OpenSSL:
    library = load_openssl(lib_dir or built_dir(), options)
    if library.family != "AWS-LC":
        raise Unavailable(f"the library in {library.path} is not AWS-LC: {library.version()}")
    return library
