/*
 * hcheck.h - every header of an uncompressed snapshot's archive checked
 * against its manifest on a thread of its own, while rollback's plan walks
 * the live tree on the main thread.
 *
 * The check does not depend on the plan: every member's header is compared
 * with its entry (member_check_head()), in order, and the archive must end
 * with the manifest's last entry.  On the way it notes where the header of
 * every EVERY-th member starts (so that a later reader can start there) and
 * which files are stored sparse.  The data of the members the plan needs is
 * checked afterwards, by the caller, at the offsets the manifest records.
 *
 *     hcheck_start(&h, snapfd, archive, entries, every, name);
 *     ... the plan ...
 *     hcheck_join(&h, stop);      stop: 1 when the result is not wanted
 *     ... h.fatal, h.bad, h.nbad, h.ckpt, h.sparse ...
 *     hcheck_release(&h);
 *
 * The thread opens the manifest and the archive anew (file offsets of its
 * own), blocks every signal, never prints and never exits the process:
 * what it finds waits in h for the main thread, which reports it.
 */
#ifndef ZDT_HCHECK_H
#define ZDT_HCHECK_H

#include <pthread.h>
#include <stdint.h>

#include "../common/util.h"

#define HCHECK_MAX_LINES 1000	/* problems kept as lines; the rest counted */

struct hcheck {
	pthread_t t;
	int running;		/* started, not joined */
	int stop;		/* atomic: the main thread no longer wants it */
	int mfd, afd;
	char name[64];		/* "AR 20261125T081800Z-01", for messages */
	uint64_t entries, every;
	/* results, once joined */
	uint64_t *ckpt;		/* header offset of member k * every, k >= 0 */
	unsigned char *sparse;	/* a bit per member: a file stored sparse */
	struct sbuf bad;	/* one problem a line, at most HCHECK_MAX_LINES */
	unsigned long nbad;	/* every problem, the lines not kept included */
	int fatal;		/* the check could not go on: */
	struct sbuf fatal_msg;	/* what to die with (exit 4), */
	struct sbuf fatal_hint;	/* and its hint ("" none) */
	int done;		/* the check ran to its end (not stopped) */
};

/* 0, or -1 (errno) when it could not start: then nothing runs and
 * hcheck_join()/hcheck_release() are no-ops; the caller checks another way */
int hcheck_start(struct hcheck *h, int snapfd, const char *archive, uint64_t entries, uint64_t every,
		 const char *name);
void hcheck_join(struct hcheck *h, int stop);
void hcheck_release(struct hcheck *h);

#endif
