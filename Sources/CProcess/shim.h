// CProcess: what the command-line tool needs from C about its own process, as seen from Swift.
// Not API of elman-dist; only the elman-dist target imports it.
#ifndef ELMAN_CPROCESS_SHIM_H
#define ELMAN_CPROCESS_SHIM_H
#include <errno.h>
#include <stdio.h>

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

/// Whether this CPU runs OpenBLAS's SkylakeX kernels (AVX-512 F, CD, BW, DQ and VL).
static inline int elman_cpu_supports_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

/// Flushes standard output; 0 when everything written to it so far reached its file, else
/// the errno of the failure (or EIO when it is no longer known). Clears the error.
/// (Swift 6 cannot name C's `stdout` global: it is shared mutable state.)
static inline int elman_stdout_flush_error(void) {
    errno = 0;
    int failed = fflush(stdout) != 0 || ferror(stdout);
    int code = errno;
    clearerr(stdout);
    return failed ? (code ? code : EIO) : 0;
}
#endif
