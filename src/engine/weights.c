/* weights.c - Darknet's binary .weights format.
 * Header: int32 major, minor, revision; then `seen` (images trained on) as
 * uint64 when major*10+minor >= 2, else uint32. Then each layer's parameter
 * tensors in order as little-endian float32 (see each layer for its order).
 * fer writes version 0.2.5 (0.2.f16 for the extension below). Files are
 * written to a temporary and renamed.
 *
 * fer's extension, for shipping large models: revision FER_HALF_REVISION
 * (the bytes "f16\0") marks a file whose values are IEEE binary16 (2 bytes
 * each, little-endian, rounded to nearest even) instead of float32; everything
 * else is the same. fer reads both; only `fer convert -half` writes it, and
 * `fer convert` turns it back into a plain Darknet file. */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static size_t layer_values(const layer *l)
{
    size_t n = 0;
    for (int j = 0; j < l->n_params; j++) n += l->params[j].n;
    return n;
}

uint16_t half_from_float(float v)
{
    uint32_t x;
    memcpy(&x, &v, sizeof x);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7fffffff;
    if (x > 0x7f800000) return sign | 0x7e00;   /* NaN stays NaN */
    if (x >= 0x477ff000) return sign | 0x7c00;  /* >= 65520 rounds to infinity */
    if (x < 0x38800000) {                       /* below 2^-14: a subnormal half, units of 2^-24 */
        int shift = 126 - (int)(x >> 23);       /* value = mant * 2^-24 >> shift */
        if (shift > 25) return sign;
        uint32_t mant = (x & 0x7fffff) | 0x800000;   /* float subnormals returned above (shift > 25) */
        uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t t = x - (112u << 23);              /* rebias the exponent from 127 to 15 */
    uint32_t q = t >> 13, rem = t & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return sign | (uint16_t)q;
}

float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, mant = h & 0x3ff, x;
    if (e == 0) {
        float v = ldexpf((float)mant, -24);
        return sign ? -v : v;
    }
    if (e == 31) x = sign | 0x7f800000 | (mant << 13);
    else x = sign | ((e + 112) << 23) | (mant << 13);
    float v;
    memcpy(&v, &x, sizeof v);
    return v;
}

int weights_value_size(const int32_t hdr[3])
{
    return hdr[2] == FER_HALF_REVISION ? 2 : 4;
}

/* A weights file being read: its stream, size and header. */
typedef struct weights_file {
    const char *path;
    FILE *f;
    size_t size;              /* bytes */
    int32_t hdr[3];           /* major, minor, revision */
    uint64_t seen;            /* images the weights were trained on */
    size_t off;               /* bytes before the first value */
    size_t vsize;             /* bytes per value: 4, or 2 in a half file */
} weights_file;

/* Opens a regular file and takes its size; w->f stays NULL on failure. */
static int wf_open(weights_file *w, const char *path, fer_err *e)
{
    memset(w, 0, sizeof *w);
    w->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) return fer_fail(e, "%s: cannot open weights: %s", path, strerror(errno));
    struct stat st;
    const char *why = NULL;
    long size = -1;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) why = "not a regular file";
    else if (fseek(f, 0, SEEK_END) != 0) why = "cannot seek (not a regular file?)";
    else if ((size = ftell(f)) < 0) why = "cannot tell the file size";
    if (why) {
        fclose(f);
        return fer_fail(e, "%s: %s", path, why);
    }
    rewind(f);
    w->f = f;
    w->size = (size_t)size;
    return 0;
}

/* The version and the `seen` counter (32 bits before version 0.2). */
static int wf_header(weights_file *w, fer_err *e)
{
    int32_t *hdr = w->hdr;
    if (w->size < 12 || fread(hdr, sizeof(int32_t), 3, w->f) != 3)
        return fer_fail(e, "%s: %zu bytes is too short for a weights header (12+ bytes)", w->path, w->size);
    if (hdr[0] < 0 || hdr[1] < 0 || hdr[2] < 0 || hdr[0] >= 1000 || hdr[1] >= 1000)
        return fer_fail(e, "%s: bad header version %d.%d.%d (not a Darknet weights file, or a transposed one)",
                        w->path, hdr[0], hdr[1], hdr[2]);
    w->vsize = (size_t)weights_value_size(hdr);
    int ok;
    if (hdr[0] * 10 + hdr[1] >= 2) {
        ok = fread(&w->seen, sizeof w->seen, 1, w->f) == 1;
        w->off = 12 + 8;
    } else {
        uint32_t s32 = 0;
        ok = fread(&s32, sizeof s32, 1, w->f) == 1;
        w->seen = s32;
        w->off = 12 + 4;
    }
    return ok ? 0 : fer_fail(e, "%s: truncated header (no 'seen' counter)", w->path);
}

/* Sizes before contents: a file for another cfg is reported as such, and a
 * file of the wrong size leaves the network untouched. *expected gets the
 * bytes layers [0, upto) take, header included. */
static int wf_check_size(const weights_file *w, const network *net, int upto, size_t *expected, fer_err *e)
{
    *expected = w->off;
    for (int i = 0; i < upto; i++) *expected += layer_values(&net->layers[i]) * w->vsize;
    for (size_t at = w->off, i = 0; i < (size_t)upto; at += layer_values(&net->layers[i]) * w->vsize, i++) {
        const layer *l = &net->layers[i];
        size_t bytes = layer_values(l) * w->vsize;
        if (at + bytes > w->size)
            return fer_fail(e, "%s: truncated at layer %zu (%s, cfg line %d): it needs bytes %zu..%zu but the file has %zu bytes (expected %zu in all)",
                            w->path, i, l->type->name, l->line, at, at + bytes, w->size, *expected);
    }
    if (upto == net->n && w->size != *expected)
        return fer_fail(e, "%s: %zu bytes, but %s needs exactly %zu (%zu extra): weights for another cfg?",
                        w->path, w->size, net->cfg_path, *expected, w->size - *expected);
    return 0;
}

/* The next n values as float32 (half files converted), in a new buffer
 * (fer_free it); NULL on failure. */
static float *wf_read_values(weights_file *w, size_t n, fer_err *e)
{
    float *buf = fer_alloc(n ? n : 1, sizeof(float), e);
    if (!buf) return NULL;
    uint16_t *half = w->vsize == 2 ? fer_alloc(n ? n : 1, sizeof(uint16_t), e) : NULL;
    if (w->vsize == 2 && !half) {
        fer_free(buf);
        return NULL;
    }
    size_t got = fread(half ? (void *)half : (void *)buf, w->vsize, n, w->f);
    if (half)
        for (size_t k = 0; k < got; k++) buf[k] = half_to_float(half[k]);
    fer_free(half);
    if (got != n) {
        fer_free(buf);
        fer_fail(e, "%s: read error", w->path);
        return NULL;
    }
    return buf;
}

/* Every value of layers [0, upto) in buf is finite, and no rolling
 * variance is negative; the message names the first that is not. */
static int check_values(const network *net, int upto, const float *buf, const weights_file *w, fer_err *e)
{
    size_t k0 = 0;
    for (int i = 0; i < upto; i++) {
        const layer *l = &net->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            const param *p = &l->params[j];
            const float *v = buf + k0;
            for (size_t k = 0; k < p->n; k++) {
                int bad = !isfinite(v[k]) || (!strcmp(p->name, "rolling_variance") && v[k] < 0);
                if (bad)
                    return fer_fail(e, "%s: layer %d (%s, cfg line %d) %s[%zu] = %g at byte %zu is %s", w->path, i,
                                    l->type->name, l->line, p->name, k, v[k], w->off + (k0 + k) * w->vsize,
                                    isfinite(v[k]) ? "a negative variance" : "not a finite number");
            }
            k0 += p->n;
        }
    }
    return 0;
}

int weights_load(network *net, const char *path, int upto, fer_err *e)
{
    if (!net->params) return fer_fail(e, "%s: built for its shapes only; it holds no weights", net->cfg_path);
    if (upto < 0 || upto > net->n) upto = net->n;
    net->weights_version++;
    weights_file w;
    if (wf_open(&w, path, e)) return -1;
    size_t expected;
    float *buf = NULL;
    /* read everything first, check it, then copy: a bad file changes nothing */
    if (!wf_header(&w, e) && !wf_check_size(&w, net, upto, &expected, e))
        buf = wf_read_values(&w, (expected - w.off) / w.vsize, e);
    fclose(w.f);
    if (!buf) return -1;
    if (check_values(net, upto, buf, &w, e)) {
        fer_free(buf);
        return -1;
    }
    size_t k0 = 0;
    for (int i = 0; i < upto; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            param *p = &net->layers[i].params[j];
            memcpy(p->data, buf + k0, p->n * sizeof(float));
            k0 += p->n;
        }
    fer_free(buf);
    net->seen = w.seen;
    net->major = w.hdr[0];
    net->minor = w.hdr[1];
    net->revision = w.hdr[2];
    return 0;
}

int weights_save_as(const network *net, const char *path, int upto, int half, fer_err *e)
{
    if (upto < 0 || upto > net->n) upto = net->n;
    if (half)   /* check first: no file is written when a value does not fit */
        for (int i = 0; i < upto; i++)
            for (int j = 0; j < net->layers[i].n_params; j++) {
                const param *p = &net->layers[i].params[j];
                for (size_t k = 0; k < p->n; k++)
                    if (!isfinite(half_to_float(half_from_float(p->data[k]))))
                        return fer_fail(e, "%s: layer %d (cfg line %d) %s[%zu] = %g does not fit a half (|v| < 65520)",
                                        path, i, net->layers[i].line, p->name, k, p->data[k]);
            }
    char tmp[4096];
    FILE *f = atomic_open(path, tmp, sizeof tmp, e);
    if (!f) return -1;
    int32_t hdr[3] = { 0, 2, half ? FER_HALF_REVISION : 5 };
    uint64_t seen = net->seen;
    fwrite(hdr, sizeof(int32_t), 3, f);
    fwrite(&seen, sizeof seen, 1, f);
    for (int i = 0; i < upto; i++) {
        const layer *l = &net->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            const param *p = &l->params[j];
            if (!half) {
                fwrite(p->data, sizeof(float), p->n, f);
                continue;
            }
            uint16_t chunk[1024];
            for (size_t k = 0; k < p->n; k += 1024) {
                size_t m = p->n - k < 1024 ? p->n - k : 1024;
                for (size_t t = 0; t < m; t++) chunk[t] = half_from_float(p->data[k + t]);
                fwrite(chunk, sizeof(uint16_t), m, f);
            }
        }
    }
    return atomic_close(f, tmp, path, e);
}

int weights_save(const network *net, const char *path, int upto, fer_err *e)
{
    return weights_save_as(net, path, upto, 0, e);
}
