/* cmd_classifier.c - `fer classifier predict|train|valid`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static int predict(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    int top = args_int(&a, "-top", 3);
    int json = args_flag(&a, "-json");
    fer_ctx *ctx = NULL;
    if (cli_ctx(&a, &ctx) || args_done(&a)) {
        fer_ctx_free(ctx);
        return cli_fail(&a.err);
    }
    fer_err e;
    data_cfg d;
    if (cli_data(&a, &d, &e)) {
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    int have_names = d.names != NULL;
    if (a.argc < 4) {
        fprintf(stderr, "usage: fer classifier predict [DATA] CFG WEIGHTS IMAGE... [-top K] [-json]\n");
        if (have_names) data_cfg_free(&d);
        fer_ctx_free(ctx);
        return 2;
    }
    network *net;
    if (fer_net_load(&net, a.argv[1], a.argv[2], ctx, &e)) {
        if (have_names) data_cfg_free(&d);
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (!have_names) {
        fprintf(stderr, "fer: warning: %s not readable; labels are class numbers\n", FER_DEFAULT_DATA);
        data_cfg_default_names(&d, net->classes, &e);
    }
    if (d.classes != net->classes) {
        fer_fail(&e, "%s has %d classes but %s outputs %d", d.path[0] ? d.path : "labels", d.classes,
                 a.argv[1], net->classes);
        net_free(net);
        data_cfg_free(&d);
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (top < 1) top = 1;
    if (top > net->classes) top = net->classes;
    float *probs = malloc((size_t)net->classes * sizeof *probs);
    int *order = malloc((size_t)net->classes * sizeof *order);
    int status = probs && order ? 0 : 1;
    for (int i = 3; i < a.argc && probs && order; i++) {
        fer_image im;
        if (fer_image_load(&im, a.argv[i], &e) || fer_net_classify(net, &im, probs, &e)) {
            fer_image_free(&im);
            cli_fail(&e);
            status = 1;
            continue;
        }
        fer_image_free(&im);
        for (int k = 0; k < net->classes; k++) order[k] = k;
        for (int k = 0; k < net->classes; k++)   /* selection sort: classes are few */
            for (int m = k + 1; m < net->classes; m++)
                if (probs[order[m]] > probs[order[k]]) { int t = order[k]; order[k] = order[m]; order[m] = t; }
        if (json) {
            printf("{\"image\": ");
            print_json_string(a.argv[i]);
            printf(", \"label\": ");
            print_json_string(d.names[order[0]]);
            printf(", \"probs\": [");
            for (int k = 0; k < net->classes; k++) printf("%s%.9g", k ? ", " : "", probs[k]);
            printf("]}\n");
        } else {
            printf("%s:\n", a.argv[i]);
            for (int k = 0; k < top; k++) printf("  %6.2f%%  %s\n", 100.0 * probs[order[k]], d.names[order[k]]);
        }
    }
    free(probs);
    free(order);
    data_cfg_free(&d);
    net_free(net);
    fer_ctx_free(ctx);
    return status;
}

int cmd_classifier(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "predict")) return predict(argc - 1, argv + 1);
    fprintf(stderr, "usage: fer classifier predict [DATA] CFG WEIGHTS IMAGE... [-top K] [-json]\n");
    return 2;
}
