/* dist.h - data-parallel training across processes: the few collective
 * operations the training loop needs (rank, size, in-place sums, a
 * non-blocking sum per gradient bucket, broadcast, barrier, abort).
 *
 * Built with MPI (make MPI=1, -DFER_MPI) they go through MPI_COMM_WORLD;
 * without it every operation is the identity for a single process, and
 * dist_check_launch refuses to run as one rank of several (a launcher such
 * as mpirun started more than one copy). Buffers are summed in place. A
 * collective that waits longer than the timeout (FER_MPI_TIMEOUT seconds,
 * default 300) means a rank died: the process says so and exits non-zero
 * (from a watchdog thread: MPI itself would wait for ever). */
#ifndef FER_TRAIN_DIST_H
#define FER_TRAIN_DIST_H

#include <stddef.h>

#include "engine/engine.h"

#define DIST_MAX_PENDING 256   /* gradient buckets in flight at once */

typedef struct dist {
    int rank, size;
    int mpi;                  /* 1 when built with MPI and initialized */
    double timeout;           /* seconds a collective may take */
    int pending;              /* non-blocking sums started and not waited for */
    void *impl;               /* the MPI build's requests and watchdog */
} dist;

/* 0 when this process may run: always with MPI; without it, an error when
 * the environment says a launcher started several ranks. */
int dist_check_launch(fer_err *e);
/* Starts the process group (MPI_Init once); size 1, rank 0 without MPI. */
int dist_init(dist *d, fer_err *e);
void dist_finalize(dist *d);
/* buf[n] summed over the ranks, in place (fp32). */
int dist_sum_floats(dist *d, float *buf, size_t n, fer_err *e);
/* buf[n] summed over the ranks, in place (fp64: counts and loss sums). */
int dist_sum_doubles(dist *d, double *buf, size_t n, fer_err *e);
/* The largest of every rank's *flag (a stop request anywhere stops all). */
int dist_max_int(dist *d, int *flag, fer_err *e);
/* Starts summing buf[n] in place; dist_wait_all finishes every started sum. */
int dist_sum_start(dist *d, float *buf, size_t n, fer_err *e);
int dist_wait_all(dist *d, fer_err *e);
/* bytes of buf from rank root to every rank. */
int dist_broadcast(dist *d, void *buf, size_t bytes, int root, fer_err *e);
int dist_barrier(dist *d, fer_err *e);
/* Ends every rank (after an error on one of them that the others cannot see). */
void dist_abort(dist *d, int code);

#endif
