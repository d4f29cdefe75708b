/* cmd_visualize.c - `fer visualize confusion|saliency|gradcam|grid|history`:
 * pictures drawn by fer itself, written as PNG by fer's encoder (and SVG for
 * the history chart). Every command prints the paths it wrote. */
#include "analysis/analysis.h"
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char visualize_usage[] =
    "usage: fer visualize confusion [DATA] CFG WEIGHTS [CFG2 WEIGHTS2 ...] [-split valid|test|train] [-tta] [-w w1,...]\n"
    "                               [-limit N] [-o confusion.png]     row-normalized confusion heat map (ensemble: soft voting)\n"
    "       fer visualize saliency [DATA] CFG WEIGHTS IMAGE [-class K|NAME] [-o saliency.png]\n"
    "                               |d score_K / d input| beside the input (K: predicted, and the true class when known)\n"
    "       fer visualize gradcam [DATA] CFG WEIGHTS IMAGE [-class K|NAME] [-layer N] [-o gradcam.png]\n"
    "                               Grad-CAM of layer N (default: the last spatial convolutional layer)\n"
    "       fer visualize grid [DATA] CFG WEIGHTS [-split valid|test|train] [-n 4] [-layer N] [-limit N] [-o grid.png]\n"
    "                               per class: the most confident correct and misclassified images with Grad-CAMs\n"
    "       fer visualize history LOG.csv [-o history.png]   training curves as PNG and SVG\n"
    "  The true class of IMAGE is known when a component of its path is a label name, e.g. .../happy/x.png.\n";


/* The label named by a component of the path (an exact match), -1 when
 * none, -2 when two different labels. */
static int label_from_path(const char *path, char **names, int classes)
{
    int found = -1;
    const char *p = path;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        for (int k = 0; k < classes; k++)
            if (strlen(names[k]) == n && !strncmp(names[k], p, n)) {
                if (found >= 0 && found != k) return -2;
                found = k;
            }
        if (!slash) break;
        p = slash + 1;
    }
    return found;
}

/* -class: a number 0..classes-1 or a label name. */
static int parse_class(const char *s, char **names, int classes, int *out, fer_err *e)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end != s && !*end) {
        if (v < 0 || v >= classes) return fer_fail(e, "-class %s: expected 0..%d or a label name", s, classes - 1);
        *out = (int)v;
        return 0;
    }
    for (int k = 0; k < classes; k++)
        if (!strcmp(names[k], s)) {
            *out = k;
            return 0;
        }
    return fer_fail(e, "-class %s: not a class number or label name", s);
}

static int open_data(args *a, data_cfg *d, int required, fer_err *e)
{
    return required ? cli_data_required(a, d, e) : cli_data(a, d, e);
}

static int save_and_report(const canvas *c, const char *path, fer_err *e)
{
    if (canvas_save_png(c, path, e)) return -1;
    printf("wrote %s (%dx%d)\n", path, c->w, c->h);
    return 0;
}

/* ---- confusion ----------------------------------------------------------- */

static int confusion(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    const char *split = args_str(&a, "-split", "valid");
    int tta = args_flag(&a, "-tta");
    const char *wspec = args_str(&a, "-w", NULL);
    int limit = args_int(&a, "-limit", 0);
    const char *out = args_str(&a, "-o", NULL);
    fer_ctx *ctx = NULL;
    if (cli_ctx(&a, &ctx) || args_done(&a)) {
        fer_ctx_free(ctx);
        return cli_fail(&a.err);
    }
    fer_err e;
    data_cfg d;
    network **nets = NULL;
    int m = 0, status = 1;
    float *w = NULL;
    ensemble_result r = { 0 };
    canvas c = { 0 };
    if (open_data(&a, &d, 1, &e)) {
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (a.argc < 3) {
        fputs(visualize_usage, stderr);
        status = 2;
        goto out;
    }
    const char *path, *usage;
    if (data_split(&d, split, &path, &usage, &e) || ensemble_load(&nets, &m, a.argv + 1, a.argc - 1, ctx, &e)) goto fail;
    w = malloc((size_t)m * sizeof *w);
    if (!w) { fer_fail(&e, "out of memory"); goto fail; }
    for (int j = 0; j < m; j++) w[j] = 1;
    if (wspec && ensemble_parse_weights(wspec, m, w, &e)) goto fail;
    if (ensemble_evaluate(nets, m, &d, split, tta, w, limit, &r, &e)) goto fail;
    char name[256], title[512], def[600];
    path_stem(a.argv[1], name, sizeof name);
    if (m == 1) snprintf(title, sizeof title, "%s on '%s' (%d images): accuracy %.2f%%", name, split, r.sp.n, 100 * r.m.accuracy);
    else snprintf(title, sizeof title, "ensemble of %d on '%s' (%d images): accuracy %.2f%%", m, split, r.sp.n, 100 * r.m.accuracy);
    if (m == 1) snprintf(def, sizeof def, "confusion_%s_%s.png", name, split);
    else snprintf(def, sizeof def, "confusion_ensemble%d_%s.png", m, split);
    if (confusion_canvas(&c, r.m.confusion, r.m.classes, d.names, title, &e) || save_and_report(&c, out ? out : def, &e))
        goto fail;
    printf("accuracy: %.4f\n", r.m.accuracy);
    status = 0;
    goto out;
fail:
    cli_fail(&e);
out:
    canvas_free(&c);
    ensemble_result_free(&r);
    free(w);
    ensemble_free(nets, m);
    data_cfg_free(&d);
    fer_ctx_free(ctx);
    return status;
}

/* ---- saliency and Grad-CAM of one image ------------------------------------- */

static int explain_image(int argc, char **argv, int gradcam)
{
    args a;
    args_init(&a, argc, argv);
    const char *cls_arg = args_str(&a, "-class", NULL);
    int cam_layer = args_int(&a, "-layer", -1);
    const char *out = args_str(&a, "-o", NULL);
    fer_ctx *ctx = NULL;
    if (!gradcam && cam_layer != -1) {
        fer_fail(&a.err, "-layer is for gradcam");
        a.bad = 1;
    }
    if (cli_ctx(&a, &ctx) || args_done(&a)) {
        fer_ctx_free(ctx);
        return cli_fail(&a.err);
    }
    fer_err e;
    data_cfg d;
    network *net = NULL;
    fer_image im = { 0 };
    explanation x = { 0 };
    canvas c = { 0 };
    float *input = NULL, *maps = NULL;
    int status = 1;
    if (open_data(&a, &d, 0, &e)) {
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (a.argc != 4) {
        fputs(visualize_usage, stderr);
        status = 2;
        goto out;
    }
    const char *image = a.argv[3];
    if (cam_layer < -1) { fer_fail(&e, "-layer %d: expected a layer index >= 0", cam_layer); goto fail; }
    if (fer_net_load(&net, a.argv[1], a.argv[2], ctx, &e)) goto fail;
    if (!d.names) {
        fprintf(stderr, "fer: warning: %s not readable; labels are class numbers\n", FER_DEFAULT_DATA);
        if (data_cfg_default_names(&d, net->classes, &e)) goto fail;
    }
    if (d.classes != net->classes) {
        fer_fail(&e, "%s has %d classes but %s outputs %d", d.path[0] ? d.path : "labels", d.classes, a.argv[1], net->classes);
        goto fail;
    }
    int forced = -1;
    if (cls_arg && parse_class(cls_arg, d.names, d.classes, &forced, &e)) goto fail;
    if (fer_image_load(&im, image, &e)) goto fail;
    if (explanation_init(&x, net, gradcam ? cam_layer : -2, &e)) goto fail;
    if (!gradcam && !x.saliency_ok) {
        fer_fail(&e, "%s: a stopbackward layer cuts the gradient off before the input: no saliency", a.argv[1]);
        goto fail;
    }
    if (net_put_image(net, 0, &im, &e)) goto fail;
    size_t plane = (size_t)x.w * x.h;
    input = malloc(plane * x.c * sizeof *input);
    maps = malloc(2 * plane * sizeof *maps);
    if (!input || !maps) { fer_fail(&e, "out of memory"); goto fail; }
    memcpy(input, net->input, plane * x.c * sizeof *input);
    int truth = label_from_path(image, d.names, d.classes);
    if (!d.path[0]) truth = -1;   /* class numbers only: a path component "3" is no evidence */
    int pred;
    if (explain(net, input, -1, &x, &pred, &e)) goto fail;
    /* the classes to show: -class K, or the predicted and (when known and different) the true one */
    int cls[2], ncls = 0;
    if (forced >= 0) cls[ncls++] = forced;
    else {
        cls[ncls++] = pred;
        if (truth >= 0 && truth != pred) cls[ncls++] = truth;
    }
    gallery_item items[6];
    memset(items, 0, sizeof items);
    fer_image seen = { x.w, x.h, x.c, input };
    char name[256];
    path_stem(image, name, sizeof name);
    for (int r = 0; r < ncls; r++) {
        int used;
        if (explain(net, input, cls[r], &x, &used, &e)) goto fail;
        const float *src = gradcam ? x.cam_input : x.saliency;
        float *mp = maps + (size_t)r * plane, mx = 0;
        for (size_t i = 0; i < plane; i++)
            if (src[i] > mx) mx = src[i];
        for (size_t i = 0; i < plane; i++) mp[i] = mx > 0 ? src[i] / mx : 0;
        gallery_item *it = &items[3 * r];
        it[0].im = seen;
        snprintf(it[0].caption[0], sizeof it[0].caption[0], "%.17s", name);
        snprintf(it[0].caption[1], sizeof it[0].caption[1], "true: %s", truth >= 0 ? d.names[truth] : "unknown");
        snprintf(it[0].caption[2], sizeof it[0].caption[2], "pred: %s", d.names[pred]);
        for (int k = 1; k < 3; k++) {
            it[k].im = seen;
            it[k].map = mp;
            it[k].mw = x.w;
            it[k].mh = x.h;
            it[k].overlay = k == 2;
        }
        const char *role = cls[r] == pred ? (cls[r] == truth ? "predicted, true" : "predicted")
                                          : cls[r] == truth ? "true class" : "chosen (-class)";
        snprintf(it[1].caption[0], sizeof it[1].caption[0], "K: %s", d.names[cls[r]]);
        snprintf(it[1].caption[1], sizeof it[1].caption[1], "%s", role);
        snprintf(it[1].caption[2], sizeof it[1].caption[2], "p=%.3f", x.probs[cls[r]]);
        if (gradcam) {
            snprintf(it[2].caption[0], sizeof it[2].caption[0], "layer %d", x.layer);
            snprintf(it[2].caption[1], sizeof it[2].caption[1], "%dx%dx%d", x.lw, x.lh, x.lc);
        } else {
            snprintf(it[2].caption[0], sizeof it[2].caption[0], "overlay");
            snprintf(it[2].caption[1], sizeof it[2].caption[1], "max %.3g", mx);
        }
        snprintf(it[2].caption[2], sizeof it[2].caption[2], "score=%.3f", x.scores[cls[r]]);
        if (mx == 0) {   /* sum_k w_k A_k <= 0 everywhere: nothing speaks for the class */
            snprintf(it[2].caption[1], sizeof it[2].caption[1], "map is 0 everywhere");
            fprintf(stderr, "fer: note: the %s map for class %s is 0 everywhere\n", gradcam ? "Grad-CAM" : "saliency",
                    d.names[cls[r]]);
        }
        it[1].frame = it[2].frame = cls[r] == pred ? (truth < 0 ? RGB(90, 90, 90) : pred == truth ? RGB(44, 160, 44) : RGB(214, 39, 40)) : RGB(31, 119, 180);
    }
    char title[512], def[600];
    if (gradcam) snprintf(title, sizeof title, "Grad-CAM: ReLU(sum_k w_k A_k), layer %d", x.layer);
    else snprintf(title, sizeof title, "saliency: |d score_K / d input|");
    snprintf(def, sizeof def, "%s_%s.png", gradcam ? "gradcam" : "saliency", name);
    gallery_layout L = { 3, 192, title, NULL, 0, 0, { NULL } };
    if (gallery_draw(&c, items, 3 * ncls, &L, &e) || save_and_report(&c, out ? out : def, &e)) goto fail;
    printf("predicted: %s (%.4f)%s%s\n", d.names[pred], x.probs[pred], truth >= 0 ? ", true: " : "", truth >= 0 ? d.names[truth] : "");
    status = 0;
    goto out;
fail:
    cli_fail(&e);
out:
    free(input);
    free(maps);
    canvas_free(&c);
    explanation_free(&x);
    fer_image_free(&im);
    net_free(net);
    data_cfg_free(&d);
    fer_ctx_free(ctx);
    return status;
}

/* ---- the grid of correct and misclassified examples --------------------------- */

static int grid(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    const char *split = args_str(&a, "-split", "valid");
    int per = args_int(&a, "-n", 4);
    int cam_layer = args_int(&a, "-layer", -1);
    int limit = args_int(&a, "-limit", 0);
    const char *out = args_str(&a, "-o", NULL);
    fer_ctx *ctx = NULL;
    if (cli_ctx(&a, &ctx) || args_done(&a)) {
        fer_ctx_free(ctx);
        return cli_fail(&a.err);
    }
    fer_err e;
    data_cfg d;
    network *net = NULL;
    dataset ds = { 0 };
    float *probs = NULL;
    canvas c = { 0 };
    int status = 1;
    if (open_data(&a, &d, 1, &e)) {
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (a.argc != 3) {
        fputs(visualize_usage, stderr);
        status = 2;
        goto out;
    }
    if (per < 1 || per > 32) { fer_fail(&e, "-n %d: expected 1..32 examples per group", per); goto fail; }
    if (cam_layer < -1) { fer_fail(&e, "-layer %d: expected a layer index >= 0", cam_layer); goto fail; }
    const char *path, *usage;
    if (data_split(&d, split, &path, &usage, &e) || fer_net_load(&net, a.argv[1], a.argv[2], ctx, &e)) goto fail;
    if (net->classes != d.classes) {
        fer_fail(&e, "%s outputs %d values but %s has %d classes", a.argv[1], net->classes, d.path, d.classes);
        goto fail;
    }
    if (net_set_batch(net, 64, 0, &e) ||
        dataset_load(&ds, path, usage, &d, net->opt.width, net->opt.height, net->opt.channels, &e))
        goto fail;
    if (limit > 0 && limit < ds.n) ds.n = limit;
    probs = malloc((size_t)ds.n * net->classes * sizeof *probs);
    if (!probs) { fer_fail(&e, "out of memory"); goto fail; }
    if (evaluate_probs(net, &ds, 0, probs, &e)) goto fail;
    char name[256], title[512], def[600];
    path_stem(a.argv[1], name, sizeof name);
    snprintf(title, sizeof title, "%s on '%s': Grad-CAM of the predicted class (caption: prediction, image index)", name, split);
    snprintf(def, sizeof def, "grid_%s_%s.png", name, split);
    if (gradcam_grid(&c, net, &ds, probs, d.names, per, cam_layer, title, &e) || save_and_report(&c, out ? out : def, &e))
        goto fail;
    status = 0;
    goto out;
fail:
    cli_fail(&e);
out:
    canvas_free(&c);
    free(probs);
    dataset_free(&ds);
    net_free(net);
    data_cfg_free(&d);
    fer_ctx_free(ctx);
    return status;
}

/* ---- the training history -------------------------------------------------- */

static int history_cmd(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    const char *out = args_str(&a, "-o", NULL);
    if (args_done(&a)) return cli_fail(&a.err);
    if (a.argc != 2) {
        fputs(visualize_usage, stderr);
        return 2;
    }
    fer_err e;
    history h;
    if (history_read(&h, a.argv[1], &e)) return cli_fail(&e);
    char png[1100], svg[1100], name[256];
    path_stem(a.argv[1], name, sizeof name);
    if (str_ends_with(name, ".log")) name[strlen(name) - 4] = 0;   /* <cfg>.log.csv */
    if (out) {
        if (!str_ends_with(out, ".png")) {
            history_free(&h);
            fer_fail(&e, "-o %s: expected a .png name (the .svg is written beside it)", out);
            return cli_fail(&e);
        }
        snprintf(png, sizeof png, "%s", out);
        snprintf(svg, sizeof svg, "%.*s.svg", (int)strlen(out) - 4, out);
    } else {
        snprintf(png, sizeof png, "%s_history.png", name);
        snprintf(svg, sizeof svg, "%s_history.svg", name);
    }
    char title[300];
    snprintf(title, sizeof title, "%s: %d epochs", name, h.n);
    canvas c;
    strbuf b = { 0 };
    int rc = history_canvas(&c, &h, title, &e);
    if (!rc) {
        rc = save_and_report(&c, png, &e);
        canvas_free(&c);
    }
    if (!rc) {
        history_svg(&b, &h, title);
        rc = sb_save(&b, svg, &e);
        if (!rc) printf("wrote %s\n", svg);
    }
    /* the best validation epoch, for the record */
    int best = -1;
    for (int i = 0; i < h.n; i++)
        if (!isnan(h.col[H_VAL_ACC][i]) && (best < 0 || h.col[H_VAL_ACC][i] > h.col[H_VAL_ACC][best])) best = i;
    if (!rc && best >= 0)
        printf("best validation accuracy %.4f at epoch %g of %d\n", h.col[H_VAL_ACC][best], h.col[H_EPOCH][best], h.n);
    sb_free(&b);
    history_free(&h);
    return rc ? cli_fail(&e) : 0;
}

int cmd_visualize(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "confusion")) return confusion(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "saliency")) return explain_image(argc - 1, argv + 1, 0);
    if (argc >= 2 && !strcmp(argv[1], "gradcam")) return explain_image(argc - 1, argv + 1, 1);
    if (argc >= 2 && !strcmp(argv[1], "grid")) return grid(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "history")) return history_cmd(argc - 1, argv + 1);
    if (argc >= 2) fprintf(stderr, "fer: visualize %s: unknown picture\n", argv[1]);
    fputs(visualize_usage, stderr);
    return 2;
}
