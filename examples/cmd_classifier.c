/* cmd_classifier.c - `fer classifier predict|train|valid`. */
#include "cli.h"
#include "train/train.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static int predict(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    int top = args_int(&a, "-top", 3);
    int json = args_flag(&a, "-json");
    fer_ctx *ctx = NULL;
    if (cli_ctx(&a, &ctx) || args_done(&a)) {
        fer_ctx_free(ctx);
        return cli_fail(&a.err);
    }
    fer_err e;
    data_cfg d;
    if (cli_data(&a, &d, &e)) {
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    int have_names = d.names != NULL;
    if (a.argc < 4) {
        fprintf(stderr, "usage: fer classifier predict [DATA] CFG WEIGHTS IMAGE... [-top K] [-json]\n");
        if (have_names) data_cfg_free(&d);
        fer_ctx_free(ctx);
        return 2;
    }
    network *net;
    if (fer_net_load(&net, a.argv[1], a.argv[2], ctx, &e)) {
        if (have_names) data_cfg_free(&d);
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (!have_names) {
        fprintf(stderr, "fer: warning: %s not readable; labels are class numbers\n", FER_DEFAULT_DATA);
        data_cfg_default_names(&d, net->classes, &e);
    }
    if (d.classes != net->classes) {
        fer_fail(&e, "%s has %d classes but %s outputs %d", d.path[0] ? d.path : "labels", d.classes,
                 a.argv[1], net->classes);
        net_free(net);
        data_cfg_free(&d);
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (top < 1) top = 1;
    if (top > net->classes) top = net->classes;
    float *probs = malloc((size_t)net->classes * sizeof *probs);
    int *order = malloc((size_t)net->classes * sizeof *order);
    int status = probs && order ? 0 : 1;
    for (int i = 3; i < a.argc && probs && order; i++) {
        fer_image im;
        if (fer_image_load(&im, a.argv[i], &e) || fer_net_classify(net, &im, probs, &e)) {
            fer_image_free(&im);
            cli_fail(&e);
            status = 1;
            continue;
        }
        fer_image_free(&im);
        for (int k = 0; k < net->classes; k++) order[k] = k;
        for (int k = 0; k < net->classes; k++)   /* selection sort: classes are few */
            for (int m = k + 1; m < net->classes; m++)
                if (probs[order[m]] > probs[order[k]]) { int t = order[k]; order[k] = order[m]; order[m] = t; }
        if (json) {
            printf("{\"image\": ");
            print_json_string(a.argv[i]);
            printf(", \"label\": ");
            print_json_string(d.names[order[0]]);
            printf(", \"probs\": [");
            for (int k = 0; k < net->classes; k++) printf("%s%.9g", k ? ", " : "", probs[k]);
            printf("]}\n");
        } else {
            printf("%s:\n", a.argv[i]);
            for (int k = 0; k < top; k++) printf("  %6.2f%%  %s\n", 100.0 * probs[order[k]], d.names[order[k]]);
        }
    }
    free(probs);
    free(order);
    data_cfg_free(&d);
    net_free(net);
    fer_ctx_free(ctx);
    return status;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static const char train_usage[] =
    "usage: fer classifier train [DATA] CFG [WEIGHTS] [-epochs N] [-lr X] [-seed N] [-clear] [-backup DIR]\n"
    "                            [-keep-epochs] [-bn-final] [-limit N] [-limit-valid N] [-stop-after N]\n"
    "                            [-signal-at N] [-teacher PROBS.csv [-distill A]] [-threads N] [-isa ISA]\n"
    "                            [-bf16] [-quiet]\n"
    "  -keep-epochs also writes <backup>/<cfg>_epoch<N>.weights after each epoch (for fer average)\n"
    "  -bn-final re-estimates the batch-norm statistics over the training split (test-time views,\n"
    "            as fer average does) before writing <cfg>_final.weights; _last keeps them as trained\n"
    "  -teacher distills: each image's target is (1 - A) one-hot + A the teacher's probabilities, read\n"
    "            from `fer ensemble ... -split train -out PROBS.csv` (its ens_ columns); -distill A\n"
    "            (default 0.5) in (0, 1]\n";

static int train(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    train_args t;
    memset(&t, 0, sizeof t);
    t.epochs = args_int(&a, "-epochs", 0);
    const char *lr = args_str(&a, "-lr", NULL);
    t.seed = (uint64_t)args_int(&a, "-seed", 1);
    t.clear = args_flag(&a, "-clear");
    t.backup = args_str(&a, "-backup", NULL);
    t.test.limit_train = args_int(&a, "-limit", 0);
    t.test.limit_valid = args_int(&a, "-limit-valid", 0);
    t.test.stop_after = args_int(&a, "-stop-after", 0);
    t.test.signal_at = args_int(&a, "-signal-at", 0);
    t.quiet = args_flag(&a, "-quiet");
    t.keep_epochs = args_flag(&a, "-keep-epochs");
    t.bn_final = args_flag(&a, "-bn-final");
    t.teacher = args_str(&a, "-teacher", NULL);
    const char *distill = args_str(&a, "-distill", NULL);
    fer_ctx *ctx = NULL;
    if (cli_ctx(&a, &ctx) || args_done(&a)) {
        fer_ctx_free(ctx);
        return cli_fail(&a.err);
    }
    fer_err e;
    data_cfg d;
    if (cli_data_required(&a, &d, &e)) {
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (lr) {
        char *end;
        t.lr = strtof(lr, &end);
        if (end == lr || *end || !isfinite(t.lr) || t.lr <= 0) {
            fprintf(stderr, "fer classifier train: -lr %s: the learning rate must be a number > 0\n", lr);
            data_cfg_free(&d);
            fer_ctx_free(ctx);
            return 2;
        }
    }
    t.distill = 0.5f;
    if (distill) {
        char *end;
        t.distill = strtof(distill, &end);
        const char *why = !t.teacher ? "needs -teacher PROBS.csv"
                          : end == distill || *end || !(t.distill > 0 && t.distill <= 1) ? "expected the teacher's weight in (0, 1]"
                          : NULL;
        if (why) {
            fprintf(stderr, "fer classifier train: -distill %s: %s\n", distill, why);
            data_cfg_free(&d);
            fer_ctx_free(ctx);
            return 2;
        }
    }
    if (a.argc < 2 || a.argc > 3) {
        fputs(train_usage, stderr);
        data_cfg_free(&d);
        fer_ctx_free(ctx);
        return 2;
    }
    t.cfg = a.argv[1];
    t.weights = a.argc == 3 ? a.argv[2] : NULL;
    t.data = &d;
    t.stop = &stop_requested;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = train_classifier(&t, ctx, &e);
    data_cfg_free(&d);
    fer_ctx_free(ctx);
    return rc ? cli_fail(&e) : 0;
}

static const char valid_usage[] =
    "usage: fer classifier valid [DATA] CFG WEIGHTS [-split valid|test|train] [-tta] [-limit N] [-threads N]\n";

static int valid(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    const char *split = args_str(&a, "-split", "valid");
    int tta = args_flag(&a, "-tta");
    int limit = args_int(&a, "-limit", 0);
    int batch = args_int(&a, "-batch", 64);
    fer_ctx *ctx = NULL;
    if (cli_ctx(&a, &ctx) || args_done(&a)) {
        fer_ctx_free(ctx);
        return cli_fail(&a.err);
    }
    fer_err e;
    data_cfg d;
    if (cli_data_required(&a, &d, &e)) {
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    int status = 1;
    network *net = NULL;
    dataset ds = { 0 };
    float *probs = NULL;
    metrics m = { 0 };
    if (a.argc != 3) {
        fputs(valid_usage, stderr);
        status = 2;
        goto out;
    }
    const char *path, *usage;
    if (!strcmp(split, "valid")) { path = d.valid; usage = d.valid_usage; }
    else if (!strcmp(split, "test")) { path = d.test; usage = d.test_usage; }
    else if (!strcmp(split, "train")) { path = d.train; usage = d.train_usage; }
    else {
        fer_fail(&e, "-split %s: expected valid, test or train", split);
        cli_fail(&e);
        goto out;
    }
    if (fer_net_load(&net, a.argv[1], a.argv[2], ctx, &e) || net_set_batch(net, batch > 0 ? batch : 64, 0, &e) ||
        dataset_load(&ds, path, usage, &d, net->opt.width, net->opt.height, net->opt.channels, &e)) {
        cli_fail(&e);
        goto out;
    }
    if (net->classes != d.classes) {
        fer_fail(&e, "%s outputs %d values but %s has %d classes", a.argv[1], net->classes, d.path, d.classes);
        cli_fail(&e);
        goto out;
    }
    if (limit > 0 && limit < ds.n) ds.n = limit;
    probs = malloc((size_t)ds.n * net->classes * sizeof *probs);
    if (!probs) {
        fer_fail(&e, "out of memory");
        cli_fail(&e);
        goto out;
    }
    if (evaluate_probs(net, &ds, tta, probs, &e) || metrics_compute(&m, probs, ds.labels, ds.n, net->classes, &e)) {
        cli_fail(&e);
        goto out;
    }
    printf("%s split '%s'%s%s, %s\n", ds.source, split, usage && *usage ? " Usage=" : "", usage ? usage : "",
           tta ? "with test-time augmentation" : "no test-time augmentation");
    metrics_print(&m, d.names, stdout);
    printf("accuracy: %.4f\n", m.accuracy);
    status = 0;
out:
    metrics_free(&m);
    free(probs);
    dataset_free(&ds);
    net_free(net);
    data_cfg_free(&d);
    fer_ctx_free(ctx);
    return status;
}

int cmd_classifier(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "predict")) return predict(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "train")) return train(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "valid")) return valid(argc - 1, argv + 1);
    fprintf(stderr, "usage: fer classifier predict [DATA] CFG WEIGHTS IMAGE... [-top K] [-json]\n");
    fputs(train_usage, stderr);
    fputs(valid_usage, stderr);
    return 2;
}
