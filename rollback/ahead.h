/*
 * ahead.h - --checksum: the live files hashed by a thread of its own, ahead
 * of the plan's walk, in manifest order.
 *
 * The thread reads the manifest on a descriptor of its own and, for each
 * regular file entry, opens the live path below the install folder (each
 * folder reached one component at a time with O_NOFOLLOW, the file with
 * O_NOFOLLOW), and when it is a regular file of the entry's size, hashes it
 * and queues the result with the file's identity (device, inode, size,
 * mtime, ctime as fstat showed them before the read).  The plan takes a
 * result only for the entry it is at and only when its own stat of the
 * path shows the same file; otherwise (no result, another file, a file
 * changed since) it hashes the file itself.  So the thread only saves time:
 * what it reads decides nothing the plan did not check.  When the plan
 * needs a file the thread has not reached, the plan hashes it and the
 * thread skips to the entries after it: the two share the hashing.
 *
 *     ahead_start(&a, snapfd, rootfd);   0, or -1: the plan hashes alone
 *     ahead_get(&a, ord, &st, &h)        1: h is the hash of that file
 *     ahead_stop(&a);
 *
 * It blocks every signal, never prints and never exits the process.
 */
#ifndef ZDT_AHEAD_H
#define ZDT_AHEAD_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include "../common/xxh.h"

#define AHEAD_Q 256	/* results queued at most */
#define AHEAD_NONE UINT64_MAX

struct ahead_res {
	uint64_t ord;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	XXH128_hash_t h;
};

struct ahead {
	pthread_t t;
	int running;
	int stop;		/* under mu */
	int end;		/* the thread is done: no more results */
	int mfd, rootfd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ahead_res q[AHEAD_Q];
	uint64_t head, tail;	/* taken, queued */
	uint64_t busy;		/* the entry the thread is hashing, or AHEAD_NONE */
	uint64_t plan_next;	/* the thread leaves the entries before it: the
				 * plan hashed them itself, or is past them */
	char *buf;
	uint64_t used;		/* results the plan took (for -v) */
};

int ahead_start(struct ahead *a, int snapfd, int rootfd);
int ahead_get(struct ahead *a, uint64_t ord, const struct stat *st, XXH128_hash_t *h);
void ahead_stop(struct ahead *a);

#endif
