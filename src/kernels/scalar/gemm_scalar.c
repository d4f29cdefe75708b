/* gemm_scalar.c - GEMM for the scalar kernel set (built with that ISA's flags). */
#include "../kernels.h"

#define GEMM_FN gemm_scalar
#include "../gemm_portable.inc"
