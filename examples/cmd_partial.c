/* cmd_partial.c - `fer partial CFG WEIGHTS OUT N`: the first N layers'
 * weights, for transfer learning. */
#include "cli.h"

#include <stdlib.h>

static int partial_run(cli *c)
{
    int rc = cli_start(c, 4, 4);
    if (rc) return rc;
    char **argv = c->a.argv;
    char *end;
    long n = strtol(argv[4], &end, 10);
    if (*end || n < 0) {
        fprintf(stderr, "fer partial: N=%s must be a layer count >= 0\n", argv[4]);
        return 2;
    }
    if (net_from_cfg(&c->net, argv[1], c->ctx, &c->e)) return cli_error(c);
    if (n > c->net->n) n = c->net->n;
    if (weights_load(c->net, argv[2], (int)n, &c->e) || weights_save(c->net, argv[3], (int)n, &c->e))
        return cli_error(c);
    printf("wrote the first %ld of %d layers to %s\n", n, c->net->n, argv[3]);
    return 0;
}

const command cmd_partial = {
    "partial", partial_run, CLI_CTX,
    "usage: fer partial CFG WEIGHTS OUT N\n",
    "write the first N layers' weights", NULL,
};
