/* context.c - the execution context: thread pool, kernel table, RNG, log hook. */
#include "engine.h"
#include "kernels/kernels.h"

#include <stdlib.h>
#include <unistd.h>

int fer_ctx_new(fer_ctx **out, int nthreads, const char *isa, fer_err *e)
{
    *out = NULL;
    if (nthreads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = n > 0 ? (int)n : 1;
    }
    if (nthreads > 256) return fer_fail(e, "-threads %d: at most 256", nthreads);
    fer_ctx *c = calloc(1, sizeof *c);
    if (!c) return fer_fail(e, "out of memory");
    if (!isa) isa = getenv("FER_ISA");
    if (kernels_select(&c->k, isa, e)) {
        free(c);
        return -1;
    }
    c->pool = thread_pool_new(nthreads, e);
    if (!c->pool) {
        free(c);
        return -1;
    }
    c->nthreads = nthreads;
    rng_seed(&c->rng, 1);
    *out = c;
    return 0;
}

const char *fer_ctx_isa(const fer_ctx *ctx) { return ctx->k.isa; }

int fer_ctx_set_precision(fer_ctx *ctx, const char *precision, fer_err *e)
{
    return kernels_set_precision(&ctx->k, precision, e);
}

const char *fer_ctx_precision(const fer_ctx *ctx) { return ctx->k.bf16 ? "bf16" : "fp32"; }
int fer_ctx_threads(const fer_ctx *ctx) { return ctx->nthreads; }

void fer_ctx_set_log(fer_ctx *ctx, fer_log_fn fn, void *user, int live)
{
    ctx->log.fn = fn;
    ctx->log.user = user;
    ctx->log.live = live;
}

void fer_ctx_free(fer_ctx *ctx)
{
    if (!ctx) return;
    thread_pool_free(ctx->pool);
    free(ctx);
}
