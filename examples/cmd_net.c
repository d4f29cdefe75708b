/* cmd_net.c - `fer net CFG [WEIGHTS]`: the network summary. */
#include "cli.h"

static int net_run(cli *c)
{
    int rc = cli_start(c, 1, 2);
    if (rc) return rc;
    char **argv = c->a.argv;
    if (c->a.argc == 3) rc = net_from_cfg(&c->net, argv[1], c->ctx, &c->e);
    else rc = net_shapes_from_cfg(&c->net, argv[1], c->ctx, &c->e);   /* the summary needs no memory */
    if (rc) return cli_error(c);
    if (c->a.argc == 3 && weights_load(c->net, argv[2], -1, &c->e)) return cli_error(c);
    net_print_summary(c->net, stdout);
    return 0;
}

const command cmd_net = {
    "net", net_run, CLI_CTX,
    "usage: fer net CFG [WEIGHTS]\n"
    "  per layer: type, filters, size/stride, input -> output, BFLOPs; total parameters and forward FLOPs;\n"
    "  WEIGHTS is checked against CFG\n",
    "print the layers, parameters and FLOPs", NULL,
};
