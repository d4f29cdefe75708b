/* cmd_select.c - `fer classifier select`: the choice of a run's snapshot on
 * the validation split. Each candidate weights file of one cfg, and the
 * means of the last K epoch files (weight averaging, batch-norm statistics
 * re-estimated as `fer average` does), is scored on DATA's valid split; the
 * most accurate wins, on a tie the one of fewer files, then the later. The
 * test split is never read: it is for the one report after the choice. */
#include "cli.h"
#include "train/train.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define SELECT_MAX_MEANS 16

typedef struct candidate {
    const char *path;   /* a single file, or NULL for a mean */
    int files;          /* 1, or the K of a mean */
    long order;         /* later is larger: the epoch (a mean's last), non-epoch files after every epoch */
    long first_epoch;   /* a mean's first epoch */
    double accuracy, loss;
} candidate;

/* The N of a file named ..._epoch<N>.weights (as -keep-epochs names them), else -1. */
static long epoch_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *mark = NULL;
    for (const char *q = strstr(base, "_epoch"); q; q = strstr(q + 1, "_epoch")) mark = q;
    if (!mark || !isdigit((unsigned char)mark[6])) return -1;
    long n = 0;
    const char *p = mark + 6;
    for (; isdigit((unsigned char)*p); p++) {
        if (n > 100000000) return -1;
        n = n * 10 + (*p - '0');
    }
    return !strcmp(p, ".weights") ? n : -1;
}

static int by_order(const void *x, const void *y)
{
    const candidate *a = x, *b = y;
    return (a->order > b->order) - (a->order < b->order);
}

/* "5,10,20" into ks[]; each in 2..epoch_files. */
static int parse_means(const char *spec, int epoch_files, int *ks, int *n, fer_err *e)
{
    *n = 0;
    for (const char *p = spec; *p;) {
        char *end;
        long k = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',') || (*end == ',' && !end[1]) || k < 2 || k > INT_MAX)
            return fer_fail(e, "-mean %s: expected numbers of epoch files, each 2 or more, separated by commas", spec);
        if (*n == SELECT_MAX_MEANS) return fer_fail(e, "-mean %s: at most %d means", spec, SELECT_MAX_MEANS);
        ks[(*n)++] = (int)k;
        p = *end ? end + 1 : end;
    }
    if (!*n) return fer_fail(e, "-mean: expected numbers of epoch files, e.g. -mean 5,10,20");
    for (int i = 0; i < *n; i++)
        for (int j = 0; j < i; j++)
            if (ks[i] == ks[j]) return fer_fail(e, "-mean %s: %d given twice", spec, ks[i]);
    for (int i = 0; i < *n; i++)
        if (ks[i] > epoch_files)
            return fer_fail(e, "-mean %s: a mean of the last %d epoch files, but %d %s given (names ending in "
                               "_epoch<N>.weights)", spec, ks[i], epoch_files, epoch_files == 1 ? "was" : "were");
    return 0;
}

/* The candidates in order: epoch files by epoch, other files after them as
 * given. Two files of one epoch, or one file twice, is an error. */
static int order_files(char **paths, int n, candidate *cs, int *epoch_files, fer_err *e)
{
    long last_epoch = -1;
    *epoch_files = 0;
    for (int i = 0; i < n; i++) {
        long ep = epoch_of(paths[i]);
        cs[i] = (candidate){ paths[i], 1, ep, ep, 0, 0 };
        if (ep >= 0) (*epoch_files)++;
        if (ep > last_epoch) last_epoch = ep;
        for (int j = 0; j < i; j++) {
            if (!strcmp(paths[i], paths[j])) return fer_fail(e, "%s: given twice", paths[i]);
            if (ep >= 0 && cs[j].order == ep)
                return fer_fail(e, "%s and %s: two files of epoch %ld", paths[j], paths[i], ep);
        }
    }
    for (int i = 0; i < n; i++)
        if (cs[i].order < 0) cs[i].order = last_epoch + 1 + i;
    qsort(cs, (size_t)n, sizeof *cs, by_order);
    return 0;
}

/* Puts candidate c's weights into the network: one file loaded, or the
 * mean of the last c->files epoch files with batch-norm statistics
 * re-estimated over bn_images training images (0: kept as averaged). */
static int candidate_load(network *net, const candidate *c, const candidate *files, int epoch_files,
                          const dataset *train, int bn_images, int seed, fer_err *e)
{
    if (c->path) return weights_load_explained(net, c->path, -1, e);
    const char *paths[c->files];
    for (int i = 0; i < c->files; i++) paths[i] = files[epoch_files - c->files + i].path;
    if (weights_average(net, paths, c->files, e)) return -1;
    if (!train) return 0;
    return bn_recalibrate(net, train, bn_images, (uint64_t)seed, 1, 1, NULL, e);
}

static int candidate_score(network *net, const dataset *valid, int tta, float *probs, candidate *c, fer_err *e)
{
    metrics m = { 0 };
    int rc = evaluate_probs(net, valid, tta, probs, e) || metrics_compute(&m, probs, valid->labels, valid->n,
                                                                          net->classes, e);
    c->accuracy = m.accuracy;
    c->loss = m.loss;
    metrics_free(&m);
    return rc ? -1 : 0;
}

static void candidate_name(const candidate *c, char *out, size_t size)
{
    if (c->path) snprintf(out, size, "%s", c->path);
    else snprintf(out, size, "mean of the last %d epoch files (%ld-%ld)", c->files, c->first_epoch, c->order);
}

/* Better: more accurate; on a tie fewer files; then later. */
static int candidate_better(const candidate *a, const candidate *b)
{
    if (a->accuracy != b->accuracy) return a->accuracy > b->accuracy;
    if (a->files != b->files) return a->files < b->files;
    return a->order > b->order;
}

/* The datasets select reads: the valid split, and the train split when a
 * mean's batch-norm statistics are to be re-estimated. */
static int select_datasets(cli *c, int need_train, int limit, dataset *valid, dataset *train)
{
    const net_options *o = &c->net->opt;
    const char *path, *usage;
    if (data_split(&c->d, "valid", &path, &usage, &c->e) ||
        dataset_load(valid, path, usage, &c->d, o->width, o->height, o->channels, &c->e))
        return -1;
    if (c->net->classes != c->d.classes)
        return fer_fail(&c->e, "%s outputs %d values but %s has %d classes", c->a.argv[1], c->net->classes,
                        c->d.path, c->d.classes);
    if (valid->n < 1) return fer_fail(&c->e, "%s: no images in the valid split to score on", valid->source);
    if (limit > 0 && limit < valid->n) valid->n = limit;
    printf("scoring on %s split 'valid'%s%s: %d images\n", valid->source, usage && *usage ? " Usage=" : "",
           usage ? usage : "", valid->n);
    if (!need_train) return 0;
    return data_split(&c->d, "train", &path, &usage, &c->e) ||
           dataset_load(train, path, usage, &c->d, o->width, o->height, o->channels, &c->e);
}

typedef struct select_opts {
    const char *means, *out;
    int tta, limit, bn, seed, half;
} select_opts;

/* Before any scoring: every file loads into CFG's network, and -o's folder
 * takes a file, so that a long selection does not fail at its end. */
static int select_precheck(cli *c, const select_opts *so, const candidate *cs, int nfiles)
{
    for (int i = 0; i < nfiles; i++)
        if (weights_load_explained(c->net, cs[i].path, -1, &c->e)) return -1;
    if (!so->out) return 0;
    char probe[4200];
    snprintf(probe, sizeof probe, "%s.tmp", so->out);
    FILE *f = fopen(probe, "wb");
    int bad = !f || fputs("fer", f) == EOF;
    if (f && fclose(f)) bad = 1;
    remove(probe);
    return bad ? fer_fail(&c->e, "-o %s: cannot write there: %s", so->out, strerror(errno)) : 0;
}

/* How the means' batch-norm statistics are made, printed once. */
static void print_means_bn(const network *net, const select_opts *so, const dataset *train)
{
    if (!net_has_batchnorm(net)) printf("means: no batch norm, nothing to re-estimate\n");
    else if (so->bn == 0) printf("means: batch-norm statistics averaged with the weights (-bn 0)\n");
    else
        printf("means: batch-norm statistics re-estimated over %d training images of %s (test-time views, seed %d)\n",
               so->bn > 0 && so->bn < train->n ? so->bn : train->n, train->source, so->seed);
}

/* Scores every candidate, printing the table; *best is the chosen one's
 * index, and its parameters stay in the network (for -o). */
static int select_score(cli *c, const select_opts *so, candidate *cs, int n, int nmeans, int epoch_files, int *best)
{
    network *net = c->net;
    dataset valid = { 0 }, train = { 0 };
    int need_train = nmeans > 0 && so->bn != 0 && net_has_batchnorm(net);
    float *probs = NULL, *kept = NULL;
    uint64_t kept_seen = 0;
    int rc = select_datasets(c, need_train, so->limit, &valid, &train);
    if (!rc && (!(probs = malloc((size_t)valid.n * net->classes * sizeof *probs)) ||
                !(kept = malloc((net->n_param_floats ? net->n_param_floats : 1) * sizeof *kept))))
        rc = fer_fail(&c->e, "out of memory");
    if (!rc && nmeans) print_means_bn(net, so, &train);
    if (!rc) printf("%-64s %5s %9s %8s\n", "candidate", "files", "accuracy", "loss");
    *best = -1;
    for (int i = 0; i < n && !rc; i++) {
        char name[4096];
        candidate_name(&cs[i], name, sizeof name);
        rc = candidate_load(net, &cs[i], cs, epoch_files, need_train ? &train : NULL, so->bn, so->seed, &c->e) ||
             net_set_batch(net, 64, 0, &c->e) || candidate_score(net, &valid, so->tta, probs, &cs[i], &c->e);
        if (rc) break;
        printf("%-64s %5d %9.4f %8.4f\n", name, cs[i].files, cs[i].accuracy, cs[i].loss);
        fflush(stdout);
        if (*best < 0 || candidate_better(&cs[i], &cs[*best])) {
            *best = i;
            memcpy(kept, net->params, net->n_param_floats * sizeof *kept);
            kept_seen = net->seen;
        }
    }
    if (!rc) {
        memcpy(net->params, kept, net->n_param_floats * sizeof *kept);
        net->seen = kept_seen;
        net->weights_version++;
    }
    free(kept);
    free(probs);
    dataset_free(&valid);
    dataset_free(&train);
    return rc ? -1 : 0;
}

int classifier_select(cli *c)
{
    args *a = &c->a;
    select_opts so = { 0 };
    so.means = args_str(a, "-mean", NULL);
    so.out = args_str(a, "-o", NULL);
    so.tta = args_flag(a, "-tta");
    so.limit = args_int_range(a, "-limit", 0, 0, INT_MAX);
    so.bn = args_int_range(a, "-bn", -1, -1, INT_MAX);
    so.seed = args_int(a, "-seed", 1);
    so.half = args_flag(a, "-half");
    if (so.bn == 1) args_fail(a, "-bn 1: batch-norm statistics need 2 or more images (0 keeps the averaged ones)");
    int rc = cli_start(c, 2, -1);
    if (rc) return rc;
    int nfiles = a->argc - 2, epoch_files, ks[SELECT_MAX_MEANS], nmeans = 0;
    candidate *cs = malloc((size_t)(nfiles + SELECT_MAX_MEANS) * sizeof *cs);
    if (!cs) {
        fer_fail(&c->e, "out of memory");
        return cli_error(c);
    }
    rc = order_files(a->argv + 2, nfiles, cs, &epoch_files, &c->e) ||
         (so.means && parse_means(so.means, epoch_files, ks, &nmeans, &c->e)) || cli_load_net(c, a->argv[1], NULL) ||
         select_precheck(c, &so, cs, nfiles);
    /* the epoch files are cs[0..epoch_files-1], by epoch */
    for (int m = 0; m < nmeans && !rc; m++)
        cs[nfiles + m] = (candidate){ NULL, ks[m], cs[epoch_files - 1].order, cs[epoch_files - ks[m]].order, 0, 0 };
    int best = -1;
    if (rc || select_score(c, &so, cs, nfiles + nmeans, nmeans, epoch_files, &best) ||
        (so.out && weights_save_as(c->net, so.out, -1, so.half, &c->e))) {
        free(cs);
        return cli_error(c);
    }
    char name[4096];
    candidate_name(&cs[best], name, sizeof name);
    printf("chosen: %s, accuracy %.4f%s\n", name, cs[best].accuracy, so.tta ? " (-tta)" : "");
    if (so.out) printf("wrote %s as %s\n", so.out, so.half ? "half precision (fer's extension)" : "float32 (Darknet)");
    free(cs);
    return 0;
}

const char classifier_select_usage[] =
    "usage: fer classifier select [DATA] CFG WEIGHTS... [-mean K[,K...]] [-tta] [-o OUT] [-half] [-bn N]\n"
    "                             [-seed S] [-limit N]\n"
    "  Scores each WEIGHTS file of CFG on DATA's valid split (never its test split) and chooses one:\n"
    "  the most accurate; on a tie the one of fewer files, then the later (epoch files by their\n"
    "  epoch, other files after them). -mean 5,10,20 adds the means of the last 5, 10 and 20 epoch\n"
    "  files (named <cfg>_epoch<N>.weights, as -keep-epochs writes them, by N) with batch-norm\n"
    "  statistics re-estimated over -bn N training images (default or -1: the whole training\n"
    "  split; 0 keeps the averaged statistics; -seed picks them), as fer average does.\n"
    "  -tta scores ten views of each image. -o writes the chosen weights (-half: fer's half\n"
    "  precision). -limit N scores the first N images only (0: all).\n";
