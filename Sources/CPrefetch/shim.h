// CPrefetch: the cache hint the numerical core gives the CPU, which Swift cannot spell.
// Not API of elman-dist; only ElmanCore imports it.
#ifndef ELMAN_CPREFETCH_SHIM_H
#define ELMAN_CPREFETCH_SHIM_H

/// Asks for the cache line at `p` to be fetched for writing, without waiting for it.
static inline void elman_prefetch_for_write(const void *p) { __builtin_prefetch(p, 1, 3); }

#endif
