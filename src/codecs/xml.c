/* xml.c - the small XML reader of xml.h: one pass over the text with a stack
 * of open elements; names and texts are copied into one arena. */
#include "xml.h"

#include <stdlib.h>
#include <string.h>

/* What the parser keeps for an open element. */
typedef struct open_elem {
    int node;
    int last_child;      /* -1 = none yet */
    char *text;          /* its character data so far (malloc'd) */
    size_t len, cap;
} open_elem;

typedef struct parser {
    xml_doc *d;
    const char *s;
    size_t len, p;
    int line;
    fer_err *e;
    size_t *name_off, *text_off;   /* [d->cap] arena offsets, turned into pointers at the end */
    open_elem stack[XML_MAX_DEPTH];
    int depth;
} parser;

static int fail(parser *ps, int line, const char *what)
{
    return fer_fail(ps->e, "%s:%d: %s", ps->d->path, line, what);
}

/* Advances over n characters, counting lines. */
static void skip(parser *ps, size_t n)
{
    for (size_t i = 0; i < n && ps->p < ps->len; i++, ps->p++)
        if (ps->s[ps->p] == '\n') ps->line++;
}

static int starts(const parser *ps, const char *lit)
{
    size_t n = strlen(lit);
    return ps->len - ps->p >= n && !memcmp(ps->s + ps->p, lit, n);
}

/* Skips to just after the terminator `end`; fails when absent. */
static int skip_past(parser *ps, const char *end, const char *what)
{
    int line = ps->line;
    size_t n = strlen(end);
    while (ps->p < ps->len) {
        if (ps->len - ps->p >= n && !memcmp(ps->s + ps->p, end, n)) {
            skip(ps, n);
            return 0;
        }
        skip(ps, 1);
    }
    char msg[128];
    snprintf(msg, sizeof msg, "%s is not closed by '%s'", what, end);
    return fail(ps, line, msg);
}

static size_t arena_add(parser *ps, const char *s, size_t n)
{
    xml_doc *d = ps->d;
    if (d->arena_len + n + 1 > d->arena_cap) {
        size_t cap = d->arena_cap ? d->arena_cap : 4096;
        while (cap < d->arena_len + n + 1) cap *= 2;
        char *a = realloc(d->arena, cap);
        if (!a) return (size_t)-1;
        d->arena = a;
        d->arena_cap = cap;
    }
    size_t off = d->arena_len;
    memcpy(d->arena + off, s, n);
    d->arena[off + n] = 0;
    d->arena_len += n + 1;
    return off;
}

static int is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':'; }
static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t name_len(const parser *ps)
{
    size_t n = 0;
    if (ps->p < ps->len && is_name_start(ps->s[ps->p]))
        while (ps->p + n < ps->len && is_name_char(ps->s[ps->p + n])) n++;
    return n;
}

static int append_text(parser *ps, const char *t, size_t n)
{
    open_elem *o = &ps->stack[ps->depth - 1];
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        while (cap < o->len + n + 1) cap *= 2;
        char *b = realloc(o->text, cap);
        if (!b) return fer_fail(ps->e, "%s: out of memory", ps->d->path);
        o->text = b;
        o->cap = cap;
    }
    memcpy(o->text + o->len, t, n);
    o->len += n;
    return 0;
}

/* Character data up to the next '<', entities decoded. */
static int char_data(parser *ps)
{
    while (ps->p < ps->len && ps->s[ps->p] != '<') {
        char c = ps->s[ps->p];
        if (ps->depth == 0) {
            if (!is_space(c)) return fail(ps, ps->line, "text outside the root element");
            skip(ps, 1);
            continue;
        }
        if (c != '&') {
            size_t n = 0;
            while (ps->p + n < ps->len && ps->s[ps->p + n] != '<' && ps->s[ps->p + n] != '&') n++;
            if (append_text(ps, ps->s + ps->p, n)) return -1;
            skip(ps, n);
            continue;
        }
        static const struct { const char *name; char ch; } ents[] = {
            { "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' }, { "&quot;", '"' }, { "&apos;", '\'' } };
        int done = 0;
        for (size_t k = 0; k < sizeof ents / sizeof ents[0] && !done; k++)
            if (starts(ps, ents[k].name)) {
                if (append_text(ps, &ents[k].ch, 1)) return -1;
                skip(ps, strlen(ents[k].name));
                done = 1;
            }
        if (!done && starts(ps, "&#")) {
            size_t q = ps->p + 2;
            int hex = q < ps->len && ps->s[q] == 'x';
            q += hex;
            long v = 0;
            size_t digits = 0;
            while (q < ps->len && digits < 8) {
                char h = ps->s[q];
                int dv = h >= '0' && h <= '9' ? h - '0'
                         : hex && h >= 'a' && h <= 'f' ? h - 'a' + 10
                         : hex && h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (dv < 0) break;
                v = v * (hex ? 16 : 10) + dv;
                q++;
                digits++;
            }
            if (digits && q < ps->len && ps->s[q] == ';' && v > 0 && v < 128) {
                char ch = (char)v;
                if (append_text(ps, &ch, 1)) return -1;
                skip(ps, q + 1 - ps->p);
                done = 1;
            }
        }
        if (!done) return fail(ps, ps->line, "unknown or malformed entity after '&' (use &amp;)");
    }
    return 0;
}

static int start_tag(parser *ps)
{
    int line = ps->line;
    skip(ps, 1);   /* '<' */
    size_t n = name_len(ps);
    if (!n) return fail(ps, line, "'<' is not followed by an element name");
    xml_doc *d = ps->d;
    if (ps->depth == 0 && d->n > 0) return fail(ps, line, "a second root element");
    if (ps->depth >= XML_MAX_DEPTH) return fail(ps, line, "elements nested too deeply");
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 256;
        xml_node *nodes = realloc(d->nodes, (size_t)cap * sizeof *nodes);
        size_t *no = realloc(ps->name_off, (size_t)cap * sizeof *no);
        if (no) ps->name_off = no;
        size_t *to = realloc(ps->text_off, (size_t)cap * sizeof *to);
        if (to) ps->text_off = to;
        if (nodes) d->nodes = nodes;
        if (!nodes || !no || !to) return fer_fail(ps->e, "%s: out of memory", d->path);
        d->cap = cap;
    }
    int id = d->n++;
    xml_node *x = &d->nodes[id];
    memset(x, 0, sizeof *x);
    x->line = line;
    x->parent = ps->depth ? ps->stack[ps->depth - 1].node : -1;
    x->first_child = x->next_sibling = -1;
    if (x->parent >= 0) {   /* append to the parent's children */
        open_elem *par = &ps->stack[ps->depth - 1];
        if (par->last_child < 0) d->nodes[x->parent].first_child = id;
        else d->nodes[par->last_child].next_sibling = id;
        par->last_child = id;
    }
    ps->name_off[id] = arena_add(ps, ps->s + ps->p, n);
    ps->text_off[id] = (size_t)-1;
    if (ps->name_off[id] == (size_t)-1) return fer_fail(ps->e, "%s: out of memory", d->path);
    skip(ps, n);
    for (;;) {   /* attributes */
        int had_space = 0;
        while (ps->p < ps->len && is_space(ps->s[ps->p])) {
            skip(ps, 1);
            had_space = 1;
        }
        if (ps->p >= ps->len) return fail(ps, line, "start tag is not closed by '>'");
        if (starts(ps, "/>") || ps->s[ps->p] == '>') break;
        size_t an = name_len(ps);
        if (!an || !had_space) return fail(ps, ps->line, "malformed attribute in start tag");
        skip(ps, an);
        while (ps->p < ps->len && is_space(ps->s[ps->p])) skip(ps, 1);
        if (ps->p >= ps->len || ps->s[ps->p] != '=') return fail(ps, ps->line, "attribute without '=value'");
        skip(ps, 1);
        while (ps->p < ps->len && is_space(ps->s[ps->p])) skip(ps, 1);
        if (ps->p >= ps->len || (ps->s[ps->p] != '"' && ps->s[ps->p] != '\''))
            return fail(ps, ps->line, "attribute value is not quoted");
        char q = ps->s[ps->p];
        skip(ps, 1);
        while (ps->p < ps->len && ps->s[ps->p] != q) {
            if (ps->s[ps->p] == '<') return fail(ps, ps->line, "'<' inside an attribute value");
            skip(ps, 1);
        }
        if (ps->p >= ps->len) return fail(ps, line, "attribute value is not closed");
        skip(ps, 1);
    }
    x->text_line = ps->line;
    if (starts(ps, "/>")) {   /* empty element */
        skip(ps, 2);
        ps->text_off[id] = arena_add(ps, "", 0);
        return ps->text_off[id] == (size_t)-1 ? fer_fail(ps->e, "%s: out of memory", d->path) : 0;
    }
    skip(ps, 1);
    x->text_line = ps->line;
    open_elem *o = &ps->stack[ps->depth++];
    memset(o, 0, sizeof *o);
    o->node = id;
    o->last_child = -1;
    return 0;
}

static int end_tag(parser *ps)
{
    int line = ps->line;
    skip(ps, 2);   /* "</" */
    size_t n = name_len(ps);
    if (!n) return fail(ps, line, "'</' is not followed by an element name");
    const char *name = ps->s + ps->p;
    skip(ps, n);
    while (ps->p < ps->len && is_space(ps->s[ps->p])) skip(ps, 1);
    if (ps->p >= ps->len || ps->s[ps->p] != '>') return fail(ps, line, "end tag is not closed by '>'");
    skip(ps, 1);
    if (ps->depth == 0) return fail(ps, line, "end tag without a start tag");
    open_elem *o = &ps->stack[ps->depth - 1];
    const char *open = ps->d->arena + ps->name_off[o->node];
    if (strlen(open) != n || memcmp(open, name, n)) {
        char msg[200];
        snprintf(msg, sizeof msg, "</%.*s> does not close <%.60s> (opened at line %d)", (int)(n > 60 ? 60 : n), name,
                 open, ps->d->nodes[o->node].line);
        return fail(ps, line, msg);
    }
    ps->text_off[o->node] = arena_add(ps, o->text ? o->text : "", o->len);
    free(o->text);
    o->text = NULL;
    ps->depth--;
    return ps->text_off[ps->stack[ps->depth].node] == (size_t)-1 ? fer_fail(ps->e, "%s: out of memory", ps->d->path)
                                                                  : 0;
}

int xml_parse(xml_doc *d, const char *path, const char *text, size_t len, fer_err *e)
{
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "%s", path);
    parser ps;
    memset(&ps, 0, sizeof ps);
    ps.d = d;
    ps.s = text;
    ps.len = len;
    ps.line = 1;
    ps.e = e;
    int rc = 0;
    if (memchr(text, 0, len)) {
        const char *z = memchr(text, 0, len);
        int line = 1;
        for (const char *q = text; q < z; q++) line += *q == '\n';
        rc = fer_fail(e, "%s:%d: NUL byte (binary data, not XML)", path, line);
    }
    if (!rc && starts(&ps, "\xef\xbb\xbf")) skip(&ps, 3);   /* UTF-8 byte order mark */
    while (!rc && ps.p < ps.len) {
        if (ps.s[ps.p] != '<') rc = char_data(&ps);
        else if (starts(&ps, "<!--")) rc = skip_past(&ps, "-->", "comment");
        else if (starts(&ps, "<?")) rc = skip_past(&ps, "?>", "processing instruction");
        else if (starts(&ps, "<![CDATA[")) {
            if (!ps.depth) {
                rc = fail(&ps, ps.line, "CDATA outside the root element");
                break;
            }
            skip(&ps, 9);
            size_t start = ps.p;
            rc = skip_past(&ps, "]]>", "CDATA section");
            if (!rc) rc = append_text(&ps, ps.s + start, ps.p - 3 - start);
        } else if (starts(&ps, "<!")) {
            if (d->n) rc = fail(&ps, ps.line, "declaration inside the document");
            else rc = skip_past(&ps, ">", "declaration");
        } else if (starts(&ps, "</")) rc = end_tag(&ps);
        else rc = start_tag(&ps);
    }
    if (!rc && ps.depth) {
        xml_node *x = &d->nodes[ps.stack[ps.depth - 1].node];
        rc = fer_fail(e, "%s:%d: unexpected end of file: <%s> (opened at line %d) is not closed", path, ps.line,
                      d->arena + ps.name_off[ps.stack[ps.depth - 1].node], x->line);
    }
    if (!rc && !d->n) rc = fer_fail(e, "%s:%d: no root element (empty or not XML)", path, ps.line);
    for (int i = 0; i < ps.depth; i++) free(ps.stack[i].text);
    if (!rc)
        for (int i = 0; i < d->n; i++) {
            d->nodes[i].name = d->arena + ps.name_off[i];
            d->nodes[i].text = d->arena + ps.text_off[i];
        }
    free(ps.name_off);
    free(ps.text_off);
    if (rc) xml_free(d);
    return rc;
}

int xml_load(xml_doc *d, const char *path, fer_err *e)
{
    memset(d, 0, sizeof *d);
    size_t len;
    char *text = read_file(path, &len, e);
    if (!text) return -1;
    int rc = xml_parse(d, path, text, len, e);
    free(text);
    return rc;
}

void xml_free(xml_doc *d)
{
    free(d->nodes);
    free(d->arena);
    d->nodes = NULL;
    d->arena = NULL;
    d->n = d->cap = 0;
}

int xml_child(const xml_doc *d, int node, const char *name)
{
    if (node < 0 || node >= d->n) return -1;
    for (int c = d->nodes[node].first_child; c >= 0; c = d->nodes[c].next_sibling)
        if (!strcmp(d->nodes[c].name, name)) return c;
    return -1;
}

int xml_count(const xml_doc *d, int node)
{
    int n = 0;
    for (int c = d->nodes[node].first_child; c >= 0; c = d->nodes[c].next_sibling) n++;
    return n;
}
