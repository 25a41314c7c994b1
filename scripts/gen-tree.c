/*
 * gen-tree - generate a deterministic synthetic install tree for zdt tests,
 *            demos and benchmarks.
 *
 * Usage: gen-tree [--strict] DIR SCALE [SEED]
 *
 *   DIR     created if missing; if it exists it must be an empty directory.
 *   SCALE   tiny    ~200 files, ~3 MB (fast unit/e2e tests)
 *           small   ~3,000 files, ~150 MB
 *           medium  ~30,000 files, ~1.3 GB
 *           many    ~200,000 small files, ~0.5 GB
 *           huge    ~1,000,000 small files, ~1.7 GB
 *           big     ~3,000 files, ~10 GB, a few of them 1-3 GB
 *           (each scale also has the 50 MB sparse file, 4 MB of it data)
 *   SEED    unsigned decimal, default 1.
 *   --strict  fail instead of silently skipping xattrs/ACLs when the file
 *           system does not support them (ENOTSUP).
 *
 * Exit status: 0 ok, 1 error (message on stderr), 2 usage error.
 * On success one line goes to stdout:
 *   DIR: scale=S seed=N files=F dirs=D symlinks=L hardlinks=H bytes=B
 * files = regular files (inodes), dirs = directories below DIR, hardlinks =
 * extra names of regular files, bytes = apparent size of all regular files
 * (each inode counted once).
 *
 * Same SCALE and SEED give the same tree: names, contents, modes, mtimes
 * (only the owner differs, it is whoever runs the program).  All randomness
 * comes from xoshiro256** seeded by splitmix64 from SCALE and SEED.
 *
 * The tree looks like a BMC Remedy AR System install directory:
 *   - a skeleton (bin lib conf db logs Logs/install api/lib api/include
 *     arserver/{bin,conf,lib,plugins} pluginsvr/lib midtier/WEB-INF/{lib,
 *     classes} jre/bin jre/lib/amd64/server installcompletionutility
 *     serverdata/ftindex cmdb/lib samples docs ...), a Java package chain
 *     of depth 12 under midtier/WEB-INF/classes, random nested dirs (depth
 *     <= 12) and empty dirs;
 *   - compressible text files (.properties .xml .cfg .sh .log, word-based
 *     lines), sizes log-uniform 64 B-64 KB (many/huge: 32 B-8 KB), ~1% empty;
 *   - incompressible .jar files (pseudo-random bytes, 50 KB-5 MB; tiny:
 *     50-256 KB) and a few random-byte executables and libraries;
 *   - 1-3 large binaries of 20-100 MB alternating 1 MB random / 1 MB text
 *     (none in tiny); big: 1-3 GB files of the same kind totalling ~10 GB;
 *   - conf/ar.cfg (0600, "Key-Name: value" lines, xattr user.zdt.test=gen),
 *     conf/armonitor.cfg (access ACL u:1234:r--), modes 0600 0640 0644
 *     0755 0444, setuid bin/arsignald (04755), setgid dir serverdata/shared
 *     (02775, default ACL), sticky dir serverdata/tmp (01777);
 *   - relative symlinks to files and dirs, dangling symlinks, hardlink
 *     groups of 2-3 names;
 *   - serverdata/ftindex/ftindex.sparse: 50 MB apparent, 1 MB of data at
 *     0, 10M, 25M and 49M, real holes in between;
 *   - FIFO serverdata/arserver.fifo;
 *   - names with spaces, UTF-8 names and Logs/install/bad<newline>name.log;
 *   - mtimes in 2012-2024 with nanoseconds on files, symlinks and dirs (dirs
 *     bottom-up at the end, DIR itself last).
 *
 * Build: gcc -std=c11 -O2 -D_GNU_SOURCE -o gen-tree gen-tree.c
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define KB 1024ULL
#define MB (1024ULL * KB)
#define GB (1024ULL * MB)

#define BUF_SIZE (1u << 20)     /* write buffer and mixed-file block size */
#define POOL_LINES 1024u        /* lines per text kind */
#define MAX_DEPTH 12u
#define PATH_CAP 4096

#define T_FIRST 1325376000LL    /* 2012-01-01T00:00:00Z */
#define T_END 1735689600LL      /* 2025-01-01T00:00:00Z */

enum { K_PROPS, K_XML, K_CFG, K_SH, K_LOG, NKINDS, K_RANDOM, K_MIXED };
enum { D_NOPLACE = 1, D_JAR = 2 };

struct scale {
	const char *name;
	unsigned n_text, n_jar, n_large, n_rdirs;
	uint64_t tmin, tmax, jmin, jmax;
	uint64_t gb_total;      /* big: bytes in 1-3 GB files */
};

struct dir {
	char *path;
	unsigned depth, mode, flags;
};

struct gen {
	const char *root;
	int rootfd;
	const struct scale *sc;
	struct dir *dirs;
	size_t ndirs, capdirs;
	size_t *place, nplace;  /* dirs that receive random entries */
	size_t *jardirs, njardirs;
	char *pool[NKINDS];
	uint32_t *poff[NKINDS];
	unsigned char *buf;
	unsigned seq;           /* makes random names unique */
	uint64_t files, symlinks, hardlinks, bytes;
};

/* The only globals: PRNG state and options. */
static uint64_t rng_s[4];
static int opt_strict;

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(const char *tag, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ULL;     /* FNV-1a of the tag */
	for (const char *p = tag; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	uint64_t x = h ^ (seed * 0x9e3779b97f4a7c15ULL);
	for (int i = 0; i < 4; i++)
		rng_s[i] = splitmix64(&x);
}

/* xoshiro256** */
static uint64_t rng_next(void)
{
	const uint64_t r = rotl(rng_s[1] * 5, 7) * 9;
	const uint64_t t = rng_s[1] << 17;
	rng_s[2] ^= rng_s[0];
	rng_s[3] ^= rng_s[1];
	rng_s[1] ^= rng_s[2];
	rng_s[0] ^= rng_s[3];
	rng_s[2] ^= t;
	rng_s[3] = rotl(rng_s[3], 45);
	return r;
}

static uint64_t rng_below(uint64_t n)
{
	return n ? rng_next() % n : 0;
}

static uint64_t rng_range(uint64_t lo, uint64_t hi)
{
	return lo + rng_below(hi - lo + 1);
}

/* Log-uniform by octaves: octave uniform, value uniform inside it. */
static uint64_t rng_logu(uint64_t lo, uint64_t hi)
{
	unsigned oct = 0;
	if (lo == 0 || lo >= hi)
		return lo;
	while ((lo << oct) < hi)
		oct++;
	for (;;) {
		unsigned o = (unsigned)rng_below(oct);
		uint64_t v = rng_range(lo << o, (lo << (o + 1)) - 1);
		if (v <= hi)
			return v;
	}
}

static void store_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void fill_random(unsigned char *p, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		store_le64(p + i, rng_next());
	if (i < n) {
		uint64_t v = rng_next();
		for (; i < n; i++, v >>= 8)
			p[i] = (unsigned char)v;
	}
}

static void rand_times(struct timespec ts[2])
{
	ts[1].tv_sec = (time_t)(T_FIRST + (long long)rng_below(T_END - T_FIRST));
	ts[1].tv_nsec = (long)rng_below(1000000000);
	ts[0] = ts[1];
}

/* ---- errors and memory ------------------------------------------------ */

static void die(const struct gen *g, const char *what, const char *rel)
{
	const char *err = strerror(errno);
	if (rel && *rel)
		fprintf(stderr, "gen-tree: %s failed: '%s/%s': %s\n", what, g->root, rel, err);
	else
		fprintf(stderr, "gen-tree: %s failed: '%s': %s\n", what, g->root, err);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fprintf(stderr, "gen-tree: out of memory\n");
		exit(1);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "gen-tree: out of memory\n");
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

/* out = dir/name (dir "" is DIR itself) */
static void pjoin(char *out, const char *dir, const char *name)
{
	int n = *dir ? snprintf(out, PATH_CAP, "%s/%s", dir, name)
		     : snprintf(out, PATH_CAP, "%s", name);
	if (n < 0 || n >= PATH_CAP) {
		fprintf(stderr, "gen-tree: path too long: '%s/%s'\n", dir, name);
		exit(1);
	}
}

/* ---- words and text pools --------------------------------------------- */

static const char *word(void)
{
	static const char *const w[] = {
		"ar", "server", "filter", "active", "link", "escalation", "form",
		"field", "schema", "workflow", "approval", "cmdb", "class",
		"attribute", "midtier", "plugin", "arapi", "java", "config", "user",
		"group", "role", "ticket", "incident", "change", "problem", "asset",
		"request", "service", "catalog", "queue", "thread", "cache", "index",
		"fulltext", "socket", "port", "tcd", "rpc", "portmapper", "license",
		"email", "notification", "alert", "report", "flashboard", "web",
		"servlet", "session", "token", "locale", "timezone", "encryption",
		"security", "audit", "archive", "trace", "debug", "admin", "sample",
		"overlay", "custom", "base", "version", "build", "patch", "hotfix",
		"database", "oracle", "sqlserver", "tablespace", "connection", "pool",
		"timeout", "retry", "limit", "size", "buffer", "memory", "heap",
		"jvm", "collector", "interval", "schedule", "job", "task", "entry",
		"record", "guid", "status", "state", "owner", "priority", "category",
		"item", "operation", "tier", "component", "module", "host", "name",
		"domain", "ldap", "auth", "sso", "password", "hash", "key", "value",
		"default", "enabled", "disabled", "path", "file", "directory",
		"install", "upgrade", "migration", "deploy", "utility", "completion",
		"runtime", "template", "mapping", "view", "join", "vendor", "display",
		"atrium", "reconciliation", "normalization", "dataset", "federation",
		"sla", "itsm", "srm", "slm", "bmc", "remedy", "arsys", "arerror",
		"armonitor", "arforkd", "arsignald", "dispatcher", "listener",
		"handler", "adapter", "driver", "jdbc", "odbc", "smtp", "imap",
		"größe", "café", "données", "日本語",
	};
	return w[rng_below(sizeof w / sizeof w[0])];
}

struct sbuf {
	char s[512];
	size_t n;
};

static void sb_add(struct sbuf *b, const char *s)
{
	size_t l = strlen(s);
	if (l > sizeof b->s - 1 - b->n)
		l = sizeof b->s - 1 - b->n;
	memcpy(b->s + b->n, s, l);
	b->n += l;
	b->s[b->n] = '\0';
}

static void sb_num(struct sbuf *b, uint64_t v)
{
	char t[24];
	snprintf(t, sizeof t, "%" PRIu64, v);
	sb_add(b, t);
}

/* Append a word, case 0 as is, 1 capitalized, 2 upper case (ASCII only). */
static void sb_word(struct sbuf *b, int cs)
{
	size_t at = b->n;
	sb_add(b, word());
	for (size_t i = at; i < b->n; i++) {
		unsigned char c = (unsigned char)b->s[i];
		if (c >= 'a' && c <= 'z' && (cs == 2 || (cs == 1 && i == at)))
			b->s[i] = (char)(c - 'a' + 'A');
	}
}

static void sb_words(struct sbuf *b, unsigned n, const char *sep, int cs)
{
	for (unsigned i = 0; i < n; i++) {
		if (i)
			sb_add(b, sep);
		sb_word(b, cs);
	}
}

static void make_line(struct sbuf *b, int kind)
{
	static const char *const lvl[] = { "INFO", "WARN", "ERROR", "DEBUG" };
	static const char *const comp[] = { "ARSERVER", "FILTER", "SQL", "API", "ESCL", "PLGN" };
	unsigned r = (unsigned)rng_below(10);
	b->n = 0;
	b->s[0] = '\0';
	switch (kind) {
	case K_PROPS:
		if (r == 0) {
			sb_add(b, "# ");
			sb_words(b, 3 + (unsigned)rng_below(8), " ", 0);
			break;
		}
		sb_words(b, 2 + (unsigned)rng_below(3), ".", 0);
		sb_add(b, "=");
		if (r < 4)
			sb_num(b, rng_below(100000));
		else if (r < 6) {
			sb_add(b, "/opt/bmc/ARSystem/");
			sb_words(b, 1 + (unsigned)rng_below(3), "/", 0);
		} else if (r < 7)
			sb_add(b, rng_below(2) ? "true" : "false");
		else
			sb_words(b, 1 + (unsigned)rng_below(6), " ", 0);
		break;
	case K_XML:
		sb_add(b, "    ");
		if (r == 0) {
			sb_add(b, "<!-- ");
			sb_words(b, 3 + (unsigned)rng_below(6), " ", 0);
			sb_add(b, " -->");
		} else if (r < 6) {
			sb_add(b, "<property name=\"");
			sb_words(b, 2 + (unsigned)rng_below(2), ".", 0);
			sb_add(b, "\" value=\"");
			sb_words(b, 1 + (unsigned)rng_below(3), " ", 0);
			sb_add(b, "\"/>");
		} else {
			size_t at = b->n, end;
			sb_add(b, "<");
			sb_word(b, 0);
			end = b->n;
			sb_add(b, ">");
			sb_words(b, 1 + (unsigned)rng_below(5), " ", 0);
			sb_add(b, "</");
			{
				char tag[128];
				size_t tl = end - at - 1;
				if (tl > sizeof tag - 1)
					tl = sizeof tag - 1;
				memcpy(tag, b->s + at + 1, tl);
				tag[tl] = '\0';
				sb_add(b, tag);
			}
			sb_add(b, ">");
		}
		break;
	case K_CFG:
		if (r == 0) {
			sb_add(b, "# ");
			sb_words(b, 2 + (unsigned)rng_below(6), " ", 0);
			break;
		}
		sb_words(b, 2 + (unsigned)rng_below(3), "-", 1);
		sb_add(b, ": ");
		if (r < 5)
			sb_num(b, rng_below(65536));
		else if (r < 7)
			sb_add(b, rng_below(2) ? "T" : "F");
		else
			sb_words(b, 1 + (unsigned)rng_below(3), " ", 0);
		break;
	case K_SH:
		if (r < 3) {
			sb_add(b, "export ");
			sb_words(b, 2, "_", 2);
			sb_add(b, "=\"/opt/bmc/ARSystem/");
			sb_words(b, 1 + (unsigned)rng_below(3), "/", 0);
			sb_add(b, "\"");
		} else if (r < 5) {
			sb_add(b, "if [ -f \"$");
			sb_words(b, 2, "_", 2);
			sb_add(b, "\" ]; then");
		} else if (r < 7) {
			sb_add(b, "    echo \"");
			sb_words(b, 2 + (unsigned)rng_below(6), " ", 0);
			sb_add(b, "\"");
		} else if (r < 8) {
			sb_add(b, "fi");
		} else {
			sb_add(b, "# ");
			sb_words(b, 2 + (unsigned)rng_below(8), " ", 0);
		}
		break;
	default: {
		char t[80];
		snprintf(t, sizeof t, "%04u-%02u-%02u %02u:%02u:%02u.%03u <%s> <%s> <Thread-%u> ",
			 2012 + (unsigned)rng_below(13), 1 + (unsigned)rng_below(12),
			 1 + (unsigned)rng_below(28), (unsigned)rng_below(24),
			 (unsigned)rng_below(60), (unsigned)rng_below(60),
			 (unsigned)rng_below(1000), lvl[rng_below(4)], comp[rng_below(6)],
			 (unsigned)rng_below(64));
		sb_add(b, t);
		sb_words(b, 2 + (unsigned)rng_below(10), " ", 0);
		if (r < 3) {
			sb_add(b, " (ARERR ");
			sb_num(b, rng_below(10000));
			sb_add(b, ")");
		}
		break;
	}
	}
	sb_add(b, "\n");
}

static void build_pools(struct gen *g)
{
	for (int k = 0; k < NKINDS; k++) {
		size_t cap = 64 * 1024, n = 0;
		char *a = xmalloc(cap);
		uint32_t *off = xmalloc((POOL_LINES + 1) * sizeof *off);
		struct sbuf b;
		for (unsigned i = 0; i < POOL_LINES; i++) {
			make_line(&b, k);
			if (n + b.n > cap)
				a = xrealloc(a, cap *= 2);
			memcpy(a + n, b.s, b.n);
			off[i] = (uint32_t)n;
			n += b.n;
		}
		off[POOL_LINES] = (uint32_t)n;
		g->pool[k] = a;
		g->poff[k] = off;
	}
}

/* Fill p with random pool lines; a whole text file gets header and final newline. */
static void fill_text(struct gen *g, unsigned char *p, size_t n, int kind, int whole)
{
	static const char *const hdr[NKINDS] = {
		"# BMC Remedy AR System configuration\n",
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
		"",
		"#!/bin/sh\n",
		"",
	};
	size_t pos = 0;
	if (whole) {
		size_t hl = strlen(hdr[kind]);
		pos = hl < n ? hl : n;
		memcpy(p, hdr[kind], pos);
	}
	while (pos < n) {
		uint32_t li = (uint32_t)rng_below(POOL_LINES);
		size_t len = g->poff[kind][li + 1] - g->poff[kind][li];
		if (len > n - pos)
			len = n - pos;
		memcpy(p + pos, g->pool[kind] + g->poff[kind][li], len);
		pos += len;
	}
	if (whole && n)
		p[n - 1] = '\n';
}

/* ---- file system entries ---------------------------------------------- */

static void write_all(struct gen *g, int fd, const unsigned char *p, size_t n, const char *rel)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die(g, "write", rel);
		}
		p += w;
		n -= (size_t)w;
	}
}

static int open_new(struct gen *g, const char *rel)
{
	int fd = openat(g->rootfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		die(g, "create", rel);
	return fd;
}

static void finish_file(struct gen *g, int fd, const char *rel, unsigned mode, uint64_t size)
{
	struct timespec ts[2];
	rand_times(ts);
	if (fchmod(fd, mode) < 0)       /* after writing: keeps setuid */
		die(g, "chmod", rel);
	if (futimens(fd, ts) < 0)
		die(g, "utimens", rel);
	if (close(fd) < 0)
		die(g, "close", rel);
	g->files++;
	g->bytes += size;
}

static void make_file(struct gen *g, const char *rel, int kind, uint64_t size, unsigned mode)
{
	int fd = open_new(g, rel);
	uint64_t off = 0;
	for (unsigned blk = 0; off < size; blk++) {
		size_t n = size - off > BUF_SIZE ? BUF_SIZE : (size_t)(size - off);
		if (kind == K_RANDOM || (kind == K_MIXED && blk % 2 == 0))
			fill_random(g->buf, n);
		else if (kind == K_MIXED)
			fill_text(g, g->buf, n, (int)(blk / 2 % NKINDS), 0);
		else
			fill_text(g, g->buf, n, kind, 1);
		write_all(g, fd, g->buf, n, rel);
		off += n;
	}
	finish_file(g, fd, rel, mode, size);
}

static void make_sparse(struct gen *g, const char *rel)
{
	static const uint64_t at[] = { 0, 10 * MB, 25 * MB, 49 * MB };
	int fd = open_new(g, rel);
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		size_t done = 0;
		fill_random(g->buf, MB);
		while (done < MB) {
			ssize_t w = pwrite(fd, g->buf + done, MB - done, (off_t)(at[i] + done));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				die(g, "pwrite", rel);
			}
			done += (size_t)w;
		}
	}
	if (ftruncate(fd, (off_t)(50 * MB)) < 0)
		die(g, "ftruncate", rel);
	finish_file(g, fd, rel, 0644, 50 * MB);
}

static void make_symlink(struct gen *g, const char *target, const char *rel)
{
	struct timespec ts[2];
	rand_times(ts);
	if (symlinkat(target, g->rootfd, rel) < 0)
		die(g, "symlink", rel);
	if (utimensat(g->rootfd, rel, ts, AT_SYMLINK_NOFOLLOW) < 0)
		die(g, "utimens", rel);
	g->symlinks++;
}

static void make_hardlink(struct gen *g, const char *existing, const char *rel)
{
	if (linkat(g->rootfd, existing, g->rootfd, rel, 0) < 0)
		die(g, "link", rel);
	g->hardlinks++;
}

static void make_fifo(struct gen *g, const char *rel)
{
	struct timespec ts[2];
	rand_times(ts);
	if (mkfifoat(g->rootfd, rel, 0600) < 0)
		die(g, "mkfifo", rel);
	if (fchmodat(g->rootfd, rel, 0644, 0) < 0)
		die(g, "chmod", rel);
	if (utimensat(g->rootfd, rel, ts, AT_SYMLINK_NOFOLLOW) < 0)
		die(g, "utimens", rel);
}

/* Directories are created 0700; final mode and mtime are set at the end. */
static size_t make_dir(struct gen *g, const char *rel, unsigned mode, unsigned flags)
{
	unsigned depth = 1;
	if (mkdirat(g->rootfd, rel, 0700) < 0)
		die(g, "mkdir", rel);
	for (const char *p = rel; *p; p++)
		depth += *p == '/';
	if (g->ndirs == g->capdirs) {
		g->capdirs = g->capdirs ? 2 * g->capdirs : 256;
		g->dirs = xrealloc(g->dirs, g->capdirs * sizeof *g->dirs);
	}
	g->dirs[g->ndirs] = (struct dir){ xstrdup(rel), depth, mode, flags };
	return g->ndirs++;
}

static void set_xattr(struct gen *g, const char *rel, const char *name, const void *val, size_t len)
{
	int fd = openat(g->rootfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		die(g, "open", rel);
	if (fsetxattr(fd, name, val, len, 0) < 0 &&
	    (opt_strict || (errno != ENOTSUP && errno != EOPNOTSUPP)))
		die(g, "setxattr", rel);
	if (close(fd) < 0)
		die(g, "close", rel);
}

struct acl_ent {
	unsigned tag, perm;
	uint32_t id;
};

/* Linux xattr ACL format: le32 version 2, then {le16 tag, le16 perm, le32 id}. */
static void set_acl(struct gen *g, const char *rel, const char *name, const struct acl_ent *e, size_t n)
{
	unsigned char b[4 + 8 * 8];
	if (n > 8)
		n = 8;
	memset(b, 0, sizeof b);
	b[0] = 2;
	for (size_t i = 0; i < n; i++) {
		unsigned char *q = b + 4 + 8 * i;
		q[0] = (unsigned char)e[i].tag;
		q[1] = (unsigned char)(e[i].tag >> 8);
		q[2] = (unsigned char)e[i].perm;
		q[3] = (unsigned char)(e[i].perm >> 8);
		for (int j = 0; j < 4; j++)
			q[4 + j] = (unsigned char)(e[i].id >> (8 * j));
	}
	set_xattr(g, rel, name, b, 4 + 8 * n);
}

/* Relative symlink target from directory from_dir to path to (both below DIR). */
static void relpath(char *out, const char *from_dir, const char *to)
{
	size_t i = 0, c = 0, n = 0;
	for (;;) {
		char a = from_dir[i], b = to[i];
		if ((a == '/' || a == '\0') && (b == '/' || b == '\0'))
			c = i;
		if (a != b || a == '\0')
			break;
		i++;
	}
	const char *rf = from_dir + c, *rt = to + c;
	if (*rf == '/')
		rf++;
	if (*rt == '/')
		rt++;
	out[0] = '\0';
	if (*rf) {
		for (const char *p = rf; p; p = strchr(p + 1, '/')) {
			if (n + 4 >= PATH_CAP)
				break;
			memcpy(out + n, "../", 4);
			n += 3;
		}
	}
	if (*rt) {
		size_t l = strlen(rt);
		if (n + l >= PATH_CAP)
			l = PATH_CAP - 1 - n;
		memcpy(out + n, rt, l);
		out[n + l] = '\0';
	} else if (n) {
		out[n - 1] = '\0';
	} else {
		strcpy(out, ".");
	}
}

/* a is b or an ancestor of b */
static int is_ancestor(const char *a, const char *b)
{
	size_t n = strlen(a);
	return strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/');
}

static const struct dir *pick_dir(struct gen *g)
{
	return &g->dirs[g->place[rng_below(g->nplace)]];
}

/* ---- the tree --------------------------------------------------------- */

static void make_skeleton(struct gen *g)
{
	static const struct {
		const char *path;
		unsigned mode, flags;
	} sk[] = {
		{ "bin", 0755, 0 },
		{ "lib", 0755, D_JAR },
		{ "conf", 0755, 0 },
		{ "db", 0750, 0 },
		{ "db/empty", 0750, D_NOPLACE },
		{ "logs", 0755, 0 },
		{ "logs/archive", 0755, D_NOPLACE },
		{ "Logs", 0755, 0 },
		{ "Logs/install", 0755, 0 },
		{ "Logs/日本語 ログ", 0755, 0 },
		{ "api", 0755, 0 },
		{ "api/lib", 0755, D_JAR },
		{ "api/include", 0755, 0 },
		{ "arserver", 0755, 0 },
		{ "arserver/bin", 0755, 0 },
		{ "arserver/conf", 0750, 0 },
		{ "arserver/lib", 0755, D_JAR },
		{ "arserver/plugins", 0755, D_JAR },
		{ "arserver/plugins/disabled", 0755, D_NOPLACE },
		{ "pluginsvr", 0755, 0 },
		{ "pluginsvr/lib", 0755, D_JAR },
		{ "midtier", 0755, 0 },
		{ "midtier/WEB-INF", 0755, 0 },
		{ "midtier/WEB-INF/lib", 0755, D_JAR },
		{ "midtier/WEB-INF/classes", 0755, 0 },
		{ "midtier/WEB-INF/classes/com", 0755, 0 },
		{ "midtier/WEB-INF/classes/com/bmc", 0755, 0 },
		{ "midtier/WEB-INF/classes/com/bmc/arsys", 0755, 0 },
		{ "midtier/WEB-INF/classes/com/bmc/arsys/midtier", 0755, 0 },
		{ "midtier/WEB-INF/classes/com/bmc/arsys/midtier/config", 0755, 0 },
		{ "midtier/WEB-INF/classes/com/bmc/arsys/midtier/config/resources", 0755, 0 },
		{ "midtier/WEB-INF/classes/com/bmc/arsys/midtier/config/resources/l10n", 0755, 0 },
		{ "midtier/WEB-INF/classes/com/bmc/arsys/midtier/config/resources/l10n/en", 0755, 0 },
		{ "midtier/WEB-INF/classes/com/bmc/arsys/midtier/config/resources/l10n/en/US", 0755, 0 },
		{ "jre", 0755, 0 },
		{ "jre/bin", 0755, 0 },
		{ "jre/lib", 0755, D_JAR },
		{ "jre/lib/amd64", 0755, 0 },
		{ "jre/lib/amd64/server", 0755, 0 },
		{ "installcompletionutility", 0755, D_JAR },
		{ "serverdata", 0755, 0 },
		{ "serverdata/ftindex", 0750, 0 },
		{ "serverdata/shared", 02775, 0 },
		{ "serverdata/tmp", 01777, 0 },
		{ "cmdb", 0755, 0 },
		{ "cmdb/lib", 0755, D_JAR },
		{ "approval", 0755, 0 },
		{ "approval/bin", 0755, 0 },
		{ "flashboards", 0755, 0 },
		{ "flashboards/lib", 0755, D_JAR },
		{ "samples", 0755, 0 },
		{ "samples/Größe räksmörgås", 0755, 0 },
		{ "docs", 0755, 0 },
		{ "docs/Release Notes", 0755, 0 },
		{ "Uninstall", 0755, 0 },
		{ "tmp", 0700, D_NOPLACE },
	};
	for (size_t i = 0; i < sizeof sk / sizeof sk[0]; i++)
		make_dir(g, sk[i].path, sk[i].mode, sk[i].flags);
}

static unsigned rand_dir_mode(void)
{
	unsigned r = (unsigned)rng_below(100);
	return r < 80 ? 0755 : r < 90 ? 0750 : r < 95 ? 0775 : 0700;
}

static void make_random_dirs(struct gen *g)
{
	unsigned n_empty = g->sc->n_rdirs / 30 + 2;
	for (unsigned i = 0; i < g->sc->n_rdirs + n_empty; i++) {
		int empty = i >= g->sc->n_rdirs;
		const struct dir *p;
		char name[256], rel[PATH_CAP];
		do
			p = &g->dirs[rng_below(g->ndirs)];
		while (p->depth >= MAX_DEPTH || (p->flags & D_NOPLACE));
		if (empty)
			snprintf(name, sizeof name, "empty-%s%u", word(), g->seq++);
		else if (rng_below(100) < 3)
			snprintf(name, sizeof name, "%s %s %u", word(), word(), g->seq++);
		else
			snprintf(name, sizeof name, "%s%u", word(), g->seq++);
		pjoin(rel, p->path, name);
		make_dir(g, rel, rand_dir_mode(), empty ? D_NOPLACE : 0);
	}
	g->place = xmalloc(g->ndirs * sizeof *g->place);
	g->jardirs = xmalloc(g->ndirs * sizeof *g->jardirs);
	for (size_t i = 0; i < g->ndirs; i++) {
		if (!(g->dirs[i].flags & D_NOPLACE))
			g->place[g->nplace++] = i;
		if (g->dirs[i].flags & D_JAR)
			g->jardirs[g->njardirs++] = i;
	}
}

static uint64_t text_size(struct gen *g)
{
	return rng_logu(g->sc->tmin, g->sc->tmax);
}

static uint64_t jar_size(struct gen *g)
{
	return rng_logu(g->sc->jmin, g->sc->jmax);
}

static void make_fixed(struct gen *g)
{
	static const struct acl_ent monitor_acl[] = {
		{ 0x01, 6, 0xffffffffu },       /* user::rw- */
		{ 0x02, 4, 1234 },              /* user:1234:r-- */
		{ 0x04, 4, 0xffffffffu },       /* group::r-- */
		{ 0x10, 4, 0xffffffffu },       /* mask::r-- */
		{ 0x20, 0, 0xffffffffu },       /* other::--- */
	};
	struct sbuf b;
	int fd;

	/* conf/ar.cfg: fixed keys first, then random Key-Name: value lines */
	fd = open_new(g, "conf/ar.cfg");
	{
		static const char head[] =
			"# AR System server configuration\n"
			"Server-Name: arsrv01\n"
			"TCD-Specific-Port: 46262\n"
			"Db-Type: SQL -- Oracle\n"
			"Db-Host-Name: dbhost01\n"
			"Db-name: ARSystem\n"
			"Db-user: ARAdmin\n"
			"Server-Plugin-Alias: ARSYS.ARDBC.LDAP ARSYS.ARDBC.LDAP arsrv01:9999\n"
			"Plugin-Port: 9999\n"
			"Max-Entries-Per-Query: 2000\n"
			"Debug-mode: 0\n";
		size_t n = sizeof head - 1;
		memcpy(g->buf, head, n);
		for (unsigned i = 0, lines = 100 + (unsigned)rng_below(200); i < lines; i++) {
			make_line(&b, K_CFG);
			memcpy(g->buf + n, b.s, b.n);
			n += b.n;
		}
		write_all(g, fd, g->buf, n, "conf/ar.cfg");
		finish_file(g, fd, "conf/ar.cfg", 0600, n);
	}
	set_xattr(g, "conf/ar.cfg", "user.zdt.test", "gen", 3);
	make_file(g, "conf/armonitor.cfg", K_CFG, text_size(g), 0640);
	set_acl(g, "conf/armonitor.cfg", "system.posix_acl_access", monitor_acl,
		sizeof monitor_acl / sizeof monitor_acl[0]);
	make_file(g, "conf/ardbc.cfg", K_CFG, text_size(g), 0600);
	make_file(g, "conf/log4j_pluginsvr.xml", K_XML, text_size(g), 0644);
	make_file(g, "conf/arsystem.properties", K_PROPS, text_size(g), 0644);
	make_file(g, ".install.properties", K_PROPS, text_size(g), 0644);

	/* executables, libraries, links to them */
	make_file(g, "bin/arsignald", K_RANDOM, jar_size(g), 04755);
	make_file(g, "bin/arserverd", K_RANDOM, jar_size(g), 0755);
	make_hardlink(g, "bin/arserverd", "arserver/bin/arserverd");
	make_file(g, "bin/armonitor", K_RANDOM, jar_size(g), 0755);
	make_file(g, "bin/arsystem.sh", K_SH, text_size(g), 0755);
	make_symlink(g, "arsystem.sh", "bin/arsystem");
	make_file(g, "jre/bin/java", K_RANDOM, jar_size(g), 0755);
	make_symlink(g, "../jre/bin/java", "bin/java");
	make_file(g, "jre/lib/amd64/server/libjvm.so", K_RANDOM, jar_size(g), 0755);
	make_file(g, "lib/libar.so.9.1.00", K_RANDOM, jar_size(g), 0755);
	make_symlink(g, "libar.so.9.1.00", "lib/libar.so.9");
	make_symlink(g, "libar.so.9", "lib/libar.so");
	make_file(g, "lib/arapi91.jar", K_RANDOM, jar_size(g), 0644);
	make_hardlink(g, "lib/arapi91.jar", "api/lib/arapi91.jar");
	make_hardlink(g, "lib/arapi91.jar", "midtier/WEB-INF/lib/arapi91.jar");
	make_file(g, "api/include/ar.h", K_SH, text_size(g), 0444);
	make_file(g, "approval/bin/apsvc.sh", K_SH, text_size(g), 0755);
	make_file(g, "Uninstall/uninstall.sh", K_SH, text_size(g), 0755);
	make_symlink(g, "../../conf/ar.cfg", "arserver/conf/ar.cfg");
	make_symlink(g, "../jre", "arserver/jre");
	make_symlink(g, "WEB-INF/lib", "midtier/lib");
	make_symlink(g, "../../pluginsvr/old", "arserver/plugins/old");  /* dangling */
	make_file(g, "midtier/WEB-INF/web.xml", K_XML, text_size(g), 0644);
	make_file(g, "midtier/WEB-INF/classes/com/bmc/arsys/midtier/config/resources/l10n/en/US/messages.properties",
		  K_PROPS, text_size(g), 0644);

	/* logs */
	make_file(g, "logs/arerror.log", K_LOG, text_size(g), 0644);
	make_symlink(g, "arerror.log", "logs/current.log");
	make_symlink(g, "arerror.log.1", "logs/previous.log");           /* dangling */
	make_file(g, "logs/arerror.log.lck", K_LOG, 0, 0644);
	make_file(g, "logs/armonitor.log", K_LOG, text_size(g), 0640);
	make_file(g, "Logs/install/arsystem_install_log.txt", K_LOG, text_size(g), 0644);
	make_file(g, "Logs/install/arsystem install log.log", K_LOG, text_size(g), 0644);
	make_file(g, "Logs/install/bad\nname.log", K_LOG, text_size(g), 0644);
	make_file(g, "Logs/日本語 ログ/インストール 結果.log", K_LOG, text_size(g), 0644);

	/* samples and docs */
	make_file(g, "samples/Größe räksmörgås/naïve café ☕.xml", K_XML, text_size(g), 0644);
	make_symlink(g, "Größe räksmörgås/naïve café ☕.xml", "samples/cafe.xml");
	make_file(g, "docs/Release Notes/Release Notes 9.1.txt", K_LOG, text_size(g), 0444);
	make_symlink(g, "Release Notes/Release Notes 9.1.txt", "docs/README");
	make_symlink(g, "Release Notes", "docs/notes");

	/* server data */
	make_sparse(g, "serverdata/ftindex/ftindex.sparse");
	make_fifo(g, "serverdata/arserver.fifo");
	make_file(g, "serverdata/shared/shared.properties", K_PROPS, text_size(g), 0664);
	make_file(g, "serverdata/tmp/arsession.tmp", K_LOG, text_size(g), 0600);
	make_file(g, "serverdata/tmp/.keep", K_LOG, 0, 0644);
	make_file(g, "db/ar.lck", K_LOG, 0, 0600);
	make_file(g, "installcompletionutility/installed.flag", K_LOG, 0, 0444);
}

static void make_large(struct gen *g)
{
	static const char *const names[] = {
		"db/ARSystem_data.dbf", "db/ARSystem_log.ldf",
		"serverdata/ftindex/ft_collection.bin", "jre/lib/modules",
	};
	for (unsigned i = 0; i < g->sc->n_large && i < 4; i++)
		make_file(g, names[i], K_MIXED, rng_range(20 * MB, 100 * MB), 0640);
	/* big: 1-3 GB files totalling gb_total */
	uint64_t rem = g->sc->gb_total;
	for (unsigned i = 1; rem > 0; i++) {
		char rel[64];
		uint64_t s = rem;
		if (rem > 3 * GB) {
			s = rng_range(GB, 3 * GB);
			if (rem - s < GB)
				s = rem - GB;
		}
		snprintf(rel, sizeof rel, "db/ARSystem_data%02u.dbf", i);
		make_file(g, rel, K_MIXED, s, 0640);
		rem -= s;
	}
}

static void make_jars(struct gen *g)
{
	for (unsigned i = 0; i < g->sc->n_jar; i++) {
		const struct dir *d = rng_below(4) && g->njardirs
			? &g->dirs[g->jardirs[rng_below(g->njardirs)]] : pick_dir(g);
		char name[256], rel[PATH_CAP];
		snprintf(name, sizeof name, "%s-%s-%u.jar", word(), word(), g->seq++);
		pjoin(rel, d->path, name);
		make_file(g, rel, K_RANDOM, jar_size(g), rng_below(10) ? 0644 : 0444);
	}
}

static void make_texts(struct gen *g)
{
	static const char *const ext[NKINDS] = { "properties", "xml", "cfg", "sh", "log" };
	for (unsigned i = 0; i < g->sc->n_text; i++) {
		const struct dir *d = pick_dir(g);
		unsigned r = (unsigned)rng_below(100), mode;
		int kind = r < 25 ? K_PROPS : r < 50 ? K_XML : r < 60 ? K_CFG : r < 70 ? K_SH : K_LOG;
		uint64_t size = rng_below(100) ? text_size(g) : 0;
		char name[256], rel[PATH_CAP], from[PATH_CAP], target[PATH_CAP];
		if (rng_below(100) < 2)
			snprintf(name, sizeof name, "%s %s %u.%s", word(), word(), g->seq++, ext[kind]);
		else
			snprintf(name, sizeof name, "%s_%s%u.%s", word(), word(), g->seq++, ext[kind]);
		r = (unsigned)rng_below(100);
		mode = kind == K_SH ? 0755 : r < 60 ? 0644 : r < 75 ? 0640 : r < 85 ? 0600 : r < 95 ? 0444 : 0755;
		pjoin(rel, d->path, name);
		make_file(g, rel, kind, size, mode);

		r = (unsigned)rng_below(1000);
		if (r < 10) {                           /* symlink to this file */
			const struct dir *l = pick_dir(g);
			snprintf(name, sizeof name, "%s-link%u", word(), g->seq++);
			pjoin(from, l->path, name);
			relpath(target, l->path, rel);
			make_symlink(g, target, from);
		} else if (r < 15) {                    /* 2 or 3 names in total */
			for (unsigned k = 0, n = 1 + (unsigned)rng_below(2); k < n; k++) {
				const struct dir *l = pick_dir(g);
				snprintf(name, sizeof name, "%s_%s%u-hl.%s", word(), word(), g->seq++, ext[kind]);
				pjoin(from, l->path, name);
				make_hardlink(g, rel, from);
			}
		}
	}
}

static void make_dir_links(struct gen *g)
{
	unsigned n = g->sc->n_rdirs / 20 + 2, nd = g->sc->n_text / 500 + 2;
	char name[256], from[PATH_CAP], target[PATH_CAP];
	for (unsigned i = 0; i < n; i++) {
		const struct dir *l = pick_dir(g), *t;
		do      /* never point at the link's own dir or an ancestor: no loops */
			t = &g->dirs[rng_below(g->ndirs)];
		while (is_ancestor(t->path, l->path));
		snprintf(name, sizeof name, "%s-dirlink%u", word(), g->seq++);
		pjoin(from, l->path, name);
		relpath(target, l->path, t->path);
		make_symlink(g, target, from);
	}
	for (unsigned i = 0; i < nd; i++) {             /* dangling */
		const struct dir *l = pick_dir(g);
		char gone[PATH_CAP];
		snprintf(name, sizeof name, "%s-dangling%u", word(), g->seq++);
		pjoin(from, l->path, name);
		snprintf(name, sizeof name, "%s.%u.removed", word(), g->seq++);
		pjoin(gone, pick_dir(g)->path, name);
		relpath(target, l->path, gone);
		make_symlink(g, target, from);
	}
}

static void finish_dirs(struct gen *g)
{
	static const struct acl_ent shared_acl[] = {
		{ 0x01, 7, 0xffffffffu },       /* user::rwx */
		{ 0x02, 7, 1234 },              /* user:1234:rwx */
		{ 0x04, 7, 0xffffffffu },       /* group::rwx */
		{ 0x08, 5, 2345 },              /* group:2345:r-x */
		{ 0x10, 7, 0xffffffffu },       /* mask::rwx */
		{ 0x20, 5, 0xffffffffu },       /* other::r-x */
	};
	struct timespec ts[2];
	set_acl(g, "serverdata/shared", "system.posix_acl_default", shared_acl,
		sizeof shared_acl / sizeof shared_acl[0]);
	for (size_t i = g->ndirs; i-- > 0;) {   /* children were created after parents */
		const struct dir *d = &g->dirs[i];
		rand_times(ts);
		if (fchmodat(g->rootfd, d->path, d->mode, 0) < 0)
			die(g, "chmod", d->path);
		if (utimensat(g->rootfd, d->path, ts, AT_SYMLINK_NOFOLLOW) < 0)
			die(g, "utimens", d->path);
	}
	rand_times(ts);
	if (fchmod(g->rootfd, 0755) < 0)
		die(g, "chmod", NULL);
	if (futimens(g->rootfd, ts) < 0)
		die(g, "utimens", NULL);
}

static void usage(void)
{
	fprintf(stderr, "usage: gen-tree [--strict] DIR tiny|small|medium|many|huge|big [SEED]\n");
	exit(2);
}

static int open_root(struct gen *g)
{
	int fd;
	if (mkdir(g->root, 0755) < 0 && errno != EEXIST)
		die(g, "mkdir", NULL);
	fd = open(g->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		die(g, "open", NULL);
	{
		int dfd = dup(fd);
		DIR *d;
		struct dirent *e;
		if (dfd < 0)
			die(g, "dup", NULL);
		d = fdopendir(dfd);
		if (!d)
			die(g, "opendir", NULL);
		errno = 0;
		while ((e = readdir(d))) {
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				fprintf(stderr, "gen-tree: '%s' exists and is not empty\n", g->root);
				exit(1);
			}
		}
		if (errno)
			die(g, "readdir", NULL);
		closedir(d);
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct scale scales[] = {
		/* name   text    jar  large rdirs  text size      jar size          big total */
		{ "tiny", 170, 4, 0, 12, 64, 64 * KB, 50 * KB, 256 * KB, 0 },
		{ "small", 2850, 60, 1, 250, 64, 64 * KB, 50 * KB, 5 * MB, 0 },
		{ "medium", 28500, 800, 3, 2000, 64, 64 * KB, 50 * KB, 5 * MB, 0 },
		{ "many", 199000, 100, 1, 10000, 32, 8 * KB, 50 * KB, 5 * MB, 0 },
		{ "huge", 999000, 100, 1, 40000, 32, 8 * KB, 50 * KB, 5 * MB, 0 },
		{ "big", 2850, 60, 2, 250, 64, 64 * KB, 50 * KB, 5 * MB, 9700000000ULL },
	};
	const char *pos[3];
	int np = 0;
	uint64_t seed = 1;
	struct gen g;

	memset(&g, 0, sizeof g);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--strict"))
			opt_strict = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			usage();
		else if (np < 3)
			pos[np++] = argv[i];
		else
			usage();
	}
	if (np < 2)
		usage();
	for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++)
		if (!strcmp(pos[1], scales[i].name))
			g.sc = &scales[i];
	if (!g.sc)
		usage();
	if (np == 3) {
		char *end;
		errno = 0;
		if (pos[2][0] < '0' || pos[2][0] > '9')
			usage();
		seed = strtoull(pos[2], &end, 10);
		if (errno || *end)
			usage();
	}

	g.root = pos[0];
	g.rootfd = open_root(&g);
	g.buf = xmalloc(BUF_SIZE);
	rng_seed(g.sc->name, seed);
	build_pools(&g);

	make_skeleton(&g);
	make_random_dirs(&g);
	make_fixed(&g);
	make_large(&g);
	make_jars(&g);
	make_texts(&g);
	make_dir_links(&g);
	finish_dirs(&g);
	if (close(g.rootfd) < 0)
		die(&g, "close", NULL);

	printf("%s: scale=%s seed=%" PRIu64 " files=%" PRIu64 " dirs=%zu symlinks=%" PRIu64
	       " hardlinks=%" PRIu64 " bytes=%" PRIu64 "\n", g.root, g.sc->name, seed, g.files,
	       g.ndirs, g.symlinks, g.hardlinks, g.bytes);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "gen-tree: write failed: '<stdout>': %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
