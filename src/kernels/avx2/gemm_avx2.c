/* gemm_avx2.c - GEMM for the avx2 kernel set (built with that ISA's flags). */
#include "../kernels.h"

#define GEMM_FN gemm_avx2
#include "../gemm_portable.inc"
