/* schedule.c - learning-rate policies: constant, steps, poly, exp, cosine,
 * sgdr (cosine with warm restarts, periods in epochs), plateau (cut by a
 * factor when validation accuracy stalls), and Darknet's step (lr *
 * scale^floor(it / step)), sigmoid (lr / (1 + exp(gamma * (it - step))))
 * and random (lr * u^power, u uniform in [0,1) drawn per update: here a
 * hash of the update index, so a run is reproducible), all after an
 * optional burn-in warm-up of `burn_in` updates: lr * (it / burn_in)^burn_in_power.
 * `it` counts updates from 0 (Darknet's get_current_rate counts from 1). */
#include "train.h"

#include <math.h>
#include <stdint.h>

/* A uniform number in [0, 1) from the update index (splitmix64's finalizer). */
static double uniform_of(long it)
{
    uint64_t z = (uint64_t)it * 0x9e3779b97f4a7c15ull + 0x6a09e667f3bcc909ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

float schedule_lr(const net_options *o, const schedule_state *s, long it, long total, double epoch)
{
    double lr = o->learning_rate, lo = o->min_lr;
    const double pi = 3.14159265358979323846;
    if (total < 1) total = 1;
    switch (o->policy) {
    case POLICY_CONSTANT: break;
    case POLICY_STEPS:
        for (int i = 0; i < o->n_steps; i++)
            if (it >= o->steps[i]) lr *= o->scales[i];
        break;
    case POLICY_POLY: {
        double f = 1.0 - (double)it / (double)total;
        lr *= pow(f > 0 ? f : 0, o->power);
        break;
    }
    case POLICY_EXP: lr *= pow(o->gamma, (double)it); break;
    case POLICY_COSINE: {
        double f = (double)it / (double)total;
        if (f > 1) f = 1;
        lr = lo + 0.5 * (lr - lo) * (1 + cos(pi * f));
        break;
    }
    case POLICY_SGDR: {
        double period = o->sgdr_period, start = 0;
        while (epoch >= start + period) {
            start += period;
            period *= o->sgdr_mult;
        }
        double f = (epoch - start) / period;
        lr = lo + 0.5 * (lr - lo) * (1 + cos(pi * f));
        break;
    }
    case POLICY_PLATEAU:
        lr *= pow(o->plateau_factor, s->plateau_reductions);
        if (lr < lo) lr = lo;
        break;
    case POLICY_STEP: lr *= pow(o->step_scale, (double)(it / o->step)); break;
    case POLICY_SIG: lr /= 1.0 + exp(o->gamma * (double)(it - o->step)); break;
    case POLICY_RANDOM: lr *= pow(uniform_of(it), o->power); break;
    }
    if (o->burn_in > 0 && it < o->burn_in) lr *= pow((double)(it + 1) / o->burn_in, o->burn_in_power);
    return (float)lr;
}

void schedule_epoch_end(const net_options *o, schedule_state *s, float val_acc)
{
    if (val_acc > s->plateau_best) {
        s->plateau_best = val_acc;
        s->plateau_bad_epochs = 0;
        return;
    }
    if (++s->plateau_bad_epochs >= o->plateau_patience && o->policy == POLICY_PLATEAU) {
        s->plateau_reductions++;
        s->plateau_bad_epochs = 0;
    }
}
