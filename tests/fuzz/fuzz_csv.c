/* fuzz_csv.c - the Kaggle CSV parser alone (dataset_load on a CSV): the
 * input as the rows under fer's header line, or as a whole file when it
 * starts with "emotion,". fuzz_dataset.c covers list and folder datasets
 * too, whose lines name image files that are then decoded; that makes it
 * ~10x slower per input, so the campaign's ten million CSV inputs run here.
 * Oracle: dataset_check.h. */
#include "dataset_check.h"

static const char *const LABELS[] = { "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral" };
#define NLABELS ((int)(sizeof LABELS / sizeof LABELS[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 8 && !memcmp(data, "emotion,", 8)) {
        load_and_check(fuzz_write_tmp(data, size), "Training", 48, 48, 1, LABELS, NLABELS);
        return 0;
    }
    load_and_check_rows(data, size, 48, LABELS, NLABELS);
    return 0;
}
