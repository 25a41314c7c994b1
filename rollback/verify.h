/*
 * verify.h - one snapshot checked as 'zdt verify' checks it, for the
 * commands that need a verdict without verify's own output (doctor).
 *
 * verify_snapshot() re-reads the archive and the manifest of si in the
 * backup folder bkfd: every entry against the manifest, the manifest
 * against its checksum, the archive file against its recorded digest.
 * quiet: print nothing, only count; res->first holds the first problem
 * ("PATH: reason").  Returns 0 when intact, -1 when damaged.
 */
#ifndef ZDT_VERIFY_H
#define ZDT_VERIFY_H

#include <stdint.h>

#include "../common/store.h"

struct zdt;

struct verify_result {
	unsigned long damaged;
	uint64_t entries;
	char first[512];
};

int verify_snapshot(struct zdt *z, int bkfd, const struct snapinfo *si, int quiet,
		    struct verify_result *res);

#endif
