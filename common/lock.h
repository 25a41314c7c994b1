/*
 * lock.h - one lock per backup folder.
 *
 * The lock is an flock(2) on BACKUP_DIR/.lock: exclusive for commands that
 * change the folder (backup, rollback, cleanup), shared for those that only
 * read it (verify, diff).  The kernel drops it when its holder dies, so a
 * crash never leaves a stale lock.  The holder writes "pid COMMAND" into the
 * file so that a refused run can name it.
 *
 *     struct zlock lk = ZLOCK_INIT;
 *     switch (lock_take(&lk, bkfd, LOCK_EXCLUSIVE, wait_s, "zdt backup", &who)) {
 *     case 0: ...work...; lock_drop(&lk); break;
 *     case 1: refuse, naming who.buf
 *     default: error (errno)
 *     }
 */
#ifndef ZDT_LOCK_H
#define ZDT_LOCK_H

#include "util.h"

#define LOCK_FILE ".lock"

enum { LOCK_SHARED, LOCK_EXCLUSIVE };

struct zlock {
	int fd;
};
#define ZLOCK_INIT { -1 }

/* 0 taken, 1 held by another run (who: "pid 123 (zdt backup -c AR)"),
 * -1 error with errno.  wait_s > 0 retries for that many seconds. */
int lock_take(struct zlock *lk, int bkfd, int mode, double wait_s,
	      const char *cmdline, struct sbuf *who);
void lock_drop(struct zlock *lk);

#endif
