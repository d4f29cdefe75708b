/* cmd_demo.c - `fer demo`: faces and their expressions, live from a camera,
 * a Y4M stream or still images; annotated output as Y4M, PNG/PPM/JPEG, JSON
 * lines and an HTTP page with an MJPEG stream. The work per frame is in
 * src/demo.c; this file parses options, opens inputs and outputs and runs
 * the frame loop. */
#include "cli.h"
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

/* The default model: the best small model shipped in weights/. */
#define DEMO_DEFAULT_CFG "cfg/mini_xception.cfg"
#define DEMO_DEFAULT_WEIGHTS "weights/mini_xception.weights"
#define DEMO_DEFAULT_PORT 8080

static const char usage[] =
    "usage: fer demo [DATA] [CFG WEIGHTS] [-c N | -i INPUT] [-o OUTPUT] [-http PORT] [-json] [options]\n"
    "  input   -c N            camera /dev/videoN (default 0); -size WxH (640x480), -fps N\n"
    "          -i INPUT        a .y4m file, - (Y4M on stdin), an image (PGM/PPM/PNG/JPEG) or a folder of images;\n"
    "                          -loop repeats a file, -frames N stops after N frames\n"
    "  model   CFG WEIGHTS     default " DEMO_DEFAULT_CFG " " DEMO_DEFAULT_WEIGHTS "; -ensemble CFG2 W2 [CFG3 W3 ...]\n"
    "                          averages the probabilities of several models\n"
    "  faces   -cascade XML    OpenCV Haar cascade (default: opencv-data's haarcascade_frontalface_default.xml)\n"
    "          -nodetect       classify the centre square of the frame; -min-face PX (short side / 10),\n"
    "          -max-face PX, -scale F (1.1), -neighbors N (8), -detect-every N (5; tracked search between),\n"
    "          -margin F (0.15), -classify-every N (1), -nosmooth\n"
    "  output  -o OUT          video: OUT.y4m, - (stdout) or /dev/null; images: OUT.png/.ppm/.pgm/.jpg, or a\n"
    "                          folder for a folder of images\n"
    "          -json           one JSON line per frame on stdout\n"
    "          -http PORT      page, MJPEG stream and JSON on http://127.0.0.1:PORT/ (-http-bind ADDR, -quality Q)\n"
    "          -bench          print frames per second and per-stage milliseconds at the end\n"
    "  With no -o, -json or -http: a camera is served on http://127.0.0.1:8080/, files print JSON lines.\n";

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

int cmd_demo(int argc, char **argv)
{
    fer_err e;
    const char *pairs[2 * (DEMO_MAX_MODELS - 1)];
    int npairs;
    if (take_ensemble(&argc, argv, pairs, DEMO_MAX_MODELS - 1, &npairs, &e)) return cli_fail(&e);
    args a;
    args_init(&a, argc, argv);
    if (args_flag(&a, "-h") || args_flag(&a, "-help")) {
        fputs(usage, stdout);
        return 0;
    }
    int cam = args_int(&a, "-c", -1);
    const char *input = args_str(&a, "-i", NULL);
    const char *size = args_str(&a, "-size", "640x480");
    int cam_fps = args_int(&a, "-fps", 0);
    const char *output = args_str(&a, "-o", NULL);
    int port = args_int(&a, "-http", -1);
    const char *http_bind = args_str(&a, "-http-bind", "127.0.0.1");
    int quality = args_int(&a, "-quality", 80);
    int json = args_flag(&a, "-json");
    int bench = args_flag(&a, "-bench");
    int loop = args_flag(&a, "-loop");
    long max_frames = args_int(&a, "-frames", 0);
    int nopace = args_flag(&a, "-nopace");
    const char *cascade_path = args_str(&a, "-cascade", NULL);
    demo_options opt;
    demo_options_default(&opt);
    opt.nodetect = args_flag(&a, "-nodetect");
    opt.haar.min_size = args_int(&a, "-min-face", 0);
    opt.haar.max_size = args_int(&a, "-max-face", 0);
    opt.haar.scale_factor = args_float(&a, "-scale", opt.haar.scale_factor);
    opt.haar.min_neighbors = args_int(&a, "-neighbors", opt.haar.min_neighbors);
    opt.detect_every = args_int(&a, "-detect-every", opt.detect_every);
    opt.classify_every = args_int(&a, "-classify-every", opt.classify_every);
    opt.margin = args_float(&a, "-margin", opt.margin);
    opt.smooth = !args_flag(&a, "-nosmooth");
    fer_ctx *ctx = NULL;
    if (cli_ctx(&a, &ctx) || args_done(&a)) {
        fer_ctx_free(ctx);
        cli_fail(&a.err);
        fputs(usage, stderr);
        return 2;
    }
    int cw = 0, ch = 0;
    if (sscanf(size, "%dx%d", &cw, &ch) != 2 || cw < 16 || ch < 16 || cw > 8192 || ch > 8192) {
        fer_fail(&e, "-size %s: expected WxH, e.g. 640x480", size);
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (cam >= 0 && input) {
        fer_fail(&e, "give -c N or -i INPUT, not both");
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }
    if (quality < 1 || quality > 100 || opt.haar.scale_factor <= 1.0f || opt.haar.scale_factor > 4 ||
        opt.margin < 0 || opt.margin > 1 || port > 65535 || opt.haar.min_size < 0 || opt.haar.max_size < 0) {
        fer_fail(&e, "out of range: -quality 1..100, -scale (1, 4], -margin 0..1, -http 0..65535, face sizes >= 0");
        fer_ctx_free(ctx);
        return cli_fail(&e);
    }

    int status = 1;
    data_cfg d;
    memset(&d, 0, sizeof d);
    int have_names = 0;
    fer_net *nets[DEMO_MAX_MODELS] = { 0 };
    int nnets = 0;
    haar_cascade cascade;
    int have_cascade = 0;
    demo dm;
    int have_demo = 0;
    source src;
    int have_src = 0;
    frame f = { 0 };
    y4m_writer yw;
    int have_yw = 0;
    http_server *http = NULL;
    jpeg_buf jb = { 0 };
    strbuf line = { 0 };   /* the frame's JSON object */
    char *hjson = NULL;
    const size_t line_cap = 65536;
    char **names = NULL;
    int classes = 0;

    if (cli_data(&a, &d, &e)) goto fail;
    have_names = d.names != NULL;
    const char *cfg = DEMO_DEFAULT_CFG, *weights = DEMO_DEFAULT_WEIGHTS;
    if (a.argc == 3) {
        cfg = a.argv[1];
        weights = a.argv[2];
    } else if (a.argc != 1) {
        fputs(usage, stderr);
        status = 2;
        goto out;
    } else {
        struct stat st;
        if (stat(DEMO_DEFAULT_WEIGHTS, &st) != 0) {
            fer_fail(&e, "%s: the default model's weights are not here (run from the fer folder; if this tree "
                         "ships none yet, train them: fer classifier train %s, then copy backup/mini_xception_final.weights "
                         "there) or give CFG WEIGHTS", DEMO_DEFAULT_WEIGHTS, DEMO_DEFAULT_CFG);
            goto fail;
        }
    }
    if (fer_net_load(&nets[nnets], cfg, weights, ctx, &e)) goto fail;
    nnets++;
    for (int i = 0; i < npairs; i++) {
        if (fer_net_load(&nets[nnets], pairs[2 * i], pairs[2 * i + 1], ctx, &e)) goto fail;
        nnets++;
    }
    classes = fer_net_classes(nets[0]);
    if (have_names && d.classes != classes) {
        fer_fail(&e, "%s has %d classes but %s outputs %d", d.path, d.classes, cfg, classes);
        goto fail;
    }
    if (!have_names) {
        names = calloc((size_t)classes, sizeof *names);
        if (!names) {
            fer_fail(&e, "out of memory");
            goto fail;
        }
        for (int k = 0; k < classes; k++) {
            char num[16];
            snprintf(num, sizeof num, "%d", k);
            names[k] = strdup(classes == 7 ? fer2013_fallback[k] : num);
        }
    }
    char *const *label_names = have_names ? d.names : names;

    if (!opt.nodetect) {
        if (!cascade_path) cascade_path = haar_default_path();
        if (!cascade_path) {
            fer_fail(&e, "no face cascade found (%s): install Debian's opencv-data (%s), give -cascade FILE.xml, "
                         "or run with -nodetect to classify the centre of the frame",
                     HAAR_DEFAULT_CASCADE, HAAR_APT_HINT);
            goto fail;
        }
        if (haar_load(&cascade, cascade_path, &e)) goto fail;
        have_cascade = 1;
    }
    if (demo_init(&dm, &opt, have_cascade ? &cascade : NULL, nets, nnets, label_names, ctx, &e)) goto fail;
    have_demo = 1;

    /* input */
    char dev[64];
    if (input && !strncmp(input, "/dev/video", 10)) {
        snprintf(dev, sizeof dev, "%s", input);
        input = NULL;
        cam = 0;
    } else {
        snprintf(dev, sizeof dev, "/dev/video%d", cam < 0 ? 0 : cam);
    }
    if (input) {
        if (source_open(&src, input, loop, &e)) goto fail;
    } else {
        if (source_open_camera(&src, dev, cw, ch, cam_fps, &e)) goto fail;
        fprintf(stderr, "fer demo: %s %s\n", dev, camera_describe(src.cam));
    }
    have_src = 1;
    int stills = src.kind == SOURCE_IMAGES;

    /* outputs */
    if (!output && !json && port < 0) {
        if (src.kind == SOURCE_CAMERA) port = DEMO_DEFAULT_PORT;
        else json = 1;
    }
    if (json && output && !strcmp(output, "-")) {
        fer_fail(&e, "-json and -o - both write to stdout; write the video to a file or drop one");
        goto fail;
    }
    int out_dir = 0;
    if (output && stills) {
        struct stat st;
        if (src.nfiles > 1 || (stat(output, &st) == 0 && S_ISDIR(st.st_mode))) {
            if (stat(output, &st) != 0 && mkdir(output, 0777) != 0) {
                fer_fail(&e, "%s: cannot create the output folder: %s", output, strerror(errno));
                goto fail;
            }
            out_dir = 1;
        }
    } else if (output && strcmp(output, "-") && !str_ends_with(output, ".y4m") && strncmp(output, "/dev/", 5)) {
        fer_fail(&e, "-o %s: video is written as Y4M: give OUT.y4m, - for stdout, or /dev/null", output);
        goto fail;
    }
    if (port >= 0) {
        if (http_start(&http, http_bind, port, &e)) goto fail;
        int v6 = strchr(http_bind, ':') != NULL;
        fprintf(stderr, "fer demo: serving http://%s%s%s:%d/ (stream /stream.mjpg, JSON /faces.json)\n",
                v6 ? "[" : "", http_bind, v6 ? "]" : "", http_port(http));
    }
    hjson = malloc(line_cap + 1024);
    if (!hjson) {
        fer_fail(&e, "out of memory");
        goto fail;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);   /* a closed pipe or socket is an error to report, not a silent death */

    int draw = output || http;
    double pace_ms = 0;
    if (http && !nopace && src.kind != SOURCE_CAMERA) pace_ms = 1000.0 / (src.fps > 0 ? src.fps : 30.0);
    timing tm = { 0 };
    double fps = 0, mean_dt = 0, last = (clock_seconds() * 1e3), next_due = last, start = last;
    long frame_no = 0;
    status = 0;
    while (!stop_requested && (max_frames <= 0 || frame_no < max_frames)) {
        int r = source_read(&src, &f, &e);
        if (r == 0) break;
        if (r < 0) {
            if (stop_requested) break;
            cli_fail(&e);
            status = 1;
            if (stills && src.next < src.nfiles) continue;   /* a bad image: go on with the next */
            break;
        }
        if (stills) demo_reset(&dm);
        double t0 = (clock_seconds() * 1e3);
        demo_result res;
        if (demo_process(&dm, &f, &res, &e)) {
            cli_fail(&e);
            status = 1;
            break;
        }
        double t1 = (clock_seconds() * 1e3);
        if (draw) demo_annotate(&dm, &f, &res, fps);
        double t2 = (clock_seconds() * 1e3);
        res.ms_draw = t2 - t1;
        if (output && !stills) {
            if (!have_yw) {
                if (y4m_writer_open(&yw, output, f.w, f.h, src.kind == SOURCE_Y4M ? src.y4m.hd.fps_num : 0,
                                    src.kind == SOURCE_Y4M ? src.y4m.hd.fps_den : 0, &e)) {
                    cli_fail(&e);
                    status = 1;
                    break;
                }
                have_yw = 1;
            }
            if (y4m_writer_put(&yw, &f, &e)) {
                cli_fail(&e);
                status = 1;
                break;
            }
        } else if (output && stills) {
            char path[4200];
            if (out_dir) {
                const char *base = strrchr(src.current, '/');
                base = base ? base + 1 : src.current;
                const char *dot = strrchr(base, '.');
                snprintf(path, sizeof path, "%s/%.*s.png", output, (int)(dot ? dot - base : (long)strlen(base)), base);
            } else {
                snprintf(path, sizeof path, "%s", output);
            }
            if (save_frame(&f, path, quality, &e)) {
                cli_fail(&e);
                status = 1;
            }
        }
        line.len = 0;
        if (demo_json(&dm, &res, frame_no, stills ? src.current : NULL, fps, &line, &e)) {
            cli_fail(&e);
            status = 1;
            break;
        }
        size_t len = line.len < line_cap ? line.len : line_cap - 1;   /* cut to the HTTP copy's room, as before */
        if (json) {
            fwrite(line.s, 1, len, stdout);
            fputc('\n', stdout);
            if (fflush(stdout)) {
                fer_fail(&e, "stdout: %s", strerror(errno));
                cli_fail(&e);
                status = 1;
                break;
            }
        }
        double t3 = (clock_seconds() * 1e3);
        if (http) {
            const uint8_t *jp = NULL;
            size_t jl = 0;
            if (http_wants_frames(http)) {
                if (jpeg_encode(&jb, f.rgb, f.w, f.h, 3, quality, 1, &e)) {
                    cli_fail(&e);
                    status = 1;
                    break;
                }
                jp = jb.data;
                jl = jb.len;
            }
            int hl = snprintf(hjson, 64, "{\"classes\": [");
            for (int k = 0; k < classes && hl < 900; k++)
                hl += snprintf(hjson + hl, 1024 - (size_t)hl, "%s\"%.40s\"", k ? ", " : "", label_names[k]);
            hl += snprintf(hjson + hl, 1024 - (size_t)hl, "], ");
            memcpy(hjson + hl, line.s + 1, len);   /* the frame object without its '{' */
            http_publish(http, jp, jl, hjson, (size_t)hl + len - 1);
        }
        double t4 = (clock_seconds() * 1e3);
        tm.detect += res.ms_detect;
        tm.classify += res.ms_classify;
        tm.draw += res.ms_draw;
        tm.encode += t4 - t3;
        tm.total += t4 - t0;
        tm.frames++;
        frame_no++;
        double now = (clock_seconds() * 1e3), dt = now - last;   /* fps from the smoothed frame interval */
        last = now;
        if (dt > 0) {
            mean_dt = mean_dt > 0 ? 0.9 * mean_dt + 0.1 * dt : dt;
            fps = 1000.0 / mean_dt;
        }
        if (pace_ms > 0) {   /* a file served over HTTP plays at its frame rate */
            next_due += pace_ms;
            double wait = next_due - (clock_seconds() * 1e3);
            if (wait > 0) {
                struct timespec ts = { (time_t)(wait / 1000), (long)((wait - 1000 * (long)(wait / 1000)) * 1e6) };
                nanosleep(&ts, NULL);
            } else if (wait < -1000) {
                next_due = (clock_seconds() * 1e3);
            }
        }
    }
    if (have_yw) {
        have_yw = 0;
        if (y4m_writer_close(&yw, &e)) {
            cli_fail(&e);
            status = 1;
        }
    }
    if (bench && tm.frames) {
        double secs = ((clock_seconds() * 1e3) - start) / 1000.0;
        fprintf(stderr,
                "bench: %ld frames %dx%d in %.2f s: %.1f fps (%.1f fps of processing); per frame: detect %.2f ms, "
                "classify %.2f ms, draw %.2f ms, encode %.2f ms, total %.2f ms; %s, %d model%s, %d thread%s\n",
                tm.frames, f.w, f.h, secs, tm.frames / secs, 1000.0 * tm.frames / tm.total, tm.detect / tm.frames,
                tm.classify / tm.frames, tm.draw / tm.frames, tm.encode / tm.frames, tm.total / tm.frames,
                opt.nodetect ? "no detection" : "detection", nnets, nnets > 1 ? "s" : "", fer_ctx_threads(ctx),
                fer_ctx_threads(ctx) > 1 ? "s" : "");
    }
    goto out;
fail:
    cli_fail(&e);
    status = 1;
out:
    if (have_yw) {
        fer_err ignored;
        y4m_writer_close(&yw, &ignored);
    }
    http_stop(http);
    jpeg_buf_free(&jb);
    sb_free(&line);
    free(hjson);
    frame_free(&f);
    if (have_src) source_close(&src);
    if (have_demo) demo_free(&dm);
    if (have_cascade) haar_free(&cascade);
    for (int i = 0; i < nnets; i++) fer_net_free(nets[i]);
    if (names) {
        for (int k = 0; k < classes; k++) free(names[k]);
        free(names);
    }
    if (have_names) data_cfg_free(&d);
    fer_ctx_free(ctx);
    return status;
}
