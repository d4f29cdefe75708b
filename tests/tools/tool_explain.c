/* tool_explain.c - dumps fer's saliency and Grad-CAM for one input so that
 * an independent implementation (tests/ref/explain_torch.py, PyTorch autograd
 * through tests/ref/fer_torch.py) can check them.
 *
 * usage: tool_explain CFG WEIGHTS INPUT OUT.bin [CLASS [LAYER]]
 *
 * INPUT: an image file (resized to the network's input like `fer visualize`
 * does) or IN.bin, raw little-endian float32 [c, h, w]. CLASS -1 (default)
 * is the predicted class; LAYER -1 (default) the last spatial conv layer.
 *
 * OUT.bin, raw little-endian float32, in this order:
 *   input        [c, h, w]     what the network saw
 *   scores       [classes]     pre-softmax scores (the layer feeding the softmax)
 *   probs        [classes]     the network's output
 *   dinput       [c, h, w]     d score_K / d input
 *   saliency     [h, w]        max over channels of |dinput|
 *   cam_weights  [lc]          spatial mean of d score_K / d A
 *   cam          [lh, lw]      ReLU(sum_k w_k A_k)
 *   cam_input    [h, w]        cam resized bilinearly to the input
 * OUT.bin.layers: every layer's output [outputs], layer by layer (hints for
 *   the reference at max-pool and activation near-ties).
 * OUT.bin.txt: "class K layer L score_layer S lc LC lh LH lw LW c C h H w W". */
#include "analysis/analysis.h"

#include <stdlib.h>
#include <string.h>

static int write_all(FILE *f, const float *p, size_t n) { return fwrite(p, sizeof *p, n, f) == n ? 0 : -1; }

static int run(int argc, char **argv, fer_err *e)
{
    const char *cfg = argv[1], *weights = argv[2], *in_path = argv[3], *out_path = argv[4];
    int cls = argc > 5 ? atoi(argv[5]) : -1, cam_layer = argc > 6 ? atoi(argv[6]) : -1;
    const char *threads = getenv("FER_THREADS");
    fer_ctx *ctx = NULL;
    network *net = NULL;
    explanation x = { 0 };
    float *input = NULL;
    int rc = -1;
    if (fer_ctx_new(&ctx, threads ? atoi(threads) : 1, NULL, e)) return -1;
    if (fer_net_load(&net, cfg, weights, ctx, e) || explanation_init(&x, net, cam_layer, e)) goto done;
    size_t n = (size_t)x.c * x.h * x.w;
    input = malloc(n * sizeof *input);
    if (!input) { fer_fail(e, "out of memory"); goto done; }
    size_t len = strlen(in_path);
    if (len > 4 && !strcmp(in_path + len - 4, ".bin")) {
        size_t got;
        char *buf = read_file(in_path, &got, e);
        if (!buf) goto done;
        if (got != n * sizeof(float)) {
            free(buf);
            fer_fail(e, "%s: %zu bytes, expected %zu floats", in_path, got, n);
            goto done;
        }
        memcpy(input, buf, got);
        free(buf);
    } else {
        fer_image im;
        if (fer_image_load(&im, in_path, e)) goto done;
        int bad = net_put_image(net, 0, &im, e);
        fer_image_free(&im);
        if (bad) goto done;
        memcpy(input, net->input, n * sizeof *input);
    }
    int used;
    if (explain(net, input, cls, &x, &used, e)) goto done;
    char tmp[4096], side[4096];
    FILE *f = atomic_open(out_path, tmp, sizeof tmp, e);
    if (!f) goto done;
    size_t plane = (size_t)x.h * x.w, lp = (size_t)x.lh * x.lw;
    int w = write_all(f, input, n) | write_all(f, x.scores, (size_t)x.classes) | write_all(f, x.probs, (size_t)x.classes) |
            write_all(f, x.dinput, n) | write_all(f, x.saliency, plane) | write_all(f, x.cam_weights, (size_t)x.lc) |
            write_all(f, x.cam, lp) | write_all(f, x.cam_input, plane);
    if (w) { fclose(f); remove(tmp); fer_fail(e, "%s: write error", out_path); goto done; }
    if (atomic_close(f, tmp, out_path, e)) goto done;
    snprintf(side, sizeof side, "%s.layers", out_path);
    if (!(f = atomic_open(side, tmp, sizeof tmp, e))) goto done;
    for (int i = 0; i < net->n; i++) w |= write_all(f, net->layers[i].output, (size_t)net->layers[i].outputs);
    if (w) { fclose(f); remove(tmp); fer_fail(e, "%s: write error", side); goto done; }
    if (atomic_close(f, tmp, side, e)) goto done;
    snprintf(side, sizeof side, "%s.txt", out_path);
    if (!(f = atomic_open(side, tmp, sizeof tmp, e))) goto done;
    fprintf(f, "class %d layer %d score_layer %d lc %d lh %d lw %d c %d h %d w %d\n", used, x.layer, x.score_layer, x.lc,
            x.lh, x.lw, x.c, x.h, x.w);
    if (atomic_close(f, tmp, side, e)) goto done;
    rc = 0;
done:
    free(input);
    explanation_free(&x);
    net_free(net);
    fer_ctx_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 5 || argc > 7) {
        fprintf(stderr, "usage: tool_explain CFG WEIGHTS IMAGE|IN.bin OUT.bin [CLASS [LAYER]]\n");
        return 2;
    }
    fer_err e;
    if (run(argc, argv, &e)) {
        fprintf(stderr, "tool_explain: %s\n", e.msg);
        return 1;
    }
    return 0;
}
