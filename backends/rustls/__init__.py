"""rustls 0.23 (ring provider) through a small C ABI crate built from Debian's crate sources.

The crate (src/lib.rs) is built offline by backends.rustls.build; the adapter
(backends.rustls.library) loads it with ctypes. README.md holds the mapping of the page's
concepts onto rustls's.
"""

from conformance.registry import Backend

BACKENDS = [
    Backend(
        name="rustls",
        family="rustls",
        adapter="backends.rustls.library",
        summary="rustls 0.23 (ring) from Debian trixie's crate sources, via a C ABI cdylib",
    ),
]
