/*
 * manifest.h - the per-snapshot manifest (zdt-manifest(5)).
 *
 * Plain text, one entry per line, in canonical path order (path_cmp()):
 *
 *     zdt-manifest 1
 *     component AR
 *     snapshot 20261125T081800Z-01
 *     created 2026-11-25T08:18:00Z
 *     source /opt/bmc/ARSystem
 *     compress none
 *     exclude *.log
 *     # type mode uid gid size mtime xxh128 offset xattrs path [-> target]
 *     d 0755 0 0 0 1719705600.000000000 - 1536 - .
 *     f 0600 0 0 24000 1600000000.123456789 <32 hex> 4096 <16 hex> conf/ar.cfg
 *     l 0777 0 0 18 1600000000.000000000 - 9216 - lib/libar.so -> libar.so.9.1.0
 *     end entries=3 files=1 bytes=24000
 *     archive xxh3-128 <32 hex> 1793024
 *     checksum xxh3-128 <32 hex>
 *
 * The archive line is the XXH3-128 and size of the archive file as written
 * (compressed or not), so that any damage to it, padding included, is
 * found.  The checksum line is XXH3-128 of every byte before it.  Paths and targets
 * are escaped with esc_path() (util.h).
 *
 * Writing:  mwriter_open(), mwriter_add() per entry in path order,
 *           mwriter_finish(); the caller fsyncs and closes the fd.
 * Reading:  mreader_open() parses the header; mreader_next() returns 1 per
 *           entry, 0 at the end once the checksum matched, -1 on damage
 *           (r->err says where; at 0, r->checksum holds the checksum
 *           line's digest); mreader_release().  Entries come out in
 *           order: a damaged order is reported as damage too, so that a
 *           caller may stream-merge the manifest with a walk of a live tree
 *           done in the same order.  So is an entry whose folder is not a
 *           folder entry met before it ("entry without its folder": a path
 *           below a symlink, a file or nothing), so that no caller creates
 *           a path through something the snapshot does not make a folder.
 */
#ifndef ZDT_MANIFEST_H
#define ZDT_MANIFEST_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include "xxh.h"

#include "util.h"

#define MANIFEST_VERSION 1

enum {
	M_FILE = 'f',
	M_DIR = 'd',
	M_SYMLINK = 'l',
	M_HARDLINK = 'h',	/* target: the first path of the group */
	M_FIFO = 'p',
	M_CHR = 'c',
	M_BLK = 'b',
};

struct mentry {
	char type;
	unsigned mode;		/* permission bits, 07777 */
	uint64_t uid, gid;
	uint64_t size;		/* files: bytes; symlinks: target length */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	int has_hash;
	XXH128_hash_t hash;	/* regular files and hardlinks */
	int64_t offset;		/* data offset in the uncompressed tar stream, -1 none */
	int has_xattr;
	uint64_t xattr;		/* XXH3-64 of xattrs and ACLs (xattr.h) */
	unsigned rdev_major, rdev_minor;
	struct sbuf path;
	struct sbuf target;	/* symlink target or hardlink first path */
};

struct mheader {
	char *component;
	char *snapshot;
	time_t created;
	char *source;
	char *compress;
	char **exclude;
	int nexclude;
};

struct mwriter {
	int fd;
	struct sbuf buf;
	XXH3_state_t *xs;
	uint64_t entries, files, bytes;
	struct sbuf last;	/* previous path, to check the order */
	int has_archive;	/* set before mwriter_finish() */
	XXH128_hash_t archive_hash;
	uint64_t archive_size;
};

struct mreader {
	int fd;
	char *rbuf;
	size_t rpos, rlen;
	int eof;
	struct sbuf line;
	XXH3_state_t *xs;
	struct mheader h;
	unsigned lineno;
	int done;
	uint64_t entries, files, bytes;		/* from the end line */
	int has_archive;			/* from the archive line */
	XXH128_hash_t archive_hash;
	uint64_t archive_size;
	XXH128_hash_t checksum;			/* the checksum line, once done */
	uint64_t seen_entries;
	struct sbuf last;
	struct sbuf tmp;
	struct sbuf dirs;	/* the folders above the last entry, NUL-separated */
	size_t *tops;		/* where each starts in dirs */
	size_t ntops, captops;
	char err[512];
	int pending;		/* first entry line already read by open */
};

/* a set of paths as 64-bit hashes (path_hash(), never 0), open addressing:
 * the first paths of hardlink groups, met or rewritten */
struct hset {
	uint64_t *v;
	size_t n, cap;
};
uint64_t path_hash(const char *p);
int hset_has(const struct hset *s, uint64_t h);
void hset_add(struct hset *s, uint64_t h);
void hset_free(struct hset *s);

void mentry_init(struct mentry *e);
void mentry_release(struct mentry *e);
void mentry_copy(struct mentry *dst, const struct mentry *src);

/* canonical order: "." first, then component by component, bytewise */
int path_cmp(const char *a, const char *b);
/* relative, no empty, "." or ".." component; "." alone is the root */
int path_is_safe(const char *p);

void hash_to_hex(XXH128_hash_t h, char out[33]);
int hex_to_hash(const char *s, size_t n, XXH128_hash_t *h);

/* One entry as its manifest line (without newline), for messages. */
void mentry_format(struct sbuf *sb, const struct mentry *e);

int mwriter_open(struct mwriter *w, int fd, const struct mheader *h);
int mwriter_add(struct mwriter *w, const struct mentry *e);
/* writes the end and checksum lines; checksum receives the hex digest */
int mwriter_finish(struct mwriter *w, char checksum[33]);
void mwriter_release(struct mwriter *w);

int mreader_open(struct mreader *r, int fd);
int mreader_next(struct mreader *r, struct mentry *e);
void mreader_release(struct mreader *r);
/* reads a whole manifest from fd's current position: 0 intact, -1 damaged
 * (err says where); the caller seeks back to read it again */
int manifest_check(int fd, char *err, size_t n);
/* the same, also returning the archive line's digest and size (*has = 0
 * when the manifest has none) and, when links is not NULL, adding the first
 * paths of its hardlink groups to links (for a later pass that checks each
 * hardlink names a regular file met before it) */
int manifest_check_archive(int fd, char *err, size_t n, int *has, XXH128_hash_t *h, uint64_t *size,
			   struct hset *links);
void mheader_release(struct mheader *h);

#endif
