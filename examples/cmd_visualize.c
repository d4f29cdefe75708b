/* cmd_visualize.c - `fer visualize confusion|saliency|gradcam|grid|history`:
 * pictures drawn by fer itself, written as PNG by fer's encoder (and SVG for
 * the history chart). Every command prints the paths it wrote. */
#include "analysis/analysis.h"
#include "cli.h"
#include "vision/demo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

static int save_and_report(const canvas *c, const char *path, fer_err *e)
{
    if (canvas_save_png(c, path, e)) return -1;
    printf("wrote %s (%dx%d)\n", path, c->w, c->h);
    return 0;
}

/* ---- confusion ----------------------------------------------------------- */

static int confusion(cli *c)
{
    args *a = &c->a;
    const char *split = args_str(a, "-split", "valid");
    int tta = args_flag(a, "-tta");
    const char *wspec = args_str(a, "-w", NULL);
    int limit = args_int(a, "-limit", 0);
    const char *out = args_str(a, "-o", NULL);
    int rc = cli_start(c, 2, -1);
    if (rc) return rc;
    const char *path, *usage;
    ensemble_result r = { 0 };
    canvas cv = { 0 };
    if (data_split(&c->d, split, &path, &usage, &c->e) || cli_load_ensemble(c, a->argv + 1, a->argc - 1, wspec) ||
        ensemble_evaluate(c->nets, c->nnets, &c->d, split, tta, c->w, limit, &r, &c->e))
        rc = -1;
    if (!rc) {
        int m = c->nnets;
        char name[256], title[512], def[600];
        path_stem(a->argv[1], name, sizeof name);
        double acc = 100 * r.m.accuracy;
        if (m == 1) snprintf(title, sizeof title, "%s on '%s' (%d images): accuracy %.2f%%", name, split, r.sp.n, acc);
        else snprintf(title, sizeof title, "ensemble of %d on '%s' (%d images): accuracy %.2f%%", m, split, r.sp.n, acc);
        if (m == 1) snprintf(def, sizeof def, "confusion_%s_%s.png", name, split);
        else snprintf(def, sizeof def, "confusion_ensemble%d_%s.png", m, split);
        rc = confusion_canvas(&cv, r.m.confusion, r.m.classes, c->d.names, title, &c->e) ||
             save_and_report(&cv, out ? out : def, &c->e);
    }
    if (!rc) printf("accuracy: %.4f\n", r.m.accuracy);
    canvas_free(&cv);
    ensemble_result_free(&r);
    return rc ? cli_error(c) : 0;
}

/* ---- saliency and Grad-CAM of one image ------------------------------------- */

/* One image explained: the network's view of it and the maps of up to two classes. */
typedef struct explained {
    int gradcam;             /* 1: Grad-CAM, 0: saliency */
    explanation x;
    float *input;            /* [c, h, w] the image as the network sees it */
    float *maps;             /* [2, h, w] each class's map scaled to [0, 1] */
    int truth, pred;         /* the true class (-1: unknown) and the predicted one */
    char name[256];          /* the image's stem */
} explained;

/* How a photo becomes the face that is explained: detect (FER_DETECT_*,
 * AUTO: when the image is larger than twice the network's input on either
 * side, as `classifier predict` decides) with cascade (NULL: opencv-data's). */
typedef struct face_pick {
    int detect;
    const char *cascade;
    int found;               /* faces found (0 when not searched) */
    haar_box box;            /* the largest, explained */
    float margin;            /* the crop's margin on each side (fer demo's) */
} face_pick;

/* Finds the faces of im as `classifier predict` and `fer demo` do, and
 * makes *im the largest one's view as they classify it. */
static int view_largest_face(cli *c, const char *image, fer_image *im, face_pick *fp)
{
    fer_err *e = &c->e;
    const char *path = fp->cascade ? fp->cascade : haar_default_path();
    if (!path)
        return fer_fail(e, "%s: no face cascade found to search the photo: install Debian's opencv-data, give "
                           "-cascade FILE.xml, or -nodetect to explain the whole picture", image);
    haar_cascade cascade;
    if (haar_load(&cascade, path, e)) return -1;
    demo_options o;
    demo_options_default(&o);
    demo dm;
    frame f = { 0 };
    demo_result r;
    int ok = demo_init(&dm, &o, &cascade, &c->net, 1, c->d.names, c->ctx, e) == 0;
    int rc = !ok || frame_from_image(&f, im, e) || demo_process(&dm, &f, &r, e) ? -1 : 0;
    if (!rc && !r.nfaces) rc = fer_fail(e, "%s: no face found (-nodetect explains the whole picture)", image);
    if (!rc) {
        int best = 0;
        for (int i = 1; i < r.nfaces; i++)
            if ((long)r.faces[i].box.w * r.faces[i].box.h > (long)r.faces[best].box.w * r.faces[best].box.h) best = i;
        fp->found = r.nfaces;
        fp->box = r.faces[best].box;
        fp->margin = o.margin;
        /* [net] size, as the demo resamples a face; a [net] crop then takes its centre */
        fer_image view = { c->net->opt.width, c->net->opt.height, c->net->opt.channels, NULL };
        view.data = fer_alloc((size_t)view.w * view.h * view.c, sizeof(float), e);
        if (!view.data) rc = -1;
        else {
            demo_face_view(&dm, &f, &fp->box, &view);
            fer_image_free(im);
            *im = view;
        }
    }
    if (ok) demo_free(&dm);
    frame_free(&f);
    haar_free(&cascade);
    return rc;
}

/* A photo (or -detect) becomes its largest face; otherwise im stays whole. */
static int pick_face(cli *c, const char *image, fer_image *im, face_pick *fp)
{
    int iw, ih, ic;
    fer_net_input_shape(c->net, &iw, &ih, &ic);
    int detect = fp->detect == FER_DETECT_AUTO ? im->w > 2 * iw || im->h > 2 * ih : fp->detect;
    if (fp->detect == FER_DETECT_AUTO && c->net->classes > TRACK_MAX_CLASSES) detect = 0;   /* the demo's limit */
    return detect ? view_largest_face(c, image, im, fp) : 0;
}

/* The image (or its largest face) put into the network, its true class
 * from the path, the prediction. */
static int explain_setup(cli *c, explained *ex, const char *image, int cam_layer, face_pick *fp)
{
    network *net = c->net;
    data_cfg *d = &c->d;
    fer_err *e = &c->e;
    fer_image im = { 0 };
    int rc = fer_image_load(&im, image, e) || pick_face(c, image, &im, fp) ||
             explanation_init(&ex->x, net, ex->gradcam ? cam_layer : -2, e);
    if (!rc && !ex->gradcam && !ex->x.saliency_ok)
        rc = fer_fail(e, "%s: a stopbackward layer cuts the gradient off before the input: no saliency", c->a.argv[1]);
    if (!rc) rc = net_put_image(net, 0, &im, e);
    fer_image_free(&im);
    if (rc) return -1;
    size_t plane = (size_t)ex->x.w * ex->x.h;
    ex->input = malloc(plane * ex->x.c * sizeof *ex->input);
    ex->maps = malloc(2 * plane * sizeof *ex->maps);
    if (!ex->input || !ex->maps) return fer_fail(e, "out of memory");
    memcpy(ex->input, net->input, plane * ex->x.c * sizeof *ex->input);
    ex->truth = label_from_path(image, d->names, d->classes);
    if (!d->path[0]) ex->truth = -1;   /* class numbers only: a path component "3" is no evidence */
    path_stem(image, ex->name, sizeof ex->name);
    return explain(net, ex->input, -1, &ex->x, &ex->pred, e);
}

/* Gallery row r: the image, class K's map and the map over the image, with captions. */
static int explain_row(cli *c, explained *ex, int r, int cls, gallery_item *it)
{
    explanation *x = &ex->x;
    char **names = c->d.names;
    int used, truth = ex->truth, pred = ex->pred;
    if (explain(c->net, ex->input, cls, x, &used, &c->e)) return -1;
    size_t plane = (size_t)x->w * x->h;
    const float *src = ex->gradcam ? x->cam_input : x->saliency;
    float *mp = ex->maps + (size_t)r * plane, mx = 0;
    for (size_t i = 0; i < plane; i++)
        if (src[i] > mx) mx = src[i];
    for (size_t i = 0; i < plane; i++) mp[i] = mx > 0 ? src[i] / mx : 0;
    fer_image seen = { x->w, x->h, x->c, ex->input };
    it[0].im = seen;
    snprintf(it[0].caption[0], sizeof it[0].caption[0], "%.17s", ex->name);
    snprintf(it[0].caption[1], sizeof it[0].caption[1], "true: %s", truth >= 0 ? names[truth] : "unknown");
    snprintf(it[0].caption[2], sizeof it[0].caption[2], "pred: %s", names[pred]);
    for (int k = 1; k < 3; k++) {
        it[k].im = seen;
        it[k].map = mp;
        it[k].mw = x->w;
        it[k].mh = x->h;
        it[k].overlay = k == 2;
    }
    const char *role = cls == pred ? (cls == truth ? "predicted, true" : "predicted")
                                   : cls == truth ? "true class" : "chosen (-class)";
    snprintf(it[1].caption[0], sizeof it[1].caption[0], "for '%.14s'", names[cls]);
    snprintf(it[1].caption[1], sizeof it[1].caption[1], "%s", role);
    snprintf(it[1].caption[2], sizeof it[1].caption[2], "%.0f%% sure", 100.0 * x->probs[cls]);
    if (ex->gradcam) {
        snprintf(it[2].caption[0], sizeof it[2].caption[0], "layer %d", x->layer);
        snprintf(it[2].caption[1], sizeof it[2].caption[1], "%dx%dx%d", x->lw, x->lh, x->lc);
    } else {
        snprintf(it[2].caption[0], sizeof it[2].caption[0], "on the face");
        snprintf(it[2].caption[1], sizeof it[2].caption[1], "red: most");
    }
    snprintf(it[2].caption[2], sizeof it[2].caption[2], "%s", ex->gradcam ? "red: looked most" : "");
    if (mx == 0) {   /* sum_k w_k A_k <= 0 everywhere: nothing speaks for the class */
        snprintf(it[2].caption[1], sizeof it[2].caption[1], "map is 0 everywhere");
        fprintf(stderr, "fer: note: the %s map for class %s is 0 everywhere\n", ex->gradcam ? "Grad-CAM" : "saliency",
                names[cls]);
    }
    uint32_t verdict = truth < 0 ? RGB(90, 90, 90) : pred == truth ? RGB(44, 160, 44) : RGB(214, 39, 40);
    it[1].frame = it[2].frame = cls == pred ? verdict : RGB(31, 119, 180);
    return 0;
}

/* The gallery of the classes shown (-class K, or the predicted and, when
 * known and different, the true one), saved to out or its default name. */
static int explain_draw(cli *c, explained *ex, int forced, const char *out)
{
    int cls[2], ncls = 0;
    if (forced >= 0) cls[ncls++] = forced;
    else {
        cls[ncls++] = ex->pred;
        if (ex->truth >= 0 && ex->truth != ex->pred) cls[ncls++] = ex->truth;
    }
    gallery_item items[6];
    memset(items, 0, sizeof items);
    for (int r = 0; r < ncls; r++)
        if (explain_row(c, ex, r, cls[r], &items[3 * r])) return -1;
    char title[512], def[600];
    const char *top = c->d.names[ex->pred];
    float p = 100.0f * ex->x.probs[ex->pred];
    if (ex->gradcam) snprintf(title, sizeof title, "where the model looked for '%s' (%.0f%%)", top, p);
    else snprintf(title, sizeof title, "the pixels that most change the model's '%s' (%.0f%%)", top, p);
    snprintf(def, sizeof def, "%s_%s.png", ex->gradcam ? "gradcam" : "saliency", ex->name);
    gallery_layout L = { 3, 192, title, NULL, 0, 0, { NULL } };
    canvas cv = { 0 };
    int rc = gallery_draw(&cv, items, 3 * ncls, &L, &c->e) || save_and_report(&cv, out ? out : def, &c->e);
    canvas_free(&cv);
    return rc ? -1 : 0;
}

static int explain_image(cli *c, int gradcam)
{
    args *a = &c->a;
    const char *cls_arg = args_str(a, "-class", NULL);
    int cam_layer = args_int(a, "-layer", -1);
    const char *out = args_str(a, "-o", NULL);
    face_pick fp = { FER_DETECT_AUTO, args_str(a, "-cascade", NULL), 0, { 0 }, 0 };
    int detect = args_flag(a, "-detect"), nodetect = args_flag(a, "-nodetect");
    if (detect && nodetect) args_fail(a, "-detect and -nodetect: give one of them");
    if (detect || nodetect) fp.detect = detect ? FER_DETECT_YES : FER_DETECT_NO;
    if (nodetect && fp.cascade) args_fail(a, "-cascade is for finding faces, which -nodetect turns off");
    if (!gradcam && cam_layer != -1) args_fail(a, "-layer is for gradcam");
    int rc = cli_start(c, 3, 3);
    if (rc) return rc;
    data_cfg *d = &c->d;
    fer_err *e = &c->e;
    if (cam_layer < -1) {
        fer_fail(e, "-layer %d: expected a layer index >= 0", cam_layer);
        return cli_error(c);
    }
    if (cli_load_net(c, a->argv[1], a->argv[2])) return cli_error(c);
    if (!d->names) {
        fprintf(stderr, "fer: warning: %s not readable; labels are class numbers\n", FER_DEFAULT_DATA);
        if (data_cfg_default_names(d, c->net->classes, e)) return cli_error(c);
    }
    if (d->classes != c->net->classes) {
        fer_fail(e, "%s has %d classes but %s outputs %d", d->path[0] ? d->path : "labels", d->classes, a->argv[1],
                 c->net->classes);
        return cli_error(c);
    }
    int forced = -1;
    explained ex;
    memset(&ex, 0, sizeof ex);
    ex.gradcam = gradcam;
    rc = (cls_arg && parse_class(cls_arg, d->names, d->classes, &forced, e)) ||
         explain_setup(c, &ex, a->argv[3], cam_layer, &fp) || explain_draw(c, &ex, forced, out);
    if (!rc && fp.found)
        printf("face: %d,%d %dx%d (the largest of %d found), cropped with a %.0f%% margin\n", fp.box.x, fp.box.y,
               fp.box.w, fp.box.h, fp.found, 100 * fp.margin);
    if (!rc)
        printf("predicted: %s (%.4f)%s%s\n", d->names[ex.pred], ex.x.probs[ex.pred], ex.truth >= 0 ? ", true: " : "",
               ex.truth >= 0 ? d->names[ex.truth] : "");
    free(ex.input);
    free(ex.maps);
    explanation_free(&ex.x);
    return rc ? cli_error(c) : 0;
}

static int saliency(cli *c) { return explain_image(c, 0); }
static int gradcam(cli *c) { return explain_image(c, 1); }

/* ---- the grid of correct and misclassified examples --------------------------- */

static int grid(cli *c)
{
    args *a = &c->a;
    const char *split = args_str(a, "-split", "valid");
    int per = args_int(a, "-n", 4);
    int cam_layer = args_int(a, "-layer", -1);
    int limit = args_int(a, "-limit", 0);
    const char *out = args_str(a, "-o", NULL);
    int rc = cli_start(c, 2, 2);
    if (rc) return rc;
    data_cfg *d = &c->d;
    fer_err *e = &c->e;
    if (per < 1 || per > 32) { fer_fail(e, "-n %d: expected 1..32 examples per group", per); return cli_error(c); }
    if (cam_layer < -1) { fer_fail(e, "-layer %d: expected a layer index >= 0", cam_layer); return cli_error(c); }
    const char *path, *usage;
    if (data_split(d, split, &path, &usage, e) || cli_load_net(c, a->argv[1], a->argv[2])) return cli_error(c);
    network *net = c->net;
    if (net->classes != d->classes) {
        fer_fail(e, "%s outputs %d values but %s has %d classes", a->argv[1], net->classes, d->path, d->classes);
        return cli_error(c);
    }
    dataset ds = { 0 };
    float *probs = NULL;
    canvas cv = { 0 };
    const net_options *no = &net->opt;
    rc = net_set_batch(net, 64, 0, e) || dataset_load(&ds, path, usage, d, no->width, no->height, no->channels, e);
    if (!rc && limit > 0 && limit < ds.n) ds.n = limit;
    if (!rc && !(probs = malloc((size_t)ds.n * net->classes * sizeof *probs))) rc = fer_fail(e, "out of memory");
    if (!rc) rc = evaluate_probs(net, &ds, 0, probs, e);
    if (!rc) {
        char name[256], title[512], def[600];
        path_stem(a->argv[1], name, sizeof name);
        snprintf(title, sizeof title, "%s on '%s': Grad-CAM of the predicted class (caption: prediction, image index)",
                 name, split);
        snprintf(def, sizeof def, "grid_%s_%s.png", name, split);
        rc = gradcam_grid(&cv, net, &ds, probs, d->names, per, cam_layer, title, e) ||
             save_and_report(&cv, out ? out : def, e);
    }
    canvas_free(&cv);
    free(probs);
    dataset_free(&ds);
    return rc ? cli_error(c) : 0;
}

/* ---- the training history -------------------------------------------------- */

static int history_cmd(cli *c)
{
    args *a = &c->a;
    const char *out = args_str(a, "-o", NULL);
    int rc = cli_start(c, 1, 1);
    if (rc) return rc;
    fer_err *e = &c->e;
    history h;
    if (history_read_all(&h, a->argv[1], e)) return cli_error(c);
    char png[1100], svg[1100], name[256];
    path_stem(a->argv[1], name, sizeof name);
    if (str_ends_with(name, ".log")) name[strlen(name) - 4] = 0;   /* <cfg>.log.csv */
    if (out) {
        if (!str_ends_with(out, ".png")) {
            history_free(&h);
            fer_fail(e, "-o %s: expected a .png name (the .svg is written beside it)", out);
            return cli_error(c);
        }
        snprintf(png, sizeof png, "%s", out);
        snprintf(svg, sizeof svg, "%.*s.svg", (int)strlen(out) - 4, out);
    } else {
        snprintf(png, sizeof png, "%s_history.png", name);
        snprintf(svg, sizeof svg, "%s_history.svg", name);
    }
    char title[300];
    snprintf(title, sizeof title, "%s: %d epochs", name, h.n);
    canvas cv;
    strbuf b = { 0 };
    rc = history_canvas(&cv, &h, title, e);
    if (!rc) {
        rc = save_and_report(&cv, png, e);
        canvas_free(&cv);
    }
    if (!rc) {
        history_svg(&b, &h, title);
        rc = sb_save(&b, svg, e);
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
    return rc ? cli_error(c) : 0;
}

#define TRUE_CLASS_NOTE \
    "  The true class of IMAGE is known when a component of its path is a label name, e.g. .../happy/x.png.\n" \
    "  A photo larger than twice the network's input on either side is searched for faces (Haar cascade:\n" \
    "  opencv-data's, or -cascade XML) and its largest face explained, cropped as `fer demo` crops it;\n" \
    "  -detect / -nodetect force either.\n"

static const command visualize_commands[] = {
    { "confusion", confusion, CLI_CTX | CLI_DATA_REQUIRED,
      "usage: fer visualize confusion [DATA] CFG WEIGHTS [CFG2 WEIGHTS2 ...] [-split valid|test|train] [-tta] [-w w1,...]\n"
      "                               [-limit N] [-o confusion.png]     row-normalized confusion heat map (ensemble: soft voting)\n",
      "row-normalized confusion heat map", NULL },
    { "saliency", saliency, CLI_CTX | CLI_DATA,
      "usage: fer visualize saliency [DATA] CFG WEIGHTS IMAGE [-class K|NAME] [-detect | -nodetect]\n"
      "                               [-cascade XML] [-o saliency.png]\n"
      "                               the pixels that most change the model's score for a class (K: predicted, and\n"
      "                               the true class when known): |d score_K / d input|, score_K the logit of class K\n"
      TRUE_CLASS_NOTE,
      "|d score_K / d input| of one image", NULL },
    { "gradcam", gradcam, CLI_CTX | CLI_DATA,
      "usage: fer visualize gradcam [DATA] CFG WEIGHTS IMAGE [-class K|NAME] [-layer N] [-detect | -nodetect]\n"
      "                              [-cascade XML] [-o gradcam.png]\n"
      "                               Grad-CAM of layer N (default: the last spatial convolutional layer): where the\n"
      "                               model looked, ReLU(sum_k w_k A_k) with A_k layer N's channel k and w_k the mean\n"
      "                               of d score_K / d A_k over its positions\n"
      TRUE_CLASS_NOTE,
      "Grad-CAM of one image", NULL },
    { "grid", grid, CLI_CTX | CLI_DATA_REQUIRED,
      "usage: fer visualize grid [DATA] CFG WEIGHTS [-split valid|test|train] [-n 4] [-layer N] [-limit N] [-o grid.png]\n"
      "                               per class: the most confident correct and misclassified images with Grad-CAMs\n",
      "correct and misclassified images per class with Grad-CAMs", NULL },
    { "history", history_cmd, 0,
      "usage: fer visualize history LOG.csv|MODEL.history [-o history.png]   training curves as PNG and SVG\n"
      "  A .history file lists a model's logs in training order (weights/shallow.history: its five cycles),\n"
      "  drawn as one run.\n",
      "training curves as PNG and SVG", NULL },
    { NULL, NULL, 0, NULL, NULL, NULL },
};

const command cmd_visualize = {
    "visualize", NULL, 0, NULL, "pictures (PNG, and SVG for charts)", visualize_commands,
};
