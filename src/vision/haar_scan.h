/* haar_scan.h - the inner loops of the Haar detector (haar.c): the
 * cascade run at one window, the same for 8 neighbouring windows at once
 * (vector extensions), and the scan of a band of rows of one pyramid level.
 * Everything is static: haar.c compiles it for the portable target and
 * haar_avx2.c for AVX2; haar_detector_init picks one from
 * the context's ISA. Both give identical results (no FMA contraction under
 * -std=c11; the same operations in the same order). */
#ifndef FER_HAAR_SCAN_H
#define FER_HAAR_SCAN_H

#include "haar.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A feature's rectangles as offsets into one pyramid level's integral. */
typedef struct opt_feature {
    int ofs[3][4];
    float weight[3];
    int nrects, tilted;
} opt_feature;

/* A stump (one-node weak classifier) with its feature inlined. */
typedef struct opt_stump {
    int ofs[3][4];
    float weight[3];
    float threshold, left, right;
    int nrects, tilted;
} opt_stump;

typedef struct opt_tables {
    opt_feature *features;   /* [nfeatures] */
    opt_stump *stumps;       /* [nweak] when the cascade is all stumps */
} opt_tables;

#define RECT_SUM(b, o) ((int32_t)((b)[(o)[0]] - (b)[(o)[1]] - (b)[(o)[2]] + (b)[(o)[3]]))

static inline float feature_value(const int ofs[3][4], const float weight[3], int nrects, const uint32_t *b)
{
    float v = weight[0] * (float)RECT_SUM(b, ofs[0]) + weight[1] * (float)RECT_SUM(b, ofs[1]);
    if (nrects == 3) v += weight[2] * (float)RECT_SUM(b, ofs[2]);
    return v;
}

/* One pyramid level being scanned. */
typedef struct level_scan {
    haar_detector *d;
    const opt_tables *opt;
    int lw, lh, st;           /* level image size, integral stride */
    int xmax, ymax, step;     /* window positions x in [0, xmax], y in [0, ymax] */
    int norm[4];              /* offsets of the normalization rectangle */
    int64_t norm_area;
    double scale;             /* level -> image coordinates */
    int bw, bh;               /* window size in the image */
    int coarse;               /* > 0: coarse-to-fine scan, refining around windows reaching this stage */
    int nbands;
} level_scan;

/* The normalization of the window at (x, y): sqrt(area * sum(p^2) - sum(p)^2),
 * computed exactly in 64-bit integers (1 when the window is flat). */
static inline float window_norm(const level_scan *L, size_t at)
{
    const uint32_t *s = L->d->sum + at, *q = L->d->sqsum + at;
    int64_t vs = RECT_SUM(s, L->norm);
    int64_t vq = (int64_t)(uint32_t)(q[L->norm[0]] - q[L->norm[1]] - q[L->norm[2]] + q[L->norm[3]]);
    int64_t nf2 = L->norm_area * vq - vs * vs;
    return nf2 > 0 ? sqrtf((float)nf2) : 1.0f;
}

/* Runs stages [first, nstages) of the cascade at (x, y) with norm nf: 1 =
 * face, otherwise minus the rejecting stage. */
static int run_stages(const level_scan *L, int x, int y, int first, float nf)
{
    const haar_cascade *c = L->d->c;
    size_t at = (size_t)y * L->st + x;
    const uint32_t *s = L->d->sum + at;
    const uint32_t *t = L->d->tilted ? L->d->tilted + at : NULL;
    if (c->stumps) {
        const opt_stump *os = L->opt->stumps;
        for (int si = first; si < c->nstages; si++) {
            const haar_stage *st = &c->stages[si];
            float acc = 0;
            for (int w = st->weak0; w < st->weak0 + st->nweak; w++) {
                const opt_stump *o = &os[w];
                float v = feature_value(o->ofs, o->weight, o->nrects, o->tilted ? t : s);
                acc += v < o->threshold * nf ? o->left : o->right;
            }
            if (acc < st->threshold) return -si;
        }
        return 1;
    }
    for (int si = first; si < c->nstages; si++) {
        const haar_stage *st = &c->stages[si];
        float acc = 0;
        for (int w = st->weak0; w < st->weak0 + st->nweak; w++) {
            const haar_weak *hw = &c->weak[w];
            int idx = 0;
            do {
                const haar_node *n = &c->nodes[hw->node0 + idx];
                const opt_feature *o = &L->opt->features[n->feature];
                float v = feature_value(o->ofs, o->weight, o->nrects, o->tilted ? t : s);
                idx = v < n->threshold * nf ? n->left : n->right;
            } while (idx > 0);
            acc += c->leaves[hw->leaf0 - idx];
        }
        if (acc < st->threshold) return -si;
    }
    return 1;
}

static int run_window(const level_scan *L, int x, int y)
{
    return run_stages(L, x, y, 0, window_norm(L, (size_t)y * L->st + x));
}

/* ---- 8 windows at once ------------------------------------------------------
 * For stump cascades at window step 1, the first DENSE_STAGES stages run on
 * 8 horizontally adjacent windows together (their integral values are 8
 * consecutive words, so every rectangle corner is one vector load). GCC/Clang
 * vector extensions lower to whatever SIMD the target has (SSE2 on any
 * x86-64). The arithmetic is the scalar path's, operation for operation, so
 * the decisions are identical; windows alive after these stages finish in
 * run_stages. */
#define DENSE_STAGES 3
#define LANES 8

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"   /* static helpers: the vector ABI note does not apply */
#endif
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef uint32_t v8u __attribute__((vector_size(32)));

static inline v8u load8(const uint32_t *p)
{
    v8u v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Every other word from p: p[0], p[2], ..., p[14]. */
static inline v8u load8_even(const uint32_t *p)
{
    v8u a = load8(p), b = load8(p + LANES);
    return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
}

/* Rectangle sums of windows x0, x0 + stride, ... (stride 1 or 2), as floats. */
static inline __attribute__((always_inline)) v8f rect8(const uint32_t *b, const int o[4], int stride)
{
    v8i r = stride == 1 ? (v8i)(load8(b + o[0]) - load8(b + o[1]) - load8(b + o[2]) + load8(b + o[3]))
                        : (v8i)(load8_even(b + o[0]) - load8_even(b + o[1]) - load8_even(b + o[2]) +
                                load8_even(b + o[3]));
    return __builtin_convertvector(r, v8f);
}

/* Sets stage_out[i] to the first stage that rejects window x0 + i * stride
 * (or DENSE_STAGES when none of the first stages does). */
static void dense_stages(const level_scan *L, int x0, int y, int stride, const float nf[LANES], int stage_out[LANES])
{
    const haar_cascade *c = L->d->c;
    const uint32_t *s = L->d->sum + (size_t)y * L->st + x0;
    const opt_stump *os = L->opt->stumps;
    v8f vnf;
    memcpy(&vnf, nf, sizeof vnf);
    v8i alive = (v8i){ -1, -1, -1, -1, -1, -1, -1, -1 };
    for (int i = 0; i < LANES; i++) stage_out[i] = DENSE_STAGES;
    int ns = c->nstages < DENSE_STAGES ? c->nstages : DENSE_STAGES;
    for (int si = 0; si < ns; si++) {
        const haar_stage *st = &c->stages[si];
        v8f acc = { 0, 0, 0, 0, 0, 0, 0, 0 };
        for (int w = st->weak0; w < st->weak0 + st->nweak; w++) {
            const opt_stump *o = &os[w];
            v8f v = o->weight[0] * rect8(s, o->ofs[0], stride) + o->weight[1] * rect8(s, o->ofs[1], stride);
            if (o->nrects == 3) v += o->weight[2] * rect8(s, o->ofs[2], stride);
            v8i left = v < o->threshold * vnf;
            v8f lv = { o->left, o->left, o->left, o->left, o->left, o->left, o->left, o->left };
            v8f rv = { o->right, o->right, o->right, o->right, o->right, o->right, o->right, o->right };
            acc += (v8f)(((v8i)lv & left) | ((v8i)rv & ~left));
        }
        v8i pass = acc >= st->threshold;
        v8i dies = alive & ~pass;
        for (int i = 0; i < LANES; i++)
            if (dies[i]) stage_out[i] = si;
        alive &= pass;
        int any = 0;
        for (int i = 0; i < LANES; i++) any |= alive[i];
        if (!any) break;
    }
}

static void add_raw(haar_detector *d, const haar_box *b)
{
    pthread_mutex_lock(&d->mu);
    if (d->nraw == d->cap_raw) {
        int cap = d->cap_raw ? d->cap_raw * 2 : 256;
        haar_box *r = realloc(d->raw, (size_t)cap * sizeof *r);
        if (!r) {
            d->oom = 1;
            pthread_mutex_unlock(&d->mu);
            return;
        }
        d->raw = r;
        d->cap_raw = cap;
    }
    d->raw[d->nraw++] = *b;
    pthread_mutex_unlock(&d->mu);
}

/* Scans the rows of band i (rows are dealt out in contiguous bands). As in
 * OpenCV, a window rejected by the first stage makes the scan skip the next
 * position. */
static inline void scan_band_impl(void *arg, int band)
{
    const level_scan *L = arg;
    int rows = L->ymax / L->step + 1;
    int r0 = (int)((long)rows * band / L->nbands), r1 = (int)((long)rows * (band + 1) / L->nbands);
    int dense = L->d->c->stumps && !L->d->c->has_tilted && L->d->dense;
    long windows = 0;
    if (L->coarse) {   /* rows are pairs here: r covers y = 2r (coarse) and 2r + 1 (refined) */
        for (int r = r0; r < r1; r++) {
            int y = 2 * r;
            for (int x0 = 0; x0 <= L->xmax; x0 += 2 * LANES) {
                int n = (L->xmax - x0) / 2 + 1 < LANES ? (L->xmax - x0) / 2 + 1 : LANES;
                float nf[LANES];
                int stage[LANES];
                for (int i = 0; i < LANES; i++)
                    nf[i] = i < n ? window_norm(L, (size_t)y * L->st + x0 + 2 * i) : 1.0f;
                if (dense) dense_stages(L, x0, y, 2, nf, stage);
                for (int i = 0; i < n; i++) {
                    int x = x0 + 2 * i, res;
                    if (dense) res = stage[i] < DENSE_STAGES ? -stage[i] : run_stages(L, x, y, DENSE_STAGES, nf[i]);
                    else res = run_stages(L, x, y, 0, nf[i]);
                    windows++;
                    if (res > 0) {
                        haar_box b = { (int)lround(x * L->scale), (int)lround(y * L->scale), L->bw, L->bh, 0 };
                        add_raw(L->d, &b);
                    }
                    if (res <= 0 && -res < L->coarse) continue;
                    /* deep enough: look at the three skipped neighbours */
                    static const int nb[3][2] = { { 1, 0 }, { 0, 1 }, { 1, 1 } };
                    for (int k = 0; k < 3; k++) {
                        int xx = x + nb[k][0], yy = y + nb[k][1];
                        if (xx > L->xmax || yy > L->ymax) continue;
                        windows++;
                        if (run_window(L, xx, yy) > 0) {
                            haar_box b = { (int)lround(xx * L->scale), (int)lround(yy * L->scale), L->bw, L->bh, 0 };
                            add_raw(L->d, &b);
                        }
                    }
                }
            }
        }
        pthread_mutex_lock(&L->d->mu);
        L->d->windows += windows;
        pthread_mutex_unlock(&L->d->mu);
        return;
    }
    dense = dense && L->step == 1;
    for (int r = r0; r < r1; r++) {
        int y = r * L->step;
        if (dense) {
            int skip = 0;
            for (int x0 = 0; x0 <= L->xmax; x0 += LANES) {
                int n = L->xmax - x0 + 1 < LANES ? L->xmax - x0 + 1 : LANES;
                float nf[LANES];
                int stage[LANES];
                for (int i = 0; i < LANES; i++)
                    nf[i] = i < n ? window_norm(L, (size_t)y * L->st + x0 + i) : 1.0f;
                dense_stages(L, x0, y, 1, nf, stage);
                for (int i = 0; i < n; i++) {
                    if (skip) {
                        skip = 0;
                        continue;
                    }
                    windows++;
                    if (stage[i] == 0) {
                        skip = 1;
                        continue;
                    }
                    if (stage[i] < DENSE_STAGES) continue;
                    if (run_stages(L, x0 + i, y, DENSE_STAGES, nf[i]) > 0) {
                        haar_box b = { (int)lround((x0 + i) * L->scale), (int)lround(y * L->scale), L->bw, L->bh, 0 };
                        add_raw(L->d, &b);
                    }
                }
            }
            continue;
        }
        for (int x = 0; x <= L->xmax; x += L->step) {
            int res = run_window(L, x, y);
            windows++;
            if (res > 0) {
                haar_box b = { (int)lround(x * L->scale), (int)lround(y * L->scale), L->bw, L->bh, 0 };
                add_raw(L->d, &b);
            } else if (res == 0) {
                x += L->step;
            }
        }
    }
    pthread_mutex_lock(&L->d->mu);
    L->d->windows += windows;
    pthread_mutex_unlock(&L->d->mu);
}

/* The two compilations of scan_band_impl. */
void haar_scan_band_portable(void *arg, int band);
void haar_scan_band_avx2(void *arg, int band);

#endif
