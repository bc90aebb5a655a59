// CBLAS: the C interface of OpenBLAS, as seen from Swift.
// Not API of elman-dist; only ElmanCore imports it.
#ifndef ELMAN_CBLAS_SHIM_H
#define ELMAN_CBLAS_SHIM_H
#include <cblas.h>

/// The name of the kernel set OpenBLAS chose at load time ("Haswell", "SkylakeX", …).
char *openblas_get_corename(void);
#endif
