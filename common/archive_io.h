/*
 * archive_io.h - the archive output: a libarchive pax writer whose bytes go
 * through zdt's own sink.
 *
 *     struct asink s;
 *     asink_open(&s, fd, level, threads);   level 0 = none, 1..9 = gzip
 *     struct archive *a = asink_archive(&s);
 *     ... archive_write_header(a, e); off = s.raw;  data starts at off
 *     ... archive_write_data(a, buf, n);
 *     asink_close(&s);       end of archive, flush, fsync; 0 or -1 (s.err)
 *     asink_release(&s);     always (frees; after a failure too)
 *
 * The sink counts the uncompressed tar stream (s.raw), which is what the
 * manifest records as each entry's data offset.  With gzip the stream is cut
 * into 1 MiB chunks that worker threads deflate independently; each chunk
 * is a complete gzip member, written in order, so the file is one valid
 * multi-member gzip stream that gzip, GNU tar and libarchive read as one.
 * Without compression one thread writes the stream out beside the caller.
 * Write-back of the output is started every 32 MiB (sync_file_range), and
 * every 64 MiB a thread of its own makes it durable (fdatasync) while the
 * writing goes on, so that the final fsync has little left to do.
 */
#ifndef ZDT_ARCHIVE_IO_H
#define ZDT_ARCHIVE_IO_H

#include <pthread.h>
#include <stdint.h>
#include "xxh.h"

struct archive;
struct gz_slot;

struct asink {
	int fd;
	int level;
	struct archive *a;
	uint64_t raw;		/* bytes of the uncompressed tar stream */
	uint64_t out;		/* bytes written to fd */
	uint64_t synced;	/* write-back started up to here */
	uint64_t flushed;	/* a flush asked for up to here */
	XXH3_state_t *xs;	/* of every byte written to fd */
	XXH128_hash_t digest;	/* after asink_close() */
	int err;		/* errno of the first failure, 0 if none */
	const char *err_what;	/* "write", "fsync", "fdatasync", "compress" */
	/* a ring of 1 MiB slots: gzip's threads deflate them, or without
	 * compression one thread writes them out */
	int nthreads;
	pthread_t *threads;
	struct gz_slot *slots;
	int nslots, fill, wnext;
	uint64_t seq;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	/* the flush thread, asked under mu */
	pthread_t fthread;
	pthread_cond_t fcv;
	uint64_t flush_to;	/* flush once this differs from the last */
	int fstarted, fstop;
};

int asink_open(struct asink *s, int fd, int level, int threads);
struct archive *asink_archive(struct asink *s);
int asink_close(struct asink *s);
void asink_release(struct asink *s);

/* A reader for archives of either compression, on fd. */
struct archive *areader_open(int fd);

/* The same, hashing every byte of the file it reads, with no seeking:
 * after the last header, areader_hash_finish() reads what is left and
 * gives the digest and size of the whole file. */
struct ahash;
struct archive *areader_open_hashing(int fd, struct ahash **ah);
int areader_hash_finish(struct ahash *ah, XXH128_hash_t *h, uint64_t *size);

#endif
