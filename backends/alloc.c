/* The allocator hooks of the allocation-failure rules, for CRYPTO_set_mem_functions:
 * the same as backends/openssl/library.py's AllocHooks, without a Python call for each
 * of the library's allocations and frees (a context makes some 460 of each).
 *
 * Armed with N, the hooks count the allocations (malloc and realloc) made until they
 * are disarmed and make the Nth fail; each allocation made while armed is followed, with
 * the file and line that asked for it, until it is freed. Built by backends/helpers.py;
 * links against no TLS library. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS (1 << 15) /* open addressing, far more than one call makes (an SSL_dup: ~100) */
#define GONE ((void *)1) /* a slot whose allocation was freed */

struct site {
    void *pointer;
    const char *file;
    int line;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int counting, fail_at, count, injected, overflowed;
static struct site live[SLOTS];
static int used; /* slots ever taken since the last forget, freed ones too */

static size_t slot_of(const void *pointer)
{
    uintptr_t h = (uintptr_t)pointer >> 4;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15u;
    return (size_t)(h >> 49) & (SLOTS - 1);
}

static void follow(void *pointer, const char *file, int line)
{
    if (used >= SLOTS / 2) { /* full enough to slow every probe: say so, follow no more */
        overflowed = 1;
        return;
    }
    size_t i = slot_of(pointer);
    while (live[i].pointer != NULL)
        i = (i + 1) & (SLOTS - 1);
    live[i] = (struct site){pointer, file, line};
    used++;
}

/* The site of `pointer` if it is followed (and no longer), else 0. */
static int unfollow(const void *pointer, struct site *was)
{
    if (used == 0)
        return 0;
    for (size_t i = slot_of(pointer); live[i].pointer != NULL; i = (i + 1) & (SLOTS - 1)) {
        if (live[i].pointer == pointer) {
            if (was != NULL)
                *was = live[i];
            live[i].pointer = GONE;
            return 1;
        }
    }
    return 0;
}

static int fails(void)
{
    if (!counting)
        return 0;
    if (++count == fail_at) {
        injected = 1;
        return 1;
    }
    return 0;
}

void *sslconform_alloc_malloc(size_t size, const char *file, int line)
{
    pthread_mutex_lock(&lock);
    void *pointer = NULL;
    if (!fails()) {
        pointer = malloc(size);
        if (pointer != NULL && counting)
            follow(pointer, file, line);
    }
    pthread_mutex_unlock(&lock);
    return pointer;
}

void sslconform_alloc_free(void *pointer, const char *file, int line)
{
    (void)file, (void)line;
    if (pointer == NULL)
        return;
    pthread_mutex_lock(&lock);
    unfollow(pointer, NULL);
    pthread_mutex_unlock(&lock);
    free(pointer);
}

void *sslconform_alloc_realloc(void *old, size_t size, const char *file, int line)
{
    if (old != NULL && size == 0) {
        sslconform_alloc_free(old, file, line);
        return NULL;
    }
    pthread_mutex_lock(&lock);
    void *pointer = NULL;
    if (!fails()) {
        pointer = realloc(old, size);
        if (pointer != NULL) {
            /* Moved with its first site if followed; a new allocation if made armed. */
            struct site was;
            if (old != NULL && unfollow(old, &was))
                follow(pointer, was.file, was.line);
            else if (old == NULL && counting)
                follow(pointer, file, line);
        }
    }
    pthread_mutex_unlock(&lock);
    return pointer;
}

void sslconform_alloc_forget(void)
{
    pthread_mutex_lock(&lock);
    memset(live, 0, sizeof(live));
    used = 0;
    overflowed = 0;
    pthread_mutex_unlock(&lock);
}

void sslconform_alloc_arm(int nth)
{
    sslconform_alloc_forget();
    pthread_mutex_lock(&lock);
    count = 0;
    injected = 0;
    fail_at = nth;
    counting = 1;
    pthread_mutex_unlock(&lock);
}

void sslconform_alloc_disarm(void)
{
    pthread_mutex_lock(&lock);
    counting = 0;
    fail_at = 0;
    pthread_mutex_unlock(&lock);
}

/* What the last armed call made: [0] allocations, [1] whether the Nth was reached,
 * [2] whether too many were followed to follow them all. */
void sslconform_alloc_state(int *out)
{
    pthread_mutex_lock(&lock);
    out[0] = count;
    out[1] = injected;
    out[2] = overflowed;
    pthread_mutex_unlock(&lock);
}

/* Up to `room` followed allocations still live: their files and lines; how many. */
int sslconform_alloc_live(const char **files, int *lines, int room)
{
    int n = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < SLOTS && n < room; i++) {
        if (live[i].pointer != NULL && live[i].pointer != GONE) {
            files[n] = live[i].file;
            lines[n] = live[i].line;
            n++;
        }
    }
    pthread_mutex_unlock(&lock);
    return n;
}
