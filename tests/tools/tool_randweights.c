/* tool_randweights.c - writes random (He-initialized) weights for a cfg, so
 * that end-to-end tests can run the real CLI without trained weights.
 * usage: tool_randweights CFG OUT SEED */
#include "engine/engine.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: tool_randweights CFG OUT SEED\n");
        return 2;
    }
    char *end;
    unsigned long long seed = strtoull(argv[3], &end, 10);
    if (*end || end == argv[3]) {
        fprintf(stderr, "tool_randweights: SEED=%s is not a number\n", argv[3]);
        return 2;
    }
    fer_err e;
    network *net;
    if (net_from_cfg(&net, argv[1], NULL, &e)) {
        fprintf(stderr, "tool_randweights: %s\n", e.msg);
        return 1;
    }
    net_init_weights(net, seed);
    int rc = weights_save(net, argv[2], -1, &e);
    if (rc) fprintf(stderr, "tool_randweights: %s\n", e.msg);
    else printf("wrote %zu parameters of %s to %s\n", net->n_param_floats, argv[1], argv[2]);
    net_free(net);
    return rc ? 1 : 0;
}
