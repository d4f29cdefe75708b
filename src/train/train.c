/* train.c - the training loop of `fer classifier train`: mini-batches from
 * the loader thread (loader.c) ahead of the compute, gradient
 * accumulation over subdivisions, the optimizer and schedule, per-epoch
 * validation, atomic checkpoints with resumable state, early stopping, a
 * CSV log, and a progress line (notices and progress go to the context's
 * log hook).
 *
 * train_classifier reads as its steps: trainer_setup (network, data,
 * schedule, outputs, resumed state, buffers), then run_epoch per epoch
 * (train_update per update, report_progress, end_epoch: validation,
 * checkpoint, log, early stop), then finish (batch-norm re-estimation, the
 * final weights).
 *
 * Determinism: the shuffle of epoch E, the augmentation of mini-batch M and
 * its dropout masks are all seeded from (seed, E, M), so a run resumed from
 * a checkpoint (even mid-epoch) repeats exactly what an uninterrupted run
 * with the same seed and thread count would do.
 *
 * Several ranks (mpirun, parallel.c): [net] batch stays the global batch;
 * rank r computes samples [r B/N, (r+1) B/N) of each mini-batch of B =
 * batch/subdivisions, drawn from the same shuffle and augmented by the same
 * per-mini-batch stream (a rank draws and discards the samples before its
 * own), dropout keyed by the sample's global index. Gradients are summed
 * over the ranks during the last backward pass of an update; rank 0 alone
 * writes files and notices; the state holds the global position, so a run
 * resumes with any number of ranks. */
#include "train.h"
#include "loader.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>


/* ---- resumable state ----------------------------------------------------- */

#define STATE_MAGIC "FERSTAT1"

typedef struct train_state {
    int32_t epoch;            /* epochs completed */
    int32_t batch;            /* updates done within the current epoch */
    int64_t updates;          /* updates done in all */
    uint64_t seed;
    uint64_t seen;
    double loss_sum, seconds; /* partial-epoch accumulators, training time so far */
    int64_t correct, count;
    float best_acc;
    int32_t best_epoch, bad_epochs;
    schedule_state sched;
    uint64_t opt_t;
    uint64_t n_params;
} train_state;

static void state_path(const char *weights, char *out, size_t cap)
{
    size_t n = strlen(weights);
    if (n > 8 && !strcmp(weights + n - 8, ".weights")) snprintf(out, cap, "%.*s.state", (int)(n - 8), weights);
    else snprintf(out, cap, "%s.state", weights);
}

static int state_save(const char *path, const train_state *st, const optimizer *opt, fer_err *e)
{
    char tmp[4096];
    FILE *f = atomic_open(path, tmp, sizeof tmp, e);
    if (!f) return -1;
    fwrite(STATE_MAGIC, 1, 8, f);
    fwrite(st, sizeof *st, 1, f);
    fwrite(opt->m, sizeof(float), opt->n, f);
    fwrite(opt->v, sizeof(float), opt->n, f);
    return atomic_close(f, tmp, path, e);
}

static int state_load(const char *path, train_state *st, optimizer *opt, fer_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fer_fail(e, "%s: %s", path, strerror(errno));
    char magic[8];
    int ok = fread(magic, 1, 8, f) == 8 && !memcmp(magic, STATE_MAGIC, 8) && fread(st, sizeof *st, 1, f) == 1;
    if (ok && st->n_params != opt->n) {
        fclose(f);
        return fer_fail(e, "%s: state for %llu parameters, but the network has %zu (another cfg?)", path,
                        (unsigned long long)st->n_params, opt->n);
    }
    ok = ok && fread(opt->m, sizeof(float), opt->n, f) == opt->n && fread(opt->v, sizeof(float), opt->n, f) == opt->n;
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (!ok || extra) return fer_fail(e, "%s: not a fer training state file, or truncated", path);
    if (st->epoch < 0 || st->batch < 0 || st->updates < 0)
        return fer_fail(e, "%s: corrupt training state (negative counters)", path);
    opt->t = st->opt_t;
    return 0;
}

/* ---- the CSV log --------------------------------------------------------- */

/* The log in memory: the lines for epochs <= upto of the file at path
 * (resume), or an empty log when path is NULL (a new run). */
static char *log_read(const char *path, int upto)
{
    size_t len = 0;
    fer_err ignore;
    char *text = path ? read_file(path, &len, &ignore) : NULL;
    char *out = calloc(len + 1 + 256, 1);
    if (!out) { free(text); return NULL; }
    if (!text) return out;
    char *p = text;
    while (*p) {
        char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p + 1) : strlen(p);
        int ep = atoi(p);
        if (!strncmp(p, "epoch", 5) || (ep >= 1 && ep <= upto)) strncat(out, p, n);
        p += n;
    }
    free(text);
    return out;
}

static int log_write(const char *path, const char *text, fer_err *e)
{
    char tmp[4096];
    FILE *f = atomic_open(path, tmp, sizeof tmp, e);
    if (!f) return -1;
    fputs(text, f);
    return atomic_close(f, tmp, path, e);
}

static int log_append(char **log, const char *line)
{
    size_t n = strlen(*log), m = strlen(line);
    char *p = realloc(*log, n + m + 1);
    if (!p) return -1;
    memcpy(p + n, line, m + 1);
    *log = p;
    return 0;
}

/* ---- class weights ------------------------------------------------------- */

int train_set_class_weights(network *net, const dataset *ds, fer_err *e)
{
    const char *spec = net->opt.class_weights;
    if (!*spec) return 0;
    int C = net->classes;
    free(net->class_weight);
    net->class_weight = calloc((size_t)C, sizeof(float));
    if (!net->class_weight) return fer_fail(e, "out of memory");
    if (!strcmp(spec, "auto")) {
        int *count = calloc((size_t)C, sizeof *count);
        if (!count) return fer_fail(e, "out of memory");
        dataset_class_counts(ds, count);
        for (int k = 0; k < C; k++)
            net->class_weight[k] = count[k] ? (float)ds->n / ((float)C * count[k]) : 0;
        free(count);
        return 0;
    }
    const char *p = spec;
    for (int k = 0; k < C; k++) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0 || !isfinite(v) || (k < C - 1 && *end != ',') || (k == C - 1 && *end))
            return fer_fail(e, "%s: [net] class_weights=%s: expected 'auto' or %d non-negative numbers", net->cfg_path,
                            spec, C);
        net->class_weight[k] = (float)v;
        p = end + 1;
    }
    return 0;
}

/* ---- set-up -------------------------------------------------------------- */

/* One call of train_classifier: what its set-up makes, and the state its
 * steps share. */
typedef struct trainer {
    const train_args *a;
    network *net;
    net_options *o;           /* &net->opt */
    const log_hook *log;      /* net->ctx's: where notices and progress go */
    dataset train, valid;
    float *teacher;           /* [train.n, classes] soft targets, or NULL */
    teacher_nets tnets;       /* -teacher-net: teachers run on each mini-batch (n = 0 without) */
    optimizer opt;
    loader L;
    dist *d;                  /* a->dist, or solo */
    dist solo;                /* the one-process group */
    parallel par;
    int B;                    /* this rank's samples per forward pass: batch / subdivisions / ranks */
    int stop;                 /* a stop request on any rank (after the last update) */
    long per_epoch, total;    /* updates per epoch, in all */
    int epochs;
    char name[256], dir[1024];              /* the cfg's stem, the backup folder */
    char last[2048], best[2048], final[2048], logpath[2048];
    train_state st;
    char *csv;                /* the CSV log's text */
    int *order;               /* [train.n] this epoch's permutation (or balanced draw) */
    int *by_class;            /* [train.n] class_balance's scratch, NULL without it */
    int *labels;              /* [B] the labels of the mini-batch in the network */
    float *vprobs;            /* [valid.n, classes] validation scratch */
    int live;                 /* progress lines redraw in place (and not -quiet) */
    int epochs_this_run;
    double whole_epochs_wall; /* wall seconds of this run's whole epochs, their end (validation, saves) included */
    int whole_epochs;         /* how many: the epochs this run did from their first update */
    double last_va;           /* the last epoch's validation accuracy, when this run validated one */
    /* the epoch under way */
    long first_update;        /* its first update in this run (> 0 when resumed mid-epoch) */
    double epoch_start, last_print;
} trainer;

/* What follows an epoch: the next one, the final phase, or the end of this
 * run without it (interrupted, -stop-after). */
typedef enum { NEXT_EPOCH, NEXT_FINAL, NEXT_HALT } epoch_next;

static int ensure_dir(const char *dir, fer_err *e)
{
    struct stat st;
    if (!stat(dir, &st)) return S_ISDIR(st.st_mode) ? 0 : fer_fail(e, "%s: exists and is not a folder", dir);
    if (mkdir(dir, 0777) && errno != EEXIST) return fer_fail(e, "%s: cannot create: %s", dir, strerror(errno));
    return 0;
}

/* The number of whole layers a weights file holds when it is shorter than
 * the network (a `fer partial` file, or a Darknet backbone such as
 * darknet53.conv.74), or -1 when it does not end on a layer boundary. */
static int weights_prefix_layers(const network *net, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int32_t hdr[3];
    long size = -1;
    if (fread(hdr, sizeof(int32_t), 3, f) == 3 && !fseek(f, 0, SEEK_END)) size = ftell(f);
    fclose(f);
    if (size < 0 || hdr[0] < 0 || hdr[1] < 0 || hdr[0] >= 1000 || hdr[1] >= 1000) return -1;   /* weights_load explains */
    size_t off = 12 + (hdr[0] * 10 + hdr[1] >= 2 ? 8 : 4);
    for (int i = 0; i < net->n && off <= (size_t)size; i++) {
        if (off == (size_t)size) {
            while (i < net->n && net->layers[i].n_params == 0) i++;   /* e.g. the final [softmax] */
            return i;
        }
        for (int j = 0; j < net->layers[i].n_params; j++)
            off += net->layers[i].params[j].n * (size_t)weights_value_size(hdr);
    }
    return -1;
}

/* Loads the starting weights. With -clear (fine-tuning) the file may hold
 * only the first layers; the layers above keep their fresh initialization. */
static int load_start_weights(network *net, const train_args *a, fer_err *e)
{
    int upto = a->clear ? weights_prefix_layers(net, a->weights) : -1;
    if (upto < 0 || upto == net->n) return weights_load_explained(net, a->weights, -1, e);
    if (weights_load(net, a->weights, upto, e)) return -1;
    if (!a->quiet)
        fer_log(&net->ctx->log, FER_LOG_INFO, "loaded the first %d of %d layers from %s; the layers above start fresh",
                upto, net->n, a->weights);
    return 0;
}

/* The network from the cfg with -lr applied, checked against the data, with
 * its starting weights. */
static int setup_network(trainer *t, fer_ctx *ctx, fer_err *e)
{
    const train_args *a = t->a;
    if (net_from_cfg(&t->net, a->cfg, ctx, e)) return -1;
    network *net = t->net;
    t->o = &net->opt;
    t->log = &net->ctx->log;
    if (a->lr > 0) {
        t->o->learning_rate = a->lr;
        if (t->o->min_lr > t->o->learning_rate) t->o->min_lr = t->o->learning_rate;
    }
    if (net->loss_layer < 0) return fer_fail(e, "%s: no [softmax] layer: nothing to train against", a->cfg);
    if (net->classes != a->data->classes)
        return fer_fail(e, "%s outputs %d values but %s has %d classes", a->cfg, net->classes, a->data->path,
                        a->data->classes);
    net_init_weights(net, a->seed);
    if (a->weights && load_start_weights(net, a, e)) return -1;
    if (a->clear) net->seen = 0;
    return 0;
}

/* Says how class_balance draws the classes, against their share of the
 * training images (one line however many classes). */
static void log_balance(trainer *t)
{
    const dataset *ds = &t->train;
    char **names = t->a->data->names;
    int count[FER_MAX_CLASSES];
    double share[FER_MAX_CLASSES];
    dataset_class_counts(ds, count);
    dataset_balance_shares(ds, t->o->class_balance, share);
    size_t cap = 200;
    for (int k = 0; k < ds->classes; k++) cap += 40 + (names && names[k] ? strlen(names[k]) : 0);
    char *line = malloc(cap);
    if (!line) return;   /* a notice only */
    size_t at = (size_t)snprintf(line, cap, "class_balance=%g: each epoch draws %d images with replacement; per class "
                                            "(share of the images -> of the draws):", t->o->class_balance, ds->n);
    for (int k = 0; k < ds->classes && at < cap; k++) {
        char num[16];
        snprintf(num, sizeof num, "%d", k);
        at += (size_t)snprintf(line + at, cap - at, "%s %s %.1f%% -> %.1f%%", k ? "," : "",
                               names && names[k] ? names[k] : num, 100.0 * count[k] / ds->n, 100 * share[k]);
    }
    fer_log(t->log, FER_LOG_INFO, "%s", line);
    free(line);
}

/* What the sampling and the per-epoch validation will do, said before the
 * first epoch; -bn-eval's batch size is checked here, not after an epoch. */
static int announce_sampling(trainer *t, fer_err *e)
{
    const train_args *a = t->a;
    const net_options *o = t->o;
    int B = o->batch / o->subdivisions;
    if (a->bn_eval > 0 && B < 2 && net_has_batchnorm(t->net))
        return fer_fail(e, "-bn-eval: batch-norm statistics need mini-batches of 2 or more images (batch/subdivisions "
                           "is %d)", B);
    if (a->quiet) return 0;
    if (o->mixup || o->cutmix) {
        float alpha = o->cutmix ? o->cutmix_alpha : o->mixup_alpha;
        const char *how = o->cutmix ? (alpha > 0 ? "CutMix, a box of 1 - Beta(%g, %g) of the area"
                                                 : "CutMix, Darknet's box (sides 30-80%%)")
                                    : (alpha > 0 ? "mixup, ratio ~ Beta(%g, %g)" : "mixup, half and half");
        char what[96];
        snprintf(what, sizeof what, how, alpha, alpha);
        fer_log(t->log, FER_LOG_INFO, "mixing %.0f%% of the training images: %s", 100 * o->mix_prob, what);
    }
    if (o->class_balance > 0) log_balance(t);
    if (o->class_balance > 0 && t->net->class_weight)
        fer_log(t->log, FER_LOG_WARN, "%s: class_balance and class_weights both favour the rare classes: their "
                                      "effects multiply", a->cfg);
    if (a->bn_eval > 0 && !net_has_batchnorm(t->net)) {
        fer_log(t->log, FER_LOG_INFO, "-bn-eval: %s has no batch-norm statistics to re-estimate", a->cfg);
    } else if (a->bn_eval > 0) {
        long batches = (long)a->bn_eval < t->train.n / B ? a->bn_eval : t->train.n / B;
        fer_log(t->log, FER_LOG_INFO, "-bn-eval %d: each epoch is validated and saved (_last, _best, the epoch files) "
                "with batch-norm statistics re-estimated over %ld training batches of %d (test-time views)",
                a->bn_eval, batches, B);
    }
    return 0;
}

/* The training and validation images, the class weights, and the teacher's
 * soft targets. */
static int setup_data(trainer *t, fer_err *e)
{
    const train_args *a = t->a;
    const net_options *o = t->o;
    double t0 = clock_seconds();
    if (dataset_load(&t->train, a->data->train, a->data->train_usage, a->data, o->width, o->height, o->channels, e))
        return -1;
    if (a->test.limit_train > 0 && a->test.limit_train < t->train.n) t->train.n = a->test.limit_train;
    if (a->data->valid[0]) {
        if (dataset_load(&t->valid, a->data->valid, a->data->valid_usage, a->data, o->width, o->height, o->channels, e))
            return -1;
        if (a->test.limit_valid > 0 && a->test.limit_valid < t->valid.n) t->valid.n = a->test.limit_valid;
    }
    if (!a->quiet)
        fer_log(t->log, FER_LOG_INFO, "loaded %d training and %d validation images in %.2f s", t->train.n, t->valid.n,
                clock_seconds() - t0);
    if (train_set_class_weights(t->net, &t->train, e)) return -1;
    if (t->train.n < o->batch)
        return fer_fail(e, "%s: %d training images is fewer than batch=%d", a->data->train, t->train.n, o->batch);
    if (announce_sampling(t, e)) return -1;
    if (!a->teacher && !a->teacher_nets) return 0;
    if (a->teacher && a->teacher_nets) return fer_fail(e, "-teacher and -teacher-net exclude each other: give one");
    if (!(a->distill > 0 && a->distill <= 1))
        return fer_fail(e, "-distill %g: expected the teacher's weight in (0, 1]", a->distill);
    if (t->net->class_weight)
        return fer_fail(e, "%s: [net] class_weights and -teacher exclude each other (the weight follows the label, "
                           "which a soft target does not name)", a->cfg);
    if (!a->teacher) return 0;   /* the teacher networks need the pass batch: setup_teacher_nets */
    if (teacher_load(a->teacher, &t->train, a->data->names, &t->teacher, e)) return -1;
    if (!a->quiet)
        fer_log(t->log, FER_LOG_INFO, "distilling: target = %.2f one-hot + %.2f %s", 1 - a->distill, a->distill,
                a->teacher);
    return 0;
}

/* -teacher-net: the teacher networks, at the pass batch. */
static int setup_teacher_nets(trainer *t, fer_err *e)
{
    const train_args *a = t->a;
    if (!a->teacher_nets) return 0;
    if (teacher_nets_load(&t->tnets, a->teacher_nets, t->net, t->B, t->net->ctx, e)) return -1;
    if (!a->quiet)
        fer_log(t->log, FER_LOG_INFO, "distilling: target = %.2f the labels' + %.2f the mean probabilities of %d teacher "
                "network%s on each mini-batch as the student sees it (%s)", 1 - a->distill, a->distill, t->tnets.n,
                t->tnets.n > 1 ? "s" : "", a->teacher_nets);
    return 0;
}

/* The training batch, the optimizer and the length of the run. */
static int setup_schedule(trainer *t, fer_err *e)
{
    const train_args *a = t->a;
    const net_options *o = t->o;
    int N = t->d->size;
    if (o->batch % (o->subdivisions * N))
        return fer_fail(e, "%s: batch=%d does not divide into subdivisions=%d x %d ranks", a->cfg, o->batch,
                        o->subdivisions, N);
    t->B = o->batch / o->subdivisions / N;
    if (net_set_batch(t->net, t->B, 1, e) || optimizer_init(&t->opt, t->net, e)) return -1;
    t->per_epoch = t->train.n / o->batch;
    t->epochs = a->epochs > 0 ? a->epochs : o->epochs;
    t->total = t->epochs > 0 ? t->epochs * t->per_epoch : (long)o->max_batches;
    if (t->total <= 0) return fer_fail(e, "%s: set epochs= or max_batches= in [net] (or -epochs N)", a->cfg);
    if (t->epochs <= 0) t->epochs = (int)((t->total + t->per_epoch - 1) / t->per_epoch);
    return 0;
}

/* Before the first update: the backup folder takes a file and has room
 * for what the run writes (_last with its .next and state, _best, _final
 * and the log), so a read-only or full disk is not found an epoch late. */
static int check_backup_room(trainer *t, fer_err *e)
{
    char probe[2200];
    snprintf(probe, sizeof probe, "%s/.%s_write_test", t->dir, t->name);
    FILE *f = fopen(probe, "wb");
    int bad = !f || fputs("fer", f) == EOF;
    if (f && fclose(f)) bad = 1;
    remove(probe);
    if (bad) return fer_fail(e, "%s: cannot write in the backup folder: %s (give -backup DIR)", t->dir, strerror(errno));
    size_t floats = t->net->n_param_floats;
    double need = (double)floats * 4 * 5 + (double)t->opt.n * 8;   /* 5 weights files in the worst case + state */
    struct statvfs vs;
    if (!statvfs(t->dir, &vs) && (double)vs.f_bavail * vs.f_frsize < need)
        return fer_fail(e, "%s: %.1f MB free, but the run writes up to %.1f MB of checkpoints there (give -backup DIR)",
                        t->dir, (double)vs.f_bavail * vs.f_frsize / 1e6, need / 1e6);
    return 0;
}

/* The backup folder and the names of the files the run writes there. */
static int setup_outputs(trainer *t, fer_err *e)
{
    const train_args *a = t->a;
    path_stem(a->cfg, t->name, sizeof t->name);
    snprintf(t->dir, sizeof t->dir, "%s", a->backup ? a->backup : a->data->backup);
    if (ensure_dir(t->dir, e)) return -1;
    snprintf(t->last, sizeof t->last, "%s/%s_last.weights", t->dir, t->name);
    snprintf(t->best, sizeof t->best, "%s/%s_best.weights", t->dir, t->name);
    snprintf(t->final, sizeof t->final, "%s/%s_final.weights", t->dir, t->name);
    snprintf(t->logpath, sizeof t->logpath, "%s/%s.log.csv", t->dir, t->name);
    return t->d->rank ? 0 : check_backup_room(t, e);   /* rank 0 writes the files */
}

/* A checkpoint interrupted between its state and its weights (see
 * save_checkpoint): <weights>.next holds the weights the state belongs to;
 * they are loaded and renamed into place. -1 only on a failed rename. */
static int roll_forward(trainer *t, const char *weights, uint64_t seen, fer_err *e)
{
    char next[4200];
    fer_err ignored;
    snprintf(next, sizeof next, "%s.next", weights);
    if (access(next, R_OK) || weights_load(t->net, next, -1, &ignored) || t->net->seen != seen) {
        if (!access(next, R_OK)) weights_load(t->net, weights, -1, &ignored);   /* back to the file given */
        return 0;
    }
    if (rename(next, weights)) return fer_fail(e, "%s: cannot rename from %s: %s", weights, next, strerror(errno));
    fer_log(t->log, FER_LOG_INFO, "%s: the last checkpoint was interrupted before its weights were in place; "
                                  "completed it from %s", weights, next);
    return 0;
}

/* Counters, optimizer moments and the log: fresh, or from the state file
 * beside the starting weights (resume). */
static int setup_resume(trainer *t, fer_err *e)
{
    const train_args *a = t->a;
    train_state *st = &t->st;
    memset(st, 0, sizeof *st);
    st->seed = a->seed;
    st->best_acc = -1;
    if (a->weights && !a->clear) {
        char sp[4096];
        state_path(a->weights, sp, sizeof sp);
        if (access(sp, R_OK) == 0) {
            if (state_load(sp, st, &t->opt, e)) return -1;
            if (t->d->rank) st->loss_sum = st->correct = st->count = 0;   /* rank 0 carries the global sums */
            /* rank 0 completes an interrupted checkpoint (the others then see a mismatch and stop: run again) */
            if (st->seen != t->net->seen && !t->d->rank && roll_forward(t, a->weights, st->seen, e)) return -1;
            if (st->seen != t->net->seen)
                return fer_fail(e, "%s: state is for %llu images seen but %s has %llu (interrupted while saving?); "
                                   "use -clear to start counters afresh", sp, (unsigned long long)st->seen, a->weights,
                                (unsigned long long)t->net->seen);
            if (!a->quiet)
                fer_log(t->log, FER_LOG_INFO, "resuming from %s: epoch %d, update %lld of %ld", a->weights,
                        st->epoch + 1, (long long)st->updates, t->total);
        } else if (!a->quiet) {
            fer_log(t->log, FER_LOG_INFO, "starting from the weights in %s (no %s: fresh optimizer and schedule)",
                    a->weights, sp);
        }
    }
    t->csv = log_read(st->epoch > 0 || st->batch > 0 ? t->logpath : NULL, st->epoch);
    if (!t->csv) return fer_fail(e, "out of memory");
    if (!*t->csv) log_append(&t->csv, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n");
    return 0;
}

/* The permutation, label and validation buffers, and the loader's slots. */
static int setup_buffers(trainer *t, fer_err *e)
{
    network *net = t->net;
    t->order = malloc((size_t)t->train.n * sizeof *t->order);
    t->labels = malloc((size_t)t->B * sizeof *t->labels);
    t->vprobs = t->valid.n ? malloc((size_t)t->valid.n * net->classes * sizeof *t->vprobs) : NULL;
    t->by_class = t->o->class_balance > 0 ? malloc((size_t)t->train.n * sizeof *t->by_class) : NULL;
    if (!t->order || !t->labels || (t->valid.n && !t->vprobs) || (t->o->class_balance > 0 && !t->by_class))
        return fer_fail(e, "out of memory");
    int ow, oh, ic;
    fer_net_input_shape(net, &ow, &oh, &ic);
    return loader_init(&t->L, &t->train, t->o, t->order, t->B, t->d->rank, t->d->size, ow, oh, net->inputs,
                       t->st.seed, e);
}

static void trainer_free(trainer *t)
{
    loader_free(&t->L);
    free(t->order);
    free(t->by_class);
    free(t->labels);
    free(t->teacher);
    teacher_nets_free(&t->tnets);
    free(t->vprobs);
    free(t->csv);
    optimizer_free(&t->opt);
    dataset_free(&t->train);
    dataset_free(&t->valid);
    net_free(t->net);
}

/* With several ranks: says how the work is shared, and fails on every rank
 * when the set-up failed on any (rc: this rank's result). */
static int setup_ranks(trainer *t, int rc, fer_err *e)
{
    if (!t->d->mpi) return rc;
    int failed = rc != 0;
    if (dist_max_int(t->d, &failed, rc ? NULL : e)) return -1;
    if (rc) return rc;
    if (failed) return fer_fail(e, "rank %d: another rank failed to set up (its message says why)", t->d->rank);
    if (!t->a->quiet)
        fer_log(t->log, FER_LOG_INFO, "%d rank%s x %d thread%s per rank, %d samples per rank and pass%s", t->d->size,
                t->d->size > 1 ? "s" : "", t->net->ctx->nthreads, t->net->ctx->nthreads > 1 ? "s" : "", t->B,
                t->par.sync_bn ? ", batch norm synchronized" : "");
    return 0;
}

/* Everything a run needs, in the order its messages and errors come. */
static int trainer_setup(trainer *t, const train_args *a, fer_ctx *ctx, fer_err *e)
{
    memset(t, 0, sizeof *t);
    t->a = a;
    t->last_va = -1;
    t->d = a->dist;
    if (!t->d) {
        t->d = &t->solo;
        t->solo.size = 1;
    }
    int rc = setup_network(t, ctx, e) || setup_data(t, e) || setup_schedule(t, e) || setup_teacher_nets(t, e) ||
             setup_outputs(t, e) || setup_resume(t, e) || setup_buffers(t, e) ? -1 : 0;
    if (t->net) parallel_attach(&t->par, t->net, t->d, a->sync_bn);
    if (setup_ranks(t, rc, e)) return -1;
    t->live = t->log->fn && t->log->live && !a->quiet;
    return 0;
}

/* ---- one update ---------------------------------------------------------- */

/* Adds `share` times image i's own target (the one-hot of its label, or
 * that mixed with the teacher's probabilities for it) to target ([C]). */
static void add_target(const trainer *t, int i, float share, float *target, int C)
{
    float distill = t->teacher ? t->a->distill : 0;
    if (t->teacher)
        for (int k = 0; k < C; k++) target[k] += share * distill * t->teacher[(size_t)i * C + k];
    target[t->train.labels[i]] += share * (1 - distill);
}

/* Mini-batch mb of this epoch into the network: the images, and the
 * targets (one-hot, or mixed with the teacher's probabilities; a mixed
 * image's target is its two images' in proportion). Training accuracy
 * counts the label with the larger share. */
static void feed_minibatch(trainer *t, long mb)
{
    network *net = t->net;
    int C = net->classes;
    loader_slot *slot = loader_take(&t->L, mb);
    memcpy(net->input, slot->x, (size_t)t->B * net->inputs * sizeof(float));
    memset(net->truth, 0, (size_t)t->B * C * sizeof(float));
    for (int b = 0; b < t->B; b++) {
        float *target = net->truth + (size_t)b * C;
        float keep = slot->keep[b];
        add_target(t, slot->index[b], keep, target, C);
        t->labels[b] = slot->labels[b];
        if (slot->other[b] < 0) continue;
        add_target(t, slot->other[b], 1 - keep, target, C);
        if (keep < 0.5f) t->labels[b] = t->train.labels[slot->other[b]];
    }
    loader_release(&t->L, slot);
}

/* Adds the network's top-1 hits and loss on the mini-batch to the epoch's sums. */
static void count_minibatch(trainer *t)
{
    network *net = t->net;
    const float *out = net_output(net);
    for (int b = 0; b < t->B; b++) {
        const float *p = out + (size_t)b * net->classes;
        int best = 0;
        for (int k = 1; k < net->classes; k++)
            if (p[k] > p[best]) best = k;
        t->st.correct += best == t->labels[b];
    }
    t->st.loss_sum += net->loss * t->B;
    t->st.count += t->B;
}

/* Whether any rank was asked to stop (a signal): into t->stop. */
static int check_stop(trainer *t, fer_err *e)
{
    int stop = t->a->stop && *t->a->stop;
    if (dist_max_int(t->d, &stop, e)) return -1;
    t->stop = stop;
    return 0;
}

/* Before validation or a checkpoint: the epoch's loss and hit sums of all
 * ranks on rank 0 (the others' become 0, so that summing again stays
 * right), and per-rank batch-norm statistics averaged. */
static int gather_epoch(trainer *t, fer_err *e)
{
    if (t->d->size == 1) return 0;
    train_state *st = &t->st;
    double sums[3] = { st->loss_sum, (double)st->correct, (double)st->count };
    if (dist_sum_doubles(t->d, sums, 3, e) || parallel_average_stats(&t->par, t->net, e)) return -1;
    int mine = t->d->rank == 0;
    st->loss_sum = mine ? sums[0] : 0;
    st->correct = mine ? (int64_t)sums[1] : 0;
    st->count = mine ? (int64_t)sums[2] : 0;
    return 0;
}

/* Update u of epoch `epoch` at learning rate lr: forward and backward over
 * the subdivisions' mini-batches, then one optimizer step. Fails when the
 * loss is not finite. With several ranks each computes its share of every
 * mini-batch, and the sums of the ranks' gradients (each the mean over its
 * share) are divided by ranks x subdivisions: the mean over the batch. */
static int train_update(trainer *t, int epoch, long u, float lr, fer_err *e)
{
    network *net = t->net;
    const net_options *o = t->o;
    for (int s = 0; s < o->subdivisions; s++) {
        long mb = u * o->subdivisions + s;
        feed_minibatch(t, mb);
        if (t->tnets.n && teacher_nets_blend(&t->tnets, net->input, net->truth, t->a->distill, e)) return -1;
        rng_seed(&net->rng, rng_stream_seed(t->st.seed ^ 0x5bd1e995ULL, (uint64_t)epoch + 1, (uint64_t)mb + 1));
        net->sample_base = t->B * t->d->rank;
        parallel_overlap(&t->par, net, s == o->subdivisions - 1);
        net->train = 1;
        net->has_truth = 1;
        net->want_dinput = 0;
        net_forward(net);
        if (!isfinite(net->loss))
            return fer_fail(e, "loss is %s at epoch %d update %ld: training diverged (lower learning_rate?); "
                               "the last good checkpoint %s is untouched",
                            isnan(net->loss) ? "NaN" : "infinite", epoch + 1, u + 1, t->last);
        count_minibatch(t);
        net_backward(net);
    }
    parallel_overlap(&t->par, net, 0);
    if (parallel_finish_grads(&t->par, e)) return -1;
    optimizer_step(&t->opt, net, lr, 1.0f / (o->subdivisions * t->d->size));
    net_zero_grads(net);
    t->st.updates++;
    t->st.batch++;
    net->seen += (uint64_t)o->batch;
    return 0;
}

/* The progress line after update u of `updates` in this epoch: on a live
 * display every quarter second and at the epoch's last update, otherwise
 * once a minute (never for the last update, the epoch line follows). */
static void report_progress(trainer *t, int epoch, long u, long updates, float lr)
{
    double now = clock_seconds();
    if (t->last_print == 0 && !t->live) t->last_print = now;   /* the first line after a minute */
    int report = t->live ? (now - t->last_print > 0.25 || u + 1 == updates)
                         : (!t->a->quiet && now - t->last_print > 60 && u + 1 < updates);
    if (!report) return;
    t->last_print = now;
    const train_state *st = &t->st;
    double elapsed = now - t->epoch_start, done = (double)(u + 1 - t->first_update);
    double ips = done * t->o->batch / (elapsed > 0 ? elapsed : 1e-9);
    double eta = (updates - u - 1) * t->o->batch / (ips > 0 ? ips : 1);
    fer_log(t->log, FER_LOG_PROGRESS, "epoch %d/%d  batch %ld/%ld  %.0f img/s  loss %.4f  acc %.4f  lr %.2g  eta %.0fs",
            epoch + 1, t->epochs, u + 1, updates, ips, st->loss_sum / st->count, (double)st->correct / st->count, lr,
            eta);
}

/* ---- the epoch end ------------------------------------------------------- */

/* Accuracy and loss on the validation set (probs: scratch of n x classes). */
static int validate(parallel *par, network *net, const dataset *valid, float *probs, double *acc, double *loss,
                    fer_err *e)
{
    metrics m;
    if (parallel_evaluate(par, net, valid, probs, e) || metrics_compute(&m, probs, valid->labels, valid->n, net->classes, e))
        return -1;
    *acc = m.accuracy;
    *loss = m.loss;
    metrics_free(&m);
    return 0;
}

/* Writes the state file, then the weights: on resume the two must agree on `seen`. */
/* The weights and the state as one unit: the new weights go to
 * <last>.next, then the state, then .next is renamed over <last> (every
 * step synced). A kill between the state and the rename leaves a state
 * that <last>.next matches: the resume rolls it forward by itself. */
static int save_checkpoint(trainer *t, fer_err *e)
{
    t->st.seen = t->net->seen;
    t->st.opt_t = t->opt.t;
    t->st.n_params = t->opt.n;
    if (t->d->rank) return 0;   /* rank 0 writes the files */
    char sp[4096], next[4200];
    state_path(t->last, sp, sizeof sp);
    snprintf(next, sizeof next, "%s.next", t->last);
    if (weights_save(t->net, next, -1, e) || state_save(sp, &t->st, &t->opt, e)) return -1;
    if (rename(next, t->last)) return fer_fail(e, "%s: cannot rename from %s: %s", t->last, next, strerror(errno));
    return 0;
}

/* Closes the epoch's counters with its validation result (va, vl: 0 without
 * a validation split): best and patience bookkeeping, the plateau policy,
 * the CSV line. Returns 1 when the epoch is the best so far. */
static int record_epoch(trainer *t, double tl, double ta, double vl, double va, float lr, fer_err *e)
{
    train_state *st = &t->st;
    st->epoch++;
    st->batch = 0;
    st->loss_sum = 0;
    st->correct = st->count = 0;
    int improved = t->valid.n && va > st->best_acc;
    if (improved) {
        st->best_acc = (float)va;
        st->best_epoch = st->epoch;
        st->bad_epochs = 0;
    } else if (t->valid.n) {
        st->bad_epochs++;
    }
    /* without a validation split there is nothing to plateau on */
    if (t->valid.n) schedule_epoch_end(t->o, &st->sched, (float)va);
    char line[256];
    snprintf(line, sizeof line, "%d,%.5f,%.5f,%.5f,%.5f,%.6g,%.1f\n", st->epoch, tl, ta, vl, va, lr, st->seconds);
    if (log_append(&t->csv, line)) return fer_fail(e, "out of memory");
    return improved;
}

/* A last update can overflow the weights without a non-finite loss: such
 * weights are never validated or checkpointed. */
static int check_params(trainer *t, int epoch, fer_err *e)
{
    const network *net = t->net;
    for (size_t i = 0; i < net->n_param_floats; i++)
        if (!isfinite(net->params[i]))
            return fer_fail(e, "parameter %zu is %s after epoch %d: training diverged (lower learning_rate?); "
                               "the last good checkpoint %s is untouched",
                            i, isnan(net->params[i]) ? "NaN" : "infinite", epoch, t->last);
    return 0;
}

/* The epoch's files: the checkpoint and the log, the best weights when
 * improved, and with -keep-epochs the epoch's own weights (-keep-from N:
 * from epoch N on). */
static int save_epoch(trainer *t, int improved, fer_err *e)
{
    network *net = t->net;
    if (save_checkpoint(t, e)) return -1;
    if (t->d->rank) return 0;
    if (log_write(t->logpath, t->csv, e)) return -1;
    if (improved && weights_save(net, t->best, -1, e)) return -1;
    if (t->a->keep_epochs && t->st.epoch >= t->a->keep_from) {
        char kept[2100];
        snprintf(kept, sizeof kept, "%s/%s_epoch%d.weights", t->dir, t->name, t->st.epoch);
        if (weights_save(net, kept, -1, e)) return -1;
    }
    return 0;
}

/* With -bn-eval N, the batch-norm statistics an epoch is validated and
 * saved with are re-estimated over N training mini-batches in test-time
 * views (drawn by a stream seeded from the run's seed and the epoch), as
 * -bn-final does over the whole split: the log's validation accuracy, _best
 * and the epoch files then judge the weights, not rolling statistics of
 * augmented images that lag them. Training reads batch statistics, never
 * the rolling ones, so the weights follow the same path with or without
 * it. Every rank re-estimates over the same images. */
static int bn_eval(trainer *t, fer_err *e)
{
    network *net = t->net;
    if (t->a->bn_eval <= 0 || !net_has_batchnorm(net)) return 0;
    int (*sum_stats)(void *, double *, int) = net->sum_stats;
    net->sum_stats = NULL;
    long images = (long)t->a->bn_eval * (t->o->batch / t->o->subdivisions);
    int rc = bn_recalibrate(net, &t->train, images > t->train.n ? t->train.n : (int)images,
                            rng_stream_seed(t->st.seed, (uint64_t)t->st.epoch + 1, 0xb17e57a7ULL), 1, 1, NULL, e);
    net->sum_stats = sum_stats;
    if (rc) return -1;
    return net->batch != t->B ? net_set_batch(net, t->B, 1, e) : 0;
}

/* " | ~N min left" (or hours, or under a minute) for the epoch line. */
static void format_time_left(char *out, size_t cap, double seconds)
{
    if (seconds < 60)
        snprintf(out, cap, " | under a minute left");
    else if (seconds < 5400)
        snprintf(out, cap, " | ~%.0f min left", seconds / 60);
    else
        snprintf(out, cap, " | ~%.1f h left", seconds / 3600);
}

/* After the epoch's last update (lr: its rate): validation, the log, the
 * checkpoint and the epoch line; then early stopping, a stop request or
 * -stop-after decide what comes next. */
static int end_epoch(trainer *t, float lr, epoch_next *next, fer_err *e)
{
    const train_args *a = t->a;
    train_state *st = &t->st;
    if (gather_epoch(t, e)) return -1;
    double tl = st->count ? st->loss_sum / st->count : 0, ta = st->count ? (double)st->correct / st->count : 0;
    double vl = 0, va = 0;
    if (check_params(t, st->epoch + 1, e) || bn_eval(t, e)) return -1;
    if (t->valid.n) {
        if (validate(&t->par, t->net, &t->valid, t->vprobs, &va, &vl, e)) return -1;
        t->last_va = va;
    }
    int improved = record_epoch(t, tl, ta, vl, va, lr, e);
    if (improved < 0 || save_epoch(t, improved, e)) return -1;
    if (t->first_update == 0) {   /* the whole epoch ran here: its wall time, end included */
        t->whole_epochs_wall += clock_seconds() - t->epoch_start;
        t->whole_epochs++;
    }
    if (!a->quiet) {
        /* the epochs left at this run's mean wall time per epoch (before a
         * whole one: the mean training time per epoch so far) */
        double per_epoch = t->whole_epochs ? t->whole_epochs_wall / t->whole_epochs : st->seconds / st->epoch;
        char left[40] = "";
        if (st->epoch > 0 && st->epoch < t->epochs)
            format_time_left(left, sizeof left, (t->epochs - st->epoch) * per_epoch);
        fer_log(t->log, FER_LOG_INFO, "epoch %d/%d: train loss %.4f acc %.4f | val loss %.4f acc %.4f%s | lr %.3g | %.0f s%s",
                st->epoch, t->epochs, tl, ta, vl, va, improved ? " (best)" : "", lr, st->seconds, left);
    }
    t->epochs_this_run++;
    if (check_stop(t, e)) return -1;
    *next = NEXT_EPOCH;
    if (t->o->patience > 0 && st->bad_epochs >= t->o->patience) {
        if (!a->quiet)
            fer_log(t->log, FER_LOG_INFO, "early stop: no improvement for %d epochs (best %.4f at epoch %d)",
                    t->o->patience, st->best_acc, st->best_epoch);
        *next = NEXT_FINAL;
    } else if (t->stop) {
        fer_log(t->log, FER_LOG_INFO, "interrupted after epoch %d; %s holds it; run the same command to resume",
                st->epoch, t->last);
        *next = NEXT_HALT;
    } else if (a->test.stop_after > 0 && t->epochs_this_run >= a->test.stop_after) {
        *next = NEXT_HALT;
    }
    return 0;
}

/* ---- an epoch ------------------------------------------------------------ */

/* Shuffles the epoch's images and starts the loader on its mini-batches
 * from the update the state is at; returns the epoch's update count. */
static long start_epoch(trainer *t, fer_err *e)
{
    train_state *st = &t->st;
    rng r;
    rng_seed(&r, rng_stream_seed(st->seed, (uint64_t)st->epoch + 1, 0));
    if (t->o->class_balance > 0)
        dataset_balanced_order(&t->train, t->o->class_balance, &r, t->order, t->by_class);
    else
        rng_permutation(&r, t->order, t->train.n);
    long updates = t->per_epoch;
    if (t->total - (st->updates - st->batch) < updates) updates = t->total - (st->updates - st->batch);
    if (loader_start(&t->L, st->epoch, (long)st->batch * t->o->subdivisions, updates * t->o->subdivisions, e))
        return -1;
    t->first_update = st->batch;
    t->epoch_start = clock_seconds();
    t->last_print = 0;
    return updates;
}

/* Runs the rest of the current epoch. A stop request (a signal) ends it
 * early with a checkpoint to resume from, and the run with it. */
static int run_epoch(trainer *t, epoch_next *next, fer_err *e)
{
    const train_args *a = t->a;
    train_state *st = &t->st;
    int epoch = st->epoch, interrupted = 0;
    long updates = start_epoch(t, e);
    if (updates < 0) return -1;
    /* the rate of the epoch's last update, which the log records: also when
     * a run stopped right after it resumes here with no update left */
    float lr = schedule_lr(t->o, &st->sched, st->updates + (updates - 1 - st->batch), t->total,
                           epoch + (double)(updates - 1) / t->per_epoch);
    for (long u = st->batch; u < updates; u++) {
        lr = schedule_lr(t->o, &st->sched, st->updates, t->total, epoch + (double)u / t->per_epoch);
        if (train_update(t, epoch, u, lr, e)) {
            loader_stop(&t->L);
            return -1;
        }
        report_progress(t, epoch, u, updates, lr);
        if (a->test.signal_at > 0 && st->updates == a->test.signal_at) raise(SIGINT);   /* the real handler runs */
        if (check_stop(t, e)) {
            loader_stop(&t->L);
            return -1;
        }
        if (t->stop) {
            interrupted = 1;
            break;
        }
    }
    loader_stop(&t->L);
    st->seconds += clock_seconds() - t->epoch_start;
    if (t->live) t->log->fn(t->log->user, FER_LOG_PROGRESS, "");   /* an empty one ends the progress line */
    if (!interrupted) return end_epoch(t, lr, next, e);
    *next = NEXT_HALT;
    if (gather_epoch(t, e) || save_checkpoint(t, e)) return -1;
    fer_log(t->log, FER_LOG_INFO, "interrupted: wrote %s at epoch %d update %d; run the same command to resume",
            t->last, epoch + 1, st->batch);
    return 0;
}

/* ---- the final phase ----------------------------------------------------- */

/* With -bn-final, re-estimates the batch-norm statistics; then writes
 * _final. The rolling statistics training leaves are an exponential average
 * over augmented images; _final gets the plain mean over the training split
 * in test-time views (as `fer average` does by default, same seed); _last
 * keeps the weights as trained, so resuming is unchanged. */
static int finish(trainer *t, fer_err *e)
{
    const train_args *a = t->a;
    network *net = t->net;
    if (a->bn_final && net_has_batchnorm(net)) {
        int batches = 0;
        net->sum_stats = NULL;   /* every rank re-estimates over the whole split */
        if (bn_recalibrate(net, &t->train, -1, 1, 1, 1, &batches, e)) return -1;
        double re_va = -1, re_vl;
        if (t->valid.n && validate(&t->par, net, &t->valid, t->vprobs, &re_va, &re_vl, e)) return -1;
        char acc[128] = "";
        if (re_va >= 0 && t->last_va >= 0)
            snprintf(acc, sizeof acc, ": val acc %.4f as trained, %.4f re-estimated", t->last_va, re_va);
        else if (re_va >= 0)
            snprintf(acc, sizeof acc, ": val acc %.4f", re_va);
        if (!a->quiet)
            fer_log(t->log, FER_LOG_INFO, "batch-norm statistics re-estimated over %d training batches of %d "
                                          "(test-time views)%s", batches, net->batch, acc);
    } else if (a->bn_final && !a->quiet) {
        fer_log(t->log, FER_LOG_INFO, "-bn-final: %s has no batch-norm statistics to re-estimate", a->cfg);
    }
    if (!t->d->rank && weights_save(net, t->final, -1, e)) return -1;
    if (!a->quiet)
        fer_log(t->log, FER_LOG_INFO, "done: %s (best validation accuracy %.4f at epoch %d in %s)", t->final,
                t->st.best_acc, t->st.best_epoch, t->best);
    return 0;
}

/* Without a WEIGHTS argument, the same command resumes its own run:
 * <backup>/<cfg>_last.weights with its state. A _last.weights without a
 * state is not resumed and not overwritten; -clear starts over. */
static int choose_start(train_args *run, char *last, size_t cap, fer_ctx *ctx, fer_err *e)
{
    if (run->weights) return 0;
    char name[256], sp[4300];
    path_stem(run->cfg, name, sizeof name);
    snprintf(last, cap, "%s/%s_last.weights", run->backup ? run->backup : run->data->backup, name);
    if (access(last, F_OK)) return 0;
    if (run->clear) {
        if (!run->quiet) fer_log(&ctx->log, FER_LOG_INFO, "starting over (-clear): %s will be replaced", last);
        run->clear = 0;   /* no weights to reset counters of: a fresh run */
        return 0;
    }
    state_path(last, sp, sizeof sp);
    if (access(sp, R_OK))
        return fer_fail(e, "%s exists without its state %s, so it cannot be resumed: give it as WEIGHTS to start "
                           "from it, -clear to start over (replacing it), or -backup DIR for another folder", last, sp);
    run->weights = last;
    return 0;
}

int train_classifier(const train_args *a, fer_ctx *ctx, fer_err *e)
{
    trainer t;
    train_args run = *a;
    char last[4200];
    if (choose_start(&run, last, sizeof last, ctx, e)) return -1;
    int rc = trainer_setup(&t, &run, ctx, e);
    epoch_next next = NEXT_EPOCH;
    while (!rc && next == NEXT_EPOCH && t.st.epoch < t.epochs && t.st.updates < t.total)
        rc = run_epoch(&t, &next, e);
    if (!rc && next != NEXT_HALT) rc = finish(&t, e);
    trainer_free(&t);
    return rc;
}
