/* cmd_darknet_check.c - `fer darknet-check CFG [WEIGHTS]`: what Darknet
 * (pjreddie's and AlexeyAB's) will ignore or read differently in a cfg that
 * fer builds, each with its consequence, so that a fer cfg handed to Darknet
 * means what its author thinks. Exit 0 when Darknet builds the same network
 * and trains it the same way, 1 when something differs. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A [net] key fer reads and Darknet does not, and what that changes. */
static const struct {
    const char *key;
    const char *consequence;
} net_only[] = {
    { "epochs", "Darknet trains until max_batches, which fer derives from epochs" },
    { "optimizer", "Darknet trains plain SGD with momentum (adam=1 asks it for Adam)" },
    { "nesterov", "Darknet's SGD has no Nesterov momentum" },
    { "b1", "Darknet spells Adam's betas B1 and B2" },
    { "b2", "Darknet spells Adam's betas B1 and B2" },
    { "eps", "Darknet's Adam uses its own epsilon" },
    { "min_lr", "Darknet has no floor on the learning rate" },
    { "burn_in_power", "Darknet's burn-in uses power=" },
    { "sgdr_period", "no SGDR schedule in Darknet" },
    { "sgdr_mult", "no SGDR schedule in Darknet" },
    { "plateau_factor", "no plateau schedule in Darknet" },
    { "plateau_patience", "no plateau schedule in Darknet" },
    { "patience", "Darknet has no early stopping" },
    { "label_smoothing", "Darknet spells it label_smooth_eps (AlexeyAB), with a different target" },
    { "bn_momentum", "Darknet's rolling statistics use its fixed momentum" },
    { "class_weights", "Darknet weighs every class equally" },
    { "scale", "Darknet has no zoom jitter under this key" },
    { "translate", "Darknet has no shift jitter under this key" },
    { "erase", "Darknet has no random erasing" },
    { "brightness", "Darknet has no brightness jitter under this key (exposure)" },
    { "contrast", "Darknet has no contrast jitter" },
    { "vflip", "Darknet has no vertical flips" },
    { "clip", "Darknet does not clip gradients for classifiers" },
};

static void report(int *n, const cfg_file *f, int line, const char *what, const char *why)
{
    printf("%s:%d: %s: %s\n", f->path, line, what, why);
    (*n)++;
}

/* The [net] section: keys Darknet does not read, values it reads otherwise. */
static void check_net(const cfg_file *f, cfg_section *s, int *n)
{
    for (int i = 0; i < s->n_options; i++) {
        const cfg_option *o = &s->options[i];
        char what[160];
        snprintf(what, sizeof what, "[net] %s=%s", o->key, o->value);
        for (size_t k = 0; k < sizeof net_only / sizeof net_only[0]; k++)
            if (!strcmp(o->key, net_only[k].key)) report(n, f, o->line, what, net_only[k].consequence);
        if (!strcmp(o->key, "policy") &&
            (!strcmp(o->value, "cosine") || !strcmp(o->value, "sgdr") || !strcmp(o->value, "plateau")))
            report(n, f, o->line, what, "Darknet does not know this policy and trains at a constant rate");
        if (!strcmp(o->key, "flip") && strcmp(o->value, "0") && strcmp(o->value, "1"))
            report(n, f, o->line, what, "AlexeyAB reads flip as an integer: no flips at all");
    }
    int crop = 0, w = 0, h = 0;
    fer_err e;
    cfg_int(f, s, "crop", 0, &crop, &e);
    cfg_int(f, s, "width", 0, &w, &e);
    cfg_int(f, s, "height", 0, &h, &e);
    if (crop > 0 && w > 0 && h > 0) {
        char what[64], why[256];
        snprintf(what, sizeof what, "[net] crop=%d", crop);
        snprintf(why, sizeof why, "Darknet ignores it and builds a %dx%d input: the first dense layer gets %.2fx the "
                 "inputs, so fer's weights do not fit (a [crop] layer says it in Darknet's terms)", w, h,
                 (double)w * h / ((double)crop * crop));
        report(n, f, cfg_line(s, "crop"), what, why);
    }
}

/* The layers: keys fer reads that Darknet drops, sections Darknet lacks. */
static void check_layer(const cfg_file *f, cfg_section *s, int *n)
{
    char what[160];
    if (!strcmp(s->name, "local_avgpool")) {
        snprintf(what, sizeof what, "[%s]", s->name);
        report(n, f, s->line, what, "pjreddie's Darknet aborts on it; AlexeyAB's has it");
    }
    for (int i = 0; i < s->n_options; i++) {
        const cfg_option *o = &s->options[i];
        if (!strcmp(o->key, "dilation") && atoi(o->value) > 1) {
            snprintf(what, sizeof what, "[%s] %s=%s", s->name, o->key, o->value);
            report(n, f, o->line, what,
                   "pjreddie's Darknet ignores it and convolves undilated (same shapes and weights, other "
                   "outputs); AlexeyAB's computes it as fer does");
        }
        if (strcmp(o->key, "size_h") && strcmp(o->key, "size_w")) continue;
        snprintf(what, sizeof what, "[%s] %s=%s", s->name, o->key, o->value);
        report(n, f, o->line, what, "Darknet has square kernels only: it builds size x size here");
    }
}

/* A weights file in fer's half-precision layout: Darknet reads it as float32. */
static void check_weights(const char *path, int *n)
{
    FILE *fp = fopen(path, "rb");
    int32_t hdr[3] = { 0, 0, 0 };
    if (!fp) return;
    size_t got = fread(hdr, sizeof hdr[0], 3, fp);
    fclose(fp);
    if (got == 3 && hdr[2] == FER_HALF_REVISION) {
        printf("%s: half precision (fer's extension): Darknet and OpenCV read it as float32 and compute NaN or "
               "1/7 everywhere; convert it first: fer convert CFG %s OUT.weights\n", path, path);
        (*n)++;
    }
}

static int darknet_check_run(cli *c)
{
    int rc = cli_start(c, 1, 2);
    if (rc) return rc;
    cfg_file f;
    if (cfg_read(&f, c->a.argv[1], &c->e)) return cli_error(c);
    int n = 0;
    for (int i = 0; i < f.n_sections; i++) {
        cfg_section *s = &f.sections[i];
        if (!strcmp(s->name, "net") || !strcmp(s->name, "network")) check_net(&f, s, &n);
        else check_layer(&f, s, &n);
    }
    if (c->a.argc == 3) check_weights(c->a.argv[2], &n);
    cfg_free(&f);
    if (n) printf("%d thing%s Darknet reads otherwise\n", n, n == 1 ? "" : "s");
    else printf("%s: Darknet builds and trains this network as fer does\n", c->a.argv[1]);
    return n ? 1 : 0;
}

const command cmd_darknet_check = {
    "darknet-check", darknet_check_run, 0,
    "usage: fer darknet-check CFG [WEIGHTS]\n"
    "  every key and section of CFG that Darknet ignores or reads differently, with the consequence;\n"
    "  WEIGHTS: whether Darknet can read the file. Exit 1 when anything differs.\n",
    "what Darknet reads differently in a cfg (and weights file)", NULL,
};
