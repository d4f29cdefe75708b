/* source.h - where `fer demo` gets frames: a V4L2 camera, a Y4M stream (file
 * or stdin), one still image, or a folder of images (sorted by name). */
#ifndef FER_SOURCE_H
#define FER_SOURCE_H

#include "v4l2.h"
#include "codecs/y4m.h"

typedef enum { SOURCE_CAMERA, SOURCE_Y4M, SOURCE_IMAGES } source_kind;

typedef struct source {
    source_kind kind;
    camera *cam;
    y4m_reader y4m;
    char **files;             /* [nfiles] image paths */
    int nfiles, next;
    const char *current;      /* the image the last frame came from (SOURCE_IMAGES) */
    int loop;                 /* start the Y4M file or image list over at its end */
    double fps;               /* the stream's nominal rate, 0 = unknown */
    char name[512];
} source;

/* input: "-" (Y4M on stdin), a Y4M file, an image, or a folder. */
int source_open(source *s, const char *input, int loop, fer_err *e);
int source_open_camera(source *s, const char *dev, int w, int h, int fps, fer_err *e);
/* 1 = a frame in f, 0 = end of input, -1 = error. */
int source_read(source *s, frame *f, fer_err *e);
void source_close(source *s);
/* Does the name end in an image extension fer reads? */
int is_image_name(const char *name);

#endif
