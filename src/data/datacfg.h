/* datacfg.h - Darknet-style .data files and label-name files. */
#ifndef FER_DATA_DATACFG_H
#define FER_DATA_DATACFG_H

#include "engine/cfg.h"

/* ---- .data files and label names ----------------------------------------- */

#define FER_MAX_CLASSES 1000

typedef struct data_cfg {
    char path[1024];
    int classes;
    char labels_path[1024];
    char train[1024], valid[1024], test[1024];
    char train_usage[64], valid_usage[64], test_usage[64];
    char backup[1024];
    char **names;             /* [classes] label names */
} data_cfg;

#define FER_DEFAULT_DATA "data/fer2013.data"

/* Reads a .data file and its labels file (required keys: classes, labels);
 * warnings (keys it does not use) go to log (may be NULL). */
int data_cfg_read(data_cfg *d, const char *path, const log_hook *log, fer_err *e);
/* Only the names: `classes` of them read from a label file (one a line). */
int data_cfg_from_labels(data_cfg *d, const char *labels_path, int classes, fer_err *e);
/* Names "0".."classes-1" when no .data file is at hand. */
int data_cfg_default_names(data_cfg *d, int classes, fer_err *e);
void data_cfg_free(data_cfg *d);

/* The dataset path and Usage filter of split "train", "valid" or "test". */
int data_split(const data_cfg *d, const char *split, const char **path, const char **usage, fer_err *e);

#endif
