/* embed.c - a program that embeds libfer through include/fer.h alone: finds
 * the faces of a picture and prints each one's box and emotions.
 *
 *   embed IMAGE                  the default model (installed or beside us)
 *   embed CFG WEIGHTS IMAGE      another model
 *
 * Build against an installed fer: cc embed.c $(pkg-config --cflags --libs fer) */
#include <stdio.h>

#include "fer.h"

#define MAX_FACES 32

static int fail(const char *what, const fer_err *e)
{
    fprintf(stderr, "embed: %s: %s\n", what, e->msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 4) {
        fprintf(stderr, "usage: embed [CFG WEIGHTS] IMAGE   (libfer %s)\n", fer_version());
        return 2;
    }
    fer_err e;
    fer_model *m;
    int rc = argc == 4 ? fer_model_load(&m, argv[1], argv[2], NULL, NULL, &e) : fer_model_load_default(&m, NULL, &e);
    if (rc) return fail("model", &e);
    fer_image im;
    if (fer_image_load(&im, argv[argc - 1], &e)) {
        fer_model_free(m);
        return fail("image", &e);
    }
    fer_face faces[MAX_FACES];
    int n = 0;
    rc = fer_model_faces(m, &im, FER_DETECT_AUTO, faces, MAX_FACES, &n, &e);
    if (rc) fail("faces", &e);
    for (int i = 0; !rc && i < n; i++) {
        const fer_face *f = &faces[i];
        printf("face %d at %d,%d %dx%d: %s", i + 1, f->box.x, f->box.y, f->box.w, f->box.h,
               fer_model_class_name(m, f->label));
        for (int k = 0; k < fer_model_classes(m); k++) printf(" %s=%.4f", fer_model_class_name(m, k), f->probs[k]);
        printf("\n");
    }
    if (!rc && n == 0) printf("no face found in %s\n", argv[argc - 1]);
    fer_image_free(&im);
    fer_model_free(m);
    return rc ? 1 : 0;
}
