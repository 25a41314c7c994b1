/*
 * xxh.h - xxHash, with XXH3-128 through the widest vector unit of the
 * processor (xxh.c).
 *
 * Include this instead of <xxhash.h>: XXH3_128bits() and
 * XXH3_128bits_update() then go to xxh.c, which runs xxHash's own AVX2 or
 * AVX-512 kernels where the processor and the kernel support them, and
 * the library's code (built for the x86-64 baseline, SSE2) elsewhere.
 * The digests do not depend on the choice (tests/unit/test_xxh.c).  The
 * rest of the API is the library's.
 */
#ifndef ZDT_XXH_H
#define ZDT_XXH_H

#include <stddef.h>
#include <xxhash.h>

XXH128_hash_t xxh_128(const void *p, size_t n);
XXH_errorcode xxh_128_update(XXH3_state_t *s, const void *p, size_t n);
/* the kernels in use: "avx512", "avx2" or "sse2" (the library's) */
const char *xxh_kernel(void);

#ifdef ZDT_TESTING
/* tests: the same with kernel k (0 library, 1 avx2, 2 avx512); -1 when
 * this processor lacks it */
int xxh_test_128(int k, const void *p, size_t n, XXH128_hash_t *h);
int xxh_test_update(int k, XXH3_state_t *s, const void *p, size_t n);
#endif

#ifndef ZDT_XXH_IMPL
#undef XXH3_128bits
#define XXH3_128bits xxh_128
#undef XXH3_128bits_update
#define XXH3_128bits_update xxh_128_update
#endif

#endif
