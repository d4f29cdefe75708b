/* norm.h - batch normalization and bias kernels (see normalize.c). */
#ifndef FER_NORM_H
#define FER_NORM_H

#define FER_BN_EPS 1e-5f

/* z, xhat, y: [batch, C, spatial]; mean, var, rolling_*, scale, bias: [C].
 * y = scale * (z - mean) / sqrt(var + eps) + bias with batch statistics. */
void batchnorm_forward_train(const float *z, float *xhat, float *y, float *mean, float *var,
                             float *rolling_mean, float *rolling_var, const float *scale,
                             const float *bias, int batch, int C, int spatial, float momentum);
/* The same with the rolling statistics; z and y may alias. */
void batchnorm_forward_infer(const float *z, float *y, const float *rolling_mean,
                             const float *rolling_var, const float *scale, const float *bias,
                             int batch, int C, int spatial);
/* dscale, dbias += ...; dz = dL/dz (overwritten, may be NULL; may alias z).
 * train selects batch statistics (xhat, var) or rolling ones (z). */
void batchnorm_backward(float *dz, const float *dy, const float *xhat, const float *z,
                        const float *var, const float *rolling_mean, const float *rolling_var,
                        const float *scale, float *dscale, float *dbias, int batch, int C,
                        int spatial, int train);
/* y[b, c, :] += bias[c] */
void bias_forward(float *y, const float *bias, int batch, int C, int spatial);
/* dbias[c] += sum over b and spatial of dy[b, c, :] */
void bias_backward(float *dbias, const float *dy, int batch, int C, int spatial);

#endif
