/* cmd_data.c - `fer data stats [DATA] [-plot [-o FILE.png]]`: images per
 * split and per class; -plot also draws the class distribution (PNG + SVG). */
#include "analysis/analysis.h"
#include "cli.h"
#include "train/train.h"

#include <stdlib.h>
#include <string.h>

static const char holdout_usage[] =
    "usage: fer data holdout IN.csv OUT.csv [-fraction 0.1] [-seed 2026] [-usage Training]\n"
    "  copies a FER-2013 CSV; its -usage rows become 'Holdout' (that fraction of each class,\n"
    "  chosen by a seeded shuffle) or 'Fit' (the rest), for data/fer2013_holdout.data\n";

/* fer data holdout: a validation split held out of Training. */
static int data_holdout(int argc, char **argv)
{
    args a;
    args_init(&a, argc, argv);
    float fraction = args_float(&a, "-fraction", 0.1f);
    int seed = args_int(&a, "-seed", 2026);
    const char *usage = args_str(&a, "-usage", "Training");
    if (args_done(&a)) return cli_fail(&a.err);
    if (a.argc != 3) {
        fputs(holdout_usage, stderr);
        return 2;
    }
    fer_err e;
    int kept, held;
    if (dataset_csv_holdout(a.argv[1], a.argv[2], usage, fraction, (uint64_t)seed, "Fit", "Holdout", &kept, &held, &e))
        return cli_fail(&e);
    printf("wrote %s: %d %s rows -> %d Fit + %d Holdout (fraction %g per class, seed %d)\n", a.argv[2],
           kept + held, usage, kept, held, fraction, seed);
    return 0;
}

int cmd_data(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "holdout")) return data_holdout(argc - 1, argv + 1);
    args a;
    args_init(&a, argc, argv);
    int plot = args_flag(&a, "-plot");
    const char *plot_out = args_str(&a, "-o", NULL);
    if (args_done(&a)) return cli_fail(&a.err);
    if (a.argc < 2 || strcmp(a.argv[1], "stats")) {
        fprintf(stderr, "usage: fer data stats [DATA] [-plot [-o class_distribution.png]]\n");
        return 2;
    }
    if (plot_out && (!plot || !str_ends_with(plot_out, ".png"))) {
        fer_err pe;
        fer_fail(&pe, "-o %s: give -plot and a .png name (the .svg is written beside it)", plot_out);
        return cli_fail(&pe);
    }
    args_init(&a, a.argc - 1, a.argv + 1);
    fer_err e;
    data_cfg d;
    if (cli_data_required(&a, &d, &e)) return cli_fail(&e);
    if (a.argc != 1) {
        fprintf(stderr, "usage: fer data stats [DATA] [-plot [-o class_distribution.png]]\n");
        data_cfg_free(&d);
        return 2;
    }
    const char *split[3] = { "train", "valid", "test" };
    const char *path[3] = { d.train, d.valid, d.test };
    const char *usage[3] = { d.train_usage, d.valid_usage, d.test_usage };
    int *count = calloc((size_t)d.classes, sizeof *count);
    int status = count ? 0 : 1;
    /* for -plot: counts per split that loaded, as chart series */
    bar_chart bc;
    memset(&bc, 0, sizeof bc);
    double *values[3] = { NULL, NULL, NULL };
    char series[3][64];
    const uint32_t colors[3] = { RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44) };
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
        if (plot && (values[bc.n_series] = malloc((size_t)d.classes * sizeof(double)))) {
            for (int k = 0; k < d.classes; k++) values[bc.n_series][k] = count[k];
            snprintf(series[bc.n_series], sizeof series[0], "%s (%d)", split[s], ds.n);
            bc.values[bc.n_series] = values[bc.n_series];
            bc.series_names[bc.n_series] = series[bc.n_series];
            bc.colors[bc.n_series] = colors[s];
            bc.n_series++;
        }
        dataset_free(&ds);
    }
    if (plot && !status) {
        char png[1024], svg[1024];
        const char *base = plot_out ? plot_out : "class_distribution.png";
        snprintf(png, sizeof png, "%s", base);
        snprintf(svg, sizeof svg, "%.*s.svg", (int)strlen(base) - 4, base);
        bc.title = "images per class and split";
        bc.ylabel = "images";
        bc.groups = d.classes;
        bc.group_names = d.names;
        canvas c;
        strbuf b = { 0 };
        if (!bc.n_series) {
            status = 1;
            fprintf(stderr, "fer: -plot: no split could be counted\n");
        } else if (canvas_new(&c, 1200, 560, &e) == 0) {
            bar_chart_draw(&c, 0, 0, 1200, 560, &bc);
            bar_chart_svg(&b, 1000, 420, &bc);
            if (canvas_save_png(&c, png, &e) || sb_save(&b, svg, &e)) status = cli_fail(&e);
            else printf("wrote %s and %s\n", png, svg);
            canvas_free(&c);
            sb_free(&b);
        } else {
            status = cli_fail(&e);
        }
    }
    for (int s = 0; s < 3; s++) free(values[s]);
    free(count);
    data_cfg_free(&d);
    return status;
}
