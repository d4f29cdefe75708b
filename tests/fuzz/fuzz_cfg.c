/* fuzz_cfg.c - the cfg parser and network builder: the input is cfg text
 * for net_from_text; a network that builds and is small enough runs one
 * forward pass at batch 1 on a fixed input.
 * Oracles: a failed build returns a NULL network and a message; a forward
 * pass gives finite outputs or net_check_output's error. */
#include "fuzz.h"
#include "engine/engine.h"

#include <math.h>

/* Cost bounds, so that one input cannot take seconds: larger networks are
 * built (the parser and shape checks run) but not run. */
#define MAX_PARAMS 1000000        /* floats, batch-norm statistics included */
#define MAX_FLOPS 3e7             /* per image */
#define MAX_ACTIVATIONS 4000000   /* floats of the batch-1 activation block */

static void forward_once(network *net)
{
    for (size_t i = 0; i < (size_t)net->inputs; i++) net->input[i] = (float)(i % 17) / 16.0f;
    net->train = 0;
    net->has_truth = 0;
    net_forward(net);
    fer_err e = { { 0 } };
    if (net_check_output(net, 1, &e) == 0) {
        const float *out = net_output(net);
        for (int k = 0; k < net->classes; k++) fuzz_require(isfinite(out[k]), "net_check_output passed a NaN");
    } else {
        fuzz_require(e.msg[0] != 0, "net_check_output failed without a message");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    fer_err e = { { 0 } };
    static char sentinel;
    network *net = (network *)&sentinel;   /* net_from_text must reset it to NULL on failure */
    if (net_from_text(&net, "fuzz.cfg", text, NULL, &e)) {
        fuzz_require(net == NULL, "net_from_text failed but left a network");
        fuzz_require(e.msg[0] != 0, "net_from_text failed without a message");
    } else {
        fuzz_require(net->n >= 1 && net->classes >= 1 && net->batch == 1, "a built network has no layers or outputs");
        if (net_count_params(net, 0) <= MAX_PARAMS && net_flops(net) <= MAX_FLOPS &&
            net->act_floats <= MAX_ACTIVATIONS)
            forward_once(net);
        net_free(net);
    }
    free(text);
    return 0;
}
