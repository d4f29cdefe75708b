/* fuzz_datafile.c - the two small text formats of training: the input as a
 * .data file (data_cfg_read, which also reads the labels file it names;
 * run from the repository's root for the seeds' data/fer2013.labels), and
 * as a teacher file (teacher_load) for a fixed dataset of four images of
 * the seven FER-2013 labels.
 * Oracles: errors have messages; a .data file read has 1..FER_MAX_CLASSES
 * names; a teacher read has rows of probabilities that sum to 1. */
#include "fuzz.h"
#include "data/dataset.h"

#include <math.h>

static const char *const LABELS[] = { "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral" };
#define NLABELS ((int)(sizeof LABELS / sizeof LABELS[0]))

static void read_data_file(const char *path)
{
    data_cfg d;
    fer_err e = { { 0 } };
    if (data_cfg_read(&d, path, NULL, &e)) {
        fuzz_require(e.msg[0] != 0, "data_cfg_read failed without a message");
        fuzz_require(d.names == NULL, "a failed data_cfg_read kept its names");
        return;
    }
    fuzz_require(d.classes >= 1 && d.classes <= FER_MAX_CLASSES && d.names, "data_cfg_read: bad classes");
    for (int k = 0; k < d.classes; k++) fuzz_require(d.names[k] && d.names[k][0], "an empty label name");
    static const char *const splits[] = { "train", "valid", "test" };
    for (int i = 0; i < 3; i++) {
        const char *split_path, *usage;
        if (data_split(&d, splits[i], &split_path, &usage, &e) == 0)
            fuzz_require(split_path[0] != 0 && usage != NULL, "data_split: an empty path");
    }
    data_cfg_free(&d);
}

static void read_teacher(const char *path)
{
    int labels[4] = { 0, 3, 6, 3 };
    dataset ds;
    memset(&ds, 0, sizeof ds);
    ds.n = 4;
    ds.w = ds.h = 48;
    ds.c = 1;
    ds.labels = labels;
    ds.classes = NLABELS;
    snprintf(ds.source, sizeof ds.source, "fuzz.csv");
    float *probs = NULL;
    fer_err e = { { 0 } };
    if (teacher_load(path, &ds, (char **)LABELS, &probs, &e)) {
        fuzz_require(e.msg[0] != 0 && probs == NULL, "teacher_load failed without a message, or kept rows");
        return;
    }
    for (int i = 0; i < ds.n; i++) {
        double sum = 0;
        for (int k = 0; k < NLABELS; k++) {
            float v = probs[i * NLABELS + k];
            fuzz_require(isfinite(v) && v >= 0 && v <= 1.0001f, "a teacher probability outside [0,1]");
            sum += v;
        }
        fuzz_require(fabs(sum - 1) < 1e-3, "teacher probabilities do not sum to 1");
    }
    free(probs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_names_special_file(data, size)) return 0;
    const char *path = fuzz_write_tmp(data, size);
    read_data_file(path);
    read_teacher(path);
    return 0;
}
