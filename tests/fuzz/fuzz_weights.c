/* fuzz_weights.c - the .weights reader: the input is a weights file loaded
 * into tests/cfg/tiny.cfg (read once; run from the repository's root), in
 * full and up to its second layer (as `fer partial` does).
 * Oracles: a failed load leaves the parameter block byte-identical; a
 * successful one gives finite outputs or net_check_output's error. */
#include "fuzz.h"
#include "engine/engine.h"

#include <math.h>

#define TINY_CFG "tests/cfg/tiny.cfg"

/* The network, built on the first input and kept for the process. */
typedef struct fixture {
    network *net;
    float *initial;   /* [n_param_floats] the parameters after net_init_weights */
} fixture;

static fixture *get_fixture(void)
{
    static fixture fx;
    if (fx.net) return &fx;
    fer_err e;
    if (net_from_cfg(&fx.net, TINY_CFG, NULL, &e)) {
        fprintf(stderr, "fuzz_weights: %s (run from the repository's root)\n", e.msg);
        abort();
    }
    fx.initial = malloc(fx.net->n_param_floats * sizeof(float));
    fuzz_require(fx.initial != NULL, "out of memory");
    memcpy(fx.initial, fx.net->params, fx.net->n_param_floats * sizeof(float));
    return &fx;
}

static void load_and_check(fixture *fx, const char *path, int upto)
{
    network *net = fx->net;
    size_t bytes = net->n_param_floats * sizeof(float);
    memcpy(net->params, fx->initial, bytes);
    fer_err e = { { 0 } };
    if (weights_load(net, path, upto, &e)) {
        fuzz_require(e.msg[0] != 0, "weights_load failed without a message");
        fuzz_require(!memcmp(net->params, fx->initial, bytes), "a failed weights_load changed the parameters");
        return;
    }
    for (size_t i = 0; i < (size_t)net->inputs; i++) net->input[i] = (float)(i % 13) / 12.0f;
    net->train = 0;
    net_forward(net);
    if (net_check_output(net, 1, &e) == 0) {
        for (int k = 0; k < net->classes; k++)
            fuzz_require(isfinite(net_output(net)[k]), "net_check_output passed a NaN");
    } else {
        fuzz_require(e.msg[0] != 0, "net_check_output failed without a message");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fixture *fx = get_fixture();
    const char *path = fuzz_write_tmp(data, size);
    load_and_check(fx, path, fx->net->n);
    load_and_check(fx, path, 2);
    return 0;
}
