/* dataset.c - loads a dataset split into memory as bytes. Three sources, chosen
 * by what the path is: a Kaggle FER-2013 CSV (emotion,pixels,Usage), a
 * folder of class folders (root/<label>/<image>), or a list file of image
 * paths whose label is the path component equal to a label name (an exact
 * match, never a substring). */
#include "dataset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void dataset_free(dataset *ds)
{
    free(ds->pixels);
    free(ds->labels);
    ds->pixels = NULL;
    ds->labels = NULL;
    ds->n = 0;
}

void dataset_class_counts(const dataset *ds, int *count)
{
    memset(count, 0, (size_t)ds->classes * sizeof *count);
    for (int i = 0; i < ds->n; i++) count[ds->labels[i]]++;
}

void dataset_balance_shares(const dataset *ds, float power, double *share)
{
    int count[FER_MAX_CLASSES];
    dataset_class_counts(ds, count);
    double total = 0;
    for (int k = 0; k < ds->classes; k++) total += share[k] = count[k] ? pow(count[k], 1.0 - power) : 0;
    for (int k = 0; k < ds->classes; k++) share[k] /= total;
}

void dataset_balanced_order(const dataset *ds, float power, rng *r, int *order, int *by_class)
{
    int count[FER_MAX_CLASSES], start[FER_MAX_CLASSES + 1], fill[FER_MAX_CLASSES];
    double share[FER_MAX_CLASSES], cum[FER_MAX_CLASSES];
    dataset_class_counts(ds, count);
    dataset_balance_shares(ds, power, share);
    int last = 0;                      /* the last class with images: where rounding lands */
    start[0] = 0;
    for (int k = 0; k < ds->classes; k++) {
        start[k + 1] = start[k] + count[k];
        fill[k] = start[k];
        cum[k] = (k ? cum[k - 1] : 0) + share[k];
        if (count[k]) last = k;
    }
    for (int i = 0; i < ds->n; i++) by_class[fill[ds->labels[i]]++] = i;
    for (int j = 0; j < ds->n; j++) {
        double u = rng_uniform(r);
        int k = 0;
        while (k < last && !(u < cum[k] && count[k])) k++;
        order[j] = by_class[start[k] + rng_int(r, count[k])];
    }
}

/* Grows the arrays to hold at least n+1 images. */
static int reserve(dataset *ds, int *cap, fer_err *e)
{
    if (ds->n < *cap) return 0;
    int nc = *cap ? *cap * 2 : 16;   /* doubling: a few images cost little, FER-2013 ~11 steps */
    size_t img = (size_t)ds->w * ds->h * ds->c;
    uint8_t *p = realloc(ds->pixels, (size_t)nc * img);
    if (!p) return fer_fail(e, "%s: out of memory at image %d", ds->source, ds->n);
    ds->pixels = p;
    int *l = realloc(ds->labels, (size_t)nc * sizeof *l);
    if (!l) return fer_fail(e, "%s: out of memory at image %d", ds->source, ds->n);
    ds->labels = l;
    *cap = nc;
    return 0;
}

static void store_image(dataset *ds, const fer_image *im)
{
    uint8_t *dst = ds->pixels + (size_t)ds->n * ds->w * ds->h * ds->c;
    size_t n = (size_t)ds->w * ds->h * ds->c;
    for (size_t i = 0; i < n; i++) {
        int v = (int)(im->data[i] * 255.0f + 0.5f);
        dst[i] = (uint8_t)(v < 0 ? 0 : (v > 255 ? 255 : v));
    }
}

/* Adds an image file with a label, resized to the dataset's shape. */
static int add_image_file(dataset *ds, int *cap, const char *path, int label, fer_err *e)
{
    fer_image im, conv;
    if (fer_image_load(&im, path, e)) return -1;
    int rc = fer_image_convert(&conv, &im, ds->w, ds->h, ds->c, e);
    fer_image_free(&im);
    if (rc) return -1;
    if (reserve(ds, cap, e)) {
        fer_image_free(&conv);
        return -1;
    }
    store_image(ds, &conv);
    ds->labels[ds->n++] = label;
    fer_image_free(&conv);
    return 0;
}

static int load_csv(dataset *ds, const char *path, const char *usage, fer_err *e)
{
    size_t len, pos = 0, a, b;
    char *text = read_text_file(path, &len, e);
    if (!text) return -1;
    int cap = 0, line = 1;
    /* header */
    if (!text_next_line(text, len, &pos, &a, &b) || b - a < 14 || strncmp(text, "emotion,pixels", 14)) {
        free(text);
        return fer_fail(e, "%s:1: expected the header 'emotion,pixels,Usage' (Kaggle FER-2013 CSV)", path);
    }
    fer_image src = { 48, 48, 1, NULL };
    src.data = fer_alloc(48 * 48, sizeof(float), e);
    if (!src.data) { free(text); return -1; }
    int need_resize = ds->w != 48 || ds->h != 48 || ds->c != 1;
    int rc = 0;
    while (text_next_line(text, len, &pos, &a, &b)) {
        line++;
        char *p = text + a, *end = text + b;
        if (end == p) continue;
        /* emotion */
        char *q = p;
        long label = 0;
        if (!isdigit((unsigned char)*q)) { rc = fer_fail(e, "%s:%d: expected an emotion label 0..%d at the start of the row", path, line, ds->classes - 1); break; }
        while (q < end && isdigit((unsigned char)*q)) { label = label * 10 + (*q - '0'); q++; if (label > 100000) break; }
        if (q >= end || *q != ',' || label >= ds->classes) {
            rc = fer_fail(e, "%s:%d: label must be an integer 0..%d followed by ','", path, line, ds->classes - 1);
            break;
        }
        q++;
        int quoted = q < end && *q == '"';
        if (quoted) q++;
        /* find the Usage field first: rows of other splits are skipped unparsed */
        char *comma = memchr(q, ',', (size_t)(end - q));
        if (!comma) { rc = fer_fail(e, "%s:%d: expected 3 fields: emotion,pixels,Usage", path, line); break; }
        char *u = comma + 1;
        size_t ulen = (size_t)(end - u);
        /* a Usage is one word (Training, PublicTest, ...): a 4th column, a
         * stray quote or an empty field is a malformed row, not another split */
        size_t bad = 0;
        while (bad < ulen && (isalnum((unsigned char)u[bad]) || u[bad] == '_' || u[bad] == '-')) bad++;
        if (!ulen || bad < ulen) {
            rc = fer_fail(e, "%s:%d: the Usage field (column %zu) must be one word like Training or PublicTest%s", path,
                          line, (size_t)(u - p) + 1, ulen ? ", found extra characters" : ", found nothing");
            break;
        }
        if (usage && *usage && (strlen(usage) != ulen || strncmp(u, usage, ulen))) continue;
        char *pe = comma;
        if (quoted) {
            if (pe[-1] != '"') { rc = fer_fail(e, "%s:%d: unterminated quote in the pixels field", path, line); break; }
            pe--;
        }
        int count = 0;
        while (q < pe) {
            while (q < pe && *q == ' ') q++;
            if (q >= pe) break;
            int v = 0, digits = 0;
            while (q < pe && isdigit((unsigned char)*q)) { v = v * 10 + (*q - '0'); q++; if (++digits > 3) break; }
            if (!digits || digits > 3 || v > 255 || (q < pe && *q != ' ')) {
                rc = fer_fail(e, "%s:%d: pixel %d is not an integer 0..255", path, line, count + 1);
                break;
            }
            if (count >= 48 * 48) { rc = fer_fail(e, "%s:%d: more than 2304 pixels (48x48)", path, line); break; }
            src.data[count++] = (float)v / 255.0f;
        }
        if (rc) break;
        if (count != 48 * 48) { rc = fer_fail(e, "%s:%d: %d pixels, expected 2304 (48x48)", path, line, count); break; }
        if ((rc = reserve(ds, &cap, e))) break;
        if (need_resize) {
            fer_image conv;
            if ((rc = fer_image_convert(&conv, &src, ds->w, ds->h, ds->c, e))) break;
            store_image(ds, &conv);
            fer_image_free(&conv);
        } else {
            store_image(ds, &src);
        }
        ds->labels[ds->n++] = (int)label;
    }
    fer_image_free(&src);
    free(text);
    return rc;
}

static int is_image_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    const char *ext[] = { ".pgm", ".ppm", ".png", ".jpg", ".jpeg", ".bmp", ".PGM", ".PPM", ".PNG", ".JPG", ".JPEG" };
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcmp(dot, ext[i])) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int load_folder(dataset *ds, const char *root, const data_cfg *d, fer_err *e)
{
    int cap = 0;
    for (int k = 0; k < d->classes; k++) {
        char dir[2048];
        snprintf(dir, sizeof dir, "%s/%s", root, d->names[k]);
        DIR *dh = opendir(dir);
        if (!dh) {
            if (errno == ENOENT) continue;   /* a class with no images in this split */
            return fer_fail(e, "%s: cannot open: %s", dir, strerror(errno));
        }
        char **files = NULL;
        int nf = 0, capf = 0;
        struct dirent *de;
        int rc = 0;
        while ((de = readdir(dh))) {
            if (de->d_name[0] == '.' || !is_image_name(de->d_name)) continue;
            if (nf == capf) {
                capf = capf ? capf * 2 : 256;
                char **nfiles = realloc(files, (size_t)capf * sizeof *files);
                if (!nfiles) { rc = fer_fail(e, "out of memory"); break; }
                files = nfiles;
            }
            files[nf] = strdup(de->d_name);
            if (!files[nf]) { rc = fer_fail(e, "out of memory"); break; }
            nf++;
        }
        closedir(dh);
        if (!rc) qsort(files, (size_t)nf, sizeof *files, cmp_str);
        for (int i = 0; i < nf && !rc; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            rc = add_image_file(ds, &cap, path, k, e);
        }
        for (int i = 0; i < nf; i++) free(files[i]);
        free(files);
        if (rc) return -1;
    }
    /* folders present on disk but not named in the labels are a mistake */
    DIR *dh = opendir(root);
    if (dh) {
        struct dirent *de;
        while ((de = readdir(dh))) {
            if (de->d_name[0] == '.') continue;
            char sub[4096];
            struct stat st;
            snprintf(sub, sizeof sub, "%s/%s", root, de->d_name);
            if (stat(sub, &st) || !S_ISDIR(st.st_mode)) continue;
            int known = 0;
            for (int k = 0; k < d->classes; k++) known |= !strcmp(d->names[k], de->d_name);
            if (!known) {
                closedir(dh);
                return fer_fail(e, "%s: folder '%s' is not a label in %s", root, de->d_name, d->labels_path);
            }
        }
        closedir(dh);
    }
    return 0;
}

/* The label of a path: the one component that equals a label name. */
static int label_of_path(const char *path, const data_cfg *d)
{
    int found = -1;
    const char *p = path;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        for (int k = 0; k < d->classes; k++)
            if (strlen(d->names[k]) == n && !strncmp(d->names[k], p, n)) {
                if (found >= 0 && found != k) return -2;
                found = k;
            }
        if (!slash) break;
        p = slash + 1;
    }
    return found;
}

static int load_list(dataset *ds, const char *path, const data_cfg *d, fer_err *e)
{
    size_t len;
    char *text = read_file(path, &len, e);
    if (!text) return -1;
    int cap = 0, line = 0, rc = 0;
    char *p = text;
    while (*p && !rc) {
        line++;
        char *eol = strchr(p, '\n');
        if (eol) *eol = 0;
        char *end = p + strlen(p);
        while (end > p && isspace((unsigned char)end[-1])) *--end = 0;
        while (isspace((unsigned char)*p)) p++;
        if (*p && *p != '#') {
            int k = label_of_path(p, d);
            if (k == -1) rc = fer_fail(e, "%s:%d: no path component of '%s' is a label name", path, line, p);
            else if (k == -2) rc = fer_fail(e, "%s:%d: '%s' names two different labels", path, line, p);
            else if (add_image_file(ds, &cap, p, k, e)) {
                fer_err inner = *e;
                rc = fer_fail(e, "%s:%d: %s", path, line, inner.msg);
            }
        }
        if (!eol) break;
        p = eol + 1;
    }
    free(text);
    return rc;
}

int dataset_load(dataset *ds, const char *path, const char *usage, const data_cfg *d, int w, int h,
                 int c, fer_err *e)
{
    memset(ds, 0, sizeof *ds);
    ds->w = w;
    ds->h = h;
    ds->c = c;
    ds->classes = d->classes;
    snprintf(ds->source, sizeof ds->source, "%s", path);
    if (!path || !*path) return fer_fail(e, "%s: no dataset path given for this split", d->path);
    struct stat st;
    if (stat(path, &st)) {
        int csv = strstr(path, "fer2013.csv") != NULL;
        return fer_fail(e, "%s: %s%s", path, strerror(errno),
                        csv ? " (see data/README.md: gunzip the FER-2013 CSV to this path)" : "");
    }
    int rc;
    if (S_ISDIR(st.st_mode)) {
        rc = load_folder(ds, path, d, e);
    } else {
        FILE *f = fopen(path, "rb");
        char head[16] = { 0 };
        if (!f) return fer_fail(e, "%s: %s", path, strerror(errno));
        size_t got = fread(head, 1, sizeof head - 1, f);
        fclose(f);
        (void)got;
        const char *sniff = strncmp(head, "\xEF\xBB\xBF", 3) ? head : head + 3;
        rc = !strncmp(sniff, "emotion,", 8) ? load_csv(ds, path, usage, e) : load_list(ds, path, d, e);
    }
    if (!rc && ds->n == 0)
        rc = fer_fail(e, "%s: no images%s%s%s", path, usage && *usage ? " with Usage=" : "", usage ? usage : "",
                      S_ISDIR(st.st_mode) ? " in its label folders" : "");
    if (rc) dataset_free(ds);
    return rc;
}

/* One row of a CSV for the hold-out split: where it starts and ends, its
 * label, and whether it belongs to the split being divided. */
typedef struct csv_row { size_t start, usage_at, end; int label, in_split; } csv_row;

/* Indexes the rows of a FER-2013 CSV text (header skipped). */
static int index_csv_rows(const char *path, const char *text, size_t len, const char *usage, csv_row **rows_out,
                          int *n_out, fer_err *e)
{
    size_t pos = 0, p, stop;
    if (!text_next_line(text, len, &pos, &p, &stop) || stop < 20 || strncmp(text, "emotion,pixels,Usage", 20))
        return fer_fail(e, "%s:1: expected the header 'emotion,pixels,Usage' (Kaggle FER-2013 CSV)", path);
    csv_row *rows = NULL;
    int n = 0, cap = 0, line = 1;
    while (text_next_line(text, len, &pos, &p, &stop)) {
        line++;
        if (stop == p) continue;
        size_t u = stop;
        while (u > p && text[u - 1] != ',') u--;
        long label = 0;
        size_t q = p;
        while (q < stop && isdigit((unsigned char)text[q]) && label < 1000) label = label * 10 + (text[q++] - '0');
        if (q == p || text[q] != ',' || u <= q + 1 || label >= FER_MAX_CLASSES) {
            free(rows);
            return fer_fail(e, "%s:%d: expected 'label,pixels,Usage'", path, line);
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            csv_row *r = realloc(rows, (size_t)cap * sizeof *r);
            if (!r) { free(rows); return fer_fail(e, "%s: out of memory at line %d", path, line); }
            rows = r;
        }
        size_t ulen = stop - u;
        rows[n] = (csv_row){ p, u, stop, (int)label, strlen(usage) == ulen && !strncmp(text + u, usage, ulen) };
        n++;
    }
    *rows_out = rows;
    *n_out = n;
    return 0;
}

/* Marks round(fraction * count) rows of each class, chosen by a seeded
 * shuffle, as held out (in_split = 2). */
static void choose_holdout(csv_row *rows, int n, double fraction, uint64_t seed, int *order)
{
    rng r;
    rng_seed(&r, seed);
    for (int k = 0; k < FER_MAX_CLASSES; k++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (rows[i].in_split && rows[i].label == k) order[m++] = i;
        if (!m) continue;
        int *perm = order + n;
        rng_permutation(&r, perm, m);
        int take = (int)(fraction * m + 0.5);
        for (int j = 0; j < take; j++) rows[order[perm[j]]].in_split = 2;
    }
}

int dataset_csv_holdout(const char *in, const char *out, const char *usage, double fraction, uint64_t seed,
                        const char *fit_name, const char *holdout_name, int *kept, int *held, fer_err *e)
{
    if (!(fraction > 0 && fraction < 1)) return fer_fail(e, "hold-out fraction %g must be in (0, 1)", fraction);
    size_t len;
    char *text = read_text_file(in, &len, e);
    if (!text) return -1;
    csv_row *rows = NULL;
    int n = 0, rc = index_csv_rows(in, text, len, usage, &rows, &n, e);
    int *order = rc ? NULL : malloc(((size_t)n * 2 + 1) * sizeof *order);
    if (!rc && !order) rc = fer_fail(e, "%s: out of memory", in);
    int in_split = 0;
    for (int i = 0; !rc && i < n; i++) in_split += rows[i].in_split;
    if (!rc && !in_split) rc = fer_fail(e, "%s: no rows with Usage=%s", in, usage);
    char tmp[4096];
    FILE *f = rc ? NULL : atomic_open(out, tmp, sizeof tmp, e);
    if (!rc && !f) rc = -1;
    if (!rc) {
        choose_holdout(rows, n, fraction, seed, order);
        *kept = *held = 0;
        fputs("emotion,pixels,Usage\n", f);
        for (int i = 0; i < n; i++) {
            const csv_row *w = &rows[i];
            fwrite(text + w->start, 1, w->usage_at - w->start, f);
            if (w->in_split) {
                fputs(w->in_split == 2 ? holdout_name : fit_name, f);
                (*(w->in_split == 2 ? held : kept))++;
            } else {
                fwrite(text + w->usage_at, 1, w->end - w->usage_at, f);
            }
            fputc('\n', f);
        }
        rc = atomic_close(f, tmp, out, e);
    }
    free(order);
    free(rows);
    free(text);
    return rc;
}
