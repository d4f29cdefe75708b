/* fer.h - the public API of libfer: load a network from a Darknet-style cfg
 * and .weights file, classify images, and read/write images.
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

#ifdef __cplusplus
}
#endif
#endif
