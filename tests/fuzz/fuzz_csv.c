/* fuzz_csv.c - the Kaggle CSV parser alone (dataset_load on a CSV): the
 * input as the rows under fer's header line, or as a whole file when it
 * starts with "emotion,". fuzz_dataset.c covers list and folder datasets
 * too, whose lines name image files that are then decoded; that makes it
 * ~10x slower per input, so the campaign's ten million CSV inputs run here.
 * Oracles: a load gives n >= 1 images of the asked shape with labels in
 * range, a failure a message and no images. */
#include "fuzz.h"
#include "data/dataset.h"

static const char *const LABELS[] = { "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral" };
#define NLABELS ((int)(sizeof LABELS / sizeof LABELS[0]))
#define CSV_HEADER "emotion,pixels,Usage\n"

static void load_and_check(const char *path, const char *usage, int side)
{
    data_cfg d;
    memset(&d, 0, sizeof d);
    snprintf(d.path, sizeof d.path, "fuzz.data");
    snprintf(d.labels_path, sizeof d.labels_path, "fuzz.labels");
    d.classes = NLABELS;
    d.names = (char **)LABELS;
    dataset ds;
    fer_err e = { { 0 } };
    if (dataset_load(&ds, path, usage, &d, side, side, 1, &e)) {
        fuzz_require(e.msg[0] != 0, "dataset_load failed without a message");
        fuzz_require(ds.n == 0 && !ds.pixels && !ds.labels, "a failed dataset_load kept images");
        return;
    }
    fuzz_require(ds.n >= 1 && ds.w == side && ds.h == side && ds.c == 1, "dataset_load gave no images or a wrong shape");
    for (int i = 0; i < ds.n; i++) fuzz_require(ds.labels[i] >= 0 && ds.labels[i] < NLABELS, "label out of range");
    dataset_free(&ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 8 && !memcmp(data, "emotion,", 8)) {
        load_and_check(fuzz_write_tmp(data, size), "Training", 48);
        return 0;
    }
    size_t hl = strlen(CSV_HEADER);
    uint8_t *csv = malloc(hl + size);
    fuzz_require(csv != NULL, "out of memory");
    memcpy(csv, CSV_HEADER, hl);
    if (size) memcpy(csv + hl, data, size);
    load_and_check(fuzz_write_tmp(csv, hl + size), "Training", 48);
    free(csv);
    return 0;
}
