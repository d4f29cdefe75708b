/* model.c - include/fer.h's faces and models: a Haar face detector, and a
 * network with its class names that finds and classifies the faces of a
 * picture through the same pipeline as `fer demo` (so a still gives the
 * same boxes and probabilities in both). */
#include "data/datacfg.h"
#include "data/paths.h"
#include "engine/engine.h"
#include "vision/demo.h"

#include <stdlib.h>
#include <string.h>

struct fer_detector {
    haar_cascade cascade;
    haar_detector det;
    fer_ctx *ctx;
    int own_ctx;
};

struct fer_model {
    fer_net *net;
    data_cfg labels;           /* classes and names */
    fer_ctx *ctx;
    int own_ctx;
    fer_detector *det;         /* NULL until first needed */
    int own_det;
    demo dm;                   /* the demo's per-frame pipeline over det's cascade */
    int have_demo;
    frame f;                   /* the picture as the pipeline takes it */
};

const char *fer_version(void) { return FER_VERSION; }

/* *ctx, or a one-thread context of our own when it is NULL. */
static int borrow_ctx(fer_ctx **ctx, int *own, fer_err *e)
{
    *own = 0;
    if (*ctx) return 0;
    if (fer_ctx_new(ctx, 1, NULL, e)) return -1;
    *own = 1;
    return 0;
}

int fer_detector_load(fer_detector **out, const char *cascade, fer_ctx *ctx, fer_err *e)
{
    *out = NULL;
    if (!cascade) cascade = haar_default_path();
    if (!cascade)
        return fer_fail(e, "no face cascade found: install Debian's opencv-data (apt-get install opencv-data) or "
                           "give an OpenCV Haar cascade XML");
    fer_detector *d = calloc(1, sizeof *d);
    if (!d) return fer_fail(e, "out of memory");
    d->ctx = ctx;
    if (borrow_ctx(&d->ctx, &d->own_ctx, e) || haar_load(&d->cascade, cascade, e)) {
        if (d->own_ctx) fer_ctx_free(d->ctx);
        free(d);
        return -1;
    }
    if (haar_detector_init(&d->det, &d->cascade, d->ctx, e)) {
        haar_free(&d->cascade);
        if (d->own_ctx) fer_ctx_free(d->ctx);
        free(d);
        return -1;
    }
    *out = d;
    return 0;
}

void fer_detector_free(fer_detector *d)
{
    if (!d) return;
    haar_detector_free(&d->det);
    haar_free(&d->cascade);
    if (d->own_ctx) fer_ctx_free(d->ctx);
    free(d);
}

int fer_detect_faces(fer_detector *d, const fer_image *im, fer_box *boxes, int max, int *n, fer_err *e)
{
    *n = 0;
    frame f = { 0 };
    if (frame_from_image(&f, im, e)) return -1;
    haar_params p;
    haar_params_default(&p);
    int shortside = f.w < f.h ? f.w : f.h;
    p.min_size = shortside / 10;   /* as the demo's full-frame detection */
    int rc = haar_detect(&d->det, f.gray, f.w, f.h, (size_t)f.w, &p, e);
    for (int i = 0; !rc && i < d->det.nboxes && *n < max; i++) {
        const haar_box *b = &d->det.boxes[i];
        boxes[(*n)++] = (fer_box){ b->x, b->y, b->w, b->h };
    }
    frame_free(&f);
    return rc;
}

/* The class names: from labels, or data/fer2013.labels where it is found. */
static int model_labels(fer_model *m, const char *labels, const char *cfg, fer_err *e)
{
    int classes = fer_net_classes(m->net);
    if (classes > FER_MAX_FACE_CLASSES)
        return fer_fail(e, "%s outputs %d classes; a model has at most %d", cfg, classes, FER_MAX_FACE_CLASSES);
    char path[4096];
    if (!labels) {   /* the FER-2013 names for a 7-class network, else class numbers */
        if (classes != 7 || path_locate("data/fer2013.labels", cfg, path, sizeof path))
            return data_cfg_default_names(&m->labels, classes, e);
        labels = path;
    }
    return data_cfg_from_labels(&m->labels, labels, classes, e);
}

int fer_model_load(fer_model **out, const char *cfg, const char *weights, const char *labels, fer_ctx *ctx,
                   fer_err *e)
{
    *out = NULL;
    fer_model *m = calloc(1, sizeof *m);
    if (!m) return fer_fail(e, "out of memory");
    m->ctx = ctx;
    if (borrow_ctx(&m->ctx, &m->own_ctx, e) || fer_net_load(&m->net, cfg, weights, m->ctx, e) ||
        model_labels(m, labels, cfg, e)) {
        fer_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int fer_model_load_default(fer_model **out, fer_ctx *ctx, fer_err *e)
{
    char cfg[4096], weights[4096];
    if (path_locate(FER_DEFAULT_CFG, NULL, cfg, sizeof cfg) ||
        path_locate(FER_DEFAULT_WEIGHTS, NULL, weights, sizeof weights))
        return fer_fail(e, "the default model (%s, %s) is not in the current folder, beside the program or in %s",
                        FER_DEFAULT_CFG, FER_DEFAULT_WEIGHTS, path_share_dir());
    return fer_model_load(out, cfg, weights, NULL, ctx, e);
}

int fer_model_classes(const fer_model *m) { return m->labels.classes; }

const char *fer_model_class_name(const fer_model *m, int k)
{
    return k >= 0 && k < m->labels.classes ? m->labels.names[k] : NULL;
}

fer_net *fer_model_net(fer_model *m) { return m->net; }

void fer_model_set_detector(fer_model *m, fer_detector *d)
{
    if (m->have_demo) demo_free(&m->dm);
    m->have_demo = 0;
    if (m->own_det) fer_detector_free(m->det);
    m->det = d;
    m->own_det = 0;
}

/* One face: the whole image, classified as it is. */
static int whole_image(fer_model *m, const fer_image *im, fer_face *face, fer_err *e)
{
    memset(face, 0, sizeof *face);
    face->box = (fer_box){ 0, 0, im->w, im->h };
    if (fer_net_classify(m->net, im, face->probs, e)) return -1;
    for (int k = 1; k < m->labels.classes; k++)
        if (face->probs[k] > face->probs[face->label]) face->label = k;
    return 0;
}

/* The demo pipeline over the detector, made on first use. */
static int ensure_demo(fer_model *m, fer_err *e)
{
    if (m->have_demo) return 0;
    if (!m->det) {
        if (fer_detector_load(&m->det, NULL, m->ctx, e)) return -1;
        m->own_det = 1;
    }
    demo_options o;
    demo_options_default(&o);
    if (demo_init(&m->dm, &o, &m->det->cascade, &m->net, 1, m->labels.names, m->ctx, e)) return -1;
    m->have_demo = 1;
    return 0;
}

int fer_model_faces(fer_model *m, const fer_image *im, int detect, fer_face *faces, int max, int *n, fer_err *e)
{
    *n = 0;
    if (detect == FER_DETECT_AUTO) {
        int w, h, c;
        fer_net_input_shape(m->net, &w, &h, &c);
        detect = im->w > 2 * w || im->h > 2 * h;
    }
    if (!detect) {
        if (max < 1) return 0;
        if (whole_image(m, im, &faces[0], e)) return -1;
        *n = 1;
        return 0;
    }
    demo_result r;
    if (ensure_demo(m, e) || frame_from_image(&m->f, im, e)) return -1;
    demo_reset(&m->dm);
    if (demo_process(&m->dm, &m->f, &r, e)) return -1;
    for (int i = 0; i < r.nfaces && *n < max; i++) {
        const demo_face *d = &r.faces[i];
        fer_face *f = &faces[(*n)++];
        memset(f, 0, sizeof *f);
        f->box = (fer_box){ d->box.x, d->box.y, d->box.w, d->box.h };
        f->label = d->label;
        memcpy(f->probs, d->probs, (size_t)m->labels.classes * sizeof *f->probs);
    }
    return 0;
}

void fer_model_free(fer_model *m)
{
    if (!m) return;
    if (m->have_demo) demo_free(&m->dm);
    if (m->own_det) fer_detector_free(m->det);
    frame_free(&m->f);
    data_cfg_free(&m->labels);
    fer_net_free(m->net);
    if (m->own_ctx) fer_ctx_free(m->ctx);
    free(m);
}
