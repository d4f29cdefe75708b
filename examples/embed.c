/* embed.c - the smallest program that embeds libfer through include/fer.h:
 * classify one image with a cfg and weights and print the probabilities. */
#include <stdio.h>
#include <stdlib.h>

#include "fer.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: embed CFG WEIGHTS IMAGE\n");
        return 2;
    }
    fer_err e;
    fer_net *net;
    fer_image im;
    if (fer_net_load(&net, argv[1], argv[2], NULL, &e)) {
        fprintf(stderr, "embed: %s\n", e.msg);
        return 1;
    }
    int n = fer_net_classes(net);
    float *probs = malloc((size_t)n * sizeof *probs);
    if (!probs || fer_image_load(&im, argv[3], &e) || fer_net_classify(net, &im, probs, &e)) {
        fprintf(stderr, "embed: %s\n", probs ? e.msg : "out of memory");
        free(probs);
        fer_net_free(net);
        return 1;
    }
    for (int i = 0; i < n; i++) printf("%d %.6f\n", i, probs[i]);
    fer_image_free(&im);
    free(probs);
    fer_net_free(net);
    return 0;
}
