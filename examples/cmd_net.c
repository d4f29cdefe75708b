/* cmd_net.c - `fer net CFG [WEIGHTS]`: the network summary, and `fer partial`. */
#include "cli.h"

#include <stdlib.h>

int cmd_net(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    if (args_done(&a)) return cli_fail(&a.err);
    if (a.argc < 2 || a.argc > 3) {
        fprintf(stderr, "usage: fer net CFG [WEIGHTS]\n");
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
    if (a.argc == 3 && weights_load(net, a.argv[2], -1, &e)) {
        net_free(net);
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    net_print_summary(net, stdout);
    net_free(net);
    fer_ctx_free(ctx);
    return 0;
}

int cmd_partial(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    if (args_done(&a)) return cli_fail(&a.err);
    if (a.argc != 5) {
        fprintf(stderr, "usage: fer partial CFG WEIGHTS OUT N\n");
        return 2;
    }
    char *end;
    long n = strtol(a.argv[4], &end, 10);
    fer_err e;
    network *net;
    if (*end || n < 0) {
        fprintf(stderr, "fer partial: N=%s must be a layer count >= 0\n", a.argv[4]);
        return 2;
    }
    fer_ctx *ctx;
    if (cli_ctx_one_thread(&ctx, &e)) return cli_fail(&e);
    if (net_from_cfg(&net, a.argv[1], ctx, &e)) {
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (n > net->n) n = net->n;
    if (weights_load(net, a.argv[2], (int)n, &e) || weights_save(net, a.argv[3], (int)n, &e)) {
        net_free(net);
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    printf("wrote the first %ld of %d layers to %s\n", n, net->n, a.argv[3]);
    net_free(net);
    fer_ctx_free(ctx);
    return 0;
}
