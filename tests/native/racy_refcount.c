/* A stand-in for libssl whose reference count is not atomic: SSL_up_ref and SSL_free
 * read the count, pause, then write it back, so calls from two threads lose updates.
 * It shows that ref.threads.exact catches a real race when threads run together.
 * Objects are never released (a lost decrement would otherwise be a use after free);
 * the ex_data free callback reports each time the count reaches zero. */
#include <stdlib.h>

typedef void (*ex_free_fn)(void *parent, void *ptr, void *ad, int idx, long argl, void *argp);

struct ssl {
    volatile int refs;
};

static ex_free_fn on_free;
static int next_index;
static int method;

static void pause_a_little(void)
{
    for (volatile int i = 0; i < 500; i++) {
    }
}

const char *OpenSSL_version(int type) { return "racy reference count (test library)"; }
const void *TLS_method(void) { return &method; }
const void *TLS_client_method(void) { return &method; }
const void *TLS_server_method(void) { return &method; }
void *SSL_CTX_new(const void *meth) { return calloc(1, 16); }
void SSL_CTX_free(void *ctx) { free(ctx); }
unsigned long ERR_get_error(void) { return 0; }
void ERR_error_string_n(unsigned long e, char *buf, size_t len) { if (len) buf[0] = 0; }

int CRYPTO_get_ex_new_index(int cls, long argl, void *argp, void *new_fn, void *dup_fn,
                            ex_free_fn free_fn)
{
    if (free_fn && !on_free)
        on_free = free_fn;
    return next_index++;
}

void *SSL_new(void *ctx)
{
    struct ssl *s;

    if (ctx == NULL)
        return NULL;
    s = calloc(1, sizeof(*s));
    s->refs = 1;
    return s;
}

int SSL_up_ref(struct ssl *s)
{
    int refs = s->refs;

    pause_a_little();
    s->refs = refs + 1;
    return 1;
}

void SSL_free(struct ssl *s)
{
    int refs = s->refs;

    pause_a_little();
    s->refs = refs - 1;
    if (refs - 1 == 0 && on_free)
        on_free(s, NULL, NULL, 0, 0, NULL);
}
