/* SSL_up_ref and SSL_free from several threads at once, on native threads.
 *
 * Python threads calling through ctypes take turns at the interpreter lock between
 * calls, so they rarely overlap; these threads wait at one gate and race from it.
 * The library's functions come in as pointers: this file links against no TLS library
 * and serves every adapter whose library has SSL_up_ref and SSL_free. */
#include <pthread.h>

#define MAX_THREADS 64

typedef int (*up_ref_fn)(void *);
typedef void (*free_fn)(void *);

struct gate {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int waiting; /* threads at the gate */
    int open;    /* 1: go; -1: not every thread could be made, make no call */
};

struct job {
    up_ref_fn up_ref;
    free_fn release;
    void *ssl;
    int per_thread;
    struct gate *gate;
    int ok;
};

static void *work(void *arg) {
    struct job *job = arg;
    struct gate *gate = job->gate;
    pthread_mutex_lock(&gate->lock);
    gate->waiting++;
    pthread_cond_broadcast(&gate->changed);
    while (gate->open == 0)
        pthread_cond_wait(&gate->changed, &gate->lock);
    int go = gate->open == 1;
    pthread_mutex_unlock(&gate->lock);
    if (!go)
        return NULL;
    int ok = 0;
    for (int i = 0; i < job->per_thread; i++)
        ok += job->up_ref(job->ssl) == 1;
    for (int i = 0; i < job->per_thread; i++)
        job->release(job->ssl);
    job->ok = ok;
    return NULL;
}

/* The number of SSL_up_ref calls that returned 1, or -1 when the threads could not all
 * be made (then no call was made). */
int sslconform_up_ref_free(void *up_ref, void *release, void *ssl, int threads, int per_thread) {
    if (threads < 1 || threads > MAX_THREADS)
        return -1;
    pthread_t ids[MAX_THREADS];
    struct job jobs[MAX_THREADS];
    struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
    int made = 0;
    for (; made < threads; made++) {
        jobs[made] = (struct job){(up_ref_fn)up_ref, (free_fn)release, ssl, per_thread, &gate, 0};
        if (pthread_create(&ids[made], NULL, work, &jobs[made]) != 0)
            break;
    }
    pthread_mutex_lock(&gate.lock);
    while (made == threads && gate.waiting < threads)
        pthread_cond_wait(&gate.changed, &gate.lock);
    gate.open = made == threads ? 1 : -1;
    pthread_cond_broadcast(&gate.changed);
    pthread_mutex_unlock(&gate.lock);
    int ok = 0;
    for (int i = 0; i < made; i++) {
        pthread_join(ids[i], NULL);
        ok += jobs[i].ok;
    }
    return made == threads ? ok : -1;
}
