/*
 * space.h - free space before writing.
 *
 * space_estimate() gives the archive bytes one entry will take (data rounded
 * to tar blocks, holes of sparse files excluded, plus headers and its
 * manifest line); the caller sums it over a walk.  space_check() compares
 * the sum plus a reserve with what statvfs says is available to the caller.
 * The default reserve is 1% of the file system, at least 64 MiB.
 */
#ifndef ZDT_SPACE_H
#define ZDT_SPACE_H

#include <stdint.h>
#include <stddef.h>
#include <sys/stat.h>

#define SPACE_MIN_RESERVE (64ull << 20)
#define SPACE_DEFAULT_RESERVE UINT64_MAX

struct space {
	uint64_t needed, reserve, avail, total;
};

uint64_t space_estimate(const struct stat *st, size_t pathlen);
/* 1 fits, 0 does not, -1 statvfs error; reserve SPACE_DEFAULT_RESERVE =
 * the default */
int space_check(int dirfd, uint64_t needed, uint64_t reserve, struct space *sp);

#endif
