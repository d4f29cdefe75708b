/* gemm_avx512.c - GEMM for the avx512 kernel set (built with that ISA's flags). */
#include "../kernels.h"

#define GEMM_FN gemm_avx512
#include "../gemm_portable.inc"
