/* cmd_data.c - `fer data stats [DATA] [-plot [-o FILE.png]]`: images per
 * split and per class; -plot also draws the class distribution (PNG + SVG).
 * `fer data holdout`: a validation split held out of Training. */
#include "analysis/analysis.h"
#include "cli.h"
#include "train/train.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int data_holdout(cli *c)
{
    args *a = &c->a;
    float fraction = args_float(a, "-fraction", 0.1f);
    int seed = args_int(a, "-seed", 2026);
    const char *usage = args_str(a, "-usage", "Training");
    int rc = cli_start(c, 2, 2);
    if (rc) return rc;
    int kept, held;
    if (dataset_csv_holdout(a->argv[1], a->argv[2], usage, fraction, (uint64_t)seed, "Fit", "Holdout", &kept, &held,
                            &c->e))
        return cli_error(c);
    printf("wrote %s: %d %s rows -> %d Fit + %d Holdout (fraction %g per class, seed %d)\n", a->argv[2],
           kept + held, usage, kept, held, fraction, seed);
    return 0;
}

/* The counts per split that loaded, as the series of a bar chart. */
typedef struct split_series {
    bar_chart bc;
    double *values[3];
    char names[3][64];
} split_series;

/* Prints the images per split and class; with plot, adds each split counted
 * to s. Returns how many splits name a file or folder that is not there. */
static int print_counts(const data_cfg *d, int *count, int plot, split_series *s)
{
    static const char *const split[3] = { "train", "valid", "test" };
    const char *path[3] = { d->train, d->valid, d->test };
    const char *usage[3] = { d->train_usage, d->valid_usage, d->test_usage };
    const uint32_t colors[3] = { RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44) };
    bar_chart *bc = &s->bc;
    printf("%-8s %-12s %8s\n", "split", "class", "images");
    int missing = 0;
    for (int k = 0; k < 3; k++) {
        dataset ds;
        fer_err e;
        if (!path[k][0]) {
            printf("%-8s (no path in %s)\n", split[k], d->path);
            continue;
        }
        if (access(path[k], R_OK)) {
            printf("%-8s (missing: %s)\n", split[k], path[k]);
            missing++;
            continue;
        }
        /* 8x8 is enough to count: the pixels are not used */
        if (dataset_load(&ds, path[k], usage[k], d, 8, 8, 1, &e)) {
            printf("%-8s (not available: %s)\n", split[k], e.msg);
            continue;
        }
        dataset_class_counts(&ds, count);
        for (int j = 0; j < d->classes; j++) printf("%-8s %-12s %8d\n", split[k], d->names[j], count[j]);
        printf("%-8s %-12s %8d\n", split[k], "total", ds.n);
        int n = bc->n_series;
        if (plot && (s->values[n] = malloc((size_t)d->classes * sizeof(double)))) {
            for (int j = 0; j < d->classes; j++) s->values[n][j] = count[j];
            snprintf(s->names[n], sizeof s->names[n], "%s (%d)", split[k], ds.n);
            bc->values[n] = s->values[n];
            bc->series_names[n] = s->names[n];
            bc->colors[n] = colors[k];
            bc->n_series++;
        }
        dataset_free(&ds);
    }
    return missing;
}

/* The class distribution as base.png and base.svg. */
static int plot_counts(const data_cfg *d, bar_chart *bc, const char *base, fer_err *e)
{
    char svg[1024];
    snprintf(svg, sizeof svg, "%.*s.svg", (int)strlen(base) - 4, base);
    bc->title = "images per class and split";
    bc->ylabel = "images";
    bc->groups = d->classes;
    bc->group_names = d->names;
    if (!bc->n_series) return fer_fail(e, "-plot: no split could be counted");
    canvas cv;
    if (canvas_new(&cv, 1200, 560, e)) return -1;
    strbuf b = { 0 };
    bar_chart_draw(&cv, 0, 0, 1200, 560, bc);
    bar_chart_svg(&b, 1000, 420, bc);
    int rc = canvas_save_png(&cv, base, e) || sb_save(&b, svg, e) ? -1 : 0;
    if (!rc) printf("wrote %s and %s\n", base, svg);
    canvas_free(&cv);
    sb_free(&b);
    return rc;
}

static int data_stats(cli *c)
{
    args *a = &c->a;
    int plot = args_flag(a, "-plot");
    const char *plot_out = args_str(a, "-o", NULL);
    int rc = cli_start(c, 0, 0);
    if (rc) return rc;
    if (plot_out && (!plot || !str_ends_with(plot_out, ".png"))) {
        fer_fail(&c->e, "-o %s: give -plot and a .png name (the .svg is written beside it)", plot_out);
        return cli_error(c);
    }
    int *count = calloc((size_t)c->d.classes, sizeof *count);
    if (!count) return 1;
    split_series s;
    memset(&s, 0, sizeof s);
    if (print_counts(&c->d, count, plot, &s)) {
        fer_fail(&c->e, "%s: some of its data is missing (data/README.md says how to get FER-2013)", c->d.path);
        rc = cli_error(c);
    }
    if (plot && plot_counts(&c->d, &s.bc, plot_out ? plot_out : "class_distribution.png", &c->e)) rc = cli_error(c);
    for (int k = 0; k < 3; k++) free(s.values[k]);
    free(count);
    return rc;
}

static const command data_commands[] = {
    { "stats", data_stats, CLI_DATA_REQUIRED,
      "usage: fer data stats [DATA] [-plot [-o class_distribution.png]]\n"
      "  images per split and class; -plot also draws them (PNG, and SVG beside it)\n",
      "images per split and class", NULL },
    { "holdout", data_holdout, 0,
      "usage: fer data holdout IN.csv OUT.csv [-fraction 0.1] [-seed 2026] [-usage Training]\n"
      "  copies a FER-2013 CSV; its -usage rows become 'Holdout' (that fraction of each class,\n"
      "  chosen by a seeded shuffle) or 'Fit' (the rest), for data/fer2013_holdout.data\n",
      "a validation split held out of Training", NULL },
    { NULL, NULL, 0, NULL, NULL, NULL },
};

const command cmd_data = {
    "data", NULL, 0, NULL, "datasets", data_commands,
};
