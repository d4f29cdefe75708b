/* tool_golden.c - runs one forward and backward pass of a network on a given
 * batch and dumps everything an independent implementation (tests/ref/fer_torch.py,
 * driven by tests/ref/golden_torch.py) needs to check fer's numbers.
 *
 * usage: tool_golden CFG WEIGHTS IN.bin OUT.bin [train]
 *
 * IN.bin, raw little-endian float32: the input batch [B, C, H, W] followed by
 * the one-hot truth [B, classes]; B is inferred from the file size.
 *
 * OUT.bin, raw little-endian float32, in this order:
 *   loss                        [1]   mean loss of the batch (net->loss)
 *   output                      [B, classes]   the last layer's output
 *   dinput                      [B, inputs]    dLoss/d input
 *   gradients                   every parameter tensor of every layer in
 *                               .weights order (rolling statistics included,
 *                               as zeros; PReLU slopes last in their layer)
 *   parameters after forward    the same tensors' values after the forward
 *                               pass: in train mode the rolling mean and
 *                               variance have taken one bn_momentum step
 * OUT.bin.masks: each [dropout] layer's multiplier [B, inputs] (0 or
 *   1/(1-p); all ones at inference) and each [crop] layer's window [3] (row,
 *   column, mirrored), layer by layer, so that the reference can apply the
 *   same draws (it cannot reproduce fer's RNG).
 * OUT.bin.layers: every layer's output [B, outputs], layer by layer, to
 *   find the first layer that disagrees.
 *
 * "train" sets net->train: batch statistics in batch norm, dropout on. The
 * dropout RNG is seeded with a fixed value, so runs are reproducible.
 * FER_THREADS (default 1) sets the number of threads, FER_ISA the kernels. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

static int write_floats(FILE *f, const float *p, size_t n)
{
    return fwrite(p, sizeof *p, n, f) == n ? 0 : -1;
}

static int write_side_file(const network *net, const char *out_path, const char *suffix, int masks,
                           fer_err *e)
{
    char path[4096], tmp[4096];
    if (snprintf(path, sizeof path, "%s%s", out_path, suffix) >= (int)sizeof path)
        return fer_fail(e, "%s: path too long", out_path);
    FILE *f = atomic_open(path, tmp, sizeof tmp, e);
    if (!f) return -1;
    int rc = 0;
    for (int i = 0; i < net->n && !rc; i++) {
        const layer *l = &net->layers[i];
        if (masks) {
            if (!strcmp(l->type->name, "dropout"))
                rc = write_floats(f, l->extra, (size_t)net->batch * l->inputs);
            else if (!strcmp(l->type->name, "crop"))
                rc = write_floats(f, l->extra, 3);   /* crop.c: row, column, mirrored */
        } else {
            rc = write_floats(f, l->output, (size_t)net->batch * l->outputs);
        }
    }
    if (rc) {
        fclose(f);
        remove(tmp);
        return fer_fail(e, "%s: write error", path);
    }
    return atomic_close(f, tmp, path, e);
}

static int write_result(const network *net, const char *path, fer_err *e)
{
    char tmp[4096];
    FILE *f = atomic_open(path, tmp, sizeof tmp, e);
    if (!f) return -1;
    float loss = (float)net->loss;
    int rc = write_floats(f, &loss, 1);
    const layer *last = &net->layers[net->n - 1];
    rc |= write_floats(f, last->output, (size_t)net->batch * last->outputs);
    rc |= write_floats(f, net->dinput, (size_t)net->batch * net->inputs);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < net->n; i++)
            for (int j = 0; j < net->layers[i].n_params; j++) {
                const param *p = &net->layers[i].params[j];
                rc |= write_floats(f, pass ? p->data : p->grad, p->n);
            }
    if (rc) {
        fclose(f);
        remove(tmp);
        return fer_fail(e, "%s: write error", path);
    }
    return atomic_close(f, tmp, path, e);
}

static int run(int argc, char **argv, fer_err *e)
{
    const char *cfg = argv[1], *weights = argv[2], *in_path = argv[3], *out_path = argv[4];
    int train = 0;
    if (argc == 6) {
        if (strcmp(argv[5], "train")) return fer_fail(e, "fifth argument must be 'train', not '%s'", argv[5]);
        train = 1;
    }
    const char *threads = getenv("FER_THREADS");
    int nthreads = threads ? atoi(threads) : 1;
    if (nthreads < 1) return fer_fail(e, "FER_THREADS=%s: expected a positive number", threads);
    fer_ctx *ctx = NULL;
    network *net = NULL;
    size_t len = 0;
    char *in = NULL;
    int rc = -1;
    if (fer_ctx_new(&ctx, nthreads, NULL, e)) return -1;
    if (net_from_cfg(&net, cfg, ctx, e) || weights_load(net, weights, -1, e)) goto done;
    in = read_file(in_path, &len, e);
    if (!in) goto done;
    size_t per = (size_t)net->inputs + (size_t)net->classes;
    if (len % sizeof(float) || len == 0 || (len / sizeof(float)) % per) {
        fer_fail(e, "%s: %zu bytes is not a whole number of samples of %zu floats (%d inputs + %d classes)",
                 in_path, len, per, net->inputs, net->classes);
        goto done;
    }
    int batch = (int)(len / sizeof(float) / per);
    if (net_set_batch(net, batch, 1, e)) goto done;
    const float *data = (const float *)in;
    memcpy(net->input, data, (size_t)batch * net->inputs * sizeof(float));
    memcpy(net->truth, data + (size_t)batch * net->inputs, (size_t)batch * net->classes * sizeof(float));
    rng_seed(&net->rng, 20240611);
    net->train = train;
    net->has_truth = 1;
    net_forward(net);
    net_zero_grads(net);
    net->want_dinput = 1;
    net_backward(net);
    if (write_result(net, out_path, e) || write_side_file(net, out_path, ".masks", 1, e) ||
        write_side_file(net, out_path, ".layers", 0, e))
        goto done;
    rc = 0;
done:
    free(in);
    net_free(net);
    fer_ctx_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: tool_golden CFG WEIGHTS IN.bin OUT.bin [train]\n");
        return 2;
    }
    fer_err e;
    if (run(argc, argv, &e)) {
        fprintf(stderr, "tool_golden: %s\n", e.msg);
        return 1;
    }
    return 0;
}
