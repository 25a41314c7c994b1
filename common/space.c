/* space.c - free-space estimate and check; see space.h. */
#include "space.h"

#include <sys/statvfs.h>

uint64_t space_estimate(const struct stat *st, size_t pathlen)
{
	/* ustar header + pax extended header block + manifest line */
	uint64_t n = 512 + 1024 + 2 * pathlen + 160;

	if (S_ISREG(st->st_mode)) {
		uint64_t data = (uint64_t)st->st_size;
		uint64_t alloc = (uint64_t)st->st_blocks * 512;
		if (alloc < data)	/* sparse: data regions plus the map */
			data = alloc + 512;
		n += (data + 511) & ~511ull;
	}
	return n;
}

int space_check(int dirfd, uint64_t needed, uint64_t reserve, struct space *sp)
{
	struct statvfs vf;

	if (fstatvfs(dirfd, &vf) < 0)
		return -1;
	sp->needed = needed;
	sp->avail = (uint64_t)vf.f_bavail * vf.f_frsize;
	sp->total = (uint64_t)vf.f_blocks * vf.f_frsize;
	if (reserve != SPACE_DEFAULT_RESERVE) {
		sp->reserve = reserve;
	} else {
		sp->reserve = sp->total / 100;
		if (sp->reserve < SPACE_MIN_RESERVE)
			sp->reserve = SPACE_MIN_RESERVE;
	}
	return sp->reserve <= sp->avail && sp->needed <= sp->avail - sp->reserve;
}
