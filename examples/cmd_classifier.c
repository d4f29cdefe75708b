/* cmd_classifier.c - `fer classifier predict|train|valid`. */
#include "cli.h"
#include "codecs/strbuf.h"
#include "train/train.h"

#include <float.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* One image's line: {"image", "label", "probs"} as JSON, or the top classes. */
static int print_prediction(const char *image, char **names, const float *probs, int *order, int classes, int top,
                            int json, fer_err *e)
{
    for (int k = 0; k < classes; k++) order[k] = k;
    for (int k = 0; k < classes; k++)   /* selection sort: classes are few */
        for (int m = k + 1; m < classes; m++)
            if (probs[order[m]] > probs[order[k]]) { int t = order[k]; order[k] = order[m]; order[m] = t; }
    if (!json) {
        printf("%s:\n", image);
        for (int k = 0; k < top; k++) printf("  %6.2f%%  %s\n", 100.0 * probs[order[k]], names[order[k]]);
        return 0;
    }
    strbuf b = { 0 };
    sb_printf(&b, "{\"image\": ");
    sb_json_string(&b, image);
    sb_printf(&b, ", \"label\": ");
    sb_json_string(&b, names[order[0]]);
    sb_printf(&b, ", \"probs\": [");
    for (int k = 0; k < classes; k++) sb_printf(&b, "%s%.9g", k ? ", " : "", probs[k]);
    sb_printf(&b, "]}\n");
    int rc = b.oom ? fer_fail(e, "out of memory") : 0;
    if (!rc) fputs(b.s, stdout);
    sb_free(&b);
    return rc;
}

static int predict(cli *c)
{
    args *a = &c->a;
    int top = args_int(a, "-top", 3);
    int json = args_flag(a, "-json");
    int rc = cli_start(c, 3, -1);
    if (rc) return rc;
    data_cfg *d = &c->d;
    fer_err *e = &c->e;
    if (cli_load_net(c, a->argv[1], a->argv[2])) return cli_error(c);
    network *net = c->net;
    if (!d->names) {
        fprintf(stderr, "fer: warning: %s not readable; labels are class numbers\n", FER_DEFAULT_DATA);
        data_cfg_default_names(d, net->classes, e);
    }
    if (d->classes != net->classes) {
        fer_fail(e, "%s has %d classes but %s outputs %d", d->path[0] ? d->path : "labels", d->classes, a->argv[1],
                 net->classes);
        return cli_error(c);
    }
    if (top < 1) top = 1;
    if (top > net->classes) top = net->classes;
    float *probs = malloc((size_t)net->classes * sizeof *probs);
    int *order = malloc((size_t)net->classes * sizeof *order);
    int status = probs && order ? 0 : 1;
    for (int i = 3; i < a->argc && probs && order; i++) {
        fer_image im;
        if (fer_image_load(&im, a->argv[i], e) || fer_net_classify(net, &im, probs, e) ||
            print_prediction(a->argv[i], d->names, probs, order, net->classes, top, json, e))
            status = cli_error(c);
        fer_image_free(&im);
    }
    free(probs);
    free(order);
    return status;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int train(cli *c)
{
    args *a = &c->a;
    train_args t;
    memset(&t, 0, sizeof t);
    t.epochs = args_int(a, "-epochs", 0);
    t.lr = args_float_range(a, "-lr", 0, 0, FLT_MAX, "the learning rate must be a number > 0");
    t.seed = (uint64_t)args_int(a, "-seed", 1);
    t.clear = args_flag(a, "-clear");
    t.backup = args_str(a, "-backup", NULL);
    t.limit_train = args_int(a, "-limit", 0);
    t.limit_valid = args_int(a, "-limit-valid", 0);
    t.stop_after = args_int(a, "-stop-after", 0);
    t.signal_at = args_int(a, "-signal-at", 0);
    t.quiet = args_flag(a, "-quiet");
    t.keep_epochs = args_flag(a, "-keep-epochs");
    t.bn_final = args_flag(a, "-bn-final");
    t.teacher = args_str(a, "-teacher", NULL);
    const char *distill = args_peek(a, "-distill");
    if (distill && !t.teacher) args_fail(a, "-distill %s: needs -teacher PROBS.csv", distill);
    t.distill = args_float_range(a, "-distill", 0.5f, 0, 1, "expected the teacher's weight in (0, 1]");
    int rc = cli_start(c, 1, 2);
    if (rc) return rc;
    t.cfg = a->argv[1];
    t.weights = a->argc == 3 ? a->argv[2] : NULL;
    t.data = &c->d;
    t.stop = &stop_requested;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return train_classifier(&t, c->ctx, &c->e) ? cli_error(c) : 0;
}

/* The network's metrics on a split, or its first `limit` images (0: all). */
static int split_metrics(network *net, const char *cfg, const data_cfg *d, const char *path, const char *usage, int tta,
                         int limit, dataset *ds, metrics *m, fer_err *e)
{
    if (dataset_load(ds, path, usage, d, net->opt.width, net->opt.height, net->opt.channels, e)) return -1;
    if (net->classes != d->classes)
        return fer_fail(e, "%s outputs %d values but %s has %d classes", cfg, net->classes, d->path, d->classes);
    if (limit > 0 && limit < ds->n) ds->n = limit;
    float *probs = malloc((size_t)ds->n * net->classes * sizeof *probs);
    if (!probs) return fer_fail(e, "out of memory");
    int rc = evaluate_probs(net, ds, tta, probs, e) || metrics_compute(m, probs, ds->labels, ds->n, net->classes, e);
    free(probs);
    return rc ? -1 : 0;
}

static int valid(cli *c)
{
    args *a = &c->a;
    const char *split = args_str(a, "-split", "valid");
    int tta = args_flag(a, "-tta");
    int limit = args_int(a, "-limit", 0);
    int batch = args_int(a, "-batch", 64);
    int rc = cli_start(c, 2, 2);
    if (rc) return rc;
    const char *path, *usage;
    if (data_split(&c->d, split, &path, &usage, &c->e) || cli_load_net(c, a->argv[1], a->argv[2]) ||
        net_set_batch(c->net, batch > 0 ? batch : 64, 0, &c->e))
        return cli_error(c);
    dataset ds = { 0 };
    metrics m = { 0 };
    rc = split_metrics(c->net, a->argv[1], &c->d, path, usage, tta, limit, &ds, &m, &c->e);
    if (rc) {
        rc = cli_error(c);
    } else {
        printf("%s split '%s'%s%s, %s\n", ds.source, split, usage && *usage ? " Usage=" : "", usage ? usage : "",
               tta ? "with test-time augmentation" : "no test-time augmentation");
        metrics_print(&m, c->d.names, stdout);
        printf("accuracy: %.4f\n", m.accuracy);
    }
    metrics_free(&m);
    dataset_free(&ds);
    return rc;
}

static const command classifier_commands[] = {
    { "train", train, CLI_CTX | CLI_DATA_REQUIRED,
      "usage: fer classifier train [DATA] CFG [WEIGHTS] [-epochs N] [-lr X] [-seed N] [-clear] [-backup DIR]\n"
      "                            [-keep-epochs] [-bn-final] [-limit N] [-limit-valid N] [-stop-after N]\n"
      "                            [-signal-at N] [-teacher PROBS.csv [-distill A]] [-quiet]\n"
      "  -keep-epochs also writes <backup>/<cfg>_epoch<N>.weights after each epoch (for fer average)\n"
      "  -bn-final re-estimates the batch-norm statistics over the training split (test-time views,\n"
      "            as fer average does) before writing <cfg>_final.weights; _last keeps them as trained\n"
      "  -teacher distills: each image's target is (1 - A) one-hot + A the teacher's probabilities, read\n"
      "            from `fer ensemble ... -split train -o PROBS.csv` (its ens_ columns); -distill A\n"
      "            (default 0.5) in (0, 1]\n",
      "train (resumes from _last.weights)", NULL },
    { "valid", valid, CLI_CTX | CLI_DATA_REQUIRED,
      "usage: fer classifier valid [DATA] CFG WEIGHTS [-split valid|test|train] [-tta] [-limit N] [-batch N]\n",
      "accuracy, per-class metrics, confusion", NULL },
    { "predict", predict, CLI_CTX | CLI_DATA,
      "usage: fer classifier predict [DATA] CFG WEIGHTS IMAGE... [-top K] [-json]\n",
      "classify images", NULL },
    { NULL, NULL, 0, NULL, NULL, NULL },
};

const command cmd_classifier = {
    "classifier", NULL, 0, NULL, "train, evaluate and use a classifier", classifier_commands,
};
