/* track.c - frame-to-frame face tracks (see track.h). */
#include "track.h"

#include <math.h>
#include <string.h>

void tracker_init(tracker *tr, int classes)
{
    memset(tr, 0, sizeof *tr);
    tr->next_id = 1;
    tr->iou_min = 0.3f;
    tr->box_alpha = 0.6f;
    tr->prob_alpha = 0.5f;
    tr->max_misses = 5;
    tr->classes = classes < TRACK_MAX_CLASSES ? classes : TRACK_MAX_CLASSES;
}

void tracker_reset(tracker *tr)
{
    tr->n = 0;
}

haar_box track_box(const track *t)
{
    haar_box b = { (int)lroundf(t->x), (int)lroundf(t->y), (int)lroundf(t->w), (int)lroundf(t->h), 0 };
    return b;
}

void tracker_update(tracker *tr, const haar_box *dets, int n, int *match)
{
    int used[TRACK_MAX] = { 0 };
    int taken[256] = { 0 };   /* detections beyond 256 start no tracks */
    if (n > 256) n = 256;
    for (int j = 0; j < n; j++)
        if (match) match[j] = -1;
    for (int i = 0; i < tr->n; i++) tr->t[i].matched = 0;
    /* greedy: repeatedly take the best remaining (track, detection) pair */
    for (;;) {
        float best = tr->iou_min;
        int bi = -1, bj = -1;
        for (int i = 0; i < tr->n; i++) {
            if (used[i]) continue;
            haar_box tb = track_box(&tr->t[i]);
            for (int j = 0; j < n; j++) {
                if (taken[j]) continue;
                float iou = box_iou(&tb, &dets[j]);
                if (iou >= best) {
                    best = iou;
                    bi = i;
                    bj = j;
                }
            }
        }
        if (bi < 0) break;
        used[bi] = taken[bj] = 1;
        track *t = &tr->t[bi];
        float a = tr->box_alpha;
        t->x += a * (dets[bj].x - t->x);
        t->y += a * (dets[bj].y - t->y);
        t->w += a * (dets[bj].w - t->w);
        t->h += a * (dets[bj].h - t->h);
        t->last = dets[bj];
        t->hits++;
        t->misses = 0;
        t->matched = 1;
        if (match) match[bj] = bi;
    }
    /* age the unmatched; drop the long unseen (keeping order) */
    int k = 0;
    for (int i = 0; i < tr->n; i++) {
        track *t = &tr->t[i];
        if (!t->matched) t->misses++;
        if (t->misses > tr->max_misses) continue;
        if (k != i) {
            tr->t[k] = *t;
            for (int j = 0; j < n && match; j++)
                if (match[j] == i) match[j] = k;
        }
        k++;
    }
    tr->n = k;
    for (int j = 0; j < n && tr->n < TRACK_MAX; j++) {
        if (taken[j]) continue;
        track *t = &tr->t[tr->n];
        memset(t, 0, sizeof *t);
        t->id = tr->next_id++;
        t->x = (float)dets[j].x;
        t->y = (float)dets[j].y;
        t->w = (float)dets[j].w;
        t->h = (float)dets[j].h;
        t->last = dets[j];
        t->hits = 1;
        t->matched = 1;
        if (match) match[j] = tr->n;
        tr->n++;
    }
}

void tracker_smooth(tracker *tr, track *t, const float *probs)
{
    float a = t->has_probs ? tr->prob_alpha : 1.0f;
    for (int k = 0; k < tr->classes; k++) t->probs[k] += a * (probs[k] - t->probs[k]);
    t->has_probs = 1;
}
