/* v4l2.h - a camera through Linux's V4L2 capture API: the device is opened
 * at a chosen size, frames stream through mmap'ed driver buffers and arrive
 * as YUYV, GREY or (with stb) MJPEG. Elsewhere camera_open fails with a
 * message that says to use a file. */
#ifndef FER_V4L2_H
#define FER_V4L2_H

#include "codecs/frame.h"

typedef struct camera camera;

/* dev: "/dev/videoN". w, h: the wished size (the driver may pick the
 * nearest); fps 0 = the driver's default. Failures say what to do (no
 * device, no permission, busy, unsupported formats). */
int camera_open(camera **out, const char *dev, int w, int h, int fps, fer_err *e);
/* Waits up to 2 s for the next frame and converts it into f. */
int camera_read(camera *c, frame *f, fer_err *e);
/* "YUYV 640x480" etc. */
const char *camera_describe(const camera *c);
void camera_close(camera *c);

#endif
