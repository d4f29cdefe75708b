/* mismatch.c - when a weights file does not fit a cfg: which cfg it was
 * made for (the cfg of the same name beside the weights' folder, or found
 * the usual ways), the first layer where the two networks differ, and how
 * to fine-tune from the layers that match (fer partial, then -clear). */
#include "train.h"

#include "data/paths.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static size_t layer_values(const layer *l)
{
    size_t n = 0;
    for (int j = 0; j < l->n_params; j++) n += l->params[j].n;
    return n;
}

/* The stem of a weights file without training's suffixes: a/b/shallow_best.weights -> shallow. */
static void weights_stem(const char *path, char *out, size_t cap)
{
    path_stem(path, out, cap);
    static const char *const suffix[] = { "_last", "_best", "_final", "_epoch" };
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char *p = strstr(out, suffix[i]);
        if (p && p != out) *p = 0;
    }
}

/* Bytes a weights file of net takes (float32, header included). */
static size_t net_weights_bytes(const network *net)
{
    size_t n = 0;
    for (int i = 0; i < net->n; i++) n += layer_values(&net->layers[i]);
    return 20 + n * 4;
}

/* The cfg the file was made for: <weights dir>/../cfg/<stem>.cfg, or
 * cfg/<stem>.cfg where path_locate finds it; a network of it whose size
 * is the file's. */
static network *origin_net(const network *net, const char *weights, size_t file_bytes, char *cfg, size_t cap)
{
    char stem[256], name[300];
    weights_stem(weights, stem, sizeof stem);
    snprintf(name, sizeof name, "cfg/%s.cfg", stem);
    if (path_locate(name, weights, cfg, cap) || !strcmp(cfg, net->cfg_path)) return NULL;
    network *o;
    fer_err ignored;
    if (net_from_cfg(&o, cfg, net->ctx, &ignored)) return NULL;
    if (net_weights_bytes(o) != file_bytes && net_weights_bytes(o) - 20 + 16 != file_bytes) {
        net_free(o);
        return NULL;
    }
    return o;
}

int weights_load_explained(network *net, const char *path, int upto, fer_err *e)
{
    if (!weights_load(net, path, upto, e)) return 0;
    if (!strstr(e->msg, "truncated at layer") && !strstr(e->msg, "weights for another cfg")) return -1;
    struct stat st;
    if (stat(path, &st)) return -1;
    char cfg[4096];
    network *o = origin_net(net, path, (size_t)st.st_size, cfg, sizeof cfg);
    if (!o) {
        size_t n = strlen(e->msg);
        snprintf(e->msg + n, sizeof e->msg - n, " (weights made for another cfg? to fine-tune from the layers that "
                 "match: fer partial OLD.cfg %s first.weights N, then train with first.weights -clear)", path);
        return -1;
    }
    int i = 0;
    while (i < net->n && i < o->n && net->layers[i].type == o->layers[i].type &&
           layer_values(&net->layers[i]) == layer_values(&o->layers[i]))
        i++;
    const layer *l = &net->layers[i < net->n ? i : net->n - 1];
    if (i == 0)
        fer_fail(e, "%s holds the weights of %s, not of %s: they differ from the first layer on (%s, %s line %d: %zu "
                    "values here, %zu in %s), so nothing can be reused: train %s without WEIGHTS",
                 path, cfg, net->cfg_path, l->type->name, net->cfg_path, l->line, layer_values(l),
                 o->n ? layer_values(&o->layers[0]) : (size_t)0, cfg, net->cfg_path);
    else
        fer_fail(e, "%s holds the weights of %s, not of %s: the networks first differ at layer %d (%s, %s line %d: "
                "%zu values here, %zu in %s). To fine-tune from the %d layers before it: fer partial %s %s first.weights "
                "%d, then fer classifier train %s first.weights -clear",
             path, cfg, net->cfg_path, i, l->type->name, net->cfg_path, l->line, layer_values(l),
             i < o->n ? layer_values(&o->layers[i]) : (size_t)0, cfg, i, cfg, path, i, net->cfg_path);
    net_free(o);
    return -1;
}
