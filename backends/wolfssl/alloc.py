"""wolfSSL's allocator routed through the harness's hooks, one allocation failing on demand.

wolfSSL_SetAllocators(malloc, free, realloc) takes callbacks of wolfSSL's own signature
(wolfssl/wolfcrypt/memory.h: `void *(*)(size_t)`, `void (*)(void *)`,
`void *(*)(void *, size_t)` in builds without WOLFSSL_DEBUG_MEMORY or
WOLFSSL_STATIC_MEMORY, which is how Debian builds 5.5, 5.7 and 5.9: their options.h
defines neither). The counting, failing and following of allocations is the OpenSSL
adapter's (backends.openssl.library.AllocHooks); only the signatures differ, and wolfSSL
says nothing of where it asked for memory.

Both allocators are the C library's, so memory allocated before the hooks were installed
is freed correctly through them.
"""

from __future__ import annotations

import atexit
import ctypes
from ctypes import CFUNCTYPE, c_int, c_size_t, c_void_p

from backends.openssl.library import AllocHooks

MALLOC_CB = CFUNCTYPE(c_void_p, c_size_t)
FREE_CB = CFUNCTYPE(None, c_void_p)
REALLOC_CB = CFUNCTYPE(c_void_p, c_void_p, c_size_t)


class WolfAllocHooks(AllocHooks):
    def __init__(self) -> None:
        super().__init__()
        self.wolf_functions = (
            MALLOC_CB(lambda size: self.malloc(size, None, 0)),
            FREE_CB(lambda pointer: self.free(pointer, None, 0)),
            REALLOC_CB(lambda pointer, size: self.realloc(pointer, size, None, 0)),
        )


def install(lib: ctypes.CDLL, options: dict[str, str]) -> tuple[WolfAllocHooks | None, str]:
    """Route wolfSSL's allocator through WolfAllocHooks when option alloc_hooks=1.

    Off by default, as for OpenSSL: a Python call per allocation slows every rule.
    """
    if options.get("alloc_hooks", "0") != "1":
        return None, "allocator hooks are off (load the adapter with option alloc_hooks=1)"
    if not hasattr(lib, "wolfSSL_SetAllocators"):
        return None, "the library lacks wolfSSL_SetAllocators"
    hooks = WolfAllocHooks()
    set_allocators = lib.wolfSSL_SetAllocators
    set_allocators.restype = c_int
    set_allocators.argtypes = (MALLOC_CB, FREE_CB, REALLOC_CB)
    malloc, free, realloc = hooks.wolf_functions
    if set_allocators(malloc, free, realloc) != 0:  # 0: success (wolfcrypt/memory.c)
        return None, "wolfSSL_SetAllocators refused the harness's allocator"
    # What runs after the interpreter is gone (wolfSSL's own cleanup at exit) must not
    # call the hooks, which are Python code: NULL hands wolfSSL back to malloc and free,
    # the same allocator the hooks used, so nothing allocated before is freed wrongly.
    atexit.register(set_allocators, MALLOC_CB(), FREE_CB(), REALLOC_CB())
    return hooks, ""
