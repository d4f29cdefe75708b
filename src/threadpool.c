/* threadpool.c - a persistent pool of worker threads. thread_pool_run hands
 * out indices [0, n) from a shared counter; the calling thread works too. */
#include "core.h"

#include <pthread.h>
#include <stdlib.h>

struct thread_pool {
    int nthreads;                 /* including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    uint64_t generation;          /* bumped for each job */
    int stop;
    parallel_fn fn;
    void *arg;
    int n, next, active;
};

static void drain(thread_pool *p)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int i = p->next < p->n ? p->next++ : -1;
        pthread_mutex_unlock(&p->mu);
        if (i < 0) return;
        p->fn(p->arg, i);
    }
}

static void *worker(void *arg)
{
    thread_pool *p = arg;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        p->active++;
        pthread_mutex_unlock(&p->mu);
        drain(p);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

thread_pool *thread_pool_new(int nthreads, fer_err *e)
{
    if (nthreads < 1) nthreads = 1;
    thread_pool *p = calloc(1, sizeof *p);
    if (!p) { fer_fail(e, "out of memory"); return NULL; }
    p->nthreads = nthreads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (nthreads > 1) {
        p->threads = calloc((size_t)nthreads - 1, sizeof *p->threads);
        if (!p->threads) { thread_pool_free(p); fer_fail(e, "out of memory"); return NULL; }
        for (int i = 0; i < nthreads - 1; i++)
            if (pthread_create(&p->threads[i], NULL, worker, p)) {
                p->nthreads = i + 1;
                thread_pool_free(p);
                fer_fail(e, "cannot start thread %d", i + 1);
                return NULL;
            }
    }
    return p;
}

int thread_pool_size(const thread_pool *p) { return p ? p->nthreads : 1; }

void thread_pool_run(thread_pool *p, int n, parallel_fn fn, void *arg)
{
    if (!p || p->nthreads == 1 || n <= 1) {
        for (int i = 0; i < n; i++) fn(arg, i);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->next = 0;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    drain(p);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0 || p->next < p->n) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void thread_pool_free(thread_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads - 1; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}
