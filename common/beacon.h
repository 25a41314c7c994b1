/*
 * beacon.h - the cleanup beacon: when cleanup last ran, and what it did.
 *
 * Every cleanup that is not a dry run writes BACKUP_DIR/cleanup.last
 * (0600, atomically, see atomic.h) once it is done, under the exclusive
 * lock:
 *
 *     zdt-cleanup-beacon 1
 *     time=2026-11-25T08:18:00Z
 *     pid=4242
 *     components=AR,AtriumCore,AtriumIntegrator
 *     exit=0
 *     removed=2
 *     leftovers=0
 *     kept=3
 *     failed=0
 *     freed=123456789
 *
 * list, backup and doctor compare its time with the configured
 * cleanup-interval (zdt.conf(5)).  beacon_read() ignores unknown keys, so
 * that later versions may add some.
 */
#ifndef ZDT_BEACON_H
#define ZDT_BEACON_H

#include <stdint.h>
#include <time.h>

#define BEACON_FILE "cleanup.last"

struct beacon {
	time_t time;
	long pid;
	char components[80];
	int exit;
	unsigned long removed, leftovers, kept, failed;
	uint64_t freed;
};

/* 0, or -1 with errno */
int beacon_write(int bkfd, const struct beacon *b);
/* 1 read, 0 no beacon, -1 damaged (errno EINVAL) or unreadable */
int beacon_read(int bkfd, struct beacon *b);

#endif
