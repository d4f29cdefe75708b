/* fuzz_dataset.c - dataset_load on the input as a file: as it is (a list
 * file of image paths, or a CSV when it starts with "emotion,"), and as the
 * rows of a Kaggle CSV under fer's header line.
 * Seven labels, the last one "image": list lines such as
 * tests/fuzz/corpus/image/gray.pgm name real images of that label (run
 * from the repository's root).
 * Oracles: a load gives n >= 1 images with labels in range, a failure a
 * message and no images. */
#include "dataset_check.h"

static const char *const LABELS[] = { "angry", "disgust", "fear", "happy", "sad", "surprise", "image" };
#define NLABELS ((int)(sizeof LABELS / sizeof LABELS[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_names_special_file(data, size)) return 0;
    load_and_check(fuzz_write_tmp(data, size), "Training", 24, 24, 1, LABELS, NLABELS);
    if (size >= 8 && !memcmp(data, "emotion,", 8)) return 0;
    load_and_check_rows(data, size, 48, LABELS, NLABELS);
    return 0;
}
