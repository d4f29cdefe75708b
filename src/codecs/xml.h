/* xml.h - a small, strict XML reader for the files fer reads (OpenCV's
 * cascade files): elements, their character data and the line they start
 * on. Attributes are checked for syntax and skipped; comments, processing
 * instructions and a DOCTYPE are skipped; CDATA is text; the five predefined
 * entities and numeric character references below 128 are decoded.
 * Malformed input is an error naming file:line.
 * Part of src/codecs/: the file formats and pixel buffers fer handles with
 * its own code (no libraries). */
#ifndef FER_XML_H
#define FER_XML_H

#include <stddef.h>

#include "engine/engine.h"

#define XML_MAX_DEPTH 256

typedef struct xml_node {
    const char *name;       /* NUL-terminated, inside the document's arena */
    const char *text;       /* the element's own character data (children's excluded), NUL-terminated */
    int line;               /* line of the start tag */
    int text_line;          /* line where the character data starts */
    int parent, first_child, next_sibling;   /* node indices, -1 = none */
} xml_node;

typedef struct xml_doc {
    char path[512];
    xml_node *nodes;        /* [n]; node 0 is the root element */
    int n, cap;
    char *arena;            /* names and texts */
    size_t arena_len, arena_cap;
} xml_doc;

int xml_parse(xml_doc *d, const char *path, const char *text, size_t len, fer_err *e);
int xml_load(xml_doc *d, const char *path, fer_err *e);
void xml_free(xml_doc *d);
/* The first child of node named name, or -1. */
int xml_child(const xml_doc *d, int node, const char *name);
/* The number of children of node. */
int xml_count(const xml_doc *d, int node);

#endif
