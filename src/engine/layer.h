/* layer.h - the common layer header: type, shapes, outputs and gradients,
 * the vtable each layer type fills in, and parameter slices. */
#ifndef FER_ENGINE_LAYER_H
#define FER_ENGINE_LAYER_H

#include "activation.h"
#include "cfg.h"
#include "context.h"

/* ---- layers -------------------------------------------------------------- */

typedef enum { INIT_ZERO, INIT_ONE, INIT_HE, INIT_PRELU } param_init;

/* One parameter tensor of a layer, in .weights order. data and grad point into
 * the network's single parameter and gradient blocks. */
typedef struct param {
    const char *name;
    size_t n;
    float *data;      /* [n] */
    float *grad;      /* [n] dLoss/d data (zero for non-trainable state) */
    int trainable;    /* rolling statistics are state, not trained */
    int decay;        /* weight decay applies (weights only) */
    int darknet;      /* stored in Darknet's layout (1) or a fer extension (0) */
    param_init init;
    int fan_in;       /* for INIT_HE */
} param;

/* The window a sliding layer (convolutional, maxpool, local_avgpool) moves
 * over its input: kernel height and width, vertical and horizontal stride.
 * Set by the layer's make, read by the summary; all 0 for other layers. */
typedef struct layer_window { int kh, kw, sh, sw, dilation; } layer_window;   /* dilation 0: none */

#define FER_MAX_PARAMS 8
#define FER_MAX_SOURCES 16

typedef struct network network;
typedef struct layer layer;

typedef struct layer_type {
    const char *name;
    const char *const *keys;   /* every key the section accepts, NULL-terminated */
    /* Reads the section's keys, sets the output shape, declares parameters
     * and buffer sizes. net->layers[0 .. l->index-1] are already made. */
    int (*make)(layer *l, const cfg_file *f, cfg_section *s, network *net, fer_err *e);
    /* out = f(in); in is [batch, c, h, w], l->output is [batch, out_c, out_h, out_w]. */
    void (*forward)(layer *l, network *net, const float *in);
    /* Accumulates parameter gradients and, when din != NULL, dLoss/d in. */
    void (*backward)(layer *l, network *net, const float *in, float *din);
    void (*free)(layer *l);
} layer_type;

struct layer {
    const layer_type *type;
    int index, line;
    int batch;
    int c, h, w;                /* input shape per sample */
    int out_c, out_h, out_w;    /* output shape per sample */
    int inputs, outputs;        /* c*h*w, out_c*out_h*out_w */
    float *output;              /* [batch, out_c, out_h, out_w] */
    float *doutput;             /* [batch, out_c, out_h, out_w] dLoss/d output; NULL without gradients */
    activation act;
    int n_params;
    param params[FER_MAX_PARAMS];
    int n_sources;
    int sources[FER_MAX_SOURCES];   /* absolute layer indices (route, shortcut) */
    /* Scratch that lives from forward to backward: batch*extra_per_sample +
     * extra_fixed floats, carved up by the layer itself. */
    size_t extra_per_sample, extra_fixed;
    float *extra;
    /* Scratch used only inside one forward/backward call, shared by all
     * layers: workspace_per_thread floats for each thread. */
    size_t workspace_per_thread;
    double flops;               /* forward floating-point operations per sample */
    layer_window window;        /* kernel and stride of a sliding layer */
    int stopbackward;           /* no gradient flows below this layer */
    int frozen;                 /* parameters are not updated; runs in inference mode */
    void *priv;                 /* layer-type-specific settings */
};

/* Declares parameter tensor i of l. */
param *layer_add_param(layer *l, const char *name, size_t n, int trainable,
                       int decay, param_init init, int fan_in, fer_err *e);

/* Finds the layer type for a section name (aliases included); NULL if none. */
const layer_type *layer_type_find(const char *name);
/* All section names the registry knows, for help text. */
void layer_type_list(FILE *out);

#endif
