/*
 * procscan.h - which processes use a folder, and which listen on a TCP
 * port, read from /proc.
 *
 * procscan_busy() lists the processes that hold something under DIR: an
 * open file descriptor (/proc/PID/fd/N), their working folder (cwd), their
 * root folder (root), their program (exe) or a mapped file (maps).  DIR is
 * compared as a string with what the kernel reports, so give its real path
 * (realpath(3)); a file deleted while held open still counts.  One entry per
 * process, naming the first thing found.  It is what doctor reports and
 * what rollback's busy-process guard refuses on:
 *
 *     struct proclist pl = PROCLIST_INIT;
 *     if (procscan_busy("/opt/bmc/ARSystem", PROCSCAN_NOT_SELF, &pl) < 0)
 *             die_errno(...);                 cannot read /proc
 *     if (pl.n) {
 *             struct sbuf sb = SBUF_INIT;
 *             proclist_describe(&pl, 5, &sb); "pid 4242 (arserverd), pid 4250 (java)"
 *             ...refuse, naming sb.buf...
 *     }
 *     proclist_release(&pl);
 *
 * pl.unreadable counts the processes whose descriptors could not be read
 * (another user's, when not run as root): a scan that found nothing is only
 * conclusive when it is 0.
 *
 * procscan_listeners() lists the processes with a TCP socket (IPv4 or IPv6)
 * listening on PORT: the sockets of /proc/net/tcp and /proc/net/tcp6 in
 * state LISTEN, their inodes matched with the socket:[INODE] links of
 * /proc/PID/fd.  It returns how many listening sockets there are, which
 * may be more than the processes found when some are not readable.
 *
 * Everything is read through directory descriptors (openat, readlinkat)
 * below the /proc folder; procscan_set_root() points the scan at another
 * folder laid out the same way (unit tests).  Processes that end during the
 * scan are skipped.
 */
#ifndef ZDT_PROCSCAN_H
#define ZDT_PROCSCAN_H

#include <stddef.h>

#include "util.h"

/* leave out the calling process */
#define PROCSCAN_NOT_SELF 1u
/* leave out its parent, the parent's parent... (a wrapper script that runs
 * zdt from the install folder waits for it) */
#define PROCSCAN_NOT_ANCESTORS 2u

struct procref {
	long pid;
	char comm[32];		/* /proc/PID/comm: the command, at most 15 bytes */
	const char *kind;	/* "fd", "cwd", "root", "exe", "maps", "socket" */
	char *path;		/* what was found under DIR (or "socket:[N]") */
};

struct proclist {
	struct procref *v;
	size_t n, cap;
	unsigned long unreadable;	/* processes whose fds could not be read */
};
#define PROCLIST_INIT { NULL, 0, 0, 0 }

/* 0, or -1 with errno when the /proc folder cannot be read */
int procscan_busy(const char *dir, unsigned flags, struct proclist *out);
/* the number of listening sockets on port (>= 0), -1 with errno */
int procscan_listeners(unsigned port, unsigned flags, struct proclist *out);
/* 1 when pid is in the list */
int proclist_has(const struct proclist *pl, long pid);
/* "pid 12 (arserverd), pid 14 (java) and 3 more": at most max named */
void proclist_describe(const struct proclist *pl, size_t max, struct sbuf *sb);
void proclist_release(struct proclist *pl);

/* NULL: /proc again */
void procscan_set_root(const char *root);

#endif
