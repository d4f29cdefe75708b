/* ensemble.c - soft-voting ensembles: every member's probabilities on a
 * split (each member sees the images at its own input size), weights given
 * or fitted, the weighted sum of probabilities, and the per-image CSV. */
#include "analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void split_probs_free(split_probs *sp)
{
    if (sp->probs)
        for (int j = 0; j < sp->members; j++) free(sp->probs[j]);
    free(sp->probs);
    free(sp->labels);
    memset(sp, 0, sizeof *sp);
}

int ensemble_split_probs(network **nets, int m, const data_cfg *d, const char *path, const char *usage, int tta,
                         double tail, int limit, split_probs *out, fer_err *e)
{
    memset(out, 0, sizeof *out);
    if (m < 1) return fer_fail(e, "an ensemble needs at least one model");
    int classes = nets[0]->classes;
    for (int j = 0; j < m; j++)
        if (nets[j]->classes != classes || classes != d->classes)
            return fer_fail(e, "%s outputs %d classes but %s has %d", nets[j]->cfg_path, nets[j]->classes,
                            d->path[0] ? d->path : "the labels", d->classes);
    out->members = m;
    out->classes = classes;
    out->probs = calloc((size_t)m, sizeof *out->probs);
    if (!out->probs) return fer_fail(e, "out of memory");
    int *done = calloc((size_t)m, sizeof *done);
    if (!done) { split_probs_free(out); return fer_fail(e, "out of memory"); }
    int rc = 0;
    /* one load of the split per distinct stored size (the cfg's width x
     * height x channels; a cropping network crops from it) */
    for (int j = 0; j < m && !rc; j++) {
        if (done[j]) continue;
        const net_options *o = &nets[j]->opt;
        dataset ds;
        if (dataset_load(&ds, path, usage, d, o->width, o->height, o->channels, e)) { rc = -1; break; }
        int first = 0, n = ds.n;
        if (tail > 0 && tail < 1) {
            n = (int)(ds.n * tail + 0.5);
            if (n < 1) n = 1;
            first = ds.n - n;
        }
        if (limit > 0 && limit < n) n = limit;
        if (!out->labels) {
            out->n = n;
            out->first = first;
            out->total = ds.n;
            out->labels = malloc((size_t)n * sizeof *out->labels);
            if (!out->labels) rc = fer_fail(e, "out of memory");
            else memcpy(out->labels, ds.labels + first, (size_t)n * sizeof *out->labels);
        } else if (ds.n != out->total || n != out->n || memcmp(out->labels, ds.labels + first, (size_t)n * sizeof(int))) {
            rc = fer_fail(e, "%s: the split has different images at %dx%d (%d) than at the first member's size (%d)",
                          path, o->width, o->height, ds.n, out->total);
        }
        /* a view of the tail: evaluate_probs reads ds.pixels from image 0 */
        dataset view = ds;
        view.pixels = ds.pixels + (size_t)first * ds.w * ds.h * ds.c;
        view.labels = ds.labels + first;
        view.n = n;
        for (int k = j; k < m && !rc; k++) {
            const net_options *ok = &nets[k]->opt;
            if (done[k] || ok->width != o->width || ok->height != o->height || ok->channels != o->channels) continue;
            out->probs[k] = malloc((size_t)n * classes * sizeof(float));
            if (!out->probs[k]) { rc = fer_fail(e, "out of memory"); break; }
            int batch = nets[k]->batch;
            if (batch < 32 && net_set_batch(nets[k], 64, nets[k]->grads_enabled, e)) { rc = -1; break; }
            if (evaluate_probs(nets[k], &view, tta, out->probs[k], e)) { rc = -1; break; }
            done[k] = 1;
        }
        dataset_free(&ds);
    }
    free(done);
    if (rc) split_probs_free(out);
    return rc;
}

int ensemble_normalize(float *w, int m, fer_err *e)
{
    double sum = 0;
    for (int j = 0; j < m; j++) {
        if (!isfinite(w[j]) || w[j] < 0) return fer_fail(e, "weight %d is %g: weights must be finite and >= 0", j + 1, w[j]);
        sum += w[j];
    }
    if (!(sum > 0)) return fer_fail(e, "the weights sum to 0: at least one must be positive");
    for (int j = 0; j < m; j++) w[j] = (float)(w[j] / sum);
    return 0;
}

int ensemble_parse_weights(const char *spec, int m, float *w, fer_err *e)
{
    const char *p = spec;
    int k = 0;
    for (;;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) return fer_fail(e, "-w %s: expected %d comma-separated numbers", spec, m);
        if (k < m) w[k] = (float)v;
        k++;
        while (*end == ' ') end++;
        if (!*end) break;
        if (*end != ',') return fer_fail(e, "-w %s: unexpected '%c'", spec, *end);
        p = end + 1;
    }
    if (k != m) return fer_fail(e, "-w %s: %d weights for %d models", spec, k, m);
    return ensemble_normalize(w, m, e);
}

void ensemble_combine(float *const *probs, const float *w, int m, int n, int classes, float *out)
{
    size_t total = (size_t)n * classes;
    for (size_t i = 0; i < total; i++) {
        double s = 0;
        for (int j = 0; j < m; j++) s += (double)w[j] * probs[j][i];
        out[i] = (float)s;
    }
}

void probs_score(const float *probs, const int *labels, int n, int classes, double *nll, double *acc)
{
    double loss = 0;
    long correct = 0;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * classes;
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (p[k] > p[best]) best = k;
        correct += best == labels[i];
        double py = p[labels[i]];
        loss -= log(py > 1e-12 ? py : 1e-12);
    }
    *nll = n ? loss / n : 0;
    *acc = n ? (double)correct / n : 0;
}

/* The mixture's score for weights w: accuracy and NLL. */
static void mixture_score(float *const *probs, const int *labels, int m, int n, int classes, const double *w,
                          double *nll, double *acc)
{
    double loss = 0;
    long correct = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        double bestp = -1, py = 0;
        for (int k = 0; k < classes; k++) {
            double s = 0;
            for (int j = 0; j < m; j++) s += w[j] * probs[j][(size_t)i * classes + k];
            if (s > bestp) { bestp = s; best = k; }
            if (k == labels[i]) py = s;
        }
        correct += best == labels[i];
        loss -= log(py > 1e-12 ? py : 1e-12);
    }
    *nll = loss / n;
    *acc = (double)correct / n;
}

int ensemble_fit(float *const *probs, const int *labels, int m, int n, int classes, fit_objective obj, float *w,
                 fer_err *e)
{
    if (n < 1) return fer_fail(e, "cannot fit ensemble weights on 0 images");
    double *wd = malloc((size_t)m * sizeof *wd), *r = malloc((size_t)m * sizeof *r);
    if (!wd || !r) { free(wd); free(r); return fer_fail(e, "out of memory"); }
    for (int j = 0; j < m; j++) wd[j] = 1.0 / m;
    /* EM for mixture weights: w_j <- mean_i (w_j p_j(y_i) / sum_l w_l p_l(y_i)) */
    for (int it = 0; it < 1000; it++) {
        for (int j = 0; j < m; j++) r[j] = 0;
        for (int i = 0; i < n; i++) {
            double tot = 0;
            for (int j = 0; j < m; j++) {
                double p = probs[j][(size_t)i * classes + labels[i]];
                tot += wd[j] * (p > 1e-12 ? p : 1e-12);
            }
            for (int j = 0; j < m; j++) {
                double p = probs[j][(size_t)i * classes + labels[i]];
                r[j] += wd[j] * (p > 1e-12 ? p : 1e-12) / tot;
            }
        }
        double change = 0;
        for (int j = 0; j < m; j++) {
            double nw = r[j] / n;
            change += fabs(nw - wd[j]);
            wd[j] = nw;
        }
        if (change < 1e-9) break;
    }
    if (obj == FIT_ACCURACY && m > 1) {
        /* accuracy is piecewise constant in w, so small steps stall on its
         * plateaus: scan each weight over [0, 1] in steps of 1/80 (the others
         * keep their proportions), keep the best, repeat until nothing
         * improves */
        double best_nll, best_acc;
        mixture_score(probs, labels, m, n, classes, wd, &best_nll, &best_acc);
        double *trial = r;
        int improved = 1;
        for (int round = 0; improved && round < 20; round++) {
            improved = 0;
            for (int j = 0; j < m; j++)
                for (int s = 0; s <= 80; s++) {
                    double t = s / 80.0, rest = 1 - wd[j];
                    for (int k = 0; k < m; k++)
                        trial[k] = k == j ? t : rest > 1e-12 ? wd[k] * (1 - t) / rest : (1 - t) / (m - 1);
                    double nll, acc;
                    mixture_score(probs, labels, m, n, classes, trial, &nll, &acc);
                    if (acc > best_acc + 1e-12 || (acc > best_acc - 1e-12 && nll < best_nll - 1e-9)) {
                        best_acc = acc;
                        best_nll = nll;
                        for (int k = 0; k < m; k++) wd[k] = trial[k];
                        improved = 1;
                    }
                }
        }
    }
    for (int j = 0; j < m; j++) w[j] = (float)wd[j];
    free(wd);
    free(r);
    return ensemble_normalize(w, m, e);
}

int ensemble_write_csv(const char *path, const split_probs *sp, const float *ens, char **names, fer_err *e)
{
    char tmp[4096];
    FILE *f = atomic_open(path, tmp, sizeof tmp, e);
    if (!f) return -1;
    int C = sp->classes;
    fprintf(f, "index,true,pred");
    for (int j = 0; j <= sp->members; j++)
        for (int k = 0; k < C; k++) {
            if (j < sp->members) fprintf(f, ",m%d_%s", j + 1, names[k]);
            else fprintf(f, ",ens_%s", names[k]);
        }
    fputc('\n', f);
    for (int i = 0; i < sp->n; i++) {
        const float *p = ens + (size_t)i * C;
        int best = 0;
        for (int k = 1; k < C; k++)
            if (p[k] > p[best]) best = k;
        fprintf(f, "%d,%d,%d", sp->first + i, sp->labels[i], best);
        for (int j = 0; j <= sp->members; j++) {
            const float *q = j < sp->members ? sp->probs[j] + (size_t)i * C : p;
            for (int k = 0; k < C; k++) fprintf(f, ",%.7g", q[k]);
        }
        fputc('\n', f);
    }
    return atomic_close(f, tmp, path, e);
}

int ensemble_load(network ***nets, int *m, char **argv, int n, fer_ctx *ctx, fer_err *e)
{
    *nets = NULL;
    *m = 0;
    if (n < 2 || n % 2)
        return fer_fail(e, "expected CFG WEIGHTS pairs, got %d argument%s%s%s", n, n == 1 ? "" : "s",
                        n ? " ending with " : "", n ? argv[n - 1] : "");
    for (int i = 0; i < n; i += 2)
        if (str_ends_with(argv[i + 1], ".cfg") && !str_ends_with(argv[i], ".cfg"))
            return fer_fail(e, "'%s %s': expected CFG then WEIGHTS", argv[i], argv[i + 1]);
    network **list = calloc((size_t)n / 2, sizeof *list);
    if (!list) return fer_fail(e, "out of memory");
    for (int j = 0; j < n / 2; j++)
        if (fer_net_load(&list[j], argv[2 * j], argv[2 * j + 1], ctx, e)) {
            ensemble_free(list, j);
            return -1;
        }
    for (int j = 1; j < n / 2; j++)
        if (list[j]->classes != list[0]->classes) {
            fer_fail(e, "%s has %d classes but %s has %d", argv[2 * j], list[j]->classes, argv[0], list[0]->classes);
            ensemble_free(list, n / 2);
            return -1;
        }
    *nets = list;
    *m = n / 2;
    return 0;
}

void ensemble_free(network **nets, int m)
{
    if (!nets) return;
    for (int j = 0; j < m; j++) net_free(nets[j]);
    free(nets);
}

void ensemble_result_free(ensemble_result *r)
{
    split_probs_free(&r->sp);
    free(r->w);
    free(r->probs);
    metrics_free(&r->m);
    memset(r, 0, sizeof *r);
}

int ensemble_evaluate(network **nets, int m, const data_cfg *d, const char *split, int tta, const float *w, int limit,
                      ensemble_result *r, fer_err *e)
{
    memset(r, 0, sizeof *r);
    const char *path, *usage;
    if (data_split(d, split, &path, &usage, e)) return -1;
    if (ensemble_split_probs(nets, m, d, path, usage, tta, 0, limit, &r->sp, e)) return -1;
    r->w = malloc((size_t)m * sizeof *r->w);
    r->probs = malloc((size_t)r->sp.n * r->sp.classes * sizeof *r->probs);
    if (!r->w || !r->probs) {
        ensemble_result_free(r);
        return fer_fail(e, "out of memory");
    }
    for (int j = 0; j < m; j++) r->w[j] = w ? w[j] : 1.0f;
    if (ensemble_normalize(r->w, m, e)) {
        ensemble_result_free(r);
        return -1;
    }
    ensemble_combine(r->sp.probs, r->w, m, r->sp.n, r->sp.classes, r->probs);
    if (metrics_compute(&r->m, r->probs, r->sp.labels, r->sp.n, r->sp.classes, e)) {
        ensemble_result_free(r);
        return -1;
    }
    return 0;
}

int split_class_counts(const data_cfg *d, const char *split, int *count, int *total, fer_err *e)
{
    const char *path = NULL, *usage = NULL;
    if (data_split(d, split, &path, &usage, e)) return -1;
    dataset ds;
    /* 8x8 is enough to count: the pixels are not used */
    if (dataset_load(&ds, path, usage, d, 8, 8, 1, e)) return -1;
    dataset_class_counts(&ds, count);
    *total = ds.n;
    dataset_free(&ds);
    return 0;
}

int ensemble_crossfit(float *const *probs, const int *labels, int m, int n, int classes, fit_objective obj, int folds,
                      float *fold_w, float *out, fer_err *e)
{
    if (folds < 2 || folds > n) return fer_fail(e, "cross-fitting: %d folds for %d images (need 2 <= folds <= images)", folds, n);
    float **sub = calloc((size_t)m, sizeof *sub);
    int *sub_labels = malloc((size_t)n * sizeof *sub_labels);
    int rc = sub && sub_labels ? 0 : fer_fail(e, "out of memory");
    for (int j = 0; j < m && !rc; j++)
        if (!(sub[j] = malloc((size_t)n * classes * sizeof(float)))) rc = fer_fail(e, "out of memory");
    for (int f = 0; f < folds && !rc; f++) {
        /* fit on the images outside fold f (i % folds != f) ... */
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (i % folds == f) continue;
            for (int j = 0; j < m; j++)
                memcpy(sub[j] + (size_t)k * classes, probs[j] + (size_t)i * classes, (size_t)classes * sizeof(float));
            sub_labels[k++] = labels[i];
        }
        float *w = fold_w + (size_t)f * m;
        if (ensemble_fit(sub, sub_labels, m, k, classes, obj, w, e)) { rc = -1; break; }
        /* ... and combine fold f with those weights */
        for (int i = f; i < n; i += folds)
            for (int c = 0; c < classes; c++) {
                double s = 0;
                for (int j = 0; j < m; j++) s += (double)w[j] * probs[j][(size_t)i * classes + c];
                out[(size_t)i * classes + c] = (float)s;
            }
    }
    for (int j = 0; sub && j < m; j++) free(sub[j]);
    free(sub);
    free(sub_labels);
    return rc;
}
