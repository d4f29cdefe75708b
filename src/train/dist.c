/* dist.c - dist.h's collectives: over MPI_COMM_WORLD when built with
 * -DFER_MPI (make MPI=1), otherwise the identity for one process. The MPI
 * build reports errors as statuses (MPI_ERRORS_RETURN) and runs a watchdog
 * thread that ends the process when a collective outlasts the timeout: a
 * dead rank would otherwise leave the others waiting for ever. */
#include "dist.h"

#include <stdlib.h>
#include <string.h>

static double env_timeout(void)
{
    const char *v = getenv("FER_MPI_TIMEOUT");
    double t = v ? atof(v) : 0;
    return t > 0 ? t : 300;
}

#ifndef FER_MPI

/* A launcher's size variable (Open MPI, MPICH/Hydra, PMIx) above 1. */
static int launched_as_many(void)
{
    static const char *const sizes[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE", NULL };
    for (int i = 0; sizes[i]; i++) {
        const char *v = getenv(sizes[i]);
        if (v && atoi(v) > 1) return 1;
    }
    const char *rank = getenv("PMIX_RANK");
    return rank && atoi(rank) > 0;
}

int dist_check_launch(fer_err *e)
{
    if (launched_as_many())
        return fer_fail(e, "this fer was built without MPI, but it was started as one of several ranks (mpirun -np N?): "
                           "each would train alone; build with `make MPI=1` and run build-mpi/fer");
    return 0;
}

int dist_init(dist *d, fer_err *e)
{
    memset(d, 0, sizeof *d);
    d->size = 1;
    d->timeout = env_timeout();
    return dist_check_launch(e);
}

void dist_finalize(dist *d) { (void)d; }
int dist_sum_floats(dist *d, float *buf, size_t n, fer_err *e) { (void)d; (void)buf; (void)n; (void)e; return 0; }
int dist_sum_doubles(dist *d, double *buf, size_t n, fer_err *e) { (void)d; (void)buf; (void)n; (void)e; return 0; }
int dist_max_int(dist *d, int *flag, fer_err *e) { (void)d; (void)flag; (void)e; return 0; }
int dist_sum_start(dist *d, float *buf, size_t n, fer_err *e) { (void)d; (void)buf; (void)n; (void)e; return 0; }
int dist_wait_all(dist *d, fer_err *e) { (void)d; (void)e; return 0; }
int dist_broadcast(dist *d, void *buf, size_t bytes, int root, fer_err *e)
{
    (void)d; (void)buf; (void)bytes; (void)root; (void)e;
    return 0;
}
int dist_barrier(dist *d, fer_err *e) { (void)d; (void)e; return 0; }
void dist_abort(dist *d, int code) { (void)d; (void)code; }

#else

#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* The MPI build's state: requests in flight and the watchdog's clock. */
typedef struct dist_mpi {
    MPI_Request req[DIST_MAX_PENDING];
    _Atomic double since;     /* when the current collective started; 0 = none */
    atomic_int quit;
    pthread_t watchdog;
    int rank;
    double timeout;
} dist_mpi;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *watchdog_main(void *arg)
{
    dist_mpi *m = arg;
    while (!atomic_load(&m->quit)) {
        double since = atomic_load(&m->since);
        if (since > 0 && now_seconds() - since > m->timeout) {
            fprintf(stderr, "fer: rank %d: the other ranks have not answered for %.0f s (a rank died or hangs); "
                            "giving up (FER_MPI_TIMEOUT sets the limit)\n", m->rank, m->timeout);
            _exit(3);   /* MPI cannot be finalized with a collective pending */
        }
        struct timespec pause = { 0, 200000000 };
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static int mpi_status(int rc, const char *what, fer_err *e)
{
    if (rc == MPI_SUCCESS) return 0;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return fer_fail(e, "MPI %s failed: %s (did a rank die?)", what, msg);
}

int dist_check_launch(fer_err *e) { (void)e; return 0; }

int dist_init(dist *d, fer_err *e)
{
    memset(d, 0, sizeof *d);
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return fer_fail(e, "MPI_Init failed");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    d->mpi = 1;
    d->timeout = env_timeout();
    dist_mpi *m = calloc(1, sizeof *m);
    if (!m) return fer_fail(e, "out of memory");
    m->rank = d->rank;
    m->timeout = d->timeout;
    d->impl = m;
    if (pthread_create(&m->watchdog, NULL, watchdog_main, m)) return fer_fail(e, "cannot start the MPI watchdog");
    return 0;
}

void dist_finalize(dist *d)
{
    dist_mpi *m = d->impl;
    if (!d->mpi) return;
    if (m) {
        atomic_store(&m->quit, 1);
        pthread_join(m->watchdog, NULL);
        free(m);
    }
    d->impl = NULL;
    d->mpi = 0;
    MPI_Finalize();
}

static void watch(dist *d, int on)
{
    dist_mpi *m = d->impl;
    atomic_store(&m->since, on ? now_seconds() : 0.0);
}

/* MPI counts are int: large buffers go in pieces. */
#define DIST_CHUNK ((size_t)1 << 30)

int dist_sum_floats(dist *d, float *buf, size_t n, fer_err *e)
{
    if (d->size == 1) return 0;
    watch(d, 1);
    int rc = MPI_SUCCESS;
    for (size_t o = 0; o < n && rc == MPI_SUCCESS; o += DIST_CHUNK)
        rc = MPI_Allreduce(MPI_IN_PLACE, buf + o, (int)(n - o < DIST_CHUNK ? n - o : DIST_CHUNK), MPI_FLOAT, MPI_SUM,
                           MPI_COMM_WORLD);
    watch(d, 0);
    return mpi_status(rc, "Allreduce", e);
}

int dist_sum_doubles(dist *d, double *buf, size_t n, fer_err *e)
{
    if (d->size == 1) return 0;
    watch(d, 1);
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    watch(d, 0);
    return mpi_status(rc, "Allreduce", e);
}

int dist_max_int(dist *d, int *flag, fer_err *e)
{
    if (d->size == 1) return 0;
    watch(d, 1);
    int rc = MPI_Allreduce(MPI_IN_PLACE, flag, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    watch(d, 0);
    return mpi_status(rc, "Allreduce", e);
}

int dist_sum_start(dist *d, float *buf, size_t n, fer_err *e)
{
    if (d->size == 1) return 0;
    dist_mpi *m = d->impl;
    if (n > DIST_CHUNK) return dist_sum_floats(d, buf, n, e);
    if (d->pending == DIST_MAX_PENDING && dist_wait_all(d, e)) return -1;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &m->req[d->pending]);
    if (rc == MPI_SUCCESS) d->pending++;
    /* MPI moves non-blocking collectives on only inside its calls: a test
     * of those in flight lets the earlier buckets progress now */
    int done = 0;
    if (rc == MPI_SUCCESS) rc = MPI_Testall(d->pending, m->req, &done, MPI_STATUSES_IGNORE);
    return mpi_status(rc, "Iallreduce", e);
}

int dist_wait_all(dist *d, fer_err *e)
{
    if (!d->pending) return 0;
    dist_mpi *m = d->impl;
    watch(d, 1);
    int rc = MPI_Waitall(d->pending, m->req, MPI_STATUSES_IGNORE);
    watch(d, 0);
    d->pending = 0;
    return mpi_status(rc, "Waitall", e);
}

int dist_broadcast(dist *d, void *buf, size_t bytes, int root, fer_err *e)
{
    if (d->size == 1) return 0;
    watch(d, 1);
    int rc = MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD);
    watch(d, 0);
    return mpi_status(rc, "Bcast", e);
}

int dist_barrier(dist *d, fer_err *e)
{
    if (d->size == 1) return 0;
    watch(d, 1);
    int rc = MPI_Barrier(MPI_COMM_WORLD);
    watch(d, 0);
    return mpi_status(rc, "Barrier", e);
}

void dist_abort(dist *d, int code)
{
    if (d->mpi && d->size > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

#endif
