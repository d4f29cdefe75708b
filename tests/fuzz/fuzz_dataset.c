/* fuzz_dataset.c - dataset_load on the input as a file: as it is (a list
 * file of image paths, or a CSV when it starts with "emotion,"), and as the
 * rows of a Kaggle CSV under fer's header line.
 * Seven labels, the last one "image": list lines such as
 * tests/fuzz/corpus/image/gray.pgm name real images of that label (run
 * from the repository's root).
 * Oracles: a load gives n >= 1 images with labels in range, a failure a
 * message and no images. */
#include "fuzz.h"
#include "data/dataset.h"

static const char *const LABELS[] = { "angry", "disgust", "fear", "happy", "sad", "surprise", "image" };
#define NLABELS ((int)(sizeof LABELS / sizeof LABELS[0]))
#define CSV_HEADER "emotion,pixels,Usage\n"

static void load_and_check(const char *path, const char *usage, int w, int h, int c)
{
    data_cfg d;
    memset(&d, 0, sizeof d);
    snprintf(d.path, sizeof d.path, "fuzz.data");
    snprintf(d.labels_path, sizeof d.labels_path, "fuzz.labels");
    d.classes = NLABELS;
    d.names = (char **)LABELS;
    dataset ds;
    fer_err e = { { 0 } };
    if (dataset_load(&ds, path, usage, &d, w, h, c, &e)) {
        fuzz_require(e.msg[0] != 0, "dataset_load failed without a message");
        fuzz_require(ds.n == 0 && !ds.pixels && !ds.labels, "a failed dataset_load kept images");
        return;
    }
    fuzz_require(ds.n >= 1 && ds.w == w && ds.h == h && ds.c == c, "dataset_load gave no images or a wrong shape");
    for (int i = 0; i < ds.n; i++) fuzz_require(ds.labels[i] >= 0 && ds.labels[i] < NLABELS, "label out of range");
    dataset_free(&ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_names_special_file(data, size)) return 0;
    load_and_check(fuzz_write_tmp(data, size), "Training", 24, 24, 1);
    if (size >= 8 && !memcmp(data, "emotion,", 8)) return 0;
    size_t hl = strlen(CSV_HEADER);
    uint8_t *csv = malloc(hl + size);
    fuzz_require(csv != NULL, "out of memory");
    memcpy(csv, CSV_HEADER, hl);
    if (size) memcpy(csv + hl, data, size);
    load_and_check(fuzz_write_tmp(csv, hl + size), "Training", 48, 48, 1);
    free(csv);
    return 0;
}
