// CBLAS: the C interface of OpenBLAS, as seen from Swift.
// Not API of elman-dist; only ElmanCore imports it.
#ifndef ELMAN_CBLAS_SHIM_H
#define ELMAN_CBLAS_SHIM_H
#include <cblas.h>

/// Whether this CPU runs the instructions ElmanCore is compiled for on x86_64 (AVX2 and FMA,
/// x86-64-v3): checked before any of its code runs. Always true elsewhere.
static inline int elman_cpu_supports_core(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 1;
#endif
}

/// The name of the kernel set OpenBLAS chose at load time ("Haswell", "SkylakeX", …).
char *openblas_get_corename(void);
#endif
