/* cmd_demo.c - `fer demo`: faces and their expressions, live from a camera,
 * a Y4M stream or still images; annotated output as Y4M, PNG/PPM/JPEG, JSON
 * lines and an HTTP page with an MJPEG stream. The work per frame is in
 * src/vision/demo.c; this file parses options, opens inputs and outputs and runs
 * the frame loop. */
#include "cli.h"
#include "data/paths.h"
#include "vision/demo.h"
#include "codecs/draw.h"
#include "vision/http.h"
#include "codecs/jpeg.h"
#include "vision/source.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DEMO_DEFAULT_PORT 8080

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}


static const char *const fer2013_fallback[] = { "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral" };

/* Writes an annotated still: .png (fer's encoder), .jpg (fer's encoder),
 * .ppm/.pgm (fer_image_save). */
static int save_frame(const frame *f, const char *path, int quality, fer_err *e)
{
    if (str_ends_with(path, ".png") || str_ends_with(path, ".PNG")) {
        canvas cv = { f->w, f->h, f->rgb };
        return canvas_save_png(&cv, path, e);
    }
    if (str_ends_with(path, ".jpg") || str_ends_with(path, ".jpeg")) {
        jpeg_buf jb = { 0 };
        if (jpeg_encode(&jb, f->rgb, f->w, f->h, 3, quality, 1, e)) return -1;
        char tmp[4200];
        FILE *fp = atomic_open(path, tmp, sizeof tmp, e);
        int rc = fp ? 0 : -1;
        if (fp && fwrite(jb.data, 1, jb.len, fp) != jb.len) rc = fer_fail(e, "%s: write failed", path);
        if (fp && atomic_close(fp, tmp, path, e)) rc = -1;
        jpeg_buf_free(&jb);
        return rc;
    }
    if (!str_ends_with(path, ".ppm") && !str_ends_with(path, ".pgm"))
        return fer_fail(e, "%s: still images are written as .png, .jpg, .ppm or .pgm", path);
    int c = str_ends_with(path, ".pgm") ? 1 : 3;
    fer_image im = { f->w, f->h, c, NULL };
    size_t n = (size_t)f->w * f->h;
    im.data = fer_alloc(n * c, sizeof(float), e);
    if (!im.data) return -1;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < c; k++) im.data[k * n + i] = (c == 1 ? f->gray[i] : f->rgb[3 * i + k]) / 255.0f;
    int rc = fer_image_save(&im, path, e);
    fer_image_free(&im);
    return rc;
}

/* Pulls "-ensemble CFG W [CFG W ...]" out of argv (every occurrence). */
static int take_ensemble(int *argc, char **argv, const char **pairs, int max_pairs, int *npairs, fer_err *e)
{
    *npairs = 0;
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], "-ensemble")) {
            argv[out++] = argv[i];
            continue;
        }
        int j = i + 1, n = 0;
        while (j < *argc && argv[j][0] != '-') j++, n++;
        if (n == 0 || n % 2) return fer_fail(e, "-ensemble takes pairs: CFG WEIGHTS [CFG WEIGHTS ...]");
        for (int k = i + 1; k < j; k += 2) {
            if (*npairs >= max_pairs) return fer_fail(e, "-ensemble: at most %d extra models", max_pairs);
            pairs[2 * *npairs] = argv[k];
            pairs[2 * *npairs + 1] = argv[k + 1];
            (*npairs)++;
        }
        i = j - 1;
    }
    *argc = out;
    return 0;
}

typedef struct timing {
    double detect, classify, draw, encode, total;
    long frames;
} timing;

/* The options of fer demo. */
typedef struct demo_opts {
    int cam;                  /* -c N, or -1 */
    const char *input;        /* -i INPUT or NULL */
    int cw, ch, cam_fps;      /* -size WxH, -fps N */
    const char *output;       /* -o OUT or NULL */
    int port;                 /* -http PORT, or -1 */
    const char *http_bind;
    int quality, json, bench, loop, nopace;
    long max_frames;
    const char *cascade_path;
    demo_options opt;
} demo_opts;

/* A running demo: what the frame loop uses and the end frees (the networks
 * and the label names are in the cli session). */
typedef struct demo_session {
    cli *c;
    demo_opts o;
    char *const *names;       /* [classes] label names */
    int classes;
    haar_cascade cascade;
    int have_cascade;
    demo dm;
    int have_demo;
    source src;
    int have_src;
    int stills;               /* the source is still images */
    int out_dir;              /* -o is a folder of stills */
    frame f;
    y4m_writer yw;
    int have_yw;
    http_server *http;
    jpeg_buf jb;
    strbuf line;              /* a frame's JSON object */
    timing tm;
    double fps, mean_dt, last, next_due, start;   /* milliseconds */
} demo_session;


/* Takes every demo option from the command line (checked by demo_check). */
static void read_opts(args *a, demo_opts *o, const char **size)
{
    o->cam = args_int(a, "-c", -1);
    o->input = args_str(a, "-i", NULL);
    *size = args_str(a, "-size", "640x480");
    o->cam_fps = args_int(a, "-fps", 0);
    o->output = args_str(a, "-o", NULL);
    o->port = args_int(a, "-http", -1);
    o->http_bind = args_str(a, "-http-bind", "127.0.0.1");
    o->quality = args_int(a, "-quality", 80);
    o->json = args_flag(a, "-json");
    o->bench = args_flag(a, "-bench");
    o->loop = args_flag(a, "-loop");
    o->max_frames = args_int(a, "-frames", 0);
    o->nopace = args_flag(a, "-nopace");
    o->cascade_path = args_str(a, "-cascade", NULL);
    demo_options *opt = &o->opt;
    demo_options_default(opt);
    opt->nodetect = args_flag(a, "-nodetect");
    opt->haar.min_size = args_int(a, "-min-face", 0);
    opt->haar.max_size = args_int(a, "-max-face", 0);
    opt->haar.scale_factor = args_float(a, "-scale", opt->haar.scale_factor);
    opt->haar.min_neighbors = args_int(a, "-neighbors", opt->haar.min_neighbors);
    opt->detect_every = args_int(a, "-detect-every", opt->detect_every);
    opt->classify_every = args_int(a, "-classify-every", opt->classify_every);
    opt->margin = args_float(a, "-margin", opt->margin);
    opt->smooth = !args_flag(a, "-nosmooth");
    const char *panel = args_str(a, "-panel", "bars");
    if (!strcmp(panel, "bars")) opt->panel = DEMO_PANEL_BARS;
    else if (!strcmp(panel, "label")) opt->panel = DEMO_PANEL_LABEL;
    else if (!strcmp(panel, "none")) opt->panel = DEMO_PANEL_NONE;
    else args_fail(a, "-panel %s: expected bars, label or none", panel);
}

static int check_opts(demo_opts *o, const char *size, fer_err *e)
{
    const demo_options *opt = &o->opt;
    if (sscanf(size, "%dx%d", &o->cw, &o->ch) != 2 || o->cw < 16 || o->ch < 16 || o->cw > 8192 || o->ch > 8192)
        return fer_fail(e, "-size %s: expected WxH, e.g. 640x480", size);
    if (o->cam >= 0 && o->input) return fer_fail(e, "give -c N or -i INPUT, not both");
    if (o->quality < 1 || o->quality > 100 || opt->haar.scale_factor <= 1.0f || opt->haar.scale_factor > 4 ||
        opt->margin < 0 || opt->margin > 1 || o->port > 65535 || opt->haar.min_size < 0 || opt->haar.max_size < 0)
        return fer_fail(e, "out of range: -quality 1..100, -scale (1, 4], -margin 0..1, -http 0..65535, face sizes >= 0");
    return 0;
}

/* CFG WEIGHTS (or the default model) and the -ensemble pairs into c->nets;
 * the label names of the .data file, or FER-2013's (7 classes) or numbers. */
static int load_models(demo_session *s, const char **pairs, int npairs)
{
    cli *c = s->c;
    fer_err *e = &c->e;
    char cfg_path[4096], weights_path[4096];
    const char *cfg = cfg_path, *weights = weights_path;
    if (c->a.argc == 3) {
        cfg = c->a.argv[1];
        weights = c->a.argv[2];
    } else if (path_locate(FER_DEFAULT_CFG, NULL, cfg_path, sizeof cfg_path) ||
               path_locate(FER_DEFAULT_WEIGHTS, NULL, weights_path, sizeof weights_path)) {
        return fer_fail(e, "the default model (%s, %s) is not here, beside fer or in %s: give CFG WEIGHTS",
                        FER_DEFAULT_CFG, FER_DEFAULT_WEIGHTS, path_share_dir());
    }
    c->nets = calloc((size_t)npairs + 1, sizeof *c->nets);
    if (!c->nets) return fer_fail(e, "out of memory");
    if (fer_net_load(&c->nets[c->nnets], cfg, weights, c->ctx, e)) return -1;
    c->nnets++;
    for (int i = 0; i < npairs; i++) {
        if (fer_net_load(&c->nets[c->nnets], pairs[2 * i], pairs[2 * i + 1], c->ctx, e)) return -1;
        c->nnets++;
    }
    s->classes = fer_net_classes(c->nets[0]);
    data_cfg *d = &c->d;
    if (d->names && d->classes != s->classes)
        return fer_fail(e, "%s has %d classes but %s outputs %d", d->path, d->classes, cfg, s->classes);
    if (!d->names) {   /* the session frees them with the .data file's */
        d->names = calloc((size_t)s->classes, sizeof *d->names);
        if (!d->names) return fer_fail(e, "out of memory");
        d->classes = s->classes;
        for (int k = 0; k < s->classes; k++) {
            char num[16];
            snprintf(num, sizeof num, "%d", k);
            d->names[k] = strdup(s->classes == 7 ? fer2013_fallback[k] : num);
        }
    }
    s->names = d->names;
    return 0;
}

/* The face cascade (unless -nodetect) and the per-frame work. */
static int load_detector(demo_session *s)
{
    cli *c = s->c;
    demo_opts *o = &s->o;
    if (!o->opt.nodetect) {
        if (!o->cascade_path) o->cascade_path = haar_default_path();
        if (!o->cascade_path)
            return fer_fail(&c->e, "no face cascade found (%s): install Debian's opencv-data (%s), give -cascade FILE.xml, "
                                   "or run with -nodetect to classify the centre of the frame",
                            HAAR_DEFAULT_CASCADE, HAAR_APT_HINT);
        if (haar_load(&s->cascade, o->cascade_path, &c->e)) return -1;
        s->have_cascade = 1;
    }
    if (demo_init(&s->dm, &o->opt, s->have_cascade ? &s->cascade : NULL, c->nets, c->nnets, s->names, c->ctx, &c->e))
        return -1;
    s->have_demo = 1;
    return 0;
}

/* -i INPUT (a /dev/video path is a camera), or camera -c N. */
static int open_input(demo_session *s)
{
    demo_opts *o = &s->o;
    fer_err *e = &s->c->e;
    char dev[64];
    if (o->input && !strncmp(o->input, "/dev/video", 10)) {
        snprintf(dev, sizeof dev, "%s", o->input);
        o->input = NULL;
        o->cam = 0;
    } else {
        snprintf(dev, sizeof dev, "/dev/video%d", o->cam < 0 ? 0 : o->cam);
    }
    if (o->input) {
        if (source_open(&s->src, o->input, o->loop, e)) return -1;
    } else {
        if (source_open_camera(&s->src, dev, o->cw, o->ch, o->cam_fps, e)) return -1;
        fprintf(stderr, "fer demo: %s %s\n", dev, camera_describe(s->src.cam));
    }
    s->have_src = 1;
    s->stills = s->src.kind == SOURCE_IMAGES;
    return 0;
}

/* The outputs: the default (HTTP for a camera, JSON for files), -o checked
 * against the input (a folder for several stills, Y4M for video), the HTTP
 * server, the JSON buffers. */
static int open_outputs(demo_session *s)
{
    demo_opts *o = &s->o;
    fer_err *e = &s->c->e;
    if (!o->output && !o->json && o->port < 0) {
        if (s->src.kind == SOURCE_CAMERA) o->port = DEMO_DEFAULT_PORT;
        else o->json = 1;
    }
    if (o->json && o->output && !strcmp(o->output, "-"))
        return fer_fail(e, "-json and -o - both write to stdout; write the video to a file or drop one");
    struct stat st;
    if (o->output && s->stills) {
        if (s->src.nfiles > 1 || (stat(o->output, &st) == 0 && S_ISDIR(st.st_mode))) {
            if (stat(o->output, &st) != 0 && mkdir(o->output, 0777) != 0)
                return fer_fail(e, "%s: cannot create the output folder: %s", o->output, strerror(errno));
            s->out_dir = 1;
        }
    } else if (o->output && strcmp(o->output, "-") && !str_ends_with(o->output, ".y4m") &&
               strncmp(o->output, "/dev/", 5)) {
        return fer_fail(e, "-o %s: video is written as Y4M: give OUT.y4m, - for stdout, or /dev/null", o->output);
    }
    if (o->port >= 0) {
        if (http_start(&s->http, o->http_bind, o->port, e)) return -1;
        int v6 = strchr(o->http_bind, ':') != NULL;
        fprintf(stderr, "fer demo: serving http://%s%s%s:%d/ (stream /stream.mjpg, JSON /faces.json)\n",
                v6 ? "[" : "", o->http_bind, v6 ? "]" : "", http_port(s->http));
    }
    return 0;
}

/* The annotated frame to -o: the next Y4M frame, or a still (a file of its
 * stem in the -o folder). Returns 0, 1 (a still failed: go on) or -1. */
static int write_frame(demo_session *s)
{
    demo_opts *o = &s->o;
    fer_err *e = &s->c->e;
    if (!s->stills) {
        if (!s->have_yw) {
            int y4m = s->src.kind == SOURCE_Y4M;
            if (y4m_writer_open(&s->yw, o->output, s->f.w, s->f.h, y4m ? s->src.y4m.hd.fps_num : 0,
                                y4m ? s->src.y4m.hd.fps_den : 0, e))
                return -1;
            s->have_yw = 1;
        }
        return y4m_writer_put(&s->yw, &s->f, e) ? -1 : 0;
    }
    char path[4200];
    if (s->out_dir) {
        char stem[1024];
        path_stem(s->src.current, stem, sizeof stem);
        snprintf(path, sizeof path, "%s/%s.png", o->output, stem);
    } else {
        snprintf(path, sizeof path, "%s", o->output);
    }
    return save_frame(&s->f, path, o->quality, e) ? 1 : 0;
}

/* The frame (as JPEG, when a client watches the stream) and its JSON with the class names, to the HTTP clients. */
static int publish_http(demo_session *s, size_t len)
{
    const uint8_t *jp = NULL;
    size_t jl = 0;
    if (http_wants_frames(s->http)) {
        if (jpeg_encode(&s->jb, s->f.rgb, s->f.w, s->f.h, 3, s->o.quality, 1, &s->c->e)) return -1;
        jp = s->jb.data;
        jl = s->jb.len;
    }
    http_publish(s->http, jp, jl, s->line.s, len);   /* the same JSON as -json prints */
    return 0;
}

/* The frame rate from the smoothed frame interval; a file served over HTTP
 * plays at its frame rate. */
static void pace(demo_session *s, double pace_ms)
{
    double now = clock_seconds() * 1e3, dt = now - s->last;
    s->last = now;
    if (dt > 0) {
        s->mean_dt = s->mean_dt > 0 ? 0.9 * s->mean_dt + 0.1 * dt : dt;
        s->fps = 1000.0 / s->mean_dt;
    }
    if (pace_ms <= 0) return;
    s->next_due += pace_ms;
    double wait = s->next_due - clock_seconds() * 1e3;
    if (wait > 0) {
        struct timespec ts = { (time_t)(wait / 1000), (long)((wait - 1000 * (long)(wait / 1000)) * 1e6) };
        nanosleep(&ts, NULL);
    } else if (wait < -1000) {
        s->next_due = clock_seconds() * 1e3;
    }
}

/* The frame's JSON object in s->line (its length in *len), and to stdout as a line with -json. */
static int write_json(demo_session *s, const demo_result *res, long frame_no, size_t *len)
{
    const char *image = s->stills ? s->src.current : NULL;
    s->line.len = 0;
    if (demo_json(&s->dm, res, frame_no, image, s->fps, &s->line, &s->c->e)) return -1;
    *len = s->line.len;
    if (!s->o.json) return 0;
    fwrite(s->line.s, 1, *len, stdout);
    fputc('\n', stdout);
    return fflush(stdout) ? fer_fail(&s->c->e, "stdout: %s", strerror(errno)) : 0;
}

/* One frame read in s->f: faces found and classified, drawn, written, sent.
 * Returns 0, 1 (an error printed; go on) or -1 (an error printed; stop). */
static int process_frame(demo_session *s, long frame_no)
{
    cli *c = s->c;
    int status = 0;
    if (s->stills) demo_reset(&s->dm);
    double t0 = clock_seconds() * 1e3;
    demo_result res;
    if (demo_process(&s->dm, &s->f, &res, &c->e)) {
        cli_error(c);
        return -1;
    }
    double t1 = clock_seconds() * 1e3;
    if (s->o.output || s->http) demo_annotate(&s->dm, &s->f, &res, s->fps);
    res.ms_draw = clock_seconds() * 1e3 - t1;
    if (s->o.output && (status = write_frame(s))) {
        cli_error(c);
        if (status < 0) return -1;
    }
    size_t len;
    if (write_json(s, &res, frame_no, &len)) {
        cli_error(c);
        return -1;
    }
    double t3 = clock_seconds() * 1e3;
    if (s->http && publish_http(s, len)) {
        cli_error(c);
        return -1;
    }
    double t4 = clock_seconds() * 1e3;
    s->tm.detect += res.ms_detect;
    s->tm.classify += res.ms_classify;
    s->tm.draw += res.ms_draw;
    s->tm.encode += t4 - t3;
    s->tm.total += t4 - t0;
    s->tm.frames++;
    return status;
}

/* Frames until the input ends, -frames N or a signal; returns the exit code. */
static int frame_loop(demo_session *s)
{
    cli *c = s->c;
    demo_opts *o = &s->o;
    double pace_ms = 0;
    if (s->http && !o->nopace && s->src.kind != SOURCE_CAMERA) pace_ms = 1000.0 / (s->src.fps > 0 ? s->src.fps : 30.0);
    s->last = s->next_due = s->start = clock_seconds() * 1e3;
    long frame_no = 0;
    int status = 0;
    while (!stop_requested && (o->max_frames <= 0 || frame_no < o->max_frames)) {
        int r = source_read(&s->src, &s->f, &c->e);
        if (r == 0) break;
        if (r < 0) {
            if (stop_requested) break;
            status = cli_error(c);
            if (s->stills && s->src.next < s->src.nfiles) continue;   /* a bad image: go on with the next */
            break;
        }
        int rc = process_frame(s, frame_no);
        if (rc) status = 1;
        if (rc < 0) break;
        frame_no++;
        pace(s, pace_ms);
    }
    if (s->have_yw) {
        s->have_yw = 0;
        if (y4m_writer_close(&s->yw, &c->e)) status = cli_error(c);
    }
    return status;
}

static void print_bench(const demo_session *s)
{
    const timing *tm = &s->tm;
    fer_ctx *ctx = s->c->ctx;
    int nnets = s->c->nnets;
    double secs = (clock_seconds() * 1e3 - s->start) / 1000.0;
    fprintf(stderr,
            "bench: %ld frames %dx%d in %.2f s: %.1f fps (%.1f fps of processing); per frame: detect %.2f ms, "
            "classify %.2f ms, draw %.2f ms, encode %.2f ms, total %.2f ms; %s, %d model%s, %d thread%s\n",
            tm->frames, s->f.w, s->f.h, secs, tm->frames / secs, 1000.0 * tm->frames / tm->total, tm->detect / tm->frames,
            tm->classify / tm->frames, tm->draw / tm->frames, tm->encode / tm->frames, tm->total / tm->frames,
            s->o.opt.nodetect ? "no detection" : "detection", nnets, nnets > 1 ? "s" : "", fer_ctx_threads(ctx),
            fer_ctx_threads(ctx) > 1 ? "s" : "");
}

static void demo_session_free(demo_session *s)
{
    if (s->have_yw) {
        fer_err ignored;
        y4m_writer_close(&s->yw, &ignored);
    }
    http_stop(s->http);
    jpeg_buf_free(&s->jb);
    sb_free(&s->line);
    frame_free(&s->f);
    if (s->have_src) source_close(&s->src);
    if (s->have_demo) demo_free(&s->dm);
    if (s->have_cascade) haar_free(&s->cascade);
}

static int demo_run(cli *c)
{
    args *a = &c->a;
    const char *pairs[2 * (DEMO_MAX_MODELS - 1)];
    int npairs;
    if (take_ensemble(&a->argc, a->argv, pairs, DEMO_MAX_MODELS - 1, &npairs, &c->e)) args_fail(a, "%s", c->e.msg);
    demo_session s;
    memset(&s, 0, sizeof s);
    s.c = c;
    const char *size;
    read_opts(a, &s.o, &size);
    int rc = cli_start(c, 0, 2);
    if (rc) return rc;
    if (check_opts(&s.o, size, &c->e)) return cli_error(c);
    if (a->argc == 2) return cli_bad_usage(c);
    if (load_models(&s, pairs, npairs) || load_detector(&s) || open_input(&s) || open_outputs(&s)) {
        demo_session_free(&s);
        return cli_error(c);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);   /* a closed pipe or socket is an error to report, not a silent death */
    int status = frame_loop(&s);
    if (s.o.bench && s.tm.frames) print_bench(&s);
    demo_session_free(&s);
    return status;
}

const command cmd_demo = {
    "demo", demo_run, CLI_CTX | CLI_DATA,
    "usage: fer demo [DATA] [CFG WEIGHTS] [-c N | -i INPUT] [-o OUTPUT] [-http PORT] [-json] [options]\n"
    "  input   -c N            camera /dev/videoN (default 0); -size WxH (640x480), -fps N\n"
    "          -i INPUT        a .y4m file, - (Y4M on stdin), an image (PGM/PPM/PNG/JPEG) or a folder of images;\n"
    "                          -loop repeats a file, -frames N stops after N frames\n"
    "  model   CFG WEIGHTS     default " FER_DEFAULT_CFG " " FER_DEFAULT_WEIGHTS "; -ensemble CFG2 W2 [CFG3 W3 ...]\n"
    "                          averages the probabilities of several models\n"
    "  faces   -cascade XML    OpenCV Haar cascade (default: opencv-data's haarcascade_frontalface_default.xml)\n"
    "          -nodetect       classify the centre square of the frame; -min-face PX (short side / 10),\n"
    "          -max-face PX, -scale F (1.1), -neighbors N (8), -detect-every N (5; tracked search between),\n"
    "          -margin F (0.15), -classify-every N (1), -nosmooth\n"
    "  output  -o OUT          video: OUT.y4m, - (stdout) or /dev/null; images: OUT.png/.ppm/.pgm/.jpg, or a\n"
    "                          folder for a folder of images\n"
    "          -json           one JSON line per frame on stdout\n"
    "          -panel P        beside each face: bars (label and per-class bars, placed over no face), label, none\n"
    "          -http PORT      page, MJPEG stream and JSON on http://127.0.0.1:PORT/ (-http-bind ADDR, -quality Q)\n"
    "          -bench          print frames per second and per-stage milliseconds at the end\n"
    "  With no -o, -json or -http: a camera is served on http://127.0.0.1:8080/, files print JSON lines.\n",
    "live faces and expressions from a camera, a Y4M stream or images", NULL,
};
