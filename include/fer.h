/* fer.h - the public API of libfer: load a network from a Darknet-style cfg
 * and .weights file, classify images, find faces and classify each of them
 * (a model with its class names), and read/write images.
 *
 * Every function that can fail returns 0 on success and -1 on failure with a
 * human-readable message in the caller's fer_err. Nothing here exits or
 * keeps global state (several networks may live in one process), and nothing
 * prints: warnings and progress go to the hook the caller installs with
 * fer_ctx_set_log, and without one they are dropped. */
#ifndef FER_H
#define FER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fer_err { char msg[1024]; } fer_err;

/* The library's version: FER_VERSION at build time, fer_version() at run
 * time (they differ when a program runs with another libfer.so). */
#define FER_VERSION_MAJOR 1
#define FER_VERSION_MINOR 0
#define FER_VERSION_PATCH 0
#define FER_VERSION "1.0.0"
const char *fer_version(void);

/* Execution context: thread pool, kernel choice, random state. */
typedef struct fer_ctx fer_ctx;
/* isa: NULL or "auto" for the best the CPU supports, or "scalar", "avx2",
 * "avx512". nthreads <= 0: all cores. */
int fer_ctx_new(fer_ctx **out, int nthreads, const char *isa, fer_err *e);
const char *fer_ctx_isa(const fer_ctx *ctx);
/* precision: "fp32" (the default; also NULL) or "bf16": every GEMM (convolutions,
 * dense layers, forward and backward) rounds its operands to bfloat16 and
 * accumulates in fp32; parameters, gradients and optimizer state stay fp32.
 * bf16 needs the avx512 kernel set and a CPU with AVX512_BF16. */
int fer_ctx_set_precision(fer_ctx *ctx, const char *precision, fer_err *e);
const char *fer_ctx_precision(const fer_ctx *ctx);
int fer_ctx_threads(const fer_ctx *ctx);
void fer_ctx_free(fer_ctx *ctx);

/* What the library reports besides errors, by level: a warning (e.g. a cfg
 * key that is not used), a notice (e.g. training's epoch lines), and the
 * progress line of a long run (training). */
enum { FER_LOG_WARN = 1, FER_LOG_INFO = 2, FER_LOG_PROGRESS = 3 };
/* msg is one line without its newline. */
typedef void (*fer_log_fn)(void *user, int level, const char *msg);
/* Sends what work on ctx reports to fn(user, ...) (fn NULL: nowhere, the
 * default). live: fn redraws FER_LOG_PROGRESS lines in place (a terminal),
 * so they come several times a second and an empty one ends a run of them;
 * otherwise they come about once a minute, each a line of its own. */
void fer_ctx_set_log(fer_ctx *ctx, fer_log_fn fn, void *user, int live);

/* An image: float pixels in [0,1], planar [c][h][w]. */
typedef struct fer_image { int w, h, c; float *data; } fer_image;

/* Loads PGM/PPM always, and PNG/JPEG/BMP when built with stb. */
int fer_image_load(fer_image *out, const char *path, fer_err *e);
/* The same with a pixel budget: an image of more than max_pixels (w * h,
 * read from its header before decoding) is refused; <= 0 means no budget.
 * fer_image_load's budget is FER_IMAGE_MAX_PIXELS. */
#define FER_IMAGE_MAX_PIXELS 40000000L
int fer_image_load_max(fer_image *out, const char *path, long max_pixels, fer_err *e);
/* Writes .pgm, .ppm or .png (fer's own encoder) by the name's extension. */
int fer_image_save(const fer_image *im, const char *path, fer_err *e);
/* Bilinear resize and channel conversion (gray<->rgb) into a new image. */
int fer_image_convert(fer_image *out, const fer_image *in, int w, int h, int c, fer_err *e);
void fer_image_free(fer_image *im);

typedef struct network fer_net;

/* Loads a network for inference (batch 1). weights may be NULL (random). */
int fer_net_load(fer_net **out, const char *cfg, const char *weights, fer_ctx *ctx, fer_err *e);
void fer_net_input_shape(const fer_net *net, int *w, int *h, int *c);
int fer_net_classes(const fer_net *net);
/* Classifies one image (any size or channel count): probs gets
 * fer_net_classes() values. */
int fer_net_classify(fer_net *net, const fer_image *im, float *probs, fer_err *e);
void fer_net_free(fer_net *net);

/* ---- faces ---------------------------------------------------------------- */

/* A rectangle in image pixels: top-left corner and size. */
typedef struct fer_box { int x, y, w, h; } fer_box;

/* A face detector: an OpenCV Haar cascade (XML). cascade NULL = the frontal
 * face cascade of Debian's opencv-data; its absence is an error that names
 * the package. ctx may be NULL (one thread). */
typedef struct fer_detector fer_detector;
int fer_detector_load(fer_detector **out, const char *cascade, fer_ctx *ctx, fer_err *e);
/* Finds the faces in im (any size, gray or RGB): up to max boxes in boxes,
 * *n = how many were written. */
int fer_detect_faces(fer_detector *d, const fer_image *im, fer_box *boxes, int max, int *n, fer_err *e);
void fer_detector_free(fer_detector *d);

/* ---- models: a network with its class names ------------------------------- */

#define FER_MAX_FACE_CLASSES 64

typedef struct fer_model fer_model;

/* cfg and weights as for fer_net_load; labels: a file of class names, one a
 * line (NULL: for a 7-class network the FER-2013 names, data/fer2013.labels,
 * found beside the cfg, the program or the installed share folder; else the
 * class numbers). ctx may be NULL. */
int fer_model_load(fer_model **out, const char *cfg, const char *weights, const char *labels, fer_ctx *ctx,
                   fer_err *e);
/* The default model (cfg/shallow.cfg with weights/shallow.weights), from
 * the current folder, the repository around the program, or the installed
 * share folder. */
int fer_model_load_default(fer_model **out, fer_ctx *ctx, fer_err *e);
int fer_model_classes(const fer_model *m);
const char *fer_model_class_name(const fer_model *m, int k);
/* The model's network (owned by the model), for fer_net_* calls. */
fer_net *fer_model_net(fer_model *m);

typedef struct fer_face {
    fer_box box;                            /* where the face is in the image */
    int label;                              /* the most probable class */
    float probs[FER_MAX_FACE_CLASSES];      /* [fer_model_classes()] */
} fer_face;

enum { FER_DETECT_AUTO = -1, FER_DETECT_NO = 0, FER_DETECT_YES = 1 };
/* Finds the faces of im and classifies each (FER_DETECT_YES), or takes im
 * as one face crop whose box is the whole image (FER_DETECT_NO); AUTO
 * detects when im is larger than twice the network's input on either
 * side. Up to max faces in faces, *n = how many (0: no face found). The
 * detector is loaded on first use (opencv-data's cascade) unless
 * fer_model_set_detector gave one. */
int fer_model_faces(fer_model *m, const fer_image *im, int detect, fer_face *faces, int max, int *n, fer_err *e);
/* Detect with d (borrowed; NULL returns to the default). */
void fer_model_set_detector(fer_model *m, fer_detector *d);
void fer_model_free(fer_model *m);

#ifdef __cplusplus
}
#endif
#endif
