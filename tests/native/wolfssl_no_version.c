/* wolfSSL_new on a context whose protocol bound and options leave no version enabled
 * (min TLS 1.3 with SSL_OP_NO_TLSv1_3), with a certificate when one is named: exit 1 when
 * it returns NULL, 0 when it makes the object. Compiled and run per wolfSSL column by
 * tests/test_backend_wolfssl_versions.py. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/ssl.h>
#include <stdio.h>
int main(int argc, char **argv) {
    wolfSSL_Init();
    WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    if (argc > 1 && wolfSSL_CTX_use_certificate_file(ctx, argv[1], WOLFSSL_FILETYPE_PEM) != 1) { puts("cert not loaded"); return 2; }
    SSL_CTX_set_options(ctx, SSL_OP_NO_TLSv1_3);
    WOLFSSL *ssl = wolfSSL_new(ctx);
    printf("with%s certificate: wolfSSL_new %s\n", argc > 1 ? "" : "out", ssl ? "made the object" : "returned NULL");
    return ssl == NULL;
}
