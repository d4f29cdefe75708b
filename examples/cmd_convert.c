/* cmd_convert.c - `fer convert CFG IN OUT [-half]`: rewrites a weights file
 * as plain Darknet float32 (the default) or as fer's half-precision
 * extension (-half), which halves the size of the shipped large models. The
 * cfg checks the layout. */
#include "cli.h"

int cmd_convert(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    int half = args_flag(&a, "-half");
    if (args_done(&a)) return cli_fail(&a.err);
    if (a.argc != 4) {
        fprintf(stderr, "usage: fer convert CFG IN OUT [-half]\n");
        return 2;
    }
    fer_err e;
    network *net;
    fer_ctx *ctx;
    if (cli_ctx_one_thread(&ctx, &e)) return cli_fail(&e);
    if (net_from_cfg(&net, a.argv[1], ctx, &e)) {
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (weights_load(net, a.argv[2], -1, &e) || weights_save_as(net, a.argv[3], -1, half, &e)) {
        net_free(net);
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    printf("wrote %s as %s\n", a.argv[3], half ? "half precision (fer's extension)" : "float32 (Darknet)");
    net_free(net);
    fer_ctx_free(ctx);
    return 0;
}
