/* cmd_convert.c - `fer convert CFG IN OUT [-half]`: rewrites a weights file
 * as plain Darknet float32 (the default) or as fer's half-precision
 * extension (-half), which halves the size of the shipped large models. The
 * cfg checks the layout. */
#include "cli.h"

static int convert_run(cli *c)
{
    int half = args_flag(&c->a, "-half");
    int rc = cli_start(c, 3, 3);
    if (rc) return rc;
    char **argv = c->a.argv;
    if (net_from_cfg(&c->net, argv[1], c->ctx, &c->e)) return cli_error(c);
    if (weights_load(c->net, argv[2], -1, &c->e) || weights_save_as(c->net, argv[3], -1, half, &c->e))
        return cli_error(c);
    printf("wrote %s as %s\n", argv[3], half ? "half precision (fer's extension)" : "float32 (Darknet)");
    return 0;
}

const command cmd_convert = {
    "convert", convert_run, CLI_CTX,
    "usage: fer convert CFG IN OUT [-half]\n",
    "rewrite weights as Darknet float32, or half precision (fer's extension)", NULL,
};
