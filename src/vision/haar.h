/* haar.h - a Viola-Jones face detector: OpenCV's Haar cascade files (the
 * format of opencv_traincascade, e.g. Debian's opencv-data
 * /usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml),
 * integral images, a multi-scale sliding window over an image pyramid with
 * OpenCV's variance normalization, and OpenCV's grouping of overlapping
 * windows (groupRectangles with a min-neighbours threshold). */
#ifndef FER_HAAR_H
#define FER_HAAR_H

#include <pthread.h>
#include <stdint.h>

#include "engine/engine.h"

#define HAAR_DEFAULT_CASCADE "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
#define HAAR_APT_HINT "apt-get install opencv-data"

typedef struct haar_rect { int x, y, w, h; float weight; } haar_rect;
/* A feature: up to 3 weighted rectangles in window coordinates; a tilted
 * rectangle is rotated 45 degrees: from its top corner (x, y) it extends w
 * pixels down-right and h pixels down-left. */
typedef struct haar_feature { int nrects, tilted; haar_rect r[3]; } haar_feature;
/* A tree node: value < threshold * norm goes left. A child > 0 is a node
 * index within the weak classifier, a child <= 0 is leaf -child. */
typedef struct haar_node { int feature; float threshold; int left, right; } haar_node;
typedef struct haar_weak { int node0, nnodes, leaf0, nleaves; } haar_weak;
typedef struct haar_stage { int weak0, nweak; float threshold; } haar_stage;

typedef struct haar_cascade {
    char path[512];
    int win_w, win_h;               /* the training window, e.g. 24x24 */
    int nstages, nweak, nnodes, nleaves, nfeatures;
    haar_stage *stages;             /* [nstages] */
    haar_weak *weak;                /* [nweak] */
    haar_node *nodes;               /* [nnodes] */
    float *leaves;                  /* [nleaves] */
    haar_feature *features;         /* [nfeatures] */
    int stumps;                     /* every weak classifier is one node with two leaves */
    int has_tilted;
} haar_cascade;

/* Reads an OpenCV cascade XML file. Malformed files fail with file:line. */
int haar_load(haar_cascade *c, const char *path, fer_err *e);
/* The same over XML text already in memory (name is used in messages). */
int haar_load_text(haar_cascade *c, const char *name, const char *text, size_t len, fer_err *e);
void haar_free(haar_cascade *c);
/* Finds the default frontal-face cascade of Debian's opencv-data (opencv4 or
 * opencv); NULL when absent. */
const char *haar_default_path(void);

/* Integral images of an 8-bit image ([h][stride] bytes): sum and sqsum are
 * [h+1][ost] (ost >= w+1; the naive twin uses ost = w+1), entry (y, x) = sum
 * over rows < y, columns < x of p (or p^2).
 * They are kept modulo 2^32: any window's sum (< 2^32) comes out exact from
 * the wrapped corner values. */
void haar_integral(const uint8_t *img, int w, int h, size_t stride, uint32_t *sum, uint32_t *sqsum, size_t ost);
void haar_integral_naive(const uint8_t *img, int w, int h, size_t stride, uint32_t *sum, uint32_t *sqsum);
/* The 45-degree ("tilted") integral of Lienhart and OpenCV: [h+1][w+1],
 * entry (Y, X) = sum of p(x, y) over y < Y and |x - X + 1| <= Y - y - 1;
 * rows of tilted are ost apart. scratch holds (h+1) * (w + 2h + 3) values. */
void haar_integral_tilted(const uint8_t *img, int w, int h, size_t stride, uint32_t *tilted, size_t ost,
                          uint32_t *scratch);
void haar_integral_tilted_naive(const uint8_t *img, int w, int h, size_t stride, uint32_t *tilted);

typedef struct haar_box { int x, y, w, h, neighbors; } haar_box;

typedef struct haar_params {
    float scale_factor;      /* pyramid step, > 1 (1.1) */
    int min_neighbors;       /* a group needs more than this many windows (3); 0 = raw windows */
    int min_size, max_size;  /* face side in pixels; 0 = the window size / no limit */
    int step;                /* window step in pyramid pixels; 0 = OpenCV's (2 below scale 2, then 1) */
    int coarse_stage;        /* > 0: where the step is 1, scan every 2nd row and column, and the skipped
                                neighbours only of windows that pass this many stages (a few times faster,
                                nearly the same faces); 0 = exact scan */
} haar_params;

/* OpenCV's defaults: 1.1, 3 neighbours, exact scan. */
void haar_params_default(haar_params *p);

/* What one detection call needs besides the cascade: the pyramid level's
 * image and integrals, per-level feature offsets, and the window list.
 * Grown as needed and reused from call to call. */
typedef struct haar_detector {
    const haar_cascade *c;
    fer_ctx *ctx;                   /* thread pool for the window scan; NULL = this thread */
    uint8_t *img;                   /* [cap_px] the scaled image */
    uint32_t *sum, *sqsum, *tilted, *scratch;   /* [cap_int] integrals, tilted scratch */
    size_t cap_px, cap_int, cap_scratch;
    void *opt;                      /* feature offsets for integrals of row stride opt_stride (haar_scan.h) */
    int opt_stride;
    haar_box *raw;                  /* [nraw] windows that passed every stage */
    int nraw, cap_raw;
    haar_box *boxes;                /* [nboxes] the result */
    int nboxes, cap_boxes;
    pthread_mutex_t mu;
    int oom;
    long windows;                   /* windows evaluated by the last call */
    int dense;                      /* use the 8-window path where it applies (1; 0 = scalar only, for tests) */
    void (*scan)(void *level, int band);   /* the scan loop for this CPU (haar_scan.h) */
} haar_detector;

int haar_detector_init(haar_detector *d, const haar_cascade *c, fer_ctx *ctx, fer_err *e);
void haar_detector_free(haar_detector *d);
/* Detects in gray ([h][stride] bytes); the result is d->boxes[0..nboxes). */
int haar_detect(haar_detector *d, const uint8_t *gray, int w, int h, size_t stride, const haar_params *p,
                fer_err *e);

/* OpenCV's groupRectangles: clusters windows whose sides all lie within
 * eps * mean size of each other, averages each cluster, drops clusters of
 * min_neighbors or fewer windows and clusters nested inside a stronger one.
 * out has room for n boxes; returns the number written. */
int haar_group(const haar_box *in, int n, int min_neighbors, float eps, haar_box *out, fer_err *e);

/* Intersection over union of two boxes. */
float box_iou(const haar_box *a, const haar_box *b);

#endif
