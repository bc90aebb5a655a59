// CBLAS: the C interface of OpenBLAS, as seen from Swift.
// Not API of elman-dist; only ElmanCore imports it.
#ifndef ELMAN_CBLAS_SHIM_H
#define ELMAN_CBLAS_SHIM_H
#include <cblas.h>

/// The name of the kernel set OpenBLAS chose at load time ("Haswell", "SkylakeX", …).
char *openblas_get_corename(void);

/// OpenBLAS's stop of its thread pool, which it calls itself before a fork; the next product
/// asking for threads starts the pool again (`exec_blas`). Weak: a BLAS without it leaves 0.
int blas_thread_shutdown_(void) __attribute__((weak));

/// Stops OpenBLAS's thread pool if this BLAS can; returns whether it could.
static inline int elman_blas_stop_thread_pool(void) {
    if (!blas_thread_shutdown_) return 0;
    blas_thread_shutdown_();
    return 1;
}
#endif
