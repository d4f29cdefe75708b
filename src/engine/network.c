/* network.c - builds a network from a parsed cfg, owns its memory (one block
 * for parameters, one for gradients, one for activations, one workspace),
 * and runs forward and backward passes over the layers in order. */
#include "engine.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- [net] options -------------------------------------------------------- */

typedef enum {
    NK_INT, NK_FLOAT,           /* a number, with a default */
    NK_INT_LIST, NK_FLOAT_LIST, /* comma-separated, at most FER_MAX_STEPS; the count goes to count_at */
    NK_TEXT,                    /* a string of fewer than cap bytes; default "" */
    NK_CHOICE,                  /* one of names: the field (an enum) gets its index; absent: unchanged */
    NK_DARKNET,                 /* accepted for compatibility with Darknet; fer does not use it */
    NK_BY_POLICY,               /* read after the policy is known (read_policy_keys) */
} net_key_kind;

/* One [net] key: where its value goes in net_options. */
typedef struct net_key {
    const char *key;
    net_key_kind kind;
    size_t at;                  /* offsetof the field */
    float def;                  /* NK_INT, NK_FLOAT */
    size_t count_at, cap;       /* lists: offsetof the count; NK_TEXT: the field's size */
    const char *const *names;   /* NK_CHOICE, NULL-terminated */
    const char *alias;          /* AlexeyAB Darknet's spelling of the same key (both at once: an error) */
} net_key;

static const char *const optimizer_names[] = { "sgd", "adam", "adamw", NULL };
/* in lr_policy's order */
static const char *const policy_names[] = {
    "constant", "steps", "poly", "exp", "cosine", "sgdr", "plateau", "step", "sigmoid", "random", NULL,
};
_Static_assert(sizeof(optimizer_kind) == sizeof(int) && sizeof(lr_policy) == sizeof(int),
               "NK_CHOICE stores an int index into the enum field");

#define NET_INT(k, field, d) { .key = k, .kind = NK_INT, .at = offsetof(net_options, field), .def = d }
#define NET_FLOAT(k, field, d) { .key = k, .kind = NK_FLOAT, .at = offsetof(net_options, field), .def = d }
#define NET_LIST(k, kind_, field, count) \
    { .key = k, .kind = kind_, .at = offsetof(net_options, field), .count_at = offsetof(net_options, count) }
#define NET_TEXT(k, field) \
    { .key = k, .kind = NK_TEXT, .at = offsetof(net_options, field), .cap = sizeof(((net_options *)0)->field) }
#define NET_CHOICE(k, field, list) { .key = k, .kind = NK_CHOICE, .at = offsetof(net_options, field), .names = list }
#define NET_DARKNET(k) { .key = k, .kind = NK_DARKNET }
#define NET_ALIAS(k, a, field, d) { .key = k, .kind = NK_FLOAT, .at = offsetof(net_options, field), .def = d, .alias = a }
#define NET_BY_POLICY(k) { .key = k, .kind = NK_BY_POLICY }

/* Every key [net] accepts, in the order they are read (so the first
 * malformed value is the one reported). The choices are read after the
 * numbers are checked (check_net_options). */
static const net_key net_keys[] = {
    NET_INT("width", width, 0), NET_INT("height", height, 0), NET_INT("channels", channels, 0),
    NET_INT("batch", batch, 1), NET_INT("subdivisions", subdivisions, 1),
    NET_FLOAT("learning_rate", learning_rate, 0.001f), NET_FLOAT("momentum", momentum, 0.9f),
    NET_FLOAT("decay", decay, 0.0001f), NET_INT("nesterov", nesterov, 0), NET_INT("adam", adam, 0),
    NET_ALIAS("b1", "B1", beta1, 0.9f), NET_ALIAS("b2", "B2", beta2, 0.999f), NET_FLOAT("eps", epsilon, 1e-8f),
    NET_FLOAT("clip", clip, 0), NET_BY_POLICY("gamma"), NET_FLOAT("power", power, 4),
    NET_INT("max_batches", max_batches, 0), NET_INT("epochs", epochs, 0), NET_INT("burn_in", burn_in, 0),
    NET_FLOAT("burn_in_power", burn_in_power, 4), NET_FLOAT("min_lr", min_lr, 0),
    NET_INT("sgdr_period", sgdr_period, 10), NET_INT("sgdr_mult", sgdr_mult, 2),
    NET_FLOAT("plateau_factor", plateau_factor, 0.5f), NET_INT("plateau_patience", plateau_patience, 5),
    NET_INT("patience", patience, 0), NET_FLOAT("label_smoothing", label_smoothing, 0),
    NET_FLOAT("label_smooth_eps", label_smooth_eps, 0),
    NET_FLOAT("bn_momentum", bn_momentum, 0.01f),
    NET_FLOAT("flip", flip, 0), NET_FLOAT("vflip", vflip, 0), NET_FLOAT("angle", angle, 0),
    NET_BY_POLICY("scale"), NET_BY_POLICY("step"), NET_FLOAT("translate", translate, 0), NET_INT("crop", crop, 0),
    NET_FLOAT("erase", erase, 0), NET_FLOAT("erase_min", erase_min, 0.02f), NET_FLOAT("erase_max", erase_max, 0.2f),
    NET_FLOAT("brightness", brightness, 0), NET_FLOAT("contrast", contrast, 0),
    NET_INT("mixup", mixup, 0), NET_INT("cutmix", cutmix, 0), NET_FLOAT("mix_prob", mix_prob, 0.5f),
    NET_FLOAT("mixup_alpha", mixup_alpha, 0), NET_FLOAT("cutmix_alpha", cutmix_alpha, 0),
    NET_FLOAT("class_balance", class_balance, 0),
    NET_LIST("steps", NK_INT_LIST, steps, n_steps), NET_LIST("scales", NK_FLOAT_LIST, scales, n_scales),
    NET_TEXT("class_weights", class_weights),
    NET_CHOICE("optimizer", optimizer, optimizer_names), NET_CHOICE("policy", policy, policy_names),
    NET_DARKNET("saturation"), NET_DARKNET("exposure"), NET_DARKNET("hue"), NET_DARKNET("aspect"),
    NET_DARKNET("min_crop"), NET_DARKNET("max_crop"), NET_DARKNET("inputs"), NET_DARKNET("max_chart_loss"),
    NET_DARKNET("mosaic"), NET_DARKNET("blur"), NET_DARKNET("track"),
    NET_DARKNET("time_steps"), NET_DARKNET("seed"), NET_DARKNET("gaussian_noise"),
    NET_DARKNET("letter_box"), NET_DARKNET("mosaic_bound"), NET_DARKNET("adversarial_lr"), NET_DARKNET("attention"),
    NET_DARKNET("contrastive"), NET_DARKNET("contrastive_jit_flip"), NET_DARKNET("contrastive_color"),
    NET_DARKNET("unsupervised"), NET_DARKNET("ema_alpha"),
};
#define N_NET_KEYS (sizeof net_keys / sizeof net_keys[0])

/* Reads one key into its field of o. */
static int read_net_key(net_options *o, const net_key *k, const cfg_file *f, cfg_section *s, fer_err *e)
{
    char *field = (char *)o + k->at;
    const char *v;
    switch (k->kind) {
    case NK_INT: return cfg_int(f, s, k->key, (int)k->def, (int *)field, e);
    case NK_FLOAT:
        if (k->alias && cfg_has(s, k->key) && cfg_has(s, k->alias))
            return fer_fail(e, "%s:%d: [net] %s and %s are the same setting (fer's and Darknet's spelling): give one",
                            f->path, cfg_line(s, k->alias), k->key, k->alias);
        return cfg_float(f, s, k->alias && cfg_has(s, k->alias) ? k->alias : k->key, k->def, (float *)field, e);
    case NK_INT_LIST:
        return cfg_int_list(f, s, k->key, (int *)field, FER_MAX_STEPS, (int *)((char *)o + k->count_at), e);
    case NK_FLOAT_LIST:
        return cfg_float_list(f, s, k->key, (float *)field, FER_MAX_STEPS, (int *)((char *)o + k->count_at), e);
    case NK_TEXT:
        v = cfg_str(s, k->key, "");
        if (strlen(v) >= k->cap) return fer_fail(e, "%s:%d: [net] %s: too long", f->path, cfg_line(s, k->key), k->key);
        strcpy(field, v);
        return 0;
    case NK_CHOICE:
        v = cfg_str(s, k->key, NULL);
        if (!v) return 0;
        for (int i = 0; k->names[i]; i++)
            if (!strcmp(v, k->names[i])) {
                memcpy(field, &i, sizeof i);
                return 0;
            }
        char list[256] = "";
        for (int i = 0; k->names[i]; i++) {
            const char *sep = !i ? "" : k->names[i + 1] ? ", " : " or ";
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", sep, k->names[i]);
        }
        return fer_fail(e, "%s:%d: [net] %s=%s: expected %s", f->path, cfg_line(s, k->key), k->key, v, list);
    case NK_DARKNET:
    case NK_BY_POLICY: return 0;
    }
    return 0;
}

/* mixup and CutMix: Darknet's 0/1 switches, fer's probability and ratios. */
static int check_mix_options(const net_options *o, const cfg_file *f, cfg_section *s, fer_err *e)
{
    if (o->mixup != 0 && o->mixup != 1)
        return fer_fail(e, "%s:%d: [net] mixup=%d: expected 0 or 1 (mix_prob sets how often)", f->path,
                        cfg_line(s, "mixup"), o->mixup);
    if (o->cutmix != 0 && o->cutmix != 1)
        return fer_fail(e, "%s:%d: [net] cutmix=%d: expected 0 or 1 (mix_prob sets how often)", f->path,
                        cfg_line(s, "cutmix"), o->cutmix);
    if (!(o->mix_prob >= 0 && o->mix_prob <= 1))
        return fer_fail(e, "%s:%d: [net] mix_prob must be a probability in [0,1]", f->path, cfg_line(s, "mix_prob"));
    /* below 0.001 the Beta draw's logarithms overflow (and the ratio is 0 or 1 anyway) */
    const char *bad = !(o->mixup_alpha == 0 || (o->mixup_alpha >= 0.001f && o->mixup_alpha <= 1000)) ? "mixup_alpha"
                      : !(o->cutmix_alpha == 0 || (o->cutmix_alpha >= 0.001f && o->cutmix_alpha <= 1000)) ? "cutmix_alpha"
                      : NULL;
    if (bad)
        return fer_fail(e, "%s:%d: [net] %s must be 0 (Darknet's fixed ratio) or in [0.001,1000]", f->path,
                        cfg_line(s, bad), bad);
    return 0;
}

/* The ranges the numbers must be in, and how they must agree. */
static int check_net_options(const net_options *o, const cfg_file *f, cfg_section *s, fer_err *e)
{
    int line = s->line;
    if (o->width <= 0 || o->height <= 0 || o->channels <= 0 || o->width > 4096 ||
        o->height > 4096 || o->channels > 64 || (double)o->width * o->height * o->channels > (1 << 26))
        return fer_fail(e, "%s:%d: [net] needs width, height and channels in 1..4096 (channels <= 64, at most 64M values), got %dx%dx%d",
                        f->path, line, o->width, o->height, o->channels);
    if (o->batch < 1 || o->batch > 65536 || o->subdivisions < 1 || o->subdivisions > o->batch)
        return fer_fail(e, "%s:%d: [net] batch=%d subdivisions=%d: need 1 <= subdivisions <= batch <= 65536",
                        f->path, cfg_line(s, "batch"), o->batch, o->subdivisions);
    if (o->batch % o->subdivisions)
        return fer_fail(e, "%s:%d: [net] batch=%d is not a multiple of subdivisions=%d", f->path,
                        cfg_line(s, "subdivisions"), o->batch, o->subdivisions);
    if (o->n_scales != o->n_steps)
        return fer_fail(e, "%s:%d: [net] steps has %d values but scales has %d", f->path,
                        cfg_line(s, "scales"), o->n_steps, o->n_scales);
    if (o->learning_rate < 0 || o->decay < 0 || o->momentum < 0 || o->momentum >= 1)
        return fer_fail(e, "%s:%d: [net] learning_rate and decay must be >= 0 and momentum in [0,1)",
                        f->path, line);
    if (o->label_smoothing < 0 || o->label_smoothing >= 1)
        return fer_fail(e, "%s:%d: [net] label_smoothing must be in [0,1)", f->path,
                        cfg_line(s, "label_smoothing"));
    if (o->label_smooth_eps < 0 || o->label_smooth_eps >= 1 || (o->label_smooth_eps > 0 && o->label_smoothing > 0))
        return fer_fail(e, "%s:%d: [net] label_smooth_eps (Darknet's: the true class gets 1-eps, each other "
                           "eps/(classes-1)) must be in [0,1) and not given with label_smoothing", f->path,
                        cfg_line(s, "label_smooth_eps"));
    if (o->bn_momentum <= 0 || o->bn_momentum > 1)
        return fer_fail(e, "%s:%d: [net] bn_momentum must be in (0,1]", f->path, cfg_line(s, "bn_momentum"));
    if (o->max_batches < 0 || o->epochs < 0 || o->burn_in < 0 || o->patience < 0 || o->crop < 0 ||
        o->plateau_patience < 0 || o->sgdr_period < 1 || o->sgdr_mult < 1)
        return fer_fail(e, "%s:%d: [net] counts (max_batches, epochs, burn_in, patience, crop, sgdr_period...) must be >= 0",
                        f->path, line);
    float probs[] = { o->flip, o->vflip, o->erase };
    for (int i = 0; i < 3; i++)
        if (probs[i] < 0 || probs[i] > 1)
            return fer_fail(e, "%s:%d: [net] flip, vflip and erase are probabilities in [0,1]", f->path, line);
    /* ranges that keep the warp invertible and the pixels in [0,1] */
    if (o->angle < 0 || o->angle > 180)
        return fer_fail(e, "%s:%d: [net] angle must be in [0,180] degrees", f->path, cfg_line(s, "angle"));
    if (o->scale < 0 || o->scale >= 1)
        return fer_fail(e, "%s:%d: [net] scale must be in [0,1) (the zoom factor is 1 +- scale)", f->path,
                        cfg_line(s, "scale"));
    if (o->translate < 0 || o->translate > 1)
        return fer_fail(e, "%s:%d: [net] translate must be in [0,1] (a fraction of the input)", f->path,
                        cfg_line(s, "translate"));
    if (o->brightness < 0 || o->brightness > 1 || o->contrast < 0 || o->contrast > 1)
        return fer_fail(e, "%s:%d: [net] brightness and contrast must be in [0,1]", f->path,
                        cfg_line(s, o->brightness < 0 || o->brightness > 1 ? "brightness" : "contrast"));
    if (o->erase_min <= 0 || o->erase_min > o->erase_max || o->erase_max > 1)
        return fer_fail(e, "%s:%d: [net] erasing needs 0 < erase_min <= erase_max <= 1 (fractions of the area)",
                        f->path, cfg_line(s, o->erase_min <= 0 || o->erase_min > o->erase_max ? "erase_min" : "erase_max"));
    if (!(o->class_balance >= 0 && o->class_balance <= 1))
        return fer_fail(e, "%s:%d: [net] class_balance must be in [0,1] (0: the classes as they come; 1: each "
                           "class equally often)", f->path, cfg_line(s, "class_balance"));
    if (o->crop > o->width || o->crop > o->height)
        return fer_fail(e, "%s:%d: [net] crop=%d is larger than the input", f->path, cfg_line(s, "crop"), o->crop);
    return check_mix_options(o, f, s, e);
}

/* The keys whose meaning depends on the policy: under policy=step `scale`
 * is the step's factor (Darknet's meaning), not the zoom augmentation;
 * `step` is read by step and sigmoid; sigmoid's `gamma` defaults to 1. */
static int read_policy_keys(net_options *o, const cfg_file *f, cfg_section *s, fer_err *e)
{
    const char *name = cfg_str(s, "policy", "constant");
    int step = !strcmp(name, "step"), sig = !strcmp(name, "sigmoid");
    if (cfg_float(f, s, "gamma", sig ? 1.0f : 0.1f, &o->gamma, e)) return -1;
    if (step ? cfg_float(f, s, "scale", 1, &o->step_scale, e) : cfg_float(f, s, "scale", 0, &o->scale, e)) return -1;
    o->step = 1;
    if ((step || sig) && cfg_int(f, s, "step", 1, &o->step, e)) return -1;
    if ((step || sig) && o->step < 1)
        return fer_fail(e, "%s:%d: [net] step=%d: must be >= 1", f->path, cfg_line(s, "step"), o->step);
    return 0;
}

/* Reads and checks the [net] section; a key outside net_keys is an error,
 * a Darknet key fer does not use a warning (to log). */
static int parse_net_options(net_options *o, const cfg_file *f, cfg_section *s, const log_hook *log, fer_err *e)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < N_NET_KEYS; i++)
        if (net_keys[i].kind != NK_CHOICE && read_net_key(o, &net_keys[i], f, s, e)) return -1;
    if (read_policy_keys(o, f, s, e) || check_net_options(o, f, s, e)) return -1;
    if (o->flip == 1.0f) o->flip = 0.5f;   /* Darknet's flip=1 means a random flip */
    o->optimizer = o->adam ? OPT_ADAM : OPT_SGD;
    for (size_t i = 0; i < N_NET_KEYS; i++)
        if (net_keys[i].kind == NK_CHOICE && read_net_key(o, &net_keys[i], f, s, e)) return -1;
    const char *known[2 * N_NET_KEYS + 1];
    size_t n = 0;
    for (size_t i = 0; i < N_NET_KEYS; i++) {
        known[n++] = net_keys[i].key;
        if (net_keys[i].alias) known[n++] = net_keys[i].alias;
    }
    known[n] = NULL;
    return darknet_net_keys(f, s, log, e) || cfg_check_keys(f, s, known, log, e) ? -1 : 0;
}

param *layer_add_param(layer *l, const char *name, size_t n, int trainable, int decay,
                       param_init init, int fan_in, fer_err *e)
{
    if (l->n_params >= FER_MAX_PARAMS) {
        fer_fail(e, "layer %d: too many parameter tensors", l->index);
        return NULL;
    }
    param *p = &l->params[l->n_params++];
    memset(p, 0, sizeof *p);
    p->name = name;
    p->n = n;
    p->trainable = trainable;
    p->decay = decay;
    p->darknet = 1;
    p->init = init;
    p->fan_in = fan_in;
    return p;
}

static int make_layers(network *net, cfg_file *cfg, fer_err *e)
{
    net->n = cfg->n_sections - 1;
    if (net->n < 1) return fer_fail(e, "%s: no layers after [net]", cfg->path);
    net->layers = calloc((size_t)net->n, sizeof *net->layers);
    if (!net->layers) return fer_fail(e, "out of memory");
    int c = net->opt.channels, h = net->opt.height, w = net->opt.width;
    if (net->opt.crop) h = w = net->opt.crop;
    for (int i = 0; i < net->n; i++) {
        cfg_section *s = &cfg->sections[i + 1];
        layer *l = &net->layers[i];
        l->index = i;
        l->line = s->line;
        l->c = c;
        l->h = h;
        l->w = w;
        l->inputs = c * h * w;
        l->act = ACT_LINEAR;
        const layer_type *t = layer_type_find(s->name);
        if (!t) {
            return fer_fail(e, "%s:%d: unknown section [%.64s]%s", cfg->path, s->line, s->name,
                            !strcmp(s->name, "net") || !strcmp(s->name, "network")
                                ? " (only the first section may be [net])" : "");
        }
        l->type = t;
        if (cfg_int(cfg, s, "stopbackward", 0, &l->stopbackward, e)) return -1;
        if (cfg_int(cfg, s, "freeze", 0, &l->frozen, e)) return -1;
        net->n = i + 1;   /* so that a failure frees only made layers */
        if (t->make(l, cfg, s, net, e)) return -1;
        net->n = cfg->n_sections - 1;
        if (darknet_layer_keys(cfg, s, &net->ctx->log, e) || cfg_check_keys(cfg, s, t->keys, &net->ctx->log, e))
            return -1;
        if (l->out_c <= 0 || l->out_h <= 0 || l->out_w <= 0)
            return fer_fail(e, "%s:%d: [%s] gives an empty output %dx%dx%d from input %dx%dx%d",
                            cfg->path, s->line, s->name, l->out_w, l->out_h, l->out_c, w, h, c);
        if ((double)l->out_c * l->out_h * l->out_w > 1e8)
            return fer_fail(e, "%s:%d: [%s] output %dx%dx%d is too large", cfg->path, s->line,
                            s->name, l->out_w, l->out_h, l->out_c);
        l->outputs = l->out_c * l->out_h * l->out_w;
        c = l->out_c;
        h = l->out_h;
        w = l->out_w;
    }
    return 0;
}

/* Places every layer's parameters in one block and their gradients in
 * another; with alloc=0 only counts and checks them (a shapes-only net). */
static int bind_params(network *net, int alloc, fer_err *e)
{
    size_t total = 0;
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            size_t n = net->layers[i].params[j].n;
            if (n > ((size_t)1 << 30) || total + n > ((size_t)1 << 30))
                return fer_fail(e, "%s: layer %d has too many parameters", net->cfg_path, i);
            total += n;
        }
    net->n_param_floats = total;
    if (!alloc) return 0;
    net->params = fer_alloc(total, sizeof(float), e);
    if (!net->params) return -1;
    net->grads = fer_alloc(total, sizeof(float), e);
    if (!net->grads) return -1;
    size_t off = 0;
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            param *p = &net->layers[i].params[j];
            p->data = net->params + off;
            p->grad = net->grads + off;
            off += p->n;
        }
    return 0;
}

void net_init_weights(network *net, uint64_t seed)
{
    net->weights_version++;
    rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++) {
            param *p = &net->layers[i].params[j];
            float std = p->fan_in > 0 ? sqrtf(2.0f / (float)p->fan_in) : 0;
            for (size_t k = 0; k < p->n; k++) {
                switch (p->init) {
                case INIT_ZERO: p->data[k] = 0; break;
                case INIT_ONE: p->data[k] = 1; break;
                case INIT_PRELU: p->data[k] = 0.25f; break;
                case INIT_HE: p->data[k] = std * rng_normal(&r); break;
                }
            }
        }
    net->seen = 0;
}

int net_set_batch(network *net, int batch, int grads, fer_err *e)
{
    if (!net->params) return fer_fail(e, "%s: built for its shapes only; it cannot run", net->cfg_path);
    if (batch < 1) return fer_fail(e, "batch must be >= 1");
    size_t total = 0;
    size_t ws = 0;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        total += (size_t)batch * l->outputs * (grads ? 2 : 1);
        total += (size_t)batch * l->extra_per_sample + l->extra_fixed;
        if (l->workspace_per_thread > ws) ws = l->workspace_per_thread;
        total += 16 * 3;   /* keep each buffer 64-byte aligned */
    }
    size_t scratch = 0;
    for (int i = 0; i < net->n; i++)
        if ((size_t)net->layers[i].outputs > scratch) scratch = (size_t)net->layers[i].outputs;
    scratch *= (size_t)batch;
    if (grads) total += scratch + 16;
    total += (size_t)batch * net->inputs * (grads ? 2 : 1) + (size_t)batch * net->classes + 64;
    if (total > ((size_t)1 << 31))
        return fer_fail(e, "%s: batch %d needs %.1f GB of activations (over the 8 GB fer allows); use a smaller batch or subdivisions",
                        net->cfg_path, batch, total * 4.0 / (1 << 30));
    float *block = fer_alloc(total, sizeof(float), e);
    if (!block) return -1;
    int nt = net->ctx->nthreads;
    ws = (ws + 15) & ~(size_t)15;   /* each thread's slice stays 64-byte aligned */
    float *work = fer_alloc(ws * (size_t)nt, sizeof(float), e);
    if (!work) {
        fer_free(block);
        return -1;
    }
    fer_free(net->act_block);
    fer_free(net->workspace);
    net->act_block = block;
    net->act_floats = total;
    net->workspace = work;
    net->workspace_per_thread = ws;
    float *p = block;
#define TAKE(ptr, count) do { ptr = p; p += ((count) + 15) & ~(size_t)15; } while (0)
    TAKE(net->input, (size_t)batch * net->inputs);
    net->dinput = NULL;
    if (grads) TAKE(net->dinput, (size_t)batch * net->inputs);
    TAKE(net->truth, (size_t)batch * net->classes);
    net->scratch = NULL;
    if (grads) TAKE(net->scratch, scratch);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        l->batch = batch;
        TAKE(l->output, (size_t)batch * l->outputs);
        l->doutput = NULL;
        if (grads) TAKE(l->doutput, (size_t)batch * l->outputs);
        l->extra = NULL;
        if (l->extra_per_sample || l->extra_fixed)
            TAKE(l->extra, (size_t)batch * l->extra_per_sample + l->extra_fixed);
    }
#undef TAKE
    net->batch = batch;
    net->grads_enabled = grads;
    net->weights_version++;   /* caches of transformed weights in extra are gone */
    return 0;
}

static int net_build(network **out, cfg_file *cfg, fer_ctx *ctx, int shapes_only, fer_err *e)
{
    *out = NULL;
    network *net = calloc(1, sizeof *net);
    if (!net) return fer_fail(e, "out of memory");
    net->major = 0;
    net->minor = 2;
    net->revision = 5;
    net->cfg_path = strdup(cfg->path);
    if (!net->cfg_path) { free(net); return fer_fail(e, "out of memory"); }
    if (!ctx) {
        if (fer_ctx_new(&ctx, 1, NULL, e)) { net_free(net); return -1; }
        net->own_ctx = 1;
    }
    net->ctx = ctx;
    cfg_report_repeats(cfg, &ctx->log);
    if (cfg->n_sections == 0) {
        net_free(net);
        return fer_fail(e, "%s: empty cfg (no sections)", cfg->path);
    }
    cfg_section *ns = &cfg->sections[0];
    if (strcmp(ns->name, "net") && strcmp(ns->name, "network")) {
        net_free(net);
        return fer_fail(e, "%s:%d: the first section must be [net] or [network], not [%.64s]",
                        cfg->path, ns->line, ns->name);
    }
    if (parse_net_options(&net->opt, cfg, ns, &net->ctx->log, e)) {
        net_free(net);
        return -1;
    }
    int crop = net->opt.crop;
    net->inputs = net->opt.channels * (crop ? crop * crop : net->opt.height * net->opt.width);
    if (make_layers(net, cfg, e) || bind_params(net, !shapes_only, e)) {
        net_free(net);
        return -1;
    }
    net->classes = net->layers[net->n - 1].outputs;
    if (shapes_only) {
        *out = net;
        return 0;
    }
    rng_seed(&net->rng, 0x6665720a);   /* dropout masks; training re-seeds per batch */
    net->loss_layer = -1;
    for (int i = 0; i < net->n; i++)
        if (!strcmp(net->layers[i].type->name, "softmax")) net->loss_layer = i;
    net_init_weights(net, 0);
    if (net_set_batch(net, 1, 0, e)) {
        net_free(net);
        return -1;
    }
    *out = net;
    return 0;
}

int net_from_cfg(network **out, const char *cfg_path, fer_ctx *ctx, fer_err *e)
{
    cfg_file cfg;
    *out = NULL;
    if (cfg_read(&cfg, cfg_path, e)) return -1;
    int rc = net_build(out, &cfg, ctx, 0, e);
    cfg_free(&cfg);
    return rc;
}

int net_shapes_from_cfg(network **out, const char *cfg_path, fer_ctx *ctx, fer_err *e)
{
    cfg_file cfg;
    *out = NULL;
    if (cfg_read(&cfg, cfg_path, e)) return -1;
    int rc = net_build(out, &cfg, ctx, 1, e);
    cfg_free(&cfg);
    return rc;
}

int net_from_text(network **out, const char *name, const char *text, fer_ctx *ctx, fer_err *e)
{
    cfg_file cfg;
    *out = NULL;
    if (cfg_parse_text(&cfg, name, text, e)) return -1;
    int rc = net_build(out, &cfg, ctx, 0, e);
    cfg_free(&cfg);
    return rc;
}

/* A frozen layer runs as at inference time, in training too: its batch norm
 * normalizes with the rolling statistics and leaves them untouched, and a
 * frozen dropout passes its input through. A frozen backbone thus computes
 * the same function while a head is fine-tuned on it as when it was trained
 * (Keras does the same for a non-trainable BatchNormalization). */
static void layer_forward(layer *l, network *net, const float *in)
{
    int train = net->train;
    if (l->frozen) net->train = 0;
    l->type->forward(l, net, in);
    net->train = train;
}

static void layer_backward(layer *l, network *net, const float *in, float *din)
{
    int train = net->train;
    if (l->frozen) net->train = 0;
    l->type->backward(l, net, in, din);
    net->train = train;
}

void net_forward(network *net)
{
    /* a training-mode pass moves batch-norm running statistics: caches
     * derived from them (the folded weights) are stale */
    if (net->train) net->weights_version++;
    const float *in = net->input;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        layer_forward(l, net, in);
        in = l->output;
    }
}

typedef struct zero_job { network *net; int nt; } zero_job;

/* Thread t's share of every layer's output gradient, and of dinput. */
static void zero_part(void *arg, int t)
{
    const zero_job *j = arg;
    network *net = j->net;
    for (int i = -1; i < net->n; i++) {
        float *d = i < 0 ? net->dinput : net->layers[i].doutput;
        size_t n = (size_t)net->batch * (i < 0 ? net->inputs : net->layers[i].outputs);
        size_t lo = n * (size_t)t / (size_t)j->nt, hi = n * (size_t)(t + 1) / (size_t)j->nt;
        memset(d + lo, 0, (hi - lo) * sizeof(float));
    }
}

void net_zero_doutputs(network *net)
{
    if (!net->grads_enabled) return;
    zero_job j = { net, net->ctx ? net->ctx->nthreads : 1 };
    if (j.nt == 1 || net->act_floats < ((size_t)1 << 20)) {
        j.nt = 1;
        zero_part(&j, 0);
    } else {
        thread_pool_run(net->ctx->pool, j.nt, zero_part, &j);
    }
}

typedef struct zero_grads_job { network *net; int nt; } zero_grads_job;

static void zero_grads_part(void *arg, int t)
{
    const zero_grads_job *j = arg;
    size_t n = j->net->n_param_floats, lo = n * (size_t)t / (size_t)j->nt, hi = n * (size_t)(t + 1) / (size_t)j->nt;
    memset(j->net->grads + lo, 0, (hi - lo) * sizeof(float));
}

void net_zero_grads(network *net)
{
    zero_grads_job j = { net, net->ctx ? net->ctx->nthreads : 1 };
    if (j.nt == 1 || net->n_param_floats < ((size_t)1 << 18)) {
        memset(net->grads, 0, net->n_param_floats * sizeof(float));
        return;
    }
    thread_pool_run(net->ctx->pool, j.nt, zero_grads_part, &j);
}

static int layer_trains(const layer *l)
{
    if (l->frozen) return 0;
    for (int j = 0; j < l->n_params; j++)
        if (l->params[j].trainable) return 1;
    return 0;
}

/* The lowest layer a backward pass from `from` must reach: the lowest one
 * with parameters to train (0 when the caller wants dLoss/d input), never
 * below the highest stopbackward layer. Below it nothing is updated and
 * nobody reads a gradient, so the pass ends there and that layer computes no
 * input gradient; from + 1 when nothing trains at all. Callers that read
 * activation gradients (Grad-CAM, the golden tests) set want_dinput, which
 * takes the pass all the way down. Recomputed on every pass (a few compares
 * per layer), so changing `frozen` or want_dinput between passes needs no
 * bookkeeping. */
static int backward_floor(const network *net, int from)
{
    int stop = 0;
    for (int i = from; i > 0; i--)
        if (net->layers[i].stopbackward) {
            stop = i;
            break;
        }
    if (stop == 0 && net->want_dinput) return 0;
    for (int i = stop; i <= from; i++)
        if (layer_trains(&net->layers[i])) return i;
    return from + 1;
}

void net_backward_from(network *net, int from)
{
    int lowest = backward_floor(net, from);
    for (int i = from; i >= lowest; i--) {
        layer *l = &net->layers[i];
        const float *in = i ? net->layers[i - 1].output : net->input;
        float *din = NULL;
        if (!l->stopbackward && i > lowest) din = net->layers[i - 1].doutput;
        else if (!l->stopbackward && i == 0 && net->want_dinput) din = net->dinput;
        layer_backward(l, net, in, din);
        if (net->grads_ready) net->grads_ready(net->dist_user, net, i);
        if (l->stopbackward) break;
    }
}

void net_backward(network *net)
{
    net_zero_doutputs(net);
    net_backward_from(net, net->n - 1);
}

float *net_output(network *net) { return net->layers[net->n - 1].output; }

void net_free(network *net)
{
    if (!net) return;
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->type && l->type->free) l->type->free(l);
        free(l->priv);
    }
    free(net->layers);
    fer_free(net->params);
    fer_free(net->grads);
    fer_free(net->act_block);
    fer_free(net->workspace);
    free(net->class_weight);
    if (net->own_ctx) fer_ctx_free(net->ctx);
    free(net->cfg_path);
    free(net);
}

size_t net_count_params(const network *net, int trainable_only)
{
    size_t n = 0;
    for (int i = 0; i < net->n; i++)
        for (int j = 0; j < net->layers[i].n_params; j++)
            if (!trainable_only || net->layers[i].params[j].trainable) n += net->layers[i].params[j].n;
    return n;
}

double net_flops(const network *net)
{
    double f = 0;
    for (int i = 0; i < net->n; i++) f += net->layers[i].flops;
    return f;
}

/* The layer's activation when its type has one (activation= in its keys). */
static const char *layer_activation(const layer *l)
{
    for (const char *const *k = l->type->keys; k && *k; k++)
        if (!strcmp(*k, "activation")) return activation_name(l->act);
    return "";
}

void net_print_summary(const network *net, FILE *out)
{
    fprintf(out, "layer     type          filters  size/strd     input                output        BFLOPs  activation\n");
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->layers[i];
        char filt[16] = "", size[32] = "";
        const layer_window *k = &l->window;
        if (k->kh) {
            if (!strcmp(l->type->name, "convolutional")) snprintf(filt, sizeof filt, "%d", l->out_c);
            int w;
            if (k->kh == k->kw && k->sh == k->sw) w = snprintf(size, sizeof size, "%d x%2d/%2d", k->kh, k->kw, k->sh);
            else w = snprintf(size, sizeof size, "%dx%d/%dx%d", k->kh, k->kw, k->sh, k->sw);
            if (k->dilation && w > 0 && w < (int)sizeof size)   /* AlexeyAB's notation: taps (d) apart */
                snprintf(size + w, sizeof size - (size_t)w, "(%d)", k->dilation);
        } else if (!strcmp(l->type->name, "connected")) {
            snprintf(filt, sizeof filt, "%d", l->out_c);
        }
        char extra[64] = "";
        if (l->n_sources) {
            int w = snprintf(extra, sizeof extra, " <-");
            for (int s = 0; s < l->n_sources && w < (int)sizeof extra - 8; s++)
                w += snprintf(extra + w, sizeof extra - (size_t)w, " %d", l->sources[s]);
        }
        char row[256];
        int n = snprintf(row, sizeof row, "%5d %-13s %7s  %-10s %4d x%4d x%4d -> %4d x%4d x%4d  %7.4f  %-10s%s%s", i,
                         l->type->name, filt, size, l->w, l->h, l->c, l->out_w, l->out_h, l->out_c, l->flops / 1e9,
                         layer_activation(l), extra, l->frozen ? " (frozen)" : "");
        if (n > (int)sizeof row - 1) n = (int)sizeof row - 1;
        while (n > 0 && row[n - 1] == ' ') n--;   /* no trailing blanks where there is no activation */
        fprintf(out, "%.*s\n", n, row);
    }
    size_t np = net_count_params(net, 1), ns = net_count_params(net, 0) - np;
    if (net->opt.crop)   /* the image is width x height; the network sees a crop x crop window of it */
        fprintf(out, "input: %d x %d x %d (the network sees %d x %d crops)   classes: %d\n", net->opt.width,
                net->opt.height, net->opt.channels, net->opt.crop, net->opt.crop, net->classes);
    else
        fprintf(out, "input: %d x %d x %d   classes: %d\n", net->opt.width, net->opt.height, net->opt.channels,
                net->classes);
    fprintf(out, "parameters: %zu trainable (+ %zu batch-norm running statistics)\n", np, ns);
    fprintf(out, "forward: %.4f GFLOPs per image\n", net_flops(net) / 1e9);
}

static int all_finite(const float *x, size_t n)
{
    float acc = 0;
    for (size_t i = 0; i < n; i++) acc += x[i] * 0.0f;   /* stays 0 unless some x is NaN or Inf */
    return acc == 0;
}

int net_check_output(const network *net, int rows, fer_err *e)
{
    if (rows > net->batch) rows = net->batch;
    const layer *last = &net->layers[net->n - 1];
    if (all_finite(last->output, (size_t)rows * last->outputs)) return 0;
    for (int i = 0; i < net->n; i++) {
        const layer *l = &net->layers[i];
        if (!all_finite(l->output, (size_t)rows * l->outputs))
            return fer_fail(e, "layer %d (%s, cfg line %d) output is not finite (NaN or Inf): the weights or the "
                               "input are corrupt or out of range", i, l->type->name, l->line);
    }
    return fer_fail(e, "the network's output is not finite (NaN or Inf)");
}
