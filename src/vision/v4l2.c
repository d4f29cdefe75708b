/* v4l2.c - V4L2 camera capture with mmap streaming (see v4l2.h). */
#include "v4l2.h"

#include <stdlib.h>
#include <string.h>

#ifdef __linux__

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codecs/jpeg.h"

#ifdef FER_STB
#include <stb_image.h>
#endif

#define CAMERA_BUFFERS 4

struct camera {
    int fd;
    char dev[256];
    uint32_t fourcc;
    int w, h;
    size_t bytesperline;
    int nbuf;
    void *start[CAMERA_BUFFERS];
    size_t length[CAMERA_BUFFERS];
    int streaming;
    jpeg_buf fixed;          /* an MJPEG frame with the standard Huffman tables added */
    char desc[64];
};

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do r = ioctl(fd, req, arg);
    while (r == -1 && errno == EINTR);
    return r;
}

static void fourcc_str(uint32_t f, char out[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)((f >> (8 * i)) & 255);
        out[i] = c >= 32 && c < 127 ? c : '?';
    }
    out[4] = 0;
}

static int supported(uint32_t f)
{
#ifdef FER_STB
    if (f == V4L2_PIX_FMT_MJPEG || f == V4L2_PIX_FMT_JPEG) return 1;
#endif
    return f == V4L2_PIX_FMT_YUYV || f == V4L2_PIX_FMT_GREY;
}

/* Opens the device node; the messages say what to do about the usual
 * failures. Returns the descriptor or -1. */
static int open_device(const char *dev, fer_err *e)
{
    int fd = open(dev, O_RDWR | O_NONBLOCK);
    if (fd >= 0) return fd;
    int err = errno;
    if (err == ENOENT)
        return fer_fail(e, "no %s: plug in a camera (or pick another with -c N), or read a file with "
                           "-i FILE.y4m / -i IMAGE / -i FOLDER (ffmpeg -i clip.mp4 -f yuv4mpegpipe - | fer demo -i -)", dev);
    if (err == EACCES || err == EPERM)
        return fer_fail(e, "%s: permission denied: add your user to the 'video' group "
                           "(sudo usermod -aG video $USER, then log in again)", dev);
    if (err == EBUSY) return fer_fail(e, "%s is busy: another program is using the camera", dev);
    return fer_fail(e, "%s: cannot open: %s", dev, strerror(err));
}

/* Checks that the device captures video through streaming I/O. */
static int check_capabilities(int fd, const char *dev, fer_err *e)
{
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (xioctl(fd, VIDIOC_QUERYCAP, &cap)) return fer_fail(e, "%s is not a V4L2 device (%s)", dev, strerror(errno));
    uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    if (!(caps & V4L2_CAP_VIDEO_CAPTURE))
        return fer_fail(e, "%s (%s) cannot capture video (a metadata or output node? try the next /dev/video)", dev,
                        (const char *)cap.card);
    if (!(caps & V4L2_CAP_STREAMING))
        return fer_fail(e, "%s (%s) has no streaming I/O, which fer needs", dev, (const char *)cap.card);
    return 0;
}

/* Picks a format the device offers and fer reads: YUYV, then GREY, then
 * MJPEG. *chosen gets its fourcc; without one the message lists the offer. */
static int choose_format(int fd, const char *dev, uint32_t *chosen, fer_err *e)
{
    static const uint32_t prefer[] = { V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_GREY, V4L2_PIX_FMT_MJPEG, V4L2_PIX_FMT_JPEG };
    uint32_t have[32];
    int nhave = 0;
    for (int i = 0; i < 32; i++) {
        struct v4l2_fmtdesc fd_;
        memset(&fd_, 0, sizeof fd_);
        fd_.index = (uint32_t)i;
        fd_.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (xioctl(fd, VIDIOC_ENUM_FMT, &fd_)) break;
        have[nhave++] = fd_.pixelformat;
    }
    *chosen = 0;
    for (size_t k = 0; k < sizeof prefer / sizeof prefer[0] && !*chosen; k++)
        for (int i = 0; i < nhave; i++)
            if (have[i] == prefer[k] && supported(prefer[k])) *chosen = prefer[k];
    if (*chosen) return 0;
    char list[200] = "", f4[5];
    for (int i = 0; i < nhave; i++) {
        fourcc_str(have[i], f4);
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", f4);
    }
    return fer_fail(e, "%s offers %s; fer reads YUYV, GREY%s", dev, nhave ? list : "no formats",
#ifdef FER_STB
                    " and MJPEG"
#else
                    " (and MJPEG when built with libstb-dev: apt-get install libstb-dev, then rebuild)"
#endif
    );
}

/* Asks for w x h in the chosen format (and fps when > 0, best effort) and
 * records what the driver granted in c. */
static int set_format(camera *c, const char *dev, uint32_t chosen, int w, int h, int fps, fer_err *e)
{
    struct v4l2_format fmt;
    memset(&fmt, 0, sizeof fmt);
    fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    fmt.fmt.pix.width = (uint32_t)w;
    fmt.fmt.pix.height = (uint32_t)h;
    fmt.fmt.pix.pixelformat = chosen;
    fmt.fmt.pix.field = V4L2_FIELD_ANY;
    if (xioctl(c->fd, VIDIOC_S_FMT, &fmt))
        return fer_fail(e, "%s: cannot set the format %dx%d: %s", dev, w, h, strerror(errno));
    c->fourcc = fmt.fmt.pix.pixelformat;
    c->w = (int)fmt.fmt.pix.width;
    c->h = (int)fmt.fmt.pix.height;
    c->bytesperline = fmt.fmt.pix.bytesperline;
    if (!supported(c->fourcc) || c->w < 1 || c->h < 1 || c->w > 16384 || c->h > 16384)
        return fer_fail(e, "%s: the driver chose an unusable format", dev);
    if (!c->bytesperline) c->bytesperline = (size_t)c->w * (c->fourcc == V4L2_PIX_FMT_YUYV ? 2 : 1);
    if (fps > 0) {
        struct v4l2_streamparm parm;
        memset(&parm, 0, sizeof parm);
        parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        parm.parm.capture.timeperframe.numerator = 1;
        parm.parm.capture.timeperframe.denominator = (uint32_t)fps;
        xioctl(c->fd, VIDIOC_S_PARM, &parm);   /* best effort: not every driver can */
    }
    return 0;
}

/* Requests the driver's buffers, maps each into c->start and queues it. */
static int map_buffers(camera *c, const char *dev, fer_err *e)
{
    struct v4l2_requestbuffers req;
    memset(&req, 0, sizeof req);
    req.count = CAMERA_BUFFERS;
    req.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    req.memory = V4L2_MEMORY_MMAP;
    if (xioctl(c->fd, VIDIOC_REQBUFS, &req) || req.count < 2)
        return fer_fail(e, "%s: cannot get mmap buffers: %s", dev, req.count < 2 ? "too few" : strerror(errno));
    c->nbuf = req.count > CAMERA_BUFFERS ? CAMERA_BUFFERS : (int)req.count;
    for (int i = 0; i < c->nbuf; i++) {
        struct v4l2_buffer b;
        memset(&b, 0, sizeof b);
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b.memory = V4L2_MEMORY_MMAP;
        b.index = (uint32_t)i;
        if (xioctl(c->fd, VIDIOC_QUERYBUF, &b)) return fer_fail(e, "%s: VIDIOC_QUERYBUF: %s", dev, strerror(errno));
        c->start[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, b.m.offset);
        if (c->start[i] == MAP_FAILED) {
            c->start[i] = NULL;
            return fer_fail(e, "%s: mmap: %s", dev, strerror(errno));
        }
        c->length[i] = b.length;
        if (xioctl(c->fd, VIDIOC_QBUF, &b)) return fer_fail(e, "%s: VIDIOC_QBUF: %s", dev, strerror(errno));
    }
    return 0;
}

/* Negotiates the format, maps the buffers and starts streaming. */
static int camera_start(camera *c, const char *dev, int w, int h, int fps, fer_err *e)
{
    uint32_t chosen;
    if (check_capabilities(c->fd, dev, e) || choose_format(c->fd, dev, &chosen, e) ||
        set_format(c, dev, chosen, w, h, fps, e) || map_buffers(c, dev, e))
        return -1;
    enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(c->fd, VIDIOC_STREAMON, &type))
        return fer_fail(e, "%s: cannot start streaming: %s", dev, strerror(errno));
    c->streaming = 1;
    char f4[5];
    fourcc_str(c->fourcc, f4);
    snprintf(c->desc, sizeof c->desc, "%s %dx%d", f4, c->w, c->h);
    return 0;
}

int camera_open(camera **out, const char *dev, int w, int h, int fps, fer_err *e)
{
    *out = NULL;
    int fd = open_device(dev, e);
    if (fd < 0) return -1;
    camera *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return fer_fail(e, "out of memory");
    }
    c->fd = fd;
    snprintf(c->dev, sizeof c->dev, "%s", dev);
    if (camera_start(c, dev, w, h, fps, e)) {
        camera_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

static int convert(camera *c, const uint8_t *p, size_t used, frame *f, fer_err *e)
{
    if (frame_alloc(f, c->w, c->h, e)) return -1;
    if (c->fourcc == V4L2_PIX_FMT_YUYV) {
        if (used < c->bytesperline * (c->h - 1) + (size_t)c->w * 2) return fer_fail(e, "%s: short frame", c->dev);
        yuyv_to_frame(f, p, c->bytesperline, 0);
        return 0;
    }
    if (c->fourcc == V4L2_PIX_FMT_GREY) {
        if (used < c->bytesperline * (c->h - 1) + (size_t)c->w) return fer_fail(e, "%s: short frame", c->dev);
        gray_to_frame(f, p, c->bytesperline, 1);
        return 0;
    }
#ifdef FER_STB
    int fixed = jpeg_add_std_dht(p, used, &c->fixed, e);
    if (fixed < 0) return -1;
    const uint8_t *jp = fixed ? c->fixed.data : p;
    size_t jlen = fixed ? c->fixed.len : used;
    int w, h, n;
    uint8_t *rgb = jlen < 0x7fffffff ? stbi_load_from_memory(jp, (int)jlen, &w, &h, &n, 3) : NULL;
    if (!rgb) return fer_fail(e, "%s: cannot decode an MJPEG frame (%s)", c->dev, stbi_failure_reason());
    if (w != c->w || h != c->h) {
        stbi_image_free(rgb);
        return fer_fail(e, "%s: MJPEG frame is %dx%d, expected %dx%d", c->dev, w, h, c->w, c->h);
    }
    memcpy(f->rgb, rgb, (size_t)w * h * 3);
    stbi_image_free(rgb);
    frame_gray_from_rgb(f);
    return 0;
#else
    return fer_fail(e, "%s: MJPEG needs stb", c->dev);
#endif
}

int camera_read(camera *c, frame *f, fer_err *e)
{
    for (;;) {
        struct pollfd pfd = { c->fd, POLLIN, 0 };
        int r = poll(&pfd, 1, 2000);
        if (r < 0 && errno == EINTR) return fer_fail(e, "%s: interrupted", c->dev);
        if (r < 0) return fer_fail(e, "%s: poll: %s", c->dev, strerror(errno));
        if (r == 0) return fer_fail(e, "%s: no frame within 2 s (is the camera in use or covered by a driver problem?)", c->dev);
        struct v4l2_buffer b;
        memset(&b, 0, sizeof b);
        b.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        b.memory = V4L2_MEMORY_MMAP;
        if (xioctl(c->fd, VIDIOC_DQBUF, &b)) {
            if (errno == EAGAIN) continue;
            return fer_fail(e, "%s: VIDIOC_DQBUF: %s (camera unplugged?)", c->dev, strerror(errno));
        }
        int rc = 0;
        if (b.index >= (uint32_t)c->nbuf) rc = fer_fail(e, "%s: driver returned buffer %u", c->dev, b.index);
        else if (!(b.flags & V4L2_BUF_FLAG_ERROR)) {
            size_t used = b.bytesused ? b.bytesused : c->length[b.index];
            if (used > c->length[b.index]) used = c->length[b.index];
            rc = convert(c, c->start[b.index], used, f, e);
        }
        int err = b.flags & V4L2_BUF_FLAG_ERROR;
        if (xioctl(c->fd, VIDIOC_QBUF, &b) && !rc) rc = fer_fail(e, "%s: VIDIOC_QBUF: %s", c->dev, strerror(errno));
        if (rc) return -1;
        if (!err) return 0;   /* a corrupted frame is skipped */
    }
}

const char *camera_describe(const camera *c) { return c->desc; }

void camera_close(camera *c)
{
    if (!c) return;
    if (c->streaming) {
        enum v4l2_buf_type type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        xioctl(c->fd, VIDIOC_STREAMOFF, &type);
    }
    for (int i = 0; i < c->nbuf; i++)
        if (c->start[i]) munmap(c->start[i], c->length[i]);
    if (c->fd >= 0) close(c->fd);
    jpeg_buf_free(&c->fixed);
    free(c);
}

#else /* not Linux */

struct camera { int unused; };

int camera_open(camera **out, const char *dev, int w, int h, int fps, fer_err *e)
{
    (void)w;
    (void)h;
    (void)fps;
    *out = NULL;
    return fer_fail(e, "%s: cameras are read through V4L2, which needs Linux; use -i FILE.y4m "
                       "(ffmpeg -i clip.mp4 -f yuv4mpegpipe - | fer demo -i -), -i IMAGE or -i FOLDER", dev);
}

int camera_read(camera *c, frame *f, fer_err *e)
{
    (void)c;
    (void)f;
    return fer_fail(e, "no camera");
}

const char *camera_describe(const camera *c)
{
    (void)c;
    return "";
}

void camera_close(camera *c) { (void)c; }

#endif
