/* threadpool.c - a persistent pool of worker threads. thread_pool_run hands
 * out indices [0, n) from a shared counter; the calling thread works too.
 *
 * Waking a sleeping thread costs tens of microseconds (more in a VM), and a
 * batch-1 forward pass runs ~30 parallel regions of ~50-100 us each, so both
 * sides spin briefly before they sleep: a worker watches the job counter for
 * SPIN_ROUNDS pause instructions after its last job (tens of microseconds to
 * ~0.25 ms, by CPU) and only then waits on the
 * condition variable; the caller watches the count of unfinished indices
 * the same way before it waits. A job is published under the mutex, and the
 * caller broadcasts only when a worker sleeps. */
#include "engine.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define SPIN_ROUNDS 4000

struct thread_pool {
    int nthreads;                 /* including the caller */
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    atomic_uint_fast64_t generation;   /* bumped (under mu) for each job */
    atomic_int stop;
    int sleepers;                 /* workers waiting on work_cv (under mu) */
    parallel_fn fn;               /* fn, arg, n, next: under mu */
    void *arg;
    int n, next;
    atomic_int pending;           /* indices of the current job not yet finished */
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void drain(thread_pool *p)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int i = p->next < p->n ? p->next++ : -1;
        parallel_fn fn = p->fn;
        void *arg = p->arg;
        pthread_mutex_unlock(&p->mu);
        if (i < 0) return;
        fn(arg, i);
        if (atomic_fetch_sub(&p->pending, 1) == 1) {   /* the job's last index: wake a waiting caller */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done_cv);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *worker(void *arg)
{
    thread_pool *p = arg;
    uint64_t seen = 0;
    for (;;) {
        for (int s = 0; s < SPIN_ROUNDS && atomic_load(&p->generation) == seen && !atomic_load(&p->stop); s++)
            cpu_relax();
        pthread_mutex_lock(&p->mu);
        while (!atomic_load(&p->stop) && atomic_load(&p->generation) == seen) {
            p->sleepers++;
            pthread_cond_wait(&p->work_cv, &p->mu);
            p->sleepers--;
        }
        if (atomic_load(&p->stop)) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = atomic_load(&p->generation);
        pthread_mutex_unlock(&p->mu);
        drain(p);
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
    atomic_init(&p->generation, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->pending, 0);
    if (nthreads > 1) {
        p->threads = calloc((size_t)nthreads - 1, sizeof *p->threads);
        if (!p->threads) {
            p->nthreads = 1;   /* no workers to join */
            thread_pool_free(p);
            fer_fail(e, "out of memory");
            return NULL;
        }
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
    atomic_store(&p->pending, n);
    atomic_fetch_add(&p->generation, 1);
    if (p->sleepers) pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    drain(p);
    for (int s = 0; s < SPIN_ROUNDS && atomic_load(&p->pending) > 0; s++) cpu_relax();
    if (atomic_load(&p->pending) > 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending) > 0) pthread_cond_wait(&p->done_cv, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

void thread_pool_free(thread_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads - 1; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p);
}
