/* evaluate.c - inference over a dataset (with optional test-time
 * augmentation) and classification metrics: accuracy, top-2, per-class
 * precision/recall/F1 and the confusion matrix. */
#include "train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copies the ow x oh window at (ox, oy) of image i, mirrored when flip. */
static void view_sample(const dataset *ds, int i, int ox, int oy, int flip, float *out, int ow, int oh)
{
    const uint8_t *src = ds->pixels + (size_t)i * ds->w * ds->h * ds->c;
    for (int k = 0; k < ds->c; k++)
        for (int y = 0; y < oh; y++) {
            const uint8_t *row = src + ((size_t)k * ds->h + oy + y) * ds->w + ox;
            float *dst = out + ((size_t)k * oh + y) * ow;
            for (int x = 0; x < ow; x++) dst[x] = row[flip ? ow - 1 - x : x] * (1.0f / 255.0f);
        }
}

int evaluate_probs(network *net, const dataset *ds, int tta, float *probs, fer_err *e)
{
    int iw, ih, ic;
    fer_net_input_shape(net, &iw, &ih, &ic);
    if (ds->c != ic || ds->w < iw || ds->h < ih)
        return fer_fail(e, "%s: images are %dx%dx%d but the network needs %dx%dx%d", ds->source, ds->w, ds->h,
                        ds->c, iw, ih, ic);
    int C = net->classes, B = net->batch;
    /* The ten crops (-tta) are windows of the image, or, when the network
     * starts with a [crop] layer smaller than its input, windows of that
     * layer (the image goes in whole and the layer takes the window). */
    const layer *l0 = net->n ? &net->layers[0] : NULL;
    int by_layer = l0 && !strcmp(l0->type->name, "crop") && (l0->out_w < l0->w || l0->out_h < l0->h);
    int fw = by_layer ? l0->w : ds->w, fh = by_layer ? l0->h : ds->h;   /* the frame windows are taken from */
    int vw = by_layer ? l0->out_w : iw, vh = by_layer ? l0->out_h : ih;  /* the window */
    int views[10][3], nv = 0;   /* (x, y, mirrored) */
    int cx = (fw - vw) / 2, cy = (fh - vh) / 2;
    views[nv][0] = cx; views[nv][1] = cy; views[nv][2] = 0; nv++;
    if (tta) {
        views[nv][0] = cx; views[nv][1] = cy; views[nv][2] = 1; nv++;
        if (fw > vw || fh > vh) {
            int corners[4][2] = { { 0, 0 }, { fw - vw, 0 }, { 0, fh - vh }, { fw - vw, fh - vh } };
            for (int c = 0; c < 4; c++)
                for (int f = 0; f < 2; f++) {
                    views[nv][0] = corners[c][0];
                    views[nv][1] = corners[c][1];
                    views[nv][2] = f;
                    nv++;
                }
        }
    }
    int was_train = net->train;
    net->train = 0;
    net->has_truth = 0;
    memset(probs, 0, (size_t)ds->n * C * sizeof *probs);
    int ix = (ds->w - iw) / 2, iy = (ds->h - ih) / 2;   /* the image's window when the layer crops */
    int status = 0;
    for (int v = 0; v < nv && !status; v++) {
        /* on the layer path the whole image is mirrored, so a mirrored
         * view's window sits at the mirrored column */
        net->crop_view_set = by_layer;
        net->crop_view_row = views[v][1];
        net->crop_view_col = views[v][2] ? fw - vw - views[v][0] : views[v][0];
        for (int start = 0; start < ds->n && !status; start += B) {
            int count = ds->n - start < B ? ds->n - start : B;
            for (int b = 0; b < B; b++) {
                float *dst = net->input + (size_t)b * net->inputs;
                if (b >= count) memset(dst, 0, (size_t)net->inputs * sizeof *dst);
                else if (by_layer) view_sample(ds, start + b, ix, iy, views[v][2], dst, iw, ih);
                else view_sample(ds, start + b, views[v][0], views[v][1], views[v][2], dst, iw, ih);
            }
            net_forward(net);
            if ((status = net_check_output(net, count, e))) break;
            const float *out = net_output(net);
            for (int b = 0; b < count; b++)
                for (int k = 0; k < C; k++) probs[(size_t)(start + b) * C + k] += out[(size_t)b * C + k] / nv;
        }
    }
    net->crop_view_set = 0;
    net->train = was_train;
    return status ? -1 : 0;
}

int metrics_compute(metrics *m, const float *probs, const int *labels, int n, int classes, fer_err *e)
{
    memset(m, 0, sizeof *m);
    m->classes = classes;
    m->n = n;
    m->confusion = calloc((size_t)classes * classes, sizeof *m->confusion);
    if (!m->confusion) return fer_fail(e, "out of memory");
    long correct = 0, top2 = 0;
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const float *p = probs + (size_t)i * classes;
        int best = 0, second = -1;
        for (int k = 1; k < classes; k++)
            if (p[k] > p[best]) best = k;
        for (int k = 0; k < classes; k++)
            if (k != best && (second < 0 || p[k] > p[second])) second = k;
        int y = labels[i];
        m->confusion[(size_t)y * classes + best]++;
        correct += best == y;
        top2 += best == y || second == y;
        loss -= log(p[y] > 1e-12f ? p[y] : 1e-12f);
    }
    m->accuracy = n ? (double)correct / n : 0;
    m->top2 = n ? (double)top2 / n : 0;
    m->loss = n ? loss / n : 0;
    return 0;
}

void metrics_print(const metrics *m, char **names, FILE *out)
{
    int C = m->classes;
    fprintf(out, "images: %d\n", m->n);
    fprintf(out, "top-2 accuracy: %.4f\n", m->top2);
    fprintf(out, "loss: %.4f\n\n", m->loss);
    fprintf(out, "%-12s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
    double macro_f1 = 0;
    for (int k = 0; k < C; k++) {
        long tp = m->confusion[(size_t)k * C + k], row = 0, col = 0;
        for (int j = 0; j < C; j++) {
            row += m->confusion[(size_t)k * C + j];
            col += m->confusion[(size_t)j * C + k];
        }
        double p = col ? (double)tp / col : 0, r = row ? (double)tp / row : 0;
        double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
        macro_f1 += f1 / C;
        fprintf(out, "%-12s %9.4f %9.4f %9.4f %8ld\n", names[k], p, r, f1, row);
    }
    fprintf(out, "%-12s %29.4f\n\n", "macro f1", macro_f1);
    fprintf(out, "confusion matrix (rows = true, columns = predicted), counts:\n%-10s", "");
    for (int j = 0; j < C; j++) fprintf(out, " %8.8s", names[j]);
    fprintf(out, "\n");
    for (int k = 0; k < C; k++) {
        fprintf(out, "%-10.10s", names[k]);
        for (int j = 0; j < C; j++) fprintf(out, " %8ld", m->confusion[(size_t)k * C + j]);
        fprintf(out, "\n");
    }
    fprintf(out, "\nrow-normalized:\n%-10s", "");
    for (int j = 0; j < C; j++) fprintf(out, " %8.8s", names[j]);
    fprintf(out, "\n");
    for (int k = 0; k < C; k++) {
        long row = 0;
        for (int j = 0; j < C; j++) row += m->confusion[(size_t)k * C + j];
        fprintf(out, "%-10.10s", names[k]);
        for (int j = 0; j < C; j++)
            fprintf(out, " %8.3f", row ? (double)m->confusion[(size_t)k * C + j] / row : 0.0);
        fprintf(out, "\n");
    }
}

void metrics_free(metrics *m)
{
    free(m->confusion);
    m->confusion = NULL;
}
