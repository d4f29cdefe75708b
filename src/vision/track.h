/* track.h - follows faces from frame to frame: each detection is matched to
 * the track whose box overlaps it most (intersection over union, greedy,
 * best pairs first); matched tracks smooth their box and class
 * probabilities with exponential moving averages, unmatched detections
 * start tracks, and tracks unseen for too many frames end. */
#ifndef FER_TRACK_H
#define FER_TRACK_H

#include "haar.h"

#define TRACK_MAX 32
#define TRACK_MAX_CLASSES 64

typedef struct track {
    int id;                          /* 1, 2, ... in order of appearance */
    float x, y, w, h;                /* smoothed box */
    haar_box last;                   /* the last matched detection */
    float probs[TRACK_MAX_CLASSES];  /* smoothed class probabilities */
    int has_probs;
    int hits;                        /* frames matched */
    int misses;                      /* consecutive frames unmatched */
    int matched;                     /* matched in the current frame */
} track;

typedef struct tracker {
    track t[TRACK_MAX];
    int n;
    int next_id;
    float iou_min;                   /* a match needs at least this overlap (0.3) */
    float box_alpha;                 /* weight of the new box (0.6) */
    float prob_alpha;                /* weight of the new probabilities (0.5); 1 = no smoothing */
    int max_misses;                  /* frames a track survives unmatched (5) */
    int classes;
} tracker;

void tracker_init(tracker *tr, int classes);
void tracker_reset(tracker *tr);
/* Matches this frame's detections; afterwards t[i].matched tells which
 * tracks were seen, and match[j] (when not NULL, [n]) the track index of
 * detection j. */
void tracker_update(tracker *tr, const haar_box *dets, int n, int *match);
/* Blends probabilities of a track: EMA with prob_alpha (the first value is
 * taken as is). */
void tracker_smooth(tracker *tr, track *t, const float *probs);
/* The smoothed box, rounded. */
haar_box track_box(const track *t);

#endif
