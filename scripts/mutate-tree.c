/*
 * mutate-tree - apply a deterministic simulated upgrade to a tree made by
 *               gen-tree (or any other tree), for zdt incremental tests.
 *
 * Usage: mutate-tree DIR PERCENT SEED
 *
 *   DIR      the tree to change in place.
 *   PERCENT  integer 0-100: share of regular files to rewrite.
 *   SEED     unsigned decimal.
 *
 * The tree is walked in sorted order (entries of each directory sorted with
 * strcmp, depth first), regular files, directories and symlinks are
 * collected, and a PRNG (xoshiro256** seeded from PERCENT and SEED) picks:
 *   - one directory (depth >= 2, <= 64 entries below it) that is removed and
 *     replaced by a relative symlink to another directory (never to itself
 *     or an ancestor, so no loops);
 *   - one regular file replaced by a directory holding one new file;
 *   - one symlink retargeted (new symlink renamed over the old one) to a
 *     regular file;
 *   - for every other regular file, in walk order: PERCENT% are rewritten
 *     (text files: new text of similar size; other files such as .jar: new
 *     random bytes of similar size; files > 16 MB: a 1 MB random patch in
 *     place; the rest half via temp file + rename (new inode), half in place
 *     with O_TRUNC; the mode is kept), ~1% are deleted, ~0.5% get a new mode
 *     (chmod), ~0.5% get a new mtime only (touch);
 *   - ~1% new files in existing directories, and a new subtree
 *     newmodule/a/b/c with 4 files and one empty dir (newmodule.2 ... if
 *     newmodule already exists).
 * All new mtimes (files, symlinks and every directory whose entries
 * changed) are fixed values from 2025-01-15 on, so the same tree mutated
 * with the same PERCENT and SEED gives the same result.  Symlinks are never
 * followed.  The last line on stdout is:
 *   DIR: rewritten=N deleted=N added=N chmod=N touched=N
 * Exit status: 0 ok, 1 error (message on stderr), 2 usage error.
 *
 * Build: gcc -std=c11 -O2 -D_GNU_SOURCE -o mutate-tree mutate-tree.c
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
#include <time.h>
#include <unistd.h>

#define MB (1024ULL * 1024ULL)
#define BUF_SIZE (1u << 20)
#define PATH_CAP 4096
#define T_NEW 1736899200LL      /* 2025-01-15T00:00:00Z */

enum { E_FILE, E_DIR, E_LINK, E_OTHER };

struct ent {
	char *path;             /* relative to DIR */
	unsigned char type, gone;
	unsigned depth;
	mode_t mode;
	off_t size;
	size_t end;             /* dirs: index after the last entry below */
};

struct mut {
	const char *root;
	int rootfd;
	struct ent *e;
	size_t n, cap;
	char **dirty;           /* dirs whose entries changed */
	size_t ndirty, capdirty;
	unsigned char *buf;
	unsigned seq;           /* temp and new names */
	uint64_t rewritten, deleted, added, chmoded, touched;
};

/* The only globals: PRNG state. */
static uint64_t rng_s[4];

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

static void rng_seed(uint64_t percent, uint64_t seed)
{
	uint64_t x = 0x6d75746174652d74ULL ^ (percent * 0xd1b54a32d192ed03ULL) ^
		     (seed * 0x9e3779b97f4a7c15ULL);
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

static void fill_random(unsigned char *p, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v = rng_next();
		for (int k = 0; k < 8; k++)
			p[i + k] = (unsigned char)(v >> (8 * k));
	}
	if (i < n) {
		uint64_t v = rng_next();
		for (; i < n; i++, v >>= 8)
			p[i] = (unsigned char)v;
	}
}

static const char *word(void)
{
	static const char *const w[] = {
		"upgrade", "patch", "hotfix", "release", "server", "filter",
		"escalation", "form", "field", "workflow", "cmdb", "plugin",
		"midtier", "config", "queue", "cache", "index", "license",
		"notification", "session", "locale", "security", "audit",
		"version", "build", "database", "connection", "timeout", "buffer",
		"heap", "schedule", "entry", "status", "priority", "module",
		"install", "migration", "deploy", "template", "mapping",
		"reconciliation", "dataset", "itsm", "remedy", "arsys", "arerror",
	};
	return w[rng_below(sizeof w / sizeof w[0])];
}

/* Text of n bytes: word lines, some "key=value", final newline. */
static void fill_text(unsigned char *p, size_t n)
{
	size_t pos = 0;
	while (pos < n) {
		unsigned words = 2 + (unsigned)rng_below(9);
		int kv = rng_below(3) == 0;
		for (unsigned i = 0; i < words && pos < n; i++) {
			const char *w = word();
			size_t l = strlen(w);
			if (i) {
				p[pos++] = (unsigned char)(kv && i == 1 ? '=' : kv ? '.' : ' ');
				if (pos >= n)
					break;
			}
			if (l > n - pos)
				l = n - pos;
			memcpy(p + pos, w, l);
			pos += l;
		}
		if (pos < n)
			p[pos++] = '\n';
	}
	if (n)
		p[n - 1] = '\n';
}

static void new_times(struct timespec ts[2])
{
	ts[1].tv_sec = (time_t)(T_NEW + (long long)rng_below(30 * 86400));
	ts[1].tv_nsec = (long)rng_below(1000000000);
	ts[0] = ts[1];
}

/* ---- errors, memory, paths -------------------------------------------- */

static void die(const struct mut *m, const char *what, const char *rel)
{
	const char *err = strerror(errno);
	if (rel && *rel)
		fprintf(stderr, "mutate-tree: %s failed: '%s/%s': %s\n", what, m->root, rel, err);
	else
		fprintf(stderr, "mutate-tree: %s failed: '%s': %s\n", what, m->root, err);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p) {
		fprintf(stderr, "mutate-tree: out of memory\n");
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xrealloc(NULL, n), s, n);
}

static void pjoin(char *out, const char *dir, const char *name)
{
	int n = *dir ? snprintf(out, PATH_CAP, "%s/%s", dir, name)
		     : snprintf(out, PATH_CAP, "%s", name);
	if (n < 0 || n >= PATH_CAP) {
		fprintf(stderr, "mutate-tree: path too long: '%s/%s'\n", dir, name);
		exit(1);
	}
}

/* out = directory part of rel ("" for entries directly in DIR) */
static void parent_of(char *out, const char *rel)
{
	const char *s = strrchr(rel, '/');
	size_t n = s ? (size_t)(s - rel) : 0;
	memcpy(out, rel, n);
	out[n] = '\0';
}

/* a is b or an ancestor of b ("" is the ancestor of everything) */
static int is_ancestor(const char *a, const char *b)
{
	size_t n = strlen(a);
	return n == 0 || (strncmp(a, b, n) == 0 && (b[n] == '\0' || b[n] == '/'));
}

/* Relative symlink target from directory from_dir to path to. */
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

static void mark_dirty(struct mut *m, const char *dir)
{
	if (m->ndirty == m->capdirty) {
		m->capdirty = m->capdirty ? 2 * m->capdirty : 64;
		m->dirty = xrealloc(m->dirty, m->capdirty * sizeof *m->dirty);
	}
	m->dirty[m->ndirty++] = xstrdup(dir);
}

static void mark_parent_dirty(struct mut *m, const char *rel)
{
	char p[PATH_CAP];
	parent_of(p, rel);
	mark_dirty(m, p);
}

/* ---- walk ------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int open_dir(struct mut *m, const char *rel)
{
	int fd = *rel ? openat(m->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		      : dup(m->rootfd);
	if (fd < 0)
		die(m, "open", rel);
	return fd;
}

static void walk(struct mut *m, const char *rel, unsigned depth)
{
	int fd = open_dir(m, rel);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	char **names = NULL;
	size_t nn = 0, cap = 0;

	if (!d)
		die(m, "opendir", rel);
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				die(m, "readdir", rel);
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (nn == cap) {
			cap = cap ? 2 * cap : 32;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[nn++] = xstrdup(de->d_name);
	}
	if (closedir(d) < 0)
		die(m, "closedir", rel);
	qsort(names, nn, sizeof *names, cmp_str);

	for (size_t i = 0; i < nn; i++) {
		char child[PATH_CAP];
		struct stat st;
		size_t at;
		pjoin(child, rel, names[i]);
		free(names[i]);
		if (fstatat(m->rootfd, child, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die(m, "lstat", child);
		if (m->n == m->cap) {
			m->cap = m->cap ? 2 * m->cap : 1024;
			m->e = xrealloc(m->e, m->cap * sizeof *m->e);
		}
		at = m->n++;
		m->e[at] = (struct ent){
			.path = xstrdup(child),
			.type = S_ISREG(st.st_mode) ? E_FILE : S_ISDIR(st.st_mode) ? E_DIR
				: S_ISLNK(st.st_mode) ? E_LINK : E_OTHER,
			.depth = depth,
			.mode = st.st_mode & 07777,
			.size = st.st_size,
			.end = at + 1,
		};
		if (S_ISDIR(st.st_mode)) {
			walk(m, child, depth + 1);
			m->e[at].end = m->n;
		}
	}
	free(names);
}

/* ---- file system changes ---------------------------------------------- */

static void write_all(struct mut *m, int fd, const unsigned char *p, size_t n, const char *rel)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die(m, "write", rel);
		}
		p += w;
		n -= (size_t)w;
	}
}

static int is_text(const char *path)
{
	static const char *const ext[] = {
		"properties", "xml", "cfg", "sh", "log", "txt", "conf", "h", "html", "json",
	};
	const char *base = strrchr(path, '/'), *dot;
	dot = strrchr(base ? base + 1 : path, '.');
	if (!dot)
		return 0;
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
		if (!strcmp(dot + 1, ext[i]))
			return 1;
	return 0;
}

/* Write size bytes of new content (text or random) to fd. */
static void write_content(struct mut *m, int fd, int text, uint64_t size, const char *rel)
{
	while (size) {
		size_t n = size > BUF_SIZE ? BUF_SIZE : (size_t)size;
		if (text)
			fill_text(m->buf, n);
		else
			fill_random(m->buf, n);
		write_all(m, fd, m->buf, n, rel);
		size -= n;
	}
}

static void finish_fd(struct mut *m, int fd, mode_t mode, const char *rel)
{
	struct timespec ts[2];
	new_times(ts);
	if (fchmod(fd, mode) < 0)
		die(m, "chmod", rel);
	if (futimens(fd, ts) < 0)
		die(m, "utimens", rel);
	if (close(fd) < 0)
		die(m, "close", rel);
}

/* Create a new file "DIRPATH/PREFIX<n>.EXT" (first free n); returns the fd. */
static int create_unique(struct mut *m, const char *dir, const char *prefix, const char *ext,
			 char *rel)
{
	for (;;) {
		char name[256];
		int fd;
		snprintf(name, sizeof name, "%s%u%s", prefix, m->seq++, ext);
		pjoin(rel, dir, name);
		fd = openat(m->rootfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			die(m, "create", rel);
	}
}

static void new_file(struct mut *m, const char *dir, const char *name, int text, uint64_t size,
		     mode_t mode)
{
	char rel[PATH_CAP];
	int fd;
	pjoin(rel, dir, name);
	fd = openat(m->rootfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		die(m, "create", rel);
	write_content(m, fd, text, size, rel);
	finish_fd(m, fd, mode, rel);
	m->added++;
}

static void new_dir(struct mut *m, const char *rel)
{
	if (mkdirat(m->rootfd, rel, 0755) < 0)
		die(m, "mkdir", rel);
	if (fchmodat(m->rootfd, rel, 0755, 0) < 0)
		die(m, "chmod", rel);
	mark_dirty(m, rel);
}

/* Open an existing regular file for writing, making it writable if needed. */
static int open_existing(struct mut *m, const struct ent *e, int flags)
{
	int fd = openat(m->rootfd, e->path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | flags);
	if (fd < 0 && errno == EACCES && !(e->mode & S_IWUSR)) {
		if (fchmodat(m->rootfd, e->path, e->mode | S_IWUSR, 0) < 0)
			die(m, "chmod", e->path);
		fd = openat(m->rootfd, e->path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | flags);
	}
	if (fd < 0)
		die(m, "open", e->path);
	return fd;
}

static void rewrite(struct mut *m, const struct ent *e)
{
	uint64_t size = (uint64_t)e->size;
	int text = is_text(e->path);

	if (size > 16 * MB) {                           /* 1 MB patch in place */
		uint64_t off = rng_below(size - MB) & ~4095ULL;
		int fd = open_existing(m, e, 0);
		size_t done = 0;
		fill_random(m->buf, MB);
		while (done < MB) {
			ssize_t w = pwrite(fd, m->buf + done, MB - done, (off_t)(off + done));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				die(m, "pwrite", e->path);
			}
			done += (size_t)w;
		}
		finish_fd(m, fd, e->mode, e->path);
	} else {
		uint64_t nsize;
		if (!text)
			nsize = size * (90 + rng_below(21)) / 100;
		else
			nsize = size ? size * (80 + rng_below(46)) / 100 : rng_below(513);
		if (rng_below(2)) {                     /* temp + rename: new inode */
			char dir[PATH_CAP], tmp[PATH_CAP];
			int fd;
			parent_of(dir, e->path);
			fd = create_unique(m, dir, ".zdt-mutate.", ".tmp", tmp);
			write_content(m, fd, text, nsize, tmp);
			finish_fd(m, fd, e->mode, tmp);
			if (renameat(m->rootfd, tmp, m->rootfd, e->path) < 0)
				die(m, "rename", e->path);
			mark_dirty(m, dir);
		} else {                                /* in place, same inode */
			int fd = open_existing(m, e, O_TRUNC);
			write_content(m, fd, text, nsize, e->path);
			finish_fd(m, fd, e->mode, e->path);
		}
	}
	m->rewritten++;
}

static void remove_tree(struct mut *m, const char *rel)
{
	int fd = open_dir(m, rel);
	DIR *d;
	struct dirent *de;
	if (fchmod(fd, 0700) < 0)
		die(m, "chmod", rel);
	d = fdopendir(fd);
	if (!d)
		die(m, "opendir", rel);
	for (;;) {
		char child[PATH_CAP];
		struct stat st;
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				die(m, "readdir", rel);
			break;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		pjoin(child, rel, de->d_name);
		if (fstatat(m->rootfd, child, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die(m, "lstat", child);
		if (S_ISDIR(st.st_mode))
			remove_tree(m, child);
		else if (unlinkat(m->rootfd, child, 0) < 0)
			die(m, "unlink", child);
	}
	if (closedir(d) < 0)
		die(m, "closedir", rel);
	if (unlinkat(m->rootfd, rel, AT_REMOVEDIR) < 0)
		die(m, "rmdir", rel);
}

static void make_symlink(struct mut *m, const char *target, const char *rel)
{
	struct timespec ts[2];
	new_times(ts);
	if (symlinkat(target, m->rootfd, rel) < 0)
		die(m, "symlink", rel);
	if (utimensat(m->rootfd, rel, ts, AT_SYMLINK_NOFOLLOW) < 0)
		die(m, "utimens", rel);
}

/* Indexes of entries of a type that are still there. */
static size_t collect(const struct mut *m, int type, size_t *out, unsigned min_depth,
		      size_t max_below)
{
	size_t k = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].type == type && !m->e[i].gone && m->e[i].depth >= min_depth &&
		    m->e[i].end - i - 1 <= max_below)
			out[k++] = i;
	return k;
}

/* One directory becomes a symlink to another directory. */
static void dir_to_symlink(struct mut *m, size_t *idx)
{
	size_t nc = collect(m, E_DIR, idx, 2, 64), c, nt = 0;
	char parent[PATH_CAP], target[PATH_CAP];
	if (!nc)
		return;
	c = idx[rng_below(nc)];
	parent_of(parent, m->e[c].path);
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].type == E_DIR && (i < c || i >= m->e[c].end) &&
		    !is_ancestor(m->e[i].path, parent))
			idx[nt++] = i;
	if (!nt)
		return;
	relpath(target, parent, m->e[idx[rng_below(nt)]].path);
	for (size_t i = c; i < m->e[c].end; i++)
		m->e[i].gone = 1;
	remove_tree(m, m->e[c].path);
	make_symlink(m, target, m->e[c].path);
	mark_dirty(m, parent);
}

/* One regular file becomes a directory with one file in it. */
static void file_to_dir(struct mut *m, size_t *idx)
{
	size_t nc = collect(m, E_FILE, idx, 0, (size_t)-1), c;
	if (!nc)
		return;
	c = idx[rng_below(nc)];
	m->e[c].gone = 1;
	if (unlinkat(m->rootfd, m->e[c].path, 0) < 0)
		die(m, "unlink", m->e[c].path);
	new_dir(m, m->e[c].path);
	mark_parent_dirty(m, m->e[c].path);
	new_file(m, m->e[c].path, "README.txt", 1, 200 + rng_below(2000), 0644);
}

/* One symlink is pointed at a regular file (new symlink renamed over it). */
static void retarget_symlink(struct mut *m, size_t *idx)
{
	size_t nc = collect(m, E_LINK, idx, 0, (size_t)-1), c, nf;
	char dir[PATH_CAP], target[PATH_CAP], tmp[PATH_CAP], name[64];
	if (!nc)
		return;
	c = idx[rng_below(nc)];
	nf = collect(m, E_FILE, idx, 0, (size_t)-1);
	if (!nf)
		return;
	parent_of(dir, m->e[c].path);
	relpath(target, dir, m->e[idx[rng_below(nf)]].path);
	m->e[c].gone = 1;
	for (;;) {
		snprintf(name, sizeof name, ".zdt-mutate.%u.lnk", m->seq++);
		pjoin(tmp, dir, name);
		if (symlinkat(target, m->rootfd, tmp) == 0)
			break;
		if (errno != EEXIST)
			die(m, "symlink", tmp);
	}
	{
		struct timespec ts[2];
		new_times(ts);
		if (utimensat(m->rootfd, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0)
			die(m, "utimens", tmp);
	}
	if (renameat(m->rootfd, tmp, m->rootfd, m->e[c].path) < 0)
		die(m, "rename", m->e[c].path);
	mark_dirty(m, dir);
}

static void per_file(struct mut *m, unsigned percent)
{
	static const mode_t modes[] = { 0600, 0640, 0644, 0755, 0444 };
	const uint64_t t_rewrite = percent * 10000ULL, t_delete = t_rewrite + 10000,
		       t_chmod = t_delete + 5000, t_touch = t_chmod + 5000;
	for (size_t i = 0; i < m->n; i++) {
		struct ent *e = &m->e[i];
		uint64_t r;
		if (e->type != E_FILE || e->gone)
			continue;
		r = rng_below(1000000);
		if (r < t_rewrite) {
			rewrite(m, e);
		} else if (r < t_delete) {
			if (unlinkat(m->rootfd, e->path, 0) < 0)
				die(m, "unlink", e->path);
			e->gone = 1;
			mark_parent_dirty(m, e->path);
			m->deleted++;
		} else if (r < t_chmod) {
			mode_t nm = modes[rng_below(5)];
			if (nm == e->mode)
				nm = nm == 0644 ? 0640 : 0644;
			if (fchmodat(m->rootfd, e->path, nm, 0) < 0)
				die(m, "chmod", e->path);
			e->mode = nm;
			m->chmoded++;
		} else if (r < t_touch) {
			struct timespec ts[2];
			new_times(ts);
			if (utimensat(m->rootfd, e->path, ts, AT_SYMLINK_NOFOLLOW) < 0)
				die(m, "utimens", e->path);
			m->touched++;
		}
	}
}

static void add_files(struct mut *m, size_t *idx, size_t nfiles)
{
	static const char *const ext[] = { ".properties", ".xml", ".cfg", ".log", ".jar" };
	size_t nd = 0, nadd = nfiles / 100 ? nfiles / 100 : 1;
	idx[nd++] = (size_t)-1;                         /* DIR itself */
	nd += collect(m, E_DIR, idx + nd, 0, (size_t)-1);
	for (size_t i = 0; i < nadd; i++) {
		size_t d = idx[rng_below(nd)];
		const char *dir = d == (size_t)-1 ? "" : m->e[d].path;
		unsigned x = (unsigned)rng_below(5);
		char prefix[128], rel[PATH_CAP];
		int fd;
		snprintf(prefix, sizeof prefix, "upgrade-%s-", word());
		fd = create_unique(m, dir, prefix, ext[x], rel);
		if (x == 4)
			write_content(m, fd, 0, 50 * 1024 + rng_below(500 * 1024), rel);
		else
			write_content(m, fd, 1, 64 + rng_below(16 * 1024), rel);
		finish_fd(m, fd, 0644, rel);
		mark_dirty(m, dir);
		m->added++;
	}
}

static void add_module(struct mut *m)
{
	char top[64], rel[PATH_CAP];
	struct stat st;
	snprintf(top, sizeof top, "newmodule");
	for (unsigned k = 2; fstatat(m->rootfd, top, &st, AT_SYMLINK_NOFOLLOW) == 0; k++)
		snprintf(top, sizeof top, "newmodule.%u", k);
	if (errno != ENOENT)
		die(m, "lstat", top);
	mark_dirty(m, "");
	new_dir(m, top);
	new_file(m, top, "module.xml", 1, 1000 + rng_below(4000), 0644);
	pjoin(rel, top, "a");
	new_dir(m, rel);
	new_file(m, rel, "plugin.properties", 1, 200 + rng_below(2000), 0644);
	pjoin(rel, top, "a/b");
	new_dir(m, rel);
	new_file(m, rel, "start.sh", 1, 100 + rng_below(1000), 0755);
	pjoin(rel, top, "a/b/empty");
	new_dir(m, rel);
	pjoin(rel, top, "a/b/c");
	new_dir(m, rel);
	new_file(m, rel, "newmodule.jar", 0, 64 * 1024 + rng_below(256 * 1024), 0644);
}

/* Give every changed directory (once) a fixed new mtime. */
static void stamp_dirs(struct mut *m)
{
	qsort(m->dirty, m->ndirty, sizeof *m->dirty, cmp_str);
	for (size_t i = m->ndirty; i-- > 0;) {
		struct timespec ts[2];
		if (i + 1 < m->ndirty && !strcmp(m->dirty[i], m->dirty[i + 1]))
			continue;
		new_times(ts);
		if (*m->dirty[i] ? utimensat(m->rootfd, m->dirty[i], ts, AT_SYMLINK_NOFOLLOW) < 0
				 : futimens(m->rootfd, ts) < 0)
			die(m, "utimens", m->dirty[i]);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: mutate-tree DIR PERCENT SEED\n");
	exit(2);
}

static uint64_t parse_num(const char *s, uint64_t max)
{
	char *end;
	uint64_t v;
	if (*s < '0' || *s > '9')
		usage();
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	struct mut m;
	unsigned percent;
	uint64_t seed;
	size_t *idx, nfiles = 0;

	if (argc != 4)
		usage();
	percent = (unsigned)parse_num(argv[2], 100);
	seed = parse_num(argv[3], UINT64_MAX);

	memset(&m, 0, sizeof m);
	m.root = argv[1];
	m.rootfd = open(m.root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (m.rootfd < 0)
		die(&m, "open", NULL);
	m.buf = xrealloc(NULL, BUF_SIZE);
	rng_seed(percent, seed);

	walk(&m, "", 1);
	for (size_t i = 0; i < m.n; i++)
		nfiles += m.e[i].type == E_FILE;
	idx = xrealloc(NULL, (m.n + 1) * sizeof *idx);

	dir_to_symlink(&m, idx);
	file_to_dir(&m, idx);
	retarget_symlink(&m, idx);
	per_file(&m, percent);
	add_files(&m, idx, nfiles);
	add_module(&m);
	stamp_dirs(&m);
	if (close(m.rootfd) < 0)
		die(&m, "close", NULL);

	printf("%s: rewritten=%" PRIu64 " deleted=%" PRIu64 " added=%" PRIu64 " chmod=%" PRIu64
	       " touched=%" PRIu64 "\n", m.root, m.rewritten, m.deleted, m.added, m.chmoded,
	       m.touched);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "mutate-tree: write failed: '<stdout>': %s\n", strerror(errno));
		return 1;
	}
	return 0;
}
