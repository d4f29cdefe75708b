/* cmd_average.c - `fer average`: one network from the element-wise mean of
 * several weight files of one cfg (e.g. the last epochs of a run: stochastic
 * weight averaging), then, when the network has batch norm, its rolling
 * statistics re-estimated on the training split. */
#include "analysis/analysis.h"
#include "cli.h"
#include "train/train.h"

#include <stdio.h>

static int average_run(cli *c)
{
    args *a = &c->a;
    int bn = args_int(a, "-bn", -1);
    int seed = args_int(a, "-seed", 1);
    int half = args_flag(a, "-half");
    int clean = !args_flag(a, "-bn-augment");
    int dropout = !args_flag(a, "-bn-no-dropout");
    int rc = cli_start(c, 3, -1);
    if (rc) return rc;
    fer_err *e = &c->e;
    data_cfg *d = &c->d;
    if (bn < -1) {
        fer_fail(e, "-bn %d: expected a number of images >= 0 (-1 or absent: the whole training split)", bn);
        return cli_error(c);
    }
    const char *cfg = a->argv[1], *outpath = a->argv[2];
    int n = a->argc - 3;
    if (net_from_cfg(&c->net, cfg, c->ctx, e) || weights_average(c->net, (const char *const *)(a->argv + 3), n, e))
        return cli_error(c);
    network *net = c->net;
    printf("averaged %d weights file%s for %s\n", n, n == 1 ? "" : "s", cfg);
    if (bn != 0 && net_has_batchnorm(net)) {
        const char *path, *usage;
        if (!d->names) {
            fer_fail(e, "%s: no data file to re-estimate the batch-norm statistics from (give DATA, or -bn 0 to keep "
                        "the averaged statistics)", FER_DEFAULT_DATA);
            return cli_error(c);
        }
        if (data_split(d, "train", &path, &usage, e)) return cli_error(c);
        const net_options *o = &net->opt;
        dataset ds = { 0 };
        int batches = 0;
        rc = dataset_load(&ds, path, usage, d, o->width, o->height, o->channels, e) ||
             bn_recalibrate(net, &ds, bn, (uint64_t)seed, clean, dropout, &batches, e);
        dataset_free(&ds);
        if (rc) return cli_error(c);
        printf("batch-norm statistics: the mean over %d training batches of %d images from %s (%s views, dropout %s)\n",
               batches, net->batch, path, clean ? "test-time" : "augmented", dropout ? "on" : "off");
    } else if (bn != 0) {
        printf("no batch norm: nothing to re-estimate\n");
    } else {
        printf("batch-norm statistics: the average of the files' (-bn 0)\n");
    }
    if (weights_save_as(net, outpath, -1, half, e)) return cli_error(c);
    printf("wrote %s as %s\n", outpath, half ? "half precision (fer's extension)" : "float32 (Darknet)");
    return 0;
}

const command cmd_average = {
    "average", average_run, CLI_CTX | CLI_DATA,
    "usage: fer average [DATA] CFG OUT WEIGHTS1 [WEIGHTS2 ...] [-bn N] [-bn-augment] [-bn-no-dropout]\n"
    "                  [-seed S] [-half]\n"
    "  OUT = the element-wise mean of the weights files (all for CFG's layers).\n"
    "  Batch-norm rolling statistics are then re-estimated: the mean batch statistic over\n"
    "  -bn N training images (default: the whole training split; 0 keeps the averaged\n"
    "  statistics), in training mode (dropout on) and mini-batches of [net] batch, each image\n"
    "  in its test-time view (center crop when CFG crops), or augmented as CFG trains with\n"
    "  -bn-augment; -bn-no-dropout turns dropout off; -seed picks the images.\n"
    "  -half writes fer's half-precision file.\n",
    "mean of weight files (SWA), batch-norm statistics re-estimated", NULL,
};
