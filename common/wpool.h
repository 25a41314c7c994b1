/*
 * wpool.h - threads that create small files and set folder metadata while
 * the caller reads the next archive members.
 *
 * A rollback into an empty folder spends most of its time in the kernel
 * creating files, and a differential one waits in unlink() (a file system
 * mounted with discard trims the freed blocks there, synchronously); the
 * thread that parses and checks the archive has little to do meanwhile.
 * A pool of NQ queues, one worker thread each, takes that work: each queue runs its jobs in the order they were submitted, so a
 * folder's metadata job, submitted after the files of that folder to the
 * same queue, runs after they were created (its mtime stays as set).  The
 * caller gives each new folder a queue (wpool_pick()) and submits the files
 * of that folder and then its metadata there; folders on different queues
 * are worked on side by side.
 *
 * As many copy queues, taking files in turn, copy the data of big files
 * from a source file (an uncompressed archive) at an offset, check it
 * against its XXH3-128 and write it with O_DIRECT: the caller creates the
 * file (so it is there before the folder's metadata job) and goes on to
 * the next members while the data goes to the disk (two copies in flight
 * keep the device busier than one).
 *
 *     struct wpool *p = wpool_start(nq);      NULL: no threads, write inline
 *     char *data = wpool_file(p, q, dfd, name, rel, size, &meta);
 *         ... fill data[0..size) ...
 *     wpool_submit(p, q);                     the file is the queue's now
 *     data = wpool_part(p, q, dfd, name, rel, total, off, n, &meta);
 *         ... fill data[0..n) ...; wpool_submit(p, q);
 *                                             a piece of a bigger file
 *     wpool_copy(p, dfd, name, rel, src, off, size, hash, &meta);
 *                                             a big file copied from src by
 *                                             a copy queue (created here)
 *     wpool_dir(p, q, fd, rel, &meta);        fd is the pool's now (closed)
 *     wpool_unlink(p, q, dfd, name, rel);     an unlink, done there
 *     wpool_wait_file(p, rel);                that file is done: 0, or -1
 *     wpool_drain(p);                         every job done: 0, or -1
 *     wpool_stop(p);                          joins, frees (any time)
 *
 * dfd must stay open until a later job of the same queue closes it, or
 * until wpool_drain() returned.  Workers never print or exit: the first
 * failure stops its queue (the jobs after it are dropped, their folder
 * descriptors closed) and is kept for wpool_failed(), which the caller
 * checks (wpool_file() and wpool_dir() return NULL / -1 once any queue
 * failed).  Signals stay with the calling thread.  Bounded memory: each
 * queue holds at most WPOOL_ARENA bytes of file data and names.
 */
#ifndef ZDT_WPOOL_H
#define ZDT_WPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "xxh.h"

#define WPOOL_ARENA (4u << 20)
#define WPOOL_FILE_MAX (1u << 20)	/* larger files: in pieces (wpool_part) */
#define WPOOL_PART (1u << 20)

enum {
	WM_CHOWN = 1 << 0,	/* fchown to uid/gid */
	WM_CHMOD = 1 << 1,	/* fchmod to mode (files are created with mode & 0777) */
	WM_SFR = 1 << 2,	/* start write-back when written */
};

struct wmeta {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
	unsigned flags;
};

struct wpool;

struct wpool *wpool_start(int nq);
/* the writer queues (NQ; the copy queues, as many, are not counted) */
int wpool_queues(const struct wpool *p);
/* a queue for the next new folder, round robin */
int wpool_pick(struct wpool *p);
/* room for a file of size bytes named name in dfd (rel: for messages),
 * created with O_EXCL; NULL once the pool failed */
char *wpool_file(struct wpool *p, int q, int dfd, const char *name, const char *rel, size_t size,
		 const struct wmeta *m);
/* room for the piece of total bytes at off of a file (total > 0), n bytes,
 * aligned for direct I/O: WPOOL_PART bytes except for the last; the pieces
 * of one file go to one queue in order, with nothing else between them.
 * The first (off 0) creates the file with O_EXCL; the last sets m and
 * closes it.  Whole blocks go to the disk with O_DIRECT where the file
 * system takes it, not through the page cache.  A file whose last piece
 * does not come (the pool failed or was stopped) is removed. */
char *wpool_part(struct wpool *p, int q, int dfd, const char *name, const char *rel, uint64_t total,
		 uint64_t off, size_t n, const struct wmeta *m);
void wpool_submit(struct wpool *p, int q);
/* a file of size bytes, the bytes at off of src, which must stay open
 * until a drain: created here as name in dfd (O_EXCL; dfd stays the
 * caller's), filled, checked against hash, given m and closed by a copy
 * queue, removed if that fails or the pool stops first.  0; -1 with errno
 * when it could not be created; -2 once the pool failed.  Its failures:
 * "read" (src), "check" (EBADMSG: src ended early, or its hash differs),
 * "write", "set the metadata of". */
int wpool_copy(struct wpool *p, int dfd, const char *name, const char *rel, int src, uint64_t off,
	       uint64_t size, XXH128_hash_t hash, const struct wmeta *m);
/* owner, mode, mtime of folder fd, then close(fd); -1 (fd closed) once
 * the pool failed */
int wpool_dir(struct wpool *p, int q, int fd, const char *rel, const struct wmeta *m);
/* unlinkat(dfd, name, 0) (ENOENT is no error); dfd stays the caller's
 * until a drain; -1 once the pool failed */
int wpool_unlink(struct wpool *p, int q, int dfd, const char *name, const char *rel);
/* the file rel is written and closed, if a queue has it (a hardlink's
 * target): 0, or -1 once the pool failed; cheaper than a drain, the rest
 * of the queues go on */
int wpool_wait_file(struct wpool *p, const char *rel);
int wpool_drain(struct wpool *p);
/* the first failure: errno, what was being done ("create", "write", "set
 * the metadata of", and for a copy "read", "check"), the path; 0 when none */
int wpool_failed(struct wpool *p, int *err, const char **what, const char **rel);
void wpool_stop(struct wpool *p);

#ifdef ZDT_TESTING
/* tests: a worker calls this before each job it runs (its queue's index,
 * the job's path) */
extern void (*wpool_test_before_job)(int q, const char *rel);
#endif

#endif
