/* darknet_keys.c - Darknet keys that fer accepts (so Darknet's cfgs load)
 * without doing what they ask: AlexeyAB's augmentation and training keys in
 * [net], and the keys Darknet reads in every layer section (xnor, dontload,
 * ...). Each gets a warning that says what training (or loading) here will
 * NOT do; never a silently different run. */
#include "engine.h"

#include <math.h>
#include <string.h>

/* [net] keys: Darknet does nothing at the `neutral` value (NAN: the key
 * always acts when given). */
static const struct {
    const char *key;
    float neutral;
    const char *what;
} net_keys[] = {
    { "saturation", 1, "jitters each image's saturation" },
    { "exposure", 1, "jitters each image's exposure" },
    { "hue", 0, "shifts each image's hue at random" },
    { "aspect", 1, "changes each image's aspect ratio at random" },
    { "min_crop", NAN, "resizes each image to a random size in [min_crop, max_crop] before cropping" },
    { "max_crop", NAN, "resizes each image to a random size in [min_crop, max_crop] before cropping" },
    { "mosaic", 0, "combines 4 images into one (mosaic)" },
    { "blur", 0, "blurs images at random" },
    { "gaussian_noise", 0, "adds Gaussian noise to the images" },
    { "letter_box", 0, "letterboxes the images (keeps their aspect ratio)" },
    { "mosaic_bound", 0, "bounds the mosaic's pieces" },
    { "adversarial_lr", 0, "trains on adversarial images" },
    { "attention", 0, "reweights the images by the network's attention" },
    { "contrastive", 0, "adds a contrastive loss" },
    { "contrastive_jit_flip", 0, "flips the contrastive pairs" },
    { "contrastive_color", 0, "color-jitters the contrastive pairs" },
    { "unsupervised", 0, "trains without labels (contrastive)" },
    { "ema_alpha", 0, "keeps an exponential moving average of the weights" },
};

/* Per-layer keys (Darknet reads them in every section): 0 does nothing. */
static const struct {
    const char *key;
    const char *what;
} layer_keys[] = {
    { "xnor", "Darknet binarizes this layer's inputs and weights (XNOR-net); fer computes it in full precision, "
              "in training and at inference" },
    { "binary", "Darknet binarizes this layer's weights; fer computes it in full precision, in training and at "
                "inference" },
    { "dontload", "Darknet skips this layer's tensors when it loads weights; fer reads them (a file without them "
                  "will not fit)" },
    { "dontloadscales", "Darknet skips this layer's batch-norm scales and statistics when it loads weights; fer "
                        "reads them" },
    { "onlyforward", "Darknet's backward pass skips this layer; training here will NOT (fer's are freeze=1 and "
                     "stopbackward=1)" },
    { "dont_update", "Darknet does not update this layer's weights; training here will NOT leave them (fer's is "
                     "freeze=1)" },
    { "burnin_update", "Darknet updates this layer only during burn-in; training here will NOT" },
    { "train_only_bn", "Darknet trains only the batch-norm parameters of this and the earlier layers; training "
                       "here will NOT" },
};

/* The index of key in a table of n entries with a `key` member, or -1. */
#define FIND_KEY(table, name, out)                                                 \
    do {                                                                           \
        (out) = -1;                                                                \
        for (size_t k_ = 0; k_ < sizeof(table) / sizeof(table)[0]; k_++)          \
            if (!strcmp((table)[k_].key, (name))) { (out) = (int)k_; break; }      \
    } while (0)

int darknet_net_keys(const cfg_file *f, cfg_section *s, const log_hook *log, fer_err *e)
{
    for (int i = 0; i < s->n_options; i++) {   /* in the file's order */
        cfg_option *o = &s->options[i];
        int k;
        FIND_KEY(net_keys, o->key, k);
        if (k < 0) continue;
        float v;
        if (cfg_float(f, s, o->key, 0, &v, e)) return -1;
        if (v == net_keys[k].neutral) {
            o->used = 0;   /* reported as unused, as before */
            continue;
        }
        cfg_warn(f, log, o->line, "[net] %s=%s: Darknet's training %s; training here will NOT", o->key, o->value,
                 net_keys[k].what);
    }
    return 0;
}

int darknet_layer_keys(const cfg_file *f, cfg_section *s, const log_hook *log, fer_err *e)
{
    for (int i = 0; i < s->n_options; i++) {
        cfg_option *o = &s->options[i];
        int k;
        FIND_KEY(layer_keys, o->key, k);
        if (k < 0 || o->used) continue;   /* not Darknet's, or read by the layer type itself */
        int v;
        if (cfg_int(f, s, o->key, 0, &v, e)) return -1;
        if (v) cfg_warn(f, log, o->line, "[%s] %s=%s: %s", s->name, o->key, o->value, layer_keys[k].what);
    }
    return 0;
}
