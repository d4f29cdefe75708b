/* teachers.c - distillation from teacher networks that run beside the
 * student (`fer classifier train -teacher-net CFG,WEIGHTS[,CFG,WEIGHTS...]`).
 *
 * Every mini-batch goes through each teacher in inference mode exactly as
 * the student sees it: the same crop, flip, rotation, erasing and mixup
 * blend. The student's target for a sample becomes
 *     (1 - A) * its labels' target + A * the teachers' mean probabilities,
 * so the teachers answer for the image in front of the student (a blend of
 * two faces gets the teachers' view of that blend), where `-teacher
 * PROBS.csv` gives one fixed answer per face, taken on the clean image.
 * The teachers' outputs depend only on the pixels, so a resumed run
 * repeats an uninterrupted one. */
#include "train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEACHERS_MAX 16

/* Splits the comma-separated spec (a copy in *buf) into cfg, weights pairs:
 * *pairs_out gets 2 * n pointers into *buf. */
static int split_spec(const char *spec, char **buf, char ***pairs_out, int *n_out, fer_err *e)
{
    const char *want = "expected CFG,WEIGHTS[,CFG,WEIGHTS...] (at most 16 teachers)";
    *buf = strdup(spec);
    char **field = malloc(2 * TEACHERS_MAX * sizeof *field);
    if (!*buf || !field) {
        free(field);
        return fer_fail(e, "out of memory");
    }
    int n = 0;
    for (char *p = *buf;; p++) {
        if (n == 2 * TEACHERS_MAX) {
            free(field);
            return fer_fail(e, "-teacher-net %s: %s", spec, want);
        }
        field[n++] = p;
        p = strchr(p, ',');
        if (!p) break;
        *p = '\0';
    }
    int empty = 0;
    for (int i = 0; i < n; i++) empty |= !*field[i];
    if (empty || n < 2 || n % 2) {
        free(field);
        return fer_fail(e, "-teacher-net %s: %s", spec, want);
    }
    *pairs_out = field;
    *n_out = n / 2;
    return 0;
}

/* Builds teacher j from its cfg and weights and checks that it can teach
 * the student: the same input shape and classes, probabilities out. */
static int load_one(teacher_nets *T, int j, const char *cfg, const char *weights, const network *student, fer_ctx *ctx,
                    fer_err *e)
{
    network *net;
    if (net_from_cfg(&net, cfg, ctx, e)) return -1;
    T->nets[j] = net;
    int sw, sh, sc, tw, th, tc;
    fer_net_input_shape(student, &sw, &sh, &sc);
    fer_net_input_shape(net, &tw, &th, &tc);
    if (sw != tw || sh != th || sc != tc || net->inputs != student->inputs)
        return fer_fail(e, "%s: the teacher takes %dx%dx%d images, the student (%s) %dx%dx%d: a teacher must see the "
                           "student's input", cfg, tw, th, tc, student->cfg_path, sw, sh, sc);
    if (net->classes != student->classes)
        return fer_fail(e, "%s: the teacher has %d classes, the student (%s) %d", cfg, net->classes, student->cfg_path,
                        student->classes);
    if (!net->n || strcmp(net->layers[net->n - 1].type->name, "softmax"))
        return fer_fail(e, "%s: the teacher must end with [softmax] (its outputs are the targets' probabilities)", cfg);
    return weights_load_explained(net, weights, -1, e) || net_set_batch(net, T->B, 0, e) ? -1 : 0;
}

int teacher_nets_load(teacher_nets *T, const char *spec, const network *student, int B, fer_ctx *ctx, fer_err *e)
{
    memset(T, 0, sizeof *T);
    char *buf = NULL, **pairs = NULL;
    int n = 0;
    if (split_spec(spec, &buf, &pairs, &n, e)) {
        free(buf);
        return -1;
    }
    T->B = B;
    T->classes = student->classes;
    T->nets = calloc((size_t)n, sizeof *T->nets);
    T->mean = malloc((size_t)B * T->classes * sizeof *T->mean);
    int rc = T->nets && T->mean ? 0 : fer_fail(e, "out of memory");
    if (!rc) T->n = n;   /* teacher_nets_free frees what the loop built */
    for (int j = 0; j < n && !rc; j++) rc = load_one(T, j, pairs[2 * j], pairs[2 * j + 1], student, ctx, e);
    free(pairs);
    free(buf);
    if (rc) teacher_nets_free(T);
    return rc;
}

int teacher_nets_blend(teacher_nets *T, const float *input, float *truth, float distill, fer_err *e)
{
    int B = T->B, C = T->classes;
    memset(T->mean, 0, (size_t)B * C * sizeof *T->mean);
    for (int j = 0; j < T->n; j++) {
        network *net = T->nets[j];
        memcpy(net->input, input, (size_t)B * net->inputs * sizeof *input);
        net->train = 0;
        net->has_truth = 0;
        net->crop_view_set = 0;
        net_forward(net);
        if (net_check_output(net, B, e)) {
            char why[sizeof e->msg];
            snprintf(why, sizeof why, "%s", e->msg);
            return fer_fail(e, "%s (a teacher): %s", net->cfg_path, why);
        }
        const float *p = net_output(net);
        for (size_t i = 0; i < (size_t)B * C; i++) T->mean[i] += p[i] / T->n;
    }
    for (size_t i = 0; i < (size_t)B * C; i++) truth[i] = (1 - distill) * truth[i] + distill * T->mean[i];
    return 0;
}

void teacher_nets_free(teacher_nets *T)
{
    for (int j = 0; j < T->n; j++) net_free(T->nets[j]);
    free(T->nets);
    free(T->mean);
    memset(T, 0, sizeof *T);
}
