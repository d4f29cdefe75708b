/* registry.c - the table from cfg section names (and aliases) to layer types. */
#include "layers.h"

#include <string.h>

extern const layer_type convolutional_type, connected_type, maxpool_type, avgpool_type,
    local_avgpool_type,
    dropout_type, batchnorm_type, shortcut_type, route_type, softmax_type, cost_type, crop_type,
    scale_channels_type, upsample_type, reorg_type, reorg3d_type;

static const struct { const char *name; const layer_type *type; } registry[] = {
    { "convolutional", &convolutional_type },
    { "conv", &convolutional_type },
    { "connected", &connected_type },
    { "fc", &connected_type },
    { "conn", &connected_type },
    { "maxpool", &maxpool_type },
    { "max", &maxpool_type },
    { "avgpool", &avgpool_type },
    { "avg", &avgpool_type },
    { "local_avgpool", &local_avgpool_type },
    { "local_avg", &local_avgpool_type },
    { "dropout", &dropout_type },
    { "batchnorm", &batchnorm_type },
    { "shortcut", &shortcut_type },
    { "route", &route_type },
    { "softmax", &softmax_type },
    { "soft", &softmax_type },
    { "cost", &cost_type },
    { "crop", &crop_type },
    { "scale_channels", &scale_channels_type },
    { "upsample", &upsample_type },
    { "reorg", &reorg_type },
    { "reorg3d", &reorg3d_type },
};

const layer_type *layer_type_find(const char *name)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (!strcmp(registry[i].name, name)) return registry[i].type;
    return NULL;
}

void layer_type_list(FILE *out)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        fprintf(out, "%s[%s]", i ? " " : "", registry[i].name);
    fprintf(out, "\n");
}
