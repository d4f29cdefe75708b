/* dataset_check.h - the oracle that fuzz_dataset.c and fuzz_csv.c share:
 * dataset_load on a file, with the labels given; a load gives n >= 1 images
 * of the asked shape with labels in range, a failure a message and no
 * images. */
#ifndef FER_FUZZ_DATASET_CHECK_H
#define FER_FUZZ_DATASET_CHECK_H

#include "fuzz.h"
#include "data/dataset.h"

static void load_and_check(const char *path, const char *usage, int w, int h, int c, const char *const *names,
                           int classes)
{
    data_cfg d;
    memset(&d, 0, sizeof d);
    snprintf(d.path, sizeof d.path, "fuzz.data");
    snprintf(d.labels_path, sizeof d.labels_path, "fuzz.labels");
    d.classes = classes;
    d.names = (char **)names;
    dataset ds;
    fer_err e = { { 0 } };
    if (dataset_load(&ds, path, usage, &d, w, h, c, &e)) {
        fuzz_require(e.msg[0] != 0, "dataset_load failed without a message");
        fuzz_require(ds.n == 0 && !ds.pixels && !ds.labels, "a failed dataset_load kept images");
        return;
    }
    fuzz_require(ds.n >= 1 && ds.w == w && ds.h == h && ds.c == c, "dataset_load gave no images or a wrong shape");
    for (int i = 0; i < ds.n; i++) fuzz_require(ds.labels[i] >= 0 && ds.labels[i] < classes, "label out of range");
    dataset_free(&ds);
}

/* The input as the rows of a Kaggle CSV under fer's header line. */
static void load_and_check_rows(const uint8_t *data, size_t size, int side, const char *const *names, int classes)
{
    static const char header[] = "emotion,pixels,Usage\n";
    size_t hl = sizeof header - 1;
    uint8_t *csv = malloc(hl + size);
    fuzz_require(csv != NULL, "out of memory");
    memcpy(csv, header, hl);
    if (size) memcpy(csv + hl, data, size);
    load_and_check(fuzz_write_tmp(csv, hl + size), "Training", side, side, 1, names, classes);
    free(csv);
}

#endif
