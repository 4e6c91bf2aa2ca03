/* wolfSSL_new with the first allocation failing (wolfSSL_SetAllocators): exit 1 when it
 * returns NULL with nothing on the error queue (the deviation its columns show), 0 when it
 * keeps the page's promise. Compiled and run per wolfSSL column by
 * tests/test_backend_wolfssl_versions.py. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/ssl.h>
#include <wolfssl/openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
static int counting, made;
static void *m(size_t n) { if (counting && ++made == 1) return NULL; return malloc(n); }
static void f(void *p) { free(p); }
static void *r(void *p, size_t n) { if (counting && ++made == 1) return NULL; return realloc(p, n); }
int main(void) {
    wolfSSL_Init();
    if (wolfSSL_SetAllocators(m, f, r) != 0) { puts("SetAllocators refused"); return 2; }
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_method());
    wolfSSL_ERR_clear_error();
    counting = 1;
    WOLFSSL *ssl = wolfSSL_new(ctx);
    counting = 0;
    unsigned long err = wolfSSL_ERR_get_error();
    printf("first allocation failing: wolfSSL_new %s, error queue %lu\n", ssl ? "made the object" : "returned NULL", err);
    return ssl == NULL && err == 0;
}
