/* weights.h - Darknet .weights files: load, save, half precision. */
#ifndef FER_ENGINE_WEIGHTS_H
#define FER_ENGINE_WEIGHTS_H

#include "network.h"

/* ---- weights ------------------------------------------------------------- */

int weights_load(network *net, const char *path, int upto, fer_err *e);
int weights_save(const network *net, const char *path, int upto, fer_err *e);
/* fer's half-precision extension (see weights.c): header revision "f16\0" */
#define FER_HALF_REVISION 0x00363166
int weights_save_as(const network *net, const char *path, int upto, int half, fer_err *e);
int weights_value_size(const int32_t hdr[3]);   /* bytes per stored value: 4, or 2 for half files */
uint16_t half_from_float(float v);              /* IEEE binary16, round to nearest even */
float half_to_float(uint16_t h);

#endif
