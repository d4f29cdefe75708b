/* dispatch.c - picks the kernel set once, from CPUID or the user's choice. */
#include "context.h"

#include <string.h>

/* The AVX2 and AVX-512 kernels are built only for x86-64 (the Makefile's
 * X86_SRC), the NEON one only for 64-bit ARM, where Advanced SIMD is part
 * of the architecture (NEON_SRC; the Makefile then defines FER_NEON);
 * elsewhere the scalar set is the one. */
#if defined(__x86_64__)
#define FER_X86 1
#endif

#ifdef FER_X86
static int cpu_has(const char *isa)
{
    __builtin_cpu_init();
    if (!strcmp(isa, "avx2")) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!strcmp(isa, "avx512"))
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("fma");
    if (!strcmp(isa, "avx512bf16")) return cpu_has("avx512") && __builtin_cpu_supports("avx512bf16");
    return !strcmp(isa, "scalar");
}
#endif

const char *kernels_best_isa(void)
{
#ifdef FER_X86
    if (cpu_has("avx512")) return "avx512";
    if (cpu_has("avx2")) return "avx2";
    return "scalar";
#elif defined(FER_NEON)
    return "neon";
#else
    return "scalar";
#endif
}

int kernels_select(kernel_table *k, const char *isa, fer_err *e)
{
    if (!isa || !*isa || !strcmp(isa, "auto")) isa = kernels_best_isa();
    memset(k, 0, sizeof *k);
    if (!strcmp(isa, "scalar")) {
        k->isa = "scalar";
        k->gemm = gemm_scalar;
        return 0;
    }
#ifdef FER_X86
    if (!strcmp(isa, "avx2") || !strcmp(isa, "avx512")) {
        if (!cpu_has(isa)) return fer_fail(e, "this CPU does not support %s", isa);
        if (!strcmp(isa, "avx2")) {
            k->isa = "avx2";
            k->gemm = gemm_avx2;
        } else {
            k->isa = "avx512";
            k->gemm = gemm_avx512;
        }
        return 0;
    }
#endif
#ifdef FER_NEON
    if (!strcmp(isa, "neon")) {
        k->isa = "neon";
        k->gemm = gemm_neon;
        return 0;
    }
#endif
    return fer_fail(e, "unknown or unavailable ISA '%s' (choose auto, scalar%s)", isa,
#if defined(FER_X86)
                    ", avx2, avx512"
#elif defined(FER_NEON)
                    ", neon"
#else
                    ""
#endif
    );
}

int kernels_set_precision(kernel_table *k, const char *precision, fer_err *e)
{
    if (!precision || !*precision) precision = "fp32";
    if (!strcmp(precision, "fp32")) return k->bf16 ? kernels_select(k, k->isa, e) : 0;
    if (strcmp(precision, "bf16"))
        return fer_fail(e, "unknown precision '%s' (choose fp32 or bf16)", precision);
#ifdef FER_X86
    if (!cpu_has("avx512bf16"))
        return fer_fail(e, "bf16 needs a CPU with AVX512_BF16 (vdpbf16ps); this one has none, "
                           "use fp32");
    if (strcmp(k->isa, "avx512"))
        return fer_fail(e, "bf16 runs with the avx512 kernel set, not -isa %s", k->isa);
    k->gemm = gemm_bf16;
    k->gemm_pack_floats = gemm_bf16_pack_floats;
    k->gemm_pack = gemm_bf16_pack;
    k->gemm_pre = gemm_bf16_pre;
    k->pack_unit[GEMM_SIDE_A] = gemm_bf16_pack_unit(GEMM_SIDE_A);
    k->pack_unit[GEMM_SIDE_B] = gemm_bf16_pack_unit(GEMM_SIDE_B);
    k->bf16 = 1;
    return 0;
#else
    return fer_fail(e, "bf16 needs an x86-64 CPU with AVX512_BF16; this build has none");
#endif
}
