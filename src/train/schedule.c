/* schedule.c - learning-rate policies: constant, steps, poly, exp, cosine,
 * sgdr (cosine with warm restarts, periods in epochs), plateau (cut by a
 * factor when validation accuracy stalls), all after an optional burn-in
 * warm-up of `burn_in` updates: lr * (it / burn_in)^burn_in_power. */
#include "train.h"

#include <math.h>

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
