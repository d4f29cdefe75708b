/* source.c - frame sources of `fer demo` (see source.h). */
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SOURCE_MAX_FILES 100000

int is_image_name(const char *name)
{
    static const char *const ext[] = { ".pgm", ".ppm", ".pnm", ".png", ".jpg", ".jpeg", ".bmp", ".gif" };
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        size_t m = strlen(ext[i]);
        if (n > m && !strcasecmp(name + n - m, ext[i])) return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int add_file(source *s, const char *path, fer_err *e)
{
    if (s->nfiles >= SOURCE_MAX_FILES) return fer_fail(e, "%s: more than %d images", s->name, SOURCE_MAX_FILES);
    if (s->nfiles % 256 == 0) {
        char **f = realloc(s->files, (size_t)(s->nfiles + 256) * sizeof *f);
        if (!f) return fer_fail(e, "out of memory");
        s->files = f;
    }
    s->files[s->nfiles] = strdup(path);
    if (!s->files[s->nfiles]) return fer_fail(e, "out of memory");
    s->nfiles++;
    return 0;
}

/* Is the name that of a compressed video file (which fer does not decode)? */
static int is_video_container(const char *name)
{
    static const char *const ext[] = { ".mp4", ".m4v", ".mkv", ".webm", ".avi", ".mov", ".mpg", ".mpeg",
                                       ".wmv", ".flv", ".ts", ".3gp", ".ogv", ".MP4", ".MOV", ".AVI", ".MKV" };
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (str_ends_with(name, ext[i])) return 1;
    return 0;
}

int source_open(source *s, const char *input, int loop, fer_err *e)
{
    memset(s, 0, sizeof *s);
    s->loop = loop;
    snprintf(s->name, sizeof s->name, "%s", input);
    if (!strcmp(input, "-")) {
        s->kind = SOURCE_Y4M;
        if (y4m_open(&s->y4m, "-", e)) return -1;
        s->loop = 0;
    } else {
        struct stat st;
        if (stat(input, &st)) {
            return fer_fail(e, "%s: %s (give a .y4m video, an image, a folder of images, or - for Y4M on stdin)",
                            input, strerror(errno));
        }
        if (S_ISDIR(st.st_mode)) {
            s->kind = SOURCE_IMAGES;
            DIR *d = opendir(input);
            if (!d) return fer_fail(e, "%s: cannot list: %s", input, strerror(errno));
            struct dirent *de;
            int rc = 0;
            while (!rc && (de = readdir(d)) != NULL) {
                if (!is_image_name(de->d_name)) continue;
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", input, de->d_name);
                rc = add_file(s, path, e);
            }
            closedir(d);
            if (rc) {
                source_close(s);
                return -1;
            }
            if (!s->nfiles) {
                source_close(s);
                return fer_fail(e, "%s: no images (.pgm .ppm .png .jpg .bmp) in this folder", input);
            }
            qsort(s->files, (size_t)s->nfiles, sizeof *s->files, cmp_str);
        } else {
            FILE *f = fopen(input, "rb");
            if (!f) return fer_fail(e, "%s: cannot open: %s", input, strerror(errno));
            char magic[9] = { 0 };
            size_t got = fread(magic, 1, sizeof magic, f);
            fclose(f);
            if (is_video_container(input)) {
                return fer_fail(e, "%s: fer reads video as Y4M; convert on the fly with ffmpeg: "
                                   "ffmpeg -i %s -f yuv4mpegpipe -pix_fmt yuv420p - | fer demo -i -", input, input);
            }
            if (got == 9 && !memcmp(magic, "YUV4MPEG2", 9)) {
                s->kind = SOURCE_Y4M;
                if (y4m_open(&s->y4m, input, e)) return -1;
            } else {
                s->kind = SOURCE_IMAGES;
                if (add_file(s, input, e)) {
                    source_close(s);
                    return -1;
                }
            }
        }
    }
    if (s->kind == SOURCE_Y4M && s->y4m.hd.fps_num && s->y4m.hd.fps_den)
        s->fps = (double)s->y4m.hd.fps_num / s->y4m.hd.fps_den;
    return 0;
}

int source_open_camera(source *s, const char *dev, int w, int h, int fps, fer_err *e)
{
    memset(s, 0, sizeof *s);
    s->kind = SOURCE_CAMERA;
    snprintf(s->name, sizeof s->name, "%s", dev);
    s->fps = fps;
    return camera_open(&s->cam, dev, w, h, fps, e);
}

static int image_frame(const char *path, frame *f, fer_err *e)
{
    fer_image im;
    if (fer_image_load(&im, path, e)) return -1;
    int rc = frame_from_image(f, &im, e);
    fer_image_free(&im);
    return rc;
}

int source_read(source *s, frame *f, fer_err *e)
{
    switch (s->kind) {
    case SOURCE_CAMERA:
        return camera_read(s->cam, f, e) ? -1 : 1;
    case SOURCE_Y4M: {
        int r = y4m_read(&s->y4m, e);
        if (r == 0 && s->loop && s->y4m.frames > 0) {
            if (y4m_rewind(&s->y4m, e)) return -1;
            r = y4m_read(&s->y4m, e);
        }
        if (r <= 0) return r;
        return y4m_to_frame(&s->y4m, f, e) ? -1 : 1;
    }
    case SOURCE_IMAGES:
        if (s->next >= s->nfiles) {
            if (!s->loop) return 0;
            s->next = 0;
        }
        s->current = s->files[s->next++];
        return image_frame(s->current, f, e) ? -1 : 1;
    }
    return fer_fail(e, "bad source");
}

void source_close(source *s)
{
    if (s->kind == SOURCE_CAMERA) camera_close(s->cam);
    if (s->kind == SOURCE_Y4M) y4m_close(&s->y4m);
    for (int i = 0; i < s->nfiles; i++) free(s->files[i]);
    free(s->files);
    s->files = NULL;
    s->nfiles = 0;
    s->cam = NULL;
}
