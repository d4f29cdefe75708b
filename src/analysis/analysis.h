/* analysis.h - src/analysis/, looking at trained models: soft-voting
 * ensembles (ensemble.c), saliency maps and Grad-CAM (gradcam.c), pictures of
 * them (gallery.c), and charts as SVG text or on a canvas (chart.c), which
 * `fer report` (examples/cmd_report.c) puts into one HTML file. */
#ifndef FER_ANALYSIS_H
#define FER_ANALYSIS_H

#include "codecs/draw.h"
#include "codecs/strbuf.h"
#include "train/train.h"

/* ---- splits ---------------------------------------------------------------- */

/* Images per class (count[d->classes]) and in all of one split. */
int split_class_counts(const data_cfg *d, const char *split, int *count, int *total, fer_err *e);

/* ---- ensembles (ensemble.c) ------------------------------------------------ */

/* Every member's probabilities on one split. */
typedef struct split_probs {
    int n, classes, members;
    int *labels;             /* [n] true class */
    float **probs;           /* [members] each [n, classes] */
    int first;               /* index in the split of image 0 (a tail of the split) */
    int total;               /* images in the whole split */
} split_probs;

/* Loads the networks of cfg/weights pairs argv[0..n): *m = n/2 of them,
 * with the same number of classes. */
int ensemble_load(network ***nets, int *m, char **argv, int n, fer_ctx *ctx, fer_err *e);
void ensemble_free(network **nets, int m);

/* Runs each network (inference, optional TTA) over the split; each member
 * gets the images at its own input size (the split is read once per
 * distinct size). Only the last `tail` fraction of the split is used when
 * 0 < tail < 1, and only the first `limit` of those when limit > 0. The
 * members must agree on the classes; labels must agree across sizes. */
int ensemble_split_probs(network **nets, int m, const data_cfg *d, const char *path, const char *usage, int tta,
                         double tail, int limit, split_probs *out, fer_err *e);
void split_probs_free(split_probs *sp);

/* Parses "w1,w2,...": exactly m finite numbers >= 0 with a positive sum,
 * normalized to sum 1 into w[m]. */
int ensemble_parse_weights(const char *spec, int m, float *w, fer_err *e);
/* Normalizes w[m] to sum 1; fails on a negative or non-finite weight or a
 * zero sum. */
int ensemble_normalize(float *w, int m, fer_err *e);
/* out[n, classes] = sum_j w[j] * probs[j][n, classes] (soft voting). */
void ensemble_combine(float *const *probs, const float *w, int m, int n, int classes, float *out);

typedef enum { FIT_NLL, FIT_ACCURACY } fit_objective;
/* Chooses weights on (probs, labels): FIT_NLL maximizes the likelihood of the
 * mixture (EM, a convex problem: the global optimum); FIT_ACCURACY starts
 * from the NLL optimum and scans one weight at a time over [0, 1] for the
 * best accuracy (ties: lower NLL) until nothing improves (a local search). w[m] receives normalized weights. */
int ensemble_fit(float *const *probs, const int *labels, int m, int n, int classes, fit_objective obj, float *w,
                 fer_err *e);
/* K-fold cross-fitting on one split, so that no image is scored with
 * weights fitted on it: fold f holds the images i with i % folds == f; its
 * ensemble probabilities out[i] use weights fitted (ensemble_fit) on the
 * other folds, which fold_w[f * m .. f * m + m) receives. */
int ensemble_crossfit(float *const *probs, const int *labels, int m, int n, int classes, fit_objective obj, int folds,
                      float *fold_w, float *out, fer_err *e);
/* Mean negative log-likelihood and accuracy of probs [n, classes]. */
void probs_score(const float *probs, const int *labels, int n, int classes, double *nll, double *acc);

/* Soft voting over a split: every member's probabilities, the normalized
 * weights, the combined probabilities and their metrics. */
typedef struct ensemble_result {
    split_probs sp;
    float *w;                /* [members] normalized weights */
    float *probs;            /* [n, classes] the weighted sum */
    metrics m;
} ensemble_result;

/* Evaluates the members on split "train"/"valid"/"test" of d with weights
 * w[m] (NULL: equal; normalized here); limit > 0 keeps the first images. */
int ensemble_evaluate(network **nets, int m, const data_cfg *d, const char *split, int tta, const float *w, int limit,
                      ensemble_result *r, fer_err *e);
void ensemble_result_free(ensemble_result *r);

/* Writes one CSV row per image: index,true,pred, then member j's
 * probabilities as m<j>_<label>, then the ensemble's as ens_<label>. */
int ensemble_write_csv(const char *path, const split_probs *sp, const float *ens, char **names, fer_err *e);

/* ---- saliency and Grad-CAM (gradcam.c) ------------------------------------- */

/* One explanation of one image and one class K. score_K is the class's
 * pre-softmax score: the output of the layer feeding the last [softmax]
 * (or of the last layer when there is no [softmax]). */
typedef struct explanation {
    int classes;
    int score_layer;         /* the layer whose output holds the scores */
    float *probs;            /* [classes] the network's output */
    float *scores;           /* [classes] pre-softmax scores */
    int c, h, w;             /* input shape */
    int saliency_ok;         /* 0 when a stopbackward layer cuts the input off */
    float *dinput;           /* [c, h, w] d score_K / d input */
    float *saliency;         /* [h, w] max over channels of |d score_K / d input| */
    int layer;               /* Grad-CAM layer, or -1 */
    int lc, lh, lw;          /* its output shape */
    float *cam_weights;      /* [lc] spatial mean of d score_K / d A */
    float *cam;              /* [lh, lw] ReLU(sum_k w_k A_k) */
    float *cam_input;        /* [h, w] cam bilinearly resized to the input (to the window a leading
                              * [crop] takes, 0 outside it) */
} explanation;

/* The last convolutional layer with a spatial output (h, w > 1) below the
 * scores, or -1. */
int gradcam_default_layer(const network *net);
/* Sets the network to batch 1 with gradients and allocates x for Grad-CAM
 * layer `layer` (-1: the default; -2: none). */
int explanation_init(explanation *x, network *net, int cam_layer, fer_err *e);
/* Forward on input [c, h, w] (inference mode), then backward from score
 * `cls` (-1: the predicted class); fills x. *used_cls gets the class. */
int explain(network *net, const float *input, int cls, explanation *x, int *used_cls, fer_err *e);
void explanation_free(explanation *x);

/* ---- pictures of explanations (gallery.c) ---------------------------------- */

/* A panel: the input, then per class: saliency beside Grad-CAM overlay.
 * labels: text under each image. */
typedef struct gallery_item {
    fer_image im;            /* the input as the network saw it */
    const float *map;        /* [mh, mw] in [0,1] (NULL: the plain image) */
    int mw, mh;
    int overlay;             /* 1: heat map over the image, 0: heat map alone */
    char caption[3][64];     /* up to three lines under the image */
    uint32_t frame;          /* frame color, 0 = none */
} gallery_item;

/* How gallery_draw lays items out: a row-major grid of `cols` columns,
 * each image `cell` pixels square; an optional title line, row titles on the
 * left (row_titles[rows]), and columns in groups of group_cols separated by
 * a wider gap, each group headed by group_titles[g] (when group_cols > 0). */
typedef struct gallery_layout {
    int cols, cell;
    const char *title;
    char **row_titles;
    int rows;
    int group_cols;
    const char *group_titles[8];
} gallery_layout;

/* Draws n items into a new canvas. */
int gallery_draw(canvas *c, const gallery_item *items, int n, const gallery_layout *L, fer_err *e);

/* The per-class grid of correct and misclassified examples: for each class
 * (row) up to `per` correctly classified images (most confident first) and
 * up to `per` misclassified ones (most confident mistakes first), each with
 * its Grad-CAM for the predicted class overlaid. probs [ds->n, classes] are
 * the network's probabilities on ds (the images at the network's size). */
int gradcam_grid(canvas *c, network *net, const dataset *ds, const float *probs, char **names, int per, int cam_layer,
                 const char *title, fer_err *e);

/* ---- charts (chart.c) ------------------------------------------------------ */

/* A training log (epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds);
 * columns are found by name; a missing column or empty cell is NaN. */
typedef struct history {
    int n;
    double *col[7];          /* [n] each, in the order of history_columns */
} history;
extern const char *const history_columns[7];
enum { H_EPOCH, H_TRAIN_LOSS, H_TRAIN_ACC, H_VAL_LOSS, H_VAL_ACC, H_LR, H_SECONDS };
int history_read(history *h, const char *path, fer_err *e);
/* A model's whole training: a .history file lists its logs (one path a
 * line, relative to the list's folder; # comments), read in order as one
 * history whose epochs and seconds run on across the cycles; any other
 * path is one log (history_read). */
int history_read_all(history *h, const char *path, fer_err *e);
void history_free(history *h);

#define CHART_MAX_SERIES 8

typedef struct chart_series {
    const char *name;
    const double *x, *y;     /* [n]; NaN values leave gaps */
    int n;
    uint32_t color;
    int dashed;
} chart_series;

typedef struct line_chart {
    const char *title, *xlabel, *ylabel;
    int n_series;
    chart_series series[CHART_MAX_SERIES];
    double ymin, ymax;       /* fixed range when ymin < ymax, else from the data */
} line_chart;

/* Draws the chart into the w x h rectangle at (x, y) of c. */
void line_chart_draw(canvas *c, int x, int y, int w, int h, const line_chart *ch);
/* Appends a w x h <svg> element. */
void line_chart_svg(strbuf *b, int w, int h, const line_chart *ch);

#define CHART_MAX_BARS 4

typedef struct bar_chart {
    const char *title, *ylabel;
    int groups;              /* e.g. classes */
    char **group_names;      /* [groups] */
    int n_series;            /* bars per group, e.g. splits */
    const char *series_names[CHART_MAX_BARS];
    uint32_t colors[CHART_MAX_BARS];
    const double *values[CHART_MAX_BARS];   /* [groups] each */
} bar_chart;

void bar_chart_draw(canvas *c, int x, int y, int w, int h, const bar_chart *ch);
void bar_chart_svg(strbuf *b, int w, int h, const bar_chart *ch);

/* The history as two charts side by side (accuracy, loss): a new canvas. */
int history_canvas(canvas *c, const history *h, const char *title, fer_err *e);
void history_svg(strbuf *b, const history *h, const char *title);

/* A confusion matrix (rows = true, columns = predicted) as a new canvas:
 * cells colored by the row-normalized rate, with the count and percentage;
 * the title (may be NULL) above. */
int confusion_canvas(canvas *c, const long *confusion, int classes, char **names, const char *title, fer_err *e);

#endif
