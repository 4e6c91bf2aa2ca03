/* SSL_dup of a DANE-configured client moved with SSL_set_SSL_CTX to a context without
 * DANE, then a handshake of the duplicate: the calls of dup.copies.dane and
 * dup.copies.sigalgs, written against libssl directly.
 *
 * usage: dane_dup_moved_context FIXTURES moved|kept [SIGALGS]
 *   FIXTURES  the folder conformance.fixtures makes (ca-1.der, rsa-2048.pem/.key, chain)
 *   moved     s is moved to a second context (without DANE) before SSL_dup
 *   kept      s stays on its DANE-enabled context (the control)
 *   SIGALGS   optionally SSL_set1_sigalgs_list(s, SIGALGS) before the move
 *
 * SSL_dup makes the duplicate on s's current context and copies s's TLSA records with
 * the duplicate's DANE state pointing at that context's DANE tables; a context that
 * never had SSL_CTX_dane_enable has none, and certificate verification reads them
 * (dane_match in crypto/x509/x509_vfy.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

static const char *folder;

static unsigned char *slurp(const char *name, long *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    rewind(f);
    unsigned char *buf = malloc((size_t)*len);
    if (buf == NULL || fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(2);
    }
    fclose(f);
    return buf;
}

static X509 *certificate(const char *name)
{
    long len;
    unsigned char *pem = slurp(name, &len);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    free(pem);
    return x;
}

/* The peer: a TLS 1.2 server with the RSA certificate and its chain ca-1, ca-2, root. */
static SSL_CTX *peer_context(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_use_certificate(ctx, certificate("rsa-2048.pem"));
    long len;
    unsigned char *pem = slurp("rsa-2048.key", &len);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    SSL_CTX_use_PrivateKey(ctx, PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL));
    BIO_free(bio);
    free(pem);
    STACK_OF(X509) *chain = sk_X509_new_null();
    sk_X509_push(chain, certificate("ca-1.pem"));
    sk_X509_push(chain, certificate("ca-2.pem"));
    sk_X509_push(chain, certificate("root.pem"));
    SSL_CTX_set1_chain(ctx, chain);
    return ctx;
}

static void handshake(const char *what, SSL *client, SSL_CTX *peer_ctx)
{
    SSL *server = SSL_new(peer_ctx);
    BIO *near, *far;
    BIO_new_bio_pair(&near, 0, &far, 0);
    SSL_set_bio(client, near, near);
    SSL_set_bio(server, far, far);
    SSL_set_connect_state(client);
    SSL_set_accept_state(server);
    printf("handshake of %s\n", what);
    SSL *both[2] = {client, server};
    int done[2] = {0, 0}, failed = 0;
    for (int round = 0; round < 50 && !failed && !(done[0] && done[1]); round++) {
        for (int k = 0; k < 2 && !failed; k++) {
            if (done[k])
                continue;
            int ret = SSL_do_handshake(both[k]);
            int err = ret == 1 ? SSL_ERROR_NONE : SSL_get_error(both[k], ret);
            if (ret == 1)
                done[k] = 1;
            else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
                printf("  failed on the %s: SSL_get_error %d\n", k ? "peer" : "client", err);
                ERR_print_errors_fp(stdout);
                failed = 1;
            }
        }
    }
    uint8_t usage = 0, selector = 0, mtype = 0;
    int depth = SSL_get0_dane_tlsa(client, &usage, &selector, &mtype, NULL, NULL);
    printf("  completed %d; SSL_get0_dane_tlsa depth %d, record %d %d %d\n",
           done[0] && done[1], depth, usage, selector, mtype);
    SSL_free(server);
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[2], "moved") != 0 && strcmp(argv[2], "kept") != 0)) {
        fprintf(stderr, "usage: %s FIXTURES moved|kept [SIGALGS]\n", argv[0]);
        return 2;
    }
    folder = argv[1];
    int moved = strcmp(argv[2], "moved") == 0;
    setvbuf(stdout, NULL, _IONBF, 0); /* every line is out before a signal */
    printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
    long der_len;
    unsigned char *der = slurp("ca-1.der", &der_len);
    SSL_CTX *peer_ctx = peer_context();

    SSL_CTX *ctx0 = SSL_CTX_new(TLS_method());
    SSL *s = SSL_new(ctx0);
    SSL_set_connect_state(s);
    printf("SSL_CTX_dane_enable(ctx0) = %d\n", SSL_CTX_dane_enable(ctx0));
    printf("SSL_dane_enable(s) = %d\n", SSL_dane_enable(s, "sslconform.test"));
    /* DANE-TA(2) Cert(0) Full(0): the peer's issuing CA, ca-1 */
    printf("SSL_dane_tlsa_add(s, 2, 0, 0, ca-1) = %d\n",
           SSL_dane_tlsa_add(s, 2, 0, 0, der, (size_t)der_len));
    if (argc > 3)
        printf("SSL_set1_sigalgs_list(s, %s) = %ld\n", argv[3],
               (long)SSL_set1_sigalgs_list(s, argv[3]));
    SSL_CTX *ctx1 = SSL_CTX_new(TLS_method());
    if (moved)
        printf("SSL_set_SSL_CTX(s, ctx1) = %s\n", SSL_set_SSL_CTX(s, ctx1) == ctx1 ? "ctx1" : "?");
    SSL *d = SSL_dup(s);
    printf("SSL_dup(s) = %s\n", d == NULL ? "NULL" : d == s ? "s" : "a new object");
    ERR_print_errors_fp(stdout);
    if (d == NULL || d == s)
        return 3;
    handshake("s", s, peer_ctx);
    handshake("the duplicate", d, peer_ctx);
    SSL_free(d);
    SSL_free(s);
    SSL_CTX_free(ctx1);
    SSL_CTX_free(ctx0);
    SSL_CTX_free(peer_ctx);
    free(der);
    printf("finished\n");
    return 0;
}
