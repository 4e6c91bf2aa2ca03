/* The library's allocator (installed with CRYPTO_set_mem_functions before the library's
 * first allocation): each allocation's slack, the bytes malloc gives past the size asked
 * for, is filled with 'X'. A string the library keeps without its terminating NUL then
 * reads on as X's on every run, not as whatever the heap held there (most often a NUL in
 * a fresh program, most often not in a long-lived one). Reading past an allocation is
 * still reading past it; this only makes what is read the same each time. Otherwise it
 * behaves as the library's own allocator: no memory for a size of 0, and realloc of NULL
 * is malloc. The worker's adapter and the reproducers use this same file. */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static void *fill_slack(void *p, size_t size)
{
    if (p != NULL && malloc_usable_size(p) > size)
        memset((char *)p + size, 'X', malloc_usable_size(p) - size);
    return p;
}

void *slack_malloc(size_t size, const char *file, int line)
{
    (void)file, (void)line;
    return size == 0 ? NULL : fill_slack(malloc(size), size);
}

void *slack_realloc(void *old, size_t size, const char *file, int line)
{
    if (old == NULL)
        return slack_malloc(size, file, line);
    if (size == 0) {
        free(old);
        return NULL;
    }
    return fill_slack(realloc(old, size), size);
}

void slack_free(void *p, const char *file, int line)
{
    (void)file, (void)line;
    free(p);
}
