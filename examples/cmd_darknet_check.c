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
    { "mixup", "pjreddie's Darknet does not mix images; AlexeyAB's mixes half of the mini-batches, all their images" },
    { "cutmix", "pjreddie's Darknet does not mix images; AlexeyAB's mixes half of the mini-batches, all their images" },
    { "mix_prob", "Darknet mixes half of the mini-batches, whatever this says" },
    { "mixup_alpha", "Darknet's mixup always blends half and half" },
    { "cutmix_alpha", "Darknet's CutMix box always has sides of 30-80% of the image's" },
    { "class_balance", "Darknet draws the training images uniformly, whatever their class" },
};

/* Activations some Darknet lacks: it computes ReLU in their place. */
static const struct {
    const char *name;
    const char *consequence;
} activation_gaps[] = {
    { "relu6", "pjreddie's Darknet does not know it and computes ReLU here; AlexeyAB's has it" },
    { "swish", "pjreddie's Darknet does not know it and computes ReLU here; AlexeyAB's has it" },
    { "mish", "pjreddie's Darknet does not know it and computes ReLU here; AlexeyAB's has it" },
    { "hard_mish", "pjreddie's Darknet does not know it and computes ReLU here; AlexeyAB's has it" },
    { "gelu", "pjreddie's Darknet does not know it and computes ReLU here; AlexeyAB's computes its tanh "
              "approximation (fer: the exact erf form)" },
    { "sigmoid", "fer's spelling of logistic: both Darknets compute ReLU here (write activation=logistic)" },
    { "prelu", "fer's: both Darknets compute ReLU here, and the slopes fer stores make the weights file not fit" },
};

/* Sections only AlexeyAB's Darknet has. */
static const char *const alexeyab_sections[] = { "local_avgpool", "local_avg", "scale_channels", "reorg3d" };

static void report(int *n, const cfg_file *f, int line, const char *what, const char *why)
{
    printf("%s:%d: %s: %s\n", f->path, line, what, why);
    (*n)++;
}

/* The value of key in s, or NULL. */
static const char *option(const cfg_section *s, const char *key)
{
    for (int i = 0; i < s->n_options; i++)
        if (!strcmp(s->options[i].key, key)) return s->options[i].value;
    return NULL;
}

/* The [net] section: keys Darknet does not read, values it reads otherwise. */
static void check_net(const cfg_file *f, cfg_section *s, int *n)
{
    const char *policy = option(s, "policy");
    int stepped = policy && !strcmp(policy, "step");   /* scale is then the step factor (steps: scales) */
    for (int i = 0; i < s->n_options; i++) {
        const cfg_option *o = &s->options[i];
        char what[160];
        snprintf(what, sizeof what, "[net] %s=%s", o->key, o->value);
        for (size_t k = 0; k < sizeof net_only / sizeof net_only[0]; k++)
            if (!strcmp(o->key, net_only[k].key) && !(stepped && !strcmp(o->key, "scale")))   /* the step factor */
                report(n, f, o->line, what, net_only[k].consequence);
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
    for (size_t k = 0; k < sizeof alexeyab_sections / sizeof alexeyab_sections[0]; k++)
        if (!strcmp(s->name, alexeyab_sections[k])) {
            snprintf(what, sizeof what, "[%s]", s->name);
            report(n, f, s->line, what, "pjreddie's Darknet aborts on it; AlexeyAB's has it");
        }
    for (int i = 0; i < s->n_options; i++) {
        const cfg_option *o = &s->options[i];
        if (!strcmp(o->key, "activation"))
            for (size_t k = 0; k < sizeof activation_gaps / sizeof activation_gaps[0]; k++)
                if (!strcmp(o->value, activation_gaps[k].name)) {
                    snprintf(what, sizeof what, "[%s] activation=%s", s->name, o->value);
                    report(n, f, o->line, what, activation_gaps[k].consequence);
                }
        const char *size = option(s, "size");
        if (!strcmp(o->key, "dilation") && atoi(o->value) > 1 && !(size && atoi(size) == 1)) {
            snprintf(what, sizeof what, "[%s] %s=%s", s->name, o->key, o->value);
            report(n, f, o->line, what,
                   "pjreddie's Darknet ignores it and convolves undilated (same shapes and weights, other "
                   "outputs); AlexeyAB's computes it as fer does");
        }
        if (!strcmp(s->name, "shortcut") && !strcmp(o->key, "from") && strchr(o->value, ',')) {
            snprintf(what, sizeof what, "[%s] from=%s", s->name, o->value);
            report(n, f, o->line, what,
                   "pjreddie's Darknet reads only the first layer (atoi); AlexeyAB's adds them all");
        }
        if (!strcmp(s->name, "shortcut") && !strcmp(o->key, "weights_type") && strcmp(o->value, "none")) {
            snprintf(what, sizeof what, "[%s] weights_type=%s", s->name, o->value);
            report(n, f, o->line, what, "pjreddie's Darknet has no shortcut weights: the weights file will not fit "
                   "there; AlexeyAB's has them");
        }
        if (!strcmp(s->name, "route") && !strcmp(o->key, "groups") && atoi(o->value) > 1) {
            snprintf(what, sizeof what, "[%s] groups=%s", s->name, o->value);
            report(n, f, o->line, what, "pjreddie's Darknet ignores it and routes every channel (other shapes "
                   "downstream); AlexeyAB's takes the group");
        }
        if (strcmp(o->key, "size_h") && strcmp(o->key, "size_w")) continue;
        snprintf(what, sizeof what, "[%s] %s=%s", s->name, o->key, o->value);
        report(n, f, o->line, what, "Darknet has square kernels only: it builds size x size here");
    }
}

/* The built network: shortcuts between maps of different sizes, which
 * pjreddie's Darknet samples as fer does and AlexeyAB's refuses. */
static void check_shortcuts(const cfg_file *f, const network *net, int *n)
{
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->layers[i];
        if (strcmp(l->type->name, "shortcut")) continue;
        for (int k = 0; k < l->n_sources; k++) {
            const layer *src = &net->layers[l->sources[k]];
            if (src->out_w == l->w && src->out_h == l->h) continue;
            char what[160], why[256];
            snprintf(what, sizeof what, "[shortcut] layer %d from layer %d", i, l->sources[k]);
            snprintf(why, sizeof why, "adds a %dx%dx%d map to a %dx%dx%d one: pjreddie's Darknet samples the larger "
                     "as fer does; AlexeyAB's asserts equal sizes and aborts", src->out_w, src->out_h, src->out_c,
                     l->w, l->h, l->c);
            report(n, f, l->line, what, why);
        }
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
    network *net = NULL;
    if (net_shapes_from_cfg(&net, c->a.argv[1], c->ctx, &c->e)) {   /* shapes are all it checks */
        cfg_free(&f);
        return cli_error(c);
    }
    check_shortcuts(&f, net, &n);
    net_free(net);
    if (c->a.argc == 3) check_weights(c->a.argv[2], &n);
    cfg_free(&f);
    if (n) printf("%d thing%s Darknet reads otherwise\n", n, n == 1 ? "" : "s");
    else printf("%s: Darknet builds and trains this network as fer does\n", c->a.argv[1]);
    return n ? 1 : 0;
}

const command cmd_darknet_check = {
    "darknet-check", darknet_check_run, CLI_CTX,
    "usage: fer darknet-check CFG [WEIGHTS]\n"
    "  every key and section of CFG that Darknet ignores or reads differently, with the consequence;\n"
    "  WEIGHTS: whether Darknet can read the file. Exit 1 when anything differs.\n",
    "what Darknet reads differently in a cfg (and weights file)", NULL,
};
