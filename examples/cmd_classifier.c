/* cmd_classifier.c - `fer classifier predict|train|valid|select` (select: cmd_select.c). */
#include "cli.h"
#include "codecs/strbuf.h"
#include "train/train.h"
#include "vision/demo.h"

#include <float.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define PREDICT_MAX_FACES 64

int classifier_select(cli *c);
extern const char classifier_select_usage[];

/* The classes of one face, most probable first, in order[classes]. */
static void rank_classes(const float *probs, int classes, int *order)
{
    for (int k = 0; k < classes; k++) order[k] = k;
    for (int k = 0; k < classes; k++)   /* selection sort: classes are few */
        for (int m = k + 1; m < classes; m++)
            if (probs[order[m]] > probs[order[k]]) { int t = order[k]; order[k] = order[m]; order[m] = t; }
}

/* One image's faces: a JSON line, or a text block with each face's box and top classes. */
static int print_faces(fer_model *m, const char *image, const fer_face *faces, int n, int top, int json, fer_err *e)
{
    int classes = fer_model_classes(m);
    char *names[FER_MAX_FACE_CLASSES];
    for (int k = 0; k < classes; k++) names[k] = (char *)fer_model_class_name(m, k);
    if (json) {
        json_face jf[PREDICT_MAX_FACES];
        for (int i = 0; i < n; i++)
            jf[i] = (json_face){ -1, faces[i].box.x, faces[i].box.y, faces[i].box.w, faces[i].box.h, faces[i].label,
                                 faces[i].probs };
        strbuf b = { 0 };
        faces_json_open(&b, image, -1, jf, n, names, classes);
        sb_printf(&b, "}\n");
        int rc = b.oom ? fer_fail(e, "out of memory") : 0;
        if (!rc) fputs(b.s, stdout);
        sb_free(&b);
        return rc;
    }
    if (n == 0) printf("%s: no face found (-nodetect classifies the whole picture)\n", image);
    else printf("%s: %d face%s\n", image, n, n == 1 ? "" : "s");
    int order[FER_MAX_FACE_CLASSES];
    for (int i = 0; i < n; i++) {
        const fer_face *f = &faces[i];
        rank_classes(f->probs, classes, order);
        printf("  face %d at %d,%d %dx%d:", i + 1, f->box.x, f->box.y, f->box.w, f->box.h);
        for (int k = 0; k < top && k < classes; k++)
            printf("%s %s %.2f%%", k ? "," : "", names[order[k]], 100.0 * f->probs[order[k]]);
        printf("\n");
    }
    return 0;
}

/* predict's model: CFG WEIGHTS when given (labels from DATA), else the default. */
static int predict_model(cli *c, int explicit_model, fer_model **m)
{
    args *a = &c->a;
    const char *labels = c->d.names ? c->d.labels_path : NULL;
    if (!explicit_model) return fer_model_load_default(m, c->ctx, &c->e);
    if (fer_model_load(m, a->argv[1], a->argv[2], labels, c->ctx, &c->e)) return -1;
    if (c->d.names && c->d.classes != fer_model_classes(*m))
        return fer_fail(&c->e, "%s has %d classes but %s outputs %d", c->d.path, c->d.classes, a->argv[1],
                        fer_model_classes(*m));
    return 0;
}

static int predict(cli *c)
{
    args *a = &c->a;
    int top = args_int_range(a, "-top", 3, 1, FER_MAX_FACE_CLASSES);
    int json = args_flag(a, "-json");
    int detect = args_flag(a, "-detect"), nodetect = args_flag(a, "-nodetect");
    long max_pixels = args_int_range(a, "-max-pixels", (int)FER_IMAGE_MAX_PIXELS, 1, 2000000000);
    if (detect && nodetect) args_fail(a, "-detect and -nodetect: give one of them");
    int rc = cli_start(c, 1, -1);
    if (rc) return rc;
    int explicit_model = a->argc >= 4 && str_ends_with(a->argv[1], ".cfg");
    fer_model *m = NULL;
    if (predict_model(c, explicit_model, &m)) {
        fer_model_free(m);
        return cli_error(c);
    }
    int mode = detect ? FER_DETECT_YES : nodetect ? FER_DETECT_NO : FER_DETECT_AUTO;
    int status = 0;
    for (int i = explicit_model ? 3 : 1; i < a->argc; i++) {
        fer_image im = { 0 };
        fer_face faces[PREDICT_MAX_FACES];
        int n = 0;
        if (fer_image_load_max(&im, a->argv[i], max_pixels, &c->e) ||
            fer_model_faces(m, &im, mode, faces, PREDICT_MAX_FACES, &n, &c->e) ||
            print_faces(m, a->argv[i], faces, n, top, json, &c->e))
            status = cli_error(c);
        fer_image_free(&im);
    }
    fer_model_free(m);
    return status;
}

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Trains as one rank of the process group; only rank 0 speaks, except
 * for errors. An error on one rank ends all of them (the others would wait
 * for it in the next collective). */
static int train_ranked(cli *c, train_args *t)
{
    dist d;
    if (dist_init(&d, &c->e)) return cli_error(c);
    if (d.rank) fer_ctx_set_log(c->ctx, NULL, NULL, 0);
    t->dist = &d;
    if (train_classifier(t, c->ctx, &c->e)) {
        if (d.size == 1) {
            dist_finalize(&d);
            return cli_error(c);
        }
        fprintf(stderr, "fer: rank %d: %s\n", d.rank, c->e.msg);
        dist_abort(&d, 1);
    }
    dist_finalize(&d);
    return 0;
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
    t.test.limit_train = args_int(a, "-limit", 0);
    t.test.limit_valid = args_int(a, "-limit-valid", 0);
    t.test.stop_after = args_int(a, "-stop-after", 0);
    t.test.signal_at = args_int(a, "-signal-at", 0);
    t.quiet = args_flag(a, "-quiet");
    t.keep_epochs = args_flag(a, "-keep-epochs");
    t.keep_from = args_int_range(a, "-keep-from", 0, 1, INT_MAX);
    if (t.keep_from) t.keep_epochs = 1;
    t.bn_final = args_flag(a, "-bn-final");
    t.bn_eval = args_int_range(a, "-bn-eval", 0, 1, INT_MAX);
    t.sync_bn = args_flag(a, "-sync-bn");
    t.teacher = args_str(a, "-teacher", NULL);
    t.teacher_nets = args_str(a, "-teacher-net", NULL);
    const char *distill = args_peek(a, "-distill");
    if (distill && !t.teacher && !t.teacher_nets)
        args_fail(a, "-distill %s: needs -teacher PROBS.csv or -teacher-net CFG,WEIGHTS", distill);
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
    return train_ranked(c, &t);
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
      "                            [-keep-epochs | -keep-from N] [-bn-final] [-bn-eval N] [-limit N] [-limit-valid N]\n"
      "                            [-stop-after N]\n"
      "                            [-signal-at N] [-teacher PROBS.csv | -teacher-net CFG,WEIGHTS[,CFG,WEIGHTS...]]\n"
      "                            [-distill A] [-sync-bn] [-quiet]\n"
      "  -keep-epochs also writes <backup>/<cfg>_epoch<N>.weights after each epoch (for fer average);\n"
      "            -keep-from N only from epoch N on (a long run's candidates without its early epochs)\n"
      "  -bn-final re-estimates the batch-norm statistics over the training split (test-time views,\n"
      "            as fer average does) before writing <cfg>_final.weights; _last keeps them as they were\n"
      "  -bn-eval N re-estimates them over N training batches (test-time views) before each epoch's\n"
      "            validation, so the log, _best and the epoch files judge the weights, not statistics\n"
      "            of augmented images; _last carries them too (training reads only batch statistics:\n"
      "            the weights train the same with or without it)\n"
      "  -teacher distills: each image's target is (1 - A) one-hot + A the teacher's probabilities, read\n"
      "            from `fer ensemble ... -split train -o PROBS.csv` (its ens_ columns); -distill A\n"
      "            (default 0.5) in (0, 1]\n"
      "  -teacher-net runs the teacher networks (up to 16; their mean) on each mini-batch as the student\n"
      "            sees it (augmented, mixed) and uses their probabilities in that target instead; each must\n"
      "            take the student's input and end with [softmax]. A resumed run needs the same teachers\n"
      "  under mpirun (make MPI=1): [net] batch is the global batch, each rank computes batch/ranks of it;\n"
      "  -sync-bn computes batch-norm statistics over the global mini-batch (default: each rank's own)\n",
      "train (resumes from _last.weights)", NULL },
    { "valid", valid, CLI_CTX | CLI_DATA_REQUIRED,
      "usage: fer classifier valid [DATA] CFG WEIGHTS [-split valid|test|train] [-tta] [-limit N] [-batch N]\n",
      "accuracy, per-class metrics, confusion", NULL },
    { "select", classifier_select, CLI_CTX | CLI_DATA_REQUIRED, classifier_select_usage,
      "choose a run's snapshot (or a mean of its last epochs) on the validation split", NULL },
    { "predict", predict, CLI_CTX | CLI_DATA,
      "usage: fer classifier predict [DATA] [CFG WEIGHTS] IMAGE... [-top K] [-json] [-detect | -nodetect]\n"
      "                              [-max-pixels N]\n"
      "  An image larger than twice the network's input on either side is searched for faces (Haar\n"
      "  cascade, Debian's opencv-data) and each face is classified; a smaller one is taken as one face\n"
      "  crop. -detect / -nodetect force either. Without CFG WEIGHTS: the default model (cfg/shallow.cfg,\n"
      "  weights/shallow.weights). -json: one line per image, {\"image\", \"faces\": [{\"box\", \"label\",\n"
      "  \"probs\": {name: p}}]}. -max-pixels: the largest image accepted (40000000).\n",
      "find the faces of images and classify them", NULL },
    { NULL, NULL, 0, NULL, NULL, NULL },
};

const command cmd_classifier = {
    "classifier", NULL, 0, NULL, "train, evaluate and use a classifier", classifier_commands,
};
