/* weights.c - Darknet's binary .weights format.
 * Header: int32 major, minor, revision; then `seen` (images trained on) as
 * uint64 when major*10+minor >= 2, else uint32. Then each layer's parameter
 * tensors in order as little-endian float32 (see each layer for its order).
 * fer writes version 0.2.5. Files are written to a temporary and renamed. */
#include "core.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static size_t layer_bytes(const layer *l)
{
    size_t n = 0;
    for (int j = 0; j < l->n_params; j++) n += l->params[j].n;
    return n * sizeof(float);
}

int weights_load(network *net, const char *path, int upto, fer_err *e)
{
    if (upto < 0 || upto > net->n) upto = net->n;
    FILE *f = fopen(path, "rb");
    if (!f) return fer_fail(e, "%s: cannot open weights: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fer_fail(e, "%s: not a regular file", path);
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return fer_fail(e, "%s: cannot seek (not a regular file?)", path);
    }
    long size_l = ftell(f);
    rewind(f);
    if (size_l < 0) {
        fclose(f);
        return fer_fail(e, "%s: cannot tell the file size", path);
    }
    size_t size = (size_t)size_l;
    int32_t hdr[3];
    if (size < 12 || fread(hdr, sizeof(int32_t), 3, f) != 3) {
        fclose(f);
        return fer_fail(e, "%s: %zu bytes is too short for a weights header (12+ bytes)", path, size);
    }
    if (hdr[0] < 0 || hdr[1] < 0 || hdr[2] < 0 || hdr[0] >= 1000 || hdr[1] >= 1000) {
        fclose(f);
        return fer_fail(e, "%s: bad header version %d.%d.%d (not a Darknet weights file, or a transposed one)",
                        path, hdr[0], hdr[1], hdr[2]);
    }
    size_t off = 12;
    uint64_t seen;
    if (hdr[0] * 10 + hdr[1] >= 2) {
        if (fread(&seen, sizeof seen, 1, f) != 1) {
            fclose(f);
            return fer_fail(e, "%s: truncated header (no 'seen' counter)", path);
        }
        off += 8;
    } else {
        uint32_t s32;
        if (fread(&s32, sizeof s32, 1, f) != 1) {
            fclose(f);
            return fer_fail(e, "%s: truncated header (no 'seen' counter)", path);
        }
        seen = s32;
        off += 4;
    }
    size_t expected = off;
    for (int i = 0; i < upto; i++) expected += layer_bytes(&net->layers[i]);
    /* sizes before contents: a file for another cfg is reported as such,
     * and a file of the wrong size leaves the network untouched */
    for (size_t at = off, i = 0; i < (size_t)upto; at += layer_bytes(&net->layers[i]), i++) {
        const layer *l = &net->layers[i];
        if (at + layer_bytes(l) > size) {
            fclose(f);
            return fer_fail(e, "%s: truncated at layer %zu (%s, cfg line %d): it needs bytes %zu..%zu but the file has %zu bytes (expected %zu in all)",
                            path, i, l->type->name, l->line, at, at + layer_bytes(l), size, expected);
        }
    }
    if (upto == net->n && size != expected) {
        fclose(f);
        return fer_fail(e, "%s: %zu bytes, but %s needs exactly %zu (%zu extra): weights for another cfg?",
                        path, size, net->cfg_path, expected, size - expected);
    }
    /* read everything first, check it, then copy: a bad file changes nothing */
    size_t nfloats = (expected - off) / sizeof(float);
    float *buf = fer_alloc(nfloats, sizeof(float), e);
    if (!buf) {
        fclose(f);
        return -1;
    }
    if (fread(buf, sizeof(float), nfloats, f) != nfloats) {
        fclose(f);
        fer_free(buf);
        return fer_fail(e, "%s: read error", path);
    }
    fclose(f);
    size_t k0 = 0;
    for (int i = 0; i < upto; i++) {
        layer *l = &net->layers[i];
        for (int j = 0; j < l->n_params; j++) {
            param *p = &l->params[j];
            const float *v = buf + k0;
            for (size_t k = 0; k < p->n; k++) {
                int bad = !isfinite(v[k]) || (!strcmp(p->name, "rolling_variance") && v[k] < 0);
                if (bad) {
                    fer_fail(e, "%s: layer %d (%s, cfg line %d) %s[%zu] = %g at byte %zu is %s", path, i,
                             l->type->name, l->line, p->name, k, v[k], off + (k0 + k) * sizeof(float),
                             isfinite(v[k]) ? "a negative variance" : "not a finite number");
                    fer_free(buf);
                    return -1;
                }
            }
            k0 += p->n;
        }
    }
    k0 = 0;
    for (int i = 0; i < upto; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            param *p = &net->layers[i].params[j];
            memcpy(p->data, buf + k0, p->n * sizeof(float));
            k0 += p->n;
        }
    fer_free(buf);
    net->seen = seen;
    net->major = hdr[0];
    net->minor = hdr[1];
    net->revision = hdr[2];
    return 0;
}

int weights_save(const network *net, const char *path, int upto, fer_err *e)
{
    if (upto < 0 || upto > net->n) upto = net->n;
    char tmp[4096];
    FILE *f = atomic_open(path, tmp, sizeof tmp, e);
    if (!f) return -1;
    int32_t hdr[3] = { 0, 2, 5 };
    uint64_t seen = net->seen;
    fwrite(hdr, sizeof(int32_t), 3, f);
    fwrite(&seen, sizeof seen, 1, f);
    for (int i = 0; i < upto; i++) {
        const layer *l = &net->layers[i];
        for (int j = 0; j < l->n_params; j++) fwrite(l->params[j].data, sizeof(float), l->params[j].n, f);
    }
    return atomic_close(f, tmp, path, e);
}
