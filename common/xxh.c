/*
 * xxh.c - XXH3-128 with the widest vector unit there is; see xxh.h.
 *
 * xxhash.h holds the AVX2 and AVX-512 kernels of XXH3 beside the SSE2 one
 * the library is built with; XXH_X86DISPATCH lets one file compile them
 * all, each under a function target attribute, the way xxHash's own x86
 * dispatcher does.  Only inputs over 240 bytes reach a kernel (shorter
 * ones have no loop to vectorize), and the streaming state is the
 * library's own (XXH3_createState(), XXH3_128bits_reset(), _digest()).
 * The kernel is chosen once, before main(), from what the processor and
 * the kernel's saved register state support (__builtin_cpu_supports()).
 * The kernels' internal names are those of xxhash.h 0.8.1 (Debian 12);
 * with another version this file keeps to the baseline code.
 * Here (AMD EPYC): 16 GB/s with SSE2, 47 with AVX2, 66 with AVX-512.
 */
#if defined(__x86_64__) && defined(__GNUC__)

/* not xxh.h: xxhash.h is included once, whole and inline, so that its
 * types are the same layout under other names; the functions below are
 * declared in xxh.h with the library's names of those types */
#define XXH_INLINE_ALL
#define XXH_X86DISPATCH
#define XXH_DISPATCH_AVX2 1
#define XXH_DISPATCH_AVX512 1
#define XXH_TARGET_AVX2 __attribute__((__target__("avx2")))
#define XXH_TARGET_AVX512 __attribute__((__target__("avx512f")))
#include <immintrin.h>	/* the vector types, which xxhash.h takes as given here */
#include <xxhash.h>

XXH128_hash_t xxh_128(const void *p, size_t n);
XXH_errorcode xxh_128_update(XXH3_state_t *s, const void *p, size_t n);
const char *xxh_kernel(void);
#ifdef ZDT_TESTING
int xxh_test_128(int k, const void *p, size_t n, XXH128_hash_t *h);
int xxh_test_update(int k, XXH3_state_t *s, const void *p, size_t n);
#endif

#if XXH_VERSION_NUMBER == 801	/* the internal names below are 0.8.1's */
#define NKERNELS 3
#define KERNELS(sfx, TARGET)                                                                         \
	static TARGET XXH128_hash_t long_##sfx(const void *XXH_RESTRICT p, size_t n, XXH64_hash_t seed, \
					       const void *XXH_RESTRICT s, size_t sl)                  \
	{                                                                                             \
		(void)seed;                                                                           \
		(void)s;                                                                              \
		(void)sl;                                                                             \
		return XXH3_hashLong_128b_internal(p, n, XXH3_kSecret, sizeof(XXH3_kSecret),           \
						   XXH3_accumulate_512_##sfx, XXH3_scrambleAcc_##sfx); \
	}                                                                                             \
	static TARGET XXH128_hash_t h128_##sfx(const void *p, size_t n)                               \
	{                                                                                             \
		return XXH3_128bits_internal(p, n, 0, XXH3_kSecret, sizeof(XXH3_kSecret), long_##sfx);  \
	}                                                                                             \
	static TARGET XXH_errorcode upd_##sfx(XXH3_state_t *st, const void *p, size_t n)              \
	{                                                                                             \
		return XXH3_update(st, (const xxh_u8 *)p, n, XXH3_accumulate_512_##sfx,                 \
				   XXH3_scrambleAcc_##sfx);                                            \
	}

KERNELS(sse2, )
KERNELS(avx2, XXH_TARGET_AVX2)
KERNELS(avx512, XXH_TARGET_AVX512)
#else	/* another xxhash.h: its own baseline code, as the library's */
#define NKERNELS 1
static XXH128_hash_t h128_sse2(const void *p, size_t n)
{
	return XXH3_128bits(p, n);
}

static XXH_errorcode upd_sse2(XXH3_state_t *st, const void *p, size_t n)
{
	return XXH3_128bits_update(st, p, n);
}
#endif

struct kernel {
	const char *name;
	XXH128_hash_t (*h128)(const void *, size_t);
	XXH_errorcode (*upd)(XXH3_state_t *, const void *, size_t);
};

static const struct kernel kernels[] = {
	{ "sse2", h128_sse2, upd_sse2 },
#if NKERNELS == 3
	{ "avx2", h128_avx2, upd_avx2 },
	{ "avx512", h128_avx512, upd_avx512 },
#endif
};

static int usable(int k)
{
	if (k == 0)
		return 1;
	if (k < 0 || k >= NKERNELS)
		return 0;
	__builtin_cpu_init();
	return k == 1 ? __builtin_cpu_supports("avx2") : __builtin_cpu_supports("avx512f");
}

static const struct kernel *cur = &kernels[0];

__attribute__((constructor)) static void pick(void)
{
	for (int k = 2; k > 0; k--)
		if (usable(k)) {
			cur = &kernels[k];
			return;
		}
}

XXH128_hash_t xxh_128(const void *p, size_t n)
{
	return cur->h128(p, n);
}

XXH_errorcode xxh_128_update(XXH3_state_t *s, const void *p, size_t n)
{
	return cur->upd(s, p, n);
}

const char *xxh_kernel(void)
{
	return cur->name;
}

#ifdef ZDT_TESTING
int xxh_test_128(int k, const void *p, size_t n, XXH128_hash_t *h)
{
	if (!usable(k))
		return -1;
	*h = kernels[k].h128(p, n);
	return 0;
}

int xxh_test_update(int k, XXH3_state_t *s, const void *p, size_t n)
{
	if (!usable(k))
		return -1;
	return kernels[k].upd(s, p, n) == XXH_OK ? 0 : -1;
}
#endif

#else	/* elsewhere: the library's */

#define ZDT_XXH_IMPL
#include "xxh.h"

XXH128_hash_t xxh_128(const void *p, size_t n)
{
	return XXH3_128bits(p, n);
}

XXH_errorcode xxh_128_update(XXH3_state_t *s, const void *p, size_t n)
{
	return XXH3_128bits_update(s, p, n);
}

const char *xxh_kernel(void)
{
	return "library";
}

#ifdef ZDT_TESTING
int xxh_test_128(int k, const void *p, size_t n, XXH128_hash_t *h)
{
	if (k)
		return -1;
	*h = XXH3_128bits(p, n);
	return 0;
}

int xxh_test_update(int k, XXH3_state_t *s, const void *p, size_t n)
{
	return k ? -1 : XXH3_128bits_update(s, p, n) == XXH_OK ? 0 : -1;
}
#endif

#endif
