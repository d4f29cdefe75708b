/* cmd_data.c - `fer data stats [DATA]`: images per split and per class. */
#include "cli.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>

int cmd_data(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    if (args_done(&a)) return cli_fail(&a.err);
    if (a.argc < 2 || strcmp(a.argv[1], "stats")) {
        fprintf(stderr, "usage: fer data stats [DATA]\n");
        return 2;
    }
    args_init(&a, a.argc - 1, a.argv + 1);
    fer_err e;
    data_cfg d;
    int explicit = a.argc > 1 && ends_with(a.argv[1], ".data");
    if (cli_data(&a, &d, &e)) return cli_fail(&e);
    if (!explicit && !d.names) {
        fer_fail(&e, "%s: not found (run from the fer folder, or give a .data file)", FER_DEFAULT_DATA);
        return cli_fail(&e);
    }
    if (a.argc != 1) {
        fprintf(stderr, "usage: fer data stats [DATA]\n");
        data_cfg_free(&d);
        return 2;
    }
    const char *split[3] = { "train", "valid", "test" };
    const char *path[3] = { d.train, d.valid, d.test };
    const char *usage[3] = { d.train_usage, d.valid_usage, d.test_usage };
    int *count = calloc((size_t)d.classes, sizeof *count);
    int status = count ? 0 : 1;
    printf("%-8s %-12s %8s\n", "split", "class", "images");
    for (int s = 0; s < 3 && count; s++) {
        dataset ds;
        if (!path[s][0]) {
            printf("%-8s (no path in %s)\n", split[s], d.path);
            continue;
        }
        /* 8x8 is enough to count: the pixels are not used */
        if (dataset_load(&ds, path[s], usage[s], &d, 8, 8, 1, &e)) {
            printf("%-8s (not available: %s)\n", split[s], e.msg);
            continue;
        }
        dataset_class_counts(&ds, count);
        for (int k = 0; k < d.classes; k++) printf("%-8s %-12s %8d\n", split[s], d.names[k], count[k]);
        printf("%-8s %-12s %8d\n", split[s], "total", ds.n);
        dataset_free(&ds);
    }
    free(count);
    data_cfg_free(&d);
    return status;
}
