/* norm.h - batch normalization and bias kernels (see normalize.c). All work
 * on channels [c0, c1) of [batch, C, spatial] tensors, so callers can split
 * channels across threads. */
#ifndef FER_NORM_H
#define FER_NORM_H

#define FER_BN_EPS 1e-5f

/* y = scale * (z - mean) / sqrt(var + eps) + bias with batch statistics,
 * which are stored in mean, var [C]; rolling_* [C] move toward them by
 * momentum (the rolling variance with the unbiased estimate). z, y:
 * [batch, C, spatial]. */
void batchnorm_forward_train(const float *z, float *y, float *mean, float *var, float *rolling_mean,
                             float *rolling_var, const float *scale, const float *bias, int batch, int C,
                             int spatial, float momentum, int c0, int c1);
/* The same with the rolling statistics; z and y may alias. */
void batchnorm_forward_infer(const float *z, float *y, const float *rolling_mean, const float *rolling_var,
                             const float *scale, const float *bias, int batch, int C, int spatial, int c0,
                             int c1);
/* dscale, dbias += ...; dz = dL/dz (overwritten; may alias dy; NULL = not
 * needed). train selects batch statistics (mean, var) or rolling ones. */
void batchnorm_backward(float *dz, const float *dy, const float *z, const float *mean, const float *var,
                        const float *rolling_mean, const float *rolling_var, const float *scale, float *dscale,
                        float *dbias, int batch, int C, int spatial, int train, int c0, int c1);
/* Batch norm over a mini-batch shared by several processes (sync_bn), in
 * steps between which the caller sums the per-channel sums over the
 * processes. Forward: s[c] = sum of z[:, c, :]; then, around the global
 * mean, ss[c] = sum of (z - mean[c])^2; then batchnorm_normalize with the
 * global mean and var (and the rolling statistics moved toward them,
 * count = the global values per channel). Backward: sdy[c] = sum of dy,
 * sdyx[c] = sum of dy * xhat (dscale, dbias += them: the gradient sum adds
 * the other processes' shares); then batchnorm_backward_dz with the global
 * sums. */
void batchnorm_sums(const float *z, double *s, int batch, int C, int spatial, int c0, int c1);
void batchnorm_sums_sq(const float *z, const float *mean, double *ss, int batch, int C, int spatial, int c0, int c1);
void batchnorm_normalize(const float *z, float *y, const float *mean, const float *var, float *rolling_mean,
                         float *rolling_var, const float *scale, const float *bias, int batch, int C, int spatial,
                         float momentum, double count, int c0, int c1);
void batchnorm_backward_sums(const float *dy, const float *z, const float *mean, const float *var, float *dscale,
                             float *dbias, double *sdy, double *sdyx, int batch, int C, int spatial, int c0, int c1);
void batchnorm_backward_dz(float *dz, const float *dy, const float *z, const float *mean, const float *var,
                           const float *scale, const double *sdy, const double *sdyx, double count, int batch, int C,
                           int spatial, int c0, int c1);
/* y[b, c, :] += bias[c] */
void bias_forward(float *y, const float *bias, int batch, int C, int spatial, int c0, int c1);
/* dbias[c] += sum over b and spatial of dy[b, c, :] */
void bias_backward(float *dbias, const float *dy, int batch, int C, int spatial, int c0, int c1);

/* The _naive twins: the same contracts, written plainly in double. */
void batchnorm_forward_train_naive(const float *z, float *y, float *mean, float *var, float *rolling_mean,
                                   float *rolling_var, const float *scale, const float *bias, int batch, int C,
                                   int spatial, float momentum);
void batchnorm_backward_naive(float *dz, const float *dy, const float *z, const float *mean, const float *var,
                              const float *scale, float *dscale, float *dbias, int batch, int C, int spatial);

#endif
