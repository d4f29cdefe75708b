/* demo.h - the per-frame work of `fer demo`: find faces (Haar cascade, with
 * full-frame detection every few frames and a search around each tracked
 * face in between), classify each face crop with one network or the
 * average of several, smooth per tracked face, draw the annotations and
 * write the JSON line.
 *
 * This is the top of src/vision/, faces in pictures and video: haar.h finds
 * them, track.h follows them from frame to frame, source.h (with v4l2.h for
 * cameras) delivers the frames, http.h serves the live page, and demo.h
 * ties them to the networks. */
#ifndef FER_DEMO_H
#define FER_DEMO_H

#include "codecs/frame.h"
#include "codecs/strbuf.h"
#include "haar.h"
#include "track.h"

#define DEMO_MAX_MODELS 8

typedef struct demo_options {
    int nodetect;            /* classify the frame's centre square instead of detecting */
    haar_params haar;        /* min_size 0 = auto: max(window, short side / 10) */
    int detect_every;        /* full-frame detection every N frames, tracked search between (1 = always) */
    float margin;            /* crop margin on each side, fraction of the box side */
    int classify_every;      /* classify a tracked face every N frames (1 = always) */
    int smooth;              /* exponential moving average over frames (0 = raw) */
    int keep;                /* show a track unmatched for up to this many frames */
    int panel;               /* what is drawn beside each face: DEMO_PANEL_* */
} demo_options;

/* -panel bars (label and per-class bars), label (the label only), none (boxes only). */
enum { DEMO_PANEL_BARS, DEMO_PANEL_LABEL, DEMO_PANEL_NONE };

typedef struct panel_rect { int x, y, w, h; } panel_rect;
/* Where face i's panel of pw x ph goes in a fw x fh frame: right of its box,
 * left, below or above (in that order; each slid along the box's side),
 * inside the frame below `top`, covering none of the n face boxes and none
 * of the `nplaced` panels already placed. 0 with *out set, -1 when no
 * place has room (the caller then shrinks the panel or leaves it out). */
int panel_place(const haar_box *boxes, int n, int i, int fw, int fh, int top, int pw, int ph,
                const panel_rect *placed, int nplaced, panel_rect *out);

void demo_options_default(demo_options *o);

typedef struct demo_face {
    int id;                  /* track id */
    haar_box box;
    float probs[TRACK_MAX_CLASSES];
    int label;
    int fresh;               /* detected in this frame (not carried over) */
} demo_face;

typedef struct demo_result {
    int nfaces;
    demo_face faces[TRACK_MAX];
    double ms_detect, ms_classify, ms_draw;
    int full_detect;         /* this frame ran a full-frame detection */
} demo_result;

typedef struct demo {
    demo_options opt;
    const haar_cascade *cascade;     /* NULL with nodetect */
    haar_detector det;
    int have_det;
    fer_net *nets[DEMO_MAX_MODELS];
    int nnets;
    int classes;
    char *const *names;              /* [classes] */
    tracker tr;
    long frames;
    fer_image crop;                  /* model input scratch */
    float *probs;                    /* [classes] */
} demo;

/* nets: loaded models with equal class counts; cascade may be NULL only
 * when opt->nodetect. The demo borrows cascade, nets and names. */
int demo_init(demo *d, const demo_options *opt, const haar_cascade *cascade, fer_net *const *nets, int nnets,
              char *const *names, fer_ctx *ctx, fer_err *e);
void demo_free(demo *d);
/* Forgets tracks (between unrelated still images). */
void demo_reset(demo *d);
/* Detects, tracks and classifies the faces of f. */
int demo_process(demo *d, const frame *f, demo_result *r, fer_err *e);
/* Face b of f as demo_process classifies it: the box grown by the margin
 * on each side, area-resampled to out's size and channels (out->data
 * allocated, [c][h][w] in [0,1]). */
void demo_face_view(const demo *d, const frame *f, const haar_box *b, fer_image *out);
/* Draws boxes, labels, per-class bars and the status line into f->rgb. */
void demo_annotate(const demo *d, frame *f, const demo_result *r, double fps);
/* One face as the JSON line shows it: id < 0 for none (stills). */
typedef struct json_face {
    int id;
    int x, y, w, h;
    int label;
    const float *probs;      /* [classes] */
} json_face;

/* The one JSON shape of every command (predict, demo, HTTP), without its
 * closing brace (callers may add fields): {"image": ... or "frame": N,
 * "faces": [{"box": [x, y, w, h], "label": "happy", "probs": {"angry":
 * 0.012345, ...}}]. Probabilities with 6 decimals; never NaN (outputs are
 * checked where they are computed). */
void faces_json_open(strbuf *out, const char *image, long frame_no, const json_face *faces, int n,
                     char *const *names, int classes);
/* The frame's line in that shape, with "ms" (detect, classify, draw) and,
 * for video (image NULL), "fps". */
int demo_json(const demo *d, const demo_result *r, long frame_no, const char *image, double fps, strbuf *out,
              fer_err *e);

#endif
