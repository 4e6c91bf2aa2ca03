/* The library's allocator (CRYPTO_set_mem_functions), with each allocation's slack (the
 * bytes malloc gives past the size asked for) filled with 'X'.
 *
 * A string the library copies without its terminating NUL then reads on as X's, every
 * time, instead of as whatever an earlier allocation left there: in a long-lived
 * process that is usually not a NUL, in a fresh one usually is, so the same read would
 * deviate on some runs and not on others. Reading past an allocation is still reading
 * past it; this only makes what is read the same each time. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static void *fill_slack(void *p, size_t size) {
    if (p != NULL) {
        size_t usable = malloc_usable_size(p);
        if (usable > size)
            memset((char *)p + size, 'X', usable - size);
    }
    return p;
}

/* As CRYPTO_malloc and CRYPTO_realloc behave with their own allocator: no memory for a
 * size of 0, and realloc of NULL is malloc. */
void *sslconform_malloc(size_t size, const char *file, int line) {
    (void)file, (void)line;
    return size == 0 ? NULL : fill_slack(malloc(size), size);
}

void *sslconform_realloc(void *old, size_t size, const char *file, int line) {
    if (old == NULL)
        return sslconform_malloc(size, file, line);
    if (size == 0) {
        free(old);
        return NULL;
    }
    return fill_slack(realloc(old, size), size);
}

void sslconform_free(void *p, const char *file, int line) {
    (void)file, (void)line;
    free(p);
}
