/* train.c - the training loop of `fer classifier train`: a loader thread
 * that prepares augmented mini-batches ahead of the compute, gradient
 * accumulation over subdivisions, the optimizer and schedule, per-epoch
 * validation, atomic checkpoints with resumable state, early stopping, a
 * CSV log, and a progress line.
 *
 * Determinism: the shuffle of epoch E, the augmentation of mini-batch M and
 * its dropout masks are all seeded from (seed, E, M), so a run resumed from
 * a checkpoint (even mid-epoch) repeats exactly what an uninterrupted run
 * with the same seed and thread count would do. */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


static uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t b)
{
    uint64_t x = seed ^ (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL + 0x165667b19e3779f9ULL);
    x ^= x >> 31;
    return x * 0xbf58476d1ce4e5b9ULL;
}

/* ---- the loader thread --------------------------------------------------- */

#define LOADER_SLOTS 3

typedef struct loader_slot {
    float *x;        /* [B, c, h, w] */
    int *labels;     /* [B] */
    int *index;      /* [B] image numbers in the dataset */
    long id;         /* mini-batch number it holds, -1 when free */
} loader_slot;

typedef struct loader {
    const dataset *ds;
    const net_options *opt;
    const int *order;         /* [n] this epoch's permutation */
    int B, ow, oh, inputs;
    long first, end;          /* mini-batches [first, end) of this epoch */
    uint64_t seed;
    int epoch;
    loader_slot slot[LOADER_SLOTS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    pthread_t thread;
} loader;

static void *loader_main(void *arg)
{
    loader *L = arg;
    for (long mb = L->first; mb < L->end; mb++) {
        loader_slot *s = &L->slot[mb % LOADER_SLOTS];
        pthread_mutex_lock(&L->mu);
        while (s->id != -1 && !L->stop) pthread_cond_wait(&L->cv, &L->mu);
        int stop = L->stop;
        pthread_mutex_unlock(&L->mu);
        if (stop) break;
        rng r;
        rng_seed(&r, mix_seed(L->seed, (uint64_t)L->epoch + 1, (uint64_t)mb + 1));
        for (int b = 0; b < L->B; b++) {
            int i = L->order[(mb * L->B + b) % L->ds->n];
            augment_sample(L->ds, i, L->opt, 1, 0, &r, s->x + (size_t)b * L->inputs, L->ow, L->oh);
            s->labels[b] = L->ds->labels[i];
            s->index[b] = i;
        }
        pthread_mutex_lock(&L->mu);
        s->id = mb;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
    }
    return NULL;
}

static loader_slot *loader_take(loader *L, long mb)
{
    loader_slot *s = &L->slot[mb % LOADER_SLOTS];
    pthread_mutex_lock(&L->mu);
    while (s->id != mb) pthread_cond_wait(&L->cv, &L->mu);
    pthread_mutex_unlock(&L->mu);
    return s;
}

static void loader_release(loader *L, loader_slot *s)
{
    pthread_mutex_lock(&L->mu);
    s->id = -1;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

static int loader_start(loader *L, fer_err *e)
{
    for (int i = 0; i < LOADER_SLOTS; i++) L->slot[i].id = -1;
    L->stop = 0;
    if (pthread_create(&L->thread, NULL, loader_main, L)) return fer_fail(e, "cannot start the loader thread");
    return 0;
}

static void loader_stop(loader *L)
{
    pthread_mutex_lock(&L->mu);
    L->stop = 1;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
    pthread_join(L->thread, NULL);
}

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

/* Keeps the log's lines for epochs <= upto (resume), in memory. */
static char *log_read(const char *path, int upto)
{
    size_t len = 0;
    fer_err ignore;
    char *text = read_file(path, &len, &ignore);
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

/* ---- training ------------------------------------------------------------ */

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
    if (upto < 0 || upto == net->n) return weights_load(net, a->weights, -1, e);
    if (weights_load(net, a->weights, upto, e)) return -1;
    if (!a->quiet)
        fprintf(stderr, "loaded the first %d of %d layers from %s; the layers above start fresh\n", upto, net->n,
                a->weights);
    return 0;
}

/* Accuracy and loss on the validation set (probs: scratch of n x classes). */
static int validate(network *net, const dataset *valid, float *probs, double *acc, double *loss, fer_err *e)
{
    metrics m;
    if (evaluate_probs(net, valid, 0, probs, e) || metrics_compute(&m, probs, valid->labels, valid->n, net->classes, e))
        return -1;
    *acc = m.accuracy;
    *loss = m.loss;
    metrics_free(&m);
    return 0;
}

static int save_checkpoint(network *net, const char *weights, const train_state *st, const optimizer *opt,
                           fer_err *e)
{
    char sp[4096];
    state_path(weights, sp, sizeof sp);
    /* state first, then weights: on resume the two must agree on `seen` */
    if (state_save(sp, st, opt, e)) return -1;
    return weights_save(net, weights, -1, e);
}

int train_classifier(const train_args *a, fer_ctx *ctx, fer_err *e)
{
    network *net = NULL;
    dataset train = { 0 }, valid = { 0 };
    optimizer opt = { 0 };
    loader L = { 0 };
    int *order = NULL, *labels = NULL;
    float *vprobs = NULL, *teacher = NULL;
    char *log = NULL;
    int rc = -1;
    pthread_mutex_init(&L.mu, NULL);
    pthread_cond_init(&L.cv, NULL);

    if (net_from_cfg(&net, a->cfg, ctx, e)) goto done;
    net_options *o = &net->opt;
    if (a->lr > 0) {
        o->learning_rate = a->lr;
        if (o->min_lr > o->learning_rate) o->min_lr = o->learning_rate;
    }
    if (net->loss_layer < 0) {
        fer_fail(e, "%s: no [softmax] layer: nothing to train against", a->cfg);
        goto done;
    }
    if (net->classes != a->data->classes) {
        fer_fail(e, "%s outputs %d values but %s has %d classes", a->cfg, net->classes, a->data->path, a->data->classes);
        goto done;
    }
    net_init_weights(net, a->seed);
    if (a->weights && load_start_weights(net, a, e)) goto done;
    if (a->clear) net->seen = 0;

    double t0 = clock_seconds();
    if (dataset_load(&train, a->data->train, a->data->train_usage, a->data, o->width, o->height, o->channels, e))
        goto done;
    if (a->limit_train > 0 && a->limit_train < train.n) train.n = a->limit_train;
    if (a->data->valid[0]) {
        if (dataset_load(&valid, a->data->valid, a->data->valid_usage, a->data, o->width, o->height, o->channels, e))
            goto done;
        if (a->limit_valid > 0 && a->limit_valid < valid.n) valid.n = a->limit_valid;
    }
    if (!a->quiet)
        fprintf(stderr, "loaded %d training and %d validation images in %.2f s\n", train.n, valid.n, clock_seconds() - t0);
    if (train_set_class_weights(net, &train, e)) goto done;

    int B = o->batch / o->subdivisions;
    if (train.n < o->batch) {
        fer_fail(e, "%s: %d training images is fewer than batch=%d", a->data->train, train.n, o->batch);
        goto done;
    }
    if (a->teacher) {
        if (!(a->distill > 0 && a->distill <= 1)) {
            fer_fail(e, "-distill %g: expected the teacher's weight in (0, 1]", a->distill);
            goto done;
        }
        if (net->class_weight) {
            fer_fail(e, "%s: [net] class_weights and -teacher exclude each other (the weight follows the label, which a "
                        "soft target does not name)", a->cfg);
            goto done;
        }
        if (teacher_load(a->teacher, &train, a->data->names, &teacher, e)) goto done;
        if (!a->quiet) fprintf(stderr, "distilling: target = %.2f one-hot + %.2f %s\n", 1 - a->distill, a->distill, a->teacher);
    }
    if (net_set_batch(net, B, 1, e) || optimizer_init(&opt, net, e)) goto done;
    long per_epoch = train.n / o->batch;
    int epochs = a->epochs > 0 ? a->epochs : o->epochs;
    long total = epochs > 0 ? epochs * per_epoch : (long)o->max_batches;
    if (total <= 0) {
        fer_fail(e, "%s: set epochs= or max_batches= in [net] (or -epochs N)", a->cfg);
        goto done;
    }
    if (epochs <= 0) epochs = (int)((total + per_epoch - 1) / per_epoch);

    char name[256], dir[1024], last[2048], best[2048], final[2048], logpath[2048];
    path_stem(a->cfg, name, sizeof name);
    snprintf(dir, sizeof dir, "%s", a->backup ? a->backup : a->data->backup);
    if (ensure_dir(dir, e)) goto done;
    snprintf(last, sizeof last, "%s/%s_last.weights", dir, name);
    snprintf(best, sizeof best, "%s/%s_best.weights", dir, name);
    snprintf(final, sizeof final, "%s/%s_final.weights", dir, name);
    snprintf(logpath, sizeof logpath, "%s/%s.log.csv", dir, name);

    train_state st;
    memset(&st, 0, sizeof st);
    st.seed = a->seed;
    st.best_acc = -1;
    if (a->weights && !a->clear) {
        char sp[4096];
        state_path(a->weights, sp, sizeof sp);
        if (access(sp, R_OK) == 0) {
            if (state_load(sp, &st, &opt, e)) goto done;
            if (st.seen != net->seen) {
                fer_fail(e, "%s: state is for %llu images seen but %s has %llu (interrupted while saving?); "
                            "use -clear to start counters afresh", sp, (unsigned long long)st.seen, a->weights,
                         (unsigned long long)net->seen);
                goto done;
            }
            if (!a->quiet)
                fprintf(stderr, "resuming from %s: epoch %d, update %lld of %ld\n", a->weights, st.epoch + 1,
                        (long long)st.updates, total);
        } else if (!a->quiet) {
            fprintf(stderr, "starting from the weights in %s (no %s: fresh optimizer and schedule)\n", a->weights, sp);
        }
    }
    uint64_t seed = st.seed;
    log = log_read(st.epoch > 0 || st.batch > 0 ? logpath : "/nonexistent", st.epoch);
    if (!log) { fer_fail(e, "out of memory"); goto done; }
    if (!*log) log_append(&log, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n");

    order = malloc((size_t)train.n * sizeof *order);
    labels = malloc((size_t)B * sizeof *labels);
    vprobs = valid.n ? malloc((size_t)valid.n * net->classes * sizeof *vprobs) : NULL;
    if (!order || !labels || (valid.n && !vprobs)) { fer_fail(e, "out of memory"); goto done; }
    int iw, ih, ic;
    fer_net_input_shape(net, &iw, &ih, &ic);
    for (int i = 0; i < LOADER_SLOTS; i++) {
        L.slot[i].x = fer_alloc((size_t)B * net->inputs, sizeof(float), e);
        L.slot[i].labels = calloc((size_t)B, sizeof(int));
        L.slot[i].index = calloc((size_t)B, sizeof(int));
        if (!L.slot[i].x || !L.slot[i].labels || !L.slot[i].index) { fer_fail(e, "out of memory"); goto done; }
    }
    L.ds = &train;
    L.opt = o;
    L.order = order;
    L.B = B;
    L.ow = iw;
    L.oh = ih;
    L.inputs = net->inputs;
    L.seed = seed;

    int tty = isatty(2) && !a->quiet;
    int epochs_this_run = 0;
    double last_va = -1;   /* the last epoch's validation accuracy, when this run validated one */
    while (st.epoch < epochs && st.updates < total) {
        int epoch = st.epoch;
        rng r;
        rng_seed(&r, mix_seed(seed, (uint64_t)epoch + 1, 0));
        rng_permutation(&r, order, train.n);
        long updates_this_epoch = per_epoch;
        if (total - (st.updates - st.batch) < updates_this_epoch) updates_this_epoch = total - (st.updates - st.batch);
        L.epoch = epoch;
        L.first = (long)st.batch * o->subdivisions;
        L.end = updates_this_epoch * o->subdivisions;
        if (loader_start(&L, e)) goto done;
        double ep_start = clock_seconds(), last_print = 0;
        int interrupted = 0;
        float lr = 0;
        for (long u = st.batch; u < updates_this_epoch; u++) {
            lr = schedule_lr(o, &st.sched, st.updates, total, epoch + (double)u / per_epoch);
            for (int s = 0; s < o->subdivisions; s++) {
                long mb = u * o->subdivisions + s;
                loader_slot *slot = loader_take(&L, mb);
                memcpy(net->input, slot->x, (size_t)B * net->inputs * sizeof(float));
                memset(net->truth, 0, (size_t)B * net->classes * sizeof(float));
                for (int b = 0; b < B; b++) {
                    float *t = net->truth + (size_t)b * net->classes;
                    if (teacher) {
                        const float *q = teacher + (size_t)slot->index[b] * net->classes;
                        for (int k = 0; k < net->classes; k++) t[k] = a->distill * q[k];
                        t[slot->labels[b]] += 1 - a->distill;
                    } else {
                        t[slot->labels[b]] = 1;
                    }
                }
                memcpy(labels, slot->labels, (size_t)B * sizeof(int));
                loader_release(&L, slot);
                rng_seed(&net->rng, mix_seed(seed ^ 0x5bd1e995ULL, (uint64_t)epoch + 1, (uint64_t)mb + 1));
                net->train = 1;
                net->has_truth = 1;
                net->want_dinput = 0;
                net_forward(net);
                if (!isfinite(net->loss)) {
                    loader_stop(&L);
                    fer_fail(e, "loss is %s at epoch %d update %ld: training diverged (lower learning_rate?); "
                                "the last good checkpoint %s is untouched",
                             isnan(net->loss) ? "NaN" : "infinite", epoch + 1, u + 1, last);
                    goto done;
                }
                const float *out = net_output(net);
                for (int b = 0; b < B; b++) {
                    int bi = 0;
                    for (int k = 1; k < net->classes; k++)
                        if (out[(size_t)b * net->classes + k] > out[(size_t)b * net->classes + bi]) bi = k;
                    st.correct += bi == labels[b];
                }
                st.loss_sum += net->loss * B;
                st.count += B;
                net_backward(net);
            }
            optimizer_step(&opt, net, lr, 1.0f / o->subdivisions);
            net_zero_grads(net);
            st.updates++;
            st.batch++;
            net->seen += (uint64_t)o->batch;
            double t = clock_seconds();
            if (last_print == 0 && !tty) last_print = t;   /* the first line after a minute */
            int report = tty ? (t - last_print > 0.25 || u + 1 == updates_this_epoch)
                             : (!a->quiet && t - last_print > 60 && u + 1 < updates_this_epoch);
            if (report) {
                last_print = t;
                double el = t - ep_start, done_frac = (double)(u + 1 - (L.first / o->subdivisions));
                double ips = done_frac * o->batch / (el > 0 ? el : 1e-9);
                double eta = (updates_this_epoch - u - 1) * o->batch / (ips > 0 ? ips : 1);
                fprintf(stderr, "%sepoch %d/%d  batch %ld/%ld  %.0f img/s  loss %.4f  acc %.4f  lr %.2g  eta %.0fs   %s",
                        tty ? "\r" : "", epoch + 1, epochs, u + 1, updates_this_epoch, ips, st.loss_sum / st.count,
                        (double)st.correct / st.count, lr, eta, tty ? "" : "\n");
            }
            if (a->signal_at > 0 && st.updates == a->signal_at) raise(SIGINT);   /* the real handler runs */
            if (a->stop && *a->stop) {
                interrupted = 1;
                break;
            }
        }
        loader_stop(&L);
        st.seconds += clock_seconds() - ep_start;
        if (tty) fprintf(stderr, "\n");
        if (interrupted) {
            st.seen = net->seen;
            st.opt_t = opt.t;
            st.n_params = opt.n;
            if (save_checkpoint(net, last, &st, &opt, e)) goto done;
            fprintf(stderr, "interrupted: wrote %s at epoch %d update %d; run the same command with it to resume\n",
                    last, epoch + 1, st.batch);
            rc = 0;
            goto done;
        }
        /* epoch end: validate, log, checkpoint */
        double tl = st.count ? st.loss_sum / st.count : 0, ta = st.count ? (double)st.correct / st.count : 0;
        double vl = 0, va = 0;
        if (valid.n) {
            if (validate(net, &valid, vprobs, &va, &vl, e)) goto done;
            last_va = va;
        }
        st.epoch++;
        st.batch = 0;
        st.loss_sum = 0;
        st.correct = st.count = 0;
        int improved = valid.n && va > st.best_acc;
        if (improved) {
            st.best_acc = (float)va;
            st.best_epoch = st.epoch;
            st.bad_epochs = 0;
        } else if (valid.n) {
            st.bad_epochs++;
        }
        /* without a validation split there is nothing to plateau on */
        if (valid.n) schedule_epoch_end(o, &st.sched, (float)va);
        char line[256];
        snprintf(line, sizeof line, "%d,%.5f,%.5f,%.5f,%.5f,%.6g,%.1f\n", st.epoch, tl, ta, vl, va, lr, st.seconds);
        if (log_append(&log, line)) { fer_fail(e, "out of memory"); goto done; }
        st.seen = net->seen;
        st.opt_t = opt.t;
        st.n_params = opt.n;
        /* a last update can overflow the weights without a non-finite loss
         * (validation clamps NaN probabilities): never checkpoint those */
        for (size_t i = 0; i < net->n_param_floats; i++)
            if (!isfinite(net->params[i])) {
                fer_fail(e, "parameter %zu is %s after epoch %d: training diverged (lower learning_rate?); "
                            "the last good checkpoint %s is untouched",
                         i, isnan(net->params[i]) ? "NaN" : "infinite", st.epoch, last);
                goto done;
            }
        if (save_checkpoint(net, last, &st, &opt, e) || log_write(logpath, log, e)) goto done;
        if (improved && weights_save(net, best, -1, e)) goto done;
        if (a->keep_epochs) {
            char kept[2100];
            snprintf(kept, sizeof kept, "%s/%s_epoch%d.weights", dir, name, st.epoch);
            if (weights_save(net, kept, -1, e)) goto done;
        }
        if (!a->quiet)
            fprintf(stderr, "epoch %d/%d: train loss %.4f acc %.4f | val loss %.4f acc %.4f%s | lr %.3g | %.0f s\n",
                    st.epoch, epochs, tl, ta, vl, va, improved ? " (best)" : "", lr, st.seconds);
        epochs_this_run++;
        if (o->patience > 0 && st.bad_epochs >= o->patience) {
            if (!a->quiet)
                fprintf(stderr, "early stop: no improvement for %d epochs (best %.4f at epoch %d)\n", o->patience,
                        st.best_acc, st.best_epoch);
            break;
        }
        if (a->stop && *a->stop) {
            fprintf(stderr, "interrupted after epoch %d; %s holds it\n", st.epoch, last);
            rc = 0;
            goto done;
        }
        if (a->stop_after > 0 && epochs_this_run >= a->stop_after) {
            rc = 0;
            goto done;
        }
    }
    if (a->bn_final && net_has_batchnorm(net)) {
        /* the rolling statistics training leaves are an exponential average
         * over augmented images; _final gets the plain mean over the training
         * split in test-time views (as `fer average` does by default, same
         * seed); _last keeps the weights as trained, so resuming is unchanged */
        int batches = 0;
        if (bn_recalibrate(net, &train, -1, 1, 1, 1, &batches, e)) goto done;
        double re_va = -1, re_vl;
        if (valid.n && validate(net, &valid, vprobs, &re_va, &re_vl, e)) goto done;
        if (!a->quiet) {
            fprintf(stderr, "batch-norm statistics re-estimated over %d training batches of %d (test-time views)", batches,
                    net->batch);
            if (re_va >= 0 && last_va >= 0) fprintf(stderr, ": val acc %.4f as trained, %.4f re-estimated", last_va, re_va);
            else if (re_va >= 0) fprintf(stderr, ": val acc %.4f", re_va);
            fputc('\n', stderr);
        }
    } else if (a->bn_final && !a->quiet) {
        fprintf(stderr, "-bn-final: %s has no batch-norm statistics to re-estimate\n", a->cfg);
    }
    if (weights_save(net, final, -1, e)) goto done;
    if (!a->quiet)
        fprintf(stderr, "done: %s (best validation accuracy %.4f at epoch %d in %s)\n", final, st.best_acc,
                st.best_epoch, best);
    rc = 0;
done:
    for (int i = 0; i < LOADER_SLOTS; i++) {
        fer_free(L.slot[i].x);
        free(L.slot[i].labels);
        free(L.slot[i].index);
    }
    pthread_mutex_destroy(&L.mu);
    pthread_cond_destroy(&L.cv);
    free(order);
    free(labels);
    free(teacher);
    free(vprobs);
    free(log);
    optimizer_free(&opt);
    dataset_free(&train);
    dataset_free(&valid);
    net_free(net);
    return rc;
}
