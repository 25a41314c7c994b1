/* fsops.c - walking and safe paths through descriptors; see fsops.h. */
#include "fsops.h"

#include <dirent.h>
#include <fnmatch.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/fs.h>

char *abs_path(const char *path)
{
	struct sbuf in = SBUF_INIT, out = SBUF_INIT;
	char cwd[PATH_MAX];

	if (path[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd)))
			die_errno(ZDT_EFAIL, "cannot get the current folder");
		sbuf_adds(&in, cwd);
		sbuf_addc(&in, '/');
	}
	sbuf_adds(&in, path);
	/* collapse "//", "/./" and "dir/.." lexically */
	char *save, *tok;
	for (tok = strtok_r(in.buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			char *slash = out.len ? strrchr(out.buf, '/') : NULL;
			if (slash) {
				out.len = (size_t)(slash - out.buf);
				out.buf[out.len] = '\0';
			}
			continue;
		}
		sbuf_addc(&out, '/');
		sbuf_adds(&out, tok);
	}
	if (!out.len)
		sbuf_addc(&out, '/');
	sbuf_free(&in);
	return out.buf;
}

char *real_path_prefix(const char *path)
{
	char *abs = abs_path(path), real[PATH_MAX];
	size_t n = strlen(abs);

	for (;;) {
		char save = abs[n];
		abs[n] = '\0';
		if (realpath(n ? abs : "/", real)) {
			abs[n] = save;
			char *r = xasprintf("%s%s", strcmp(real, "/") ? real : "", abs + n);
			free(abs);
			return r;
		}
		abs[n] = save;
		while (n > 0 && abs[n - 1] != '/')
			n--;
		if (n > 0)
			n--;
	}
}

int open_dir_nofollow(const char *path, int create, struct sbuf *link_at, struct sbuf *link_to)
{
	char *abs = abs_path(path), *save, *tok, *next;
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	sbuf_reset(link_at);
	sbuf_reset(link_to);
	if (fd < 0) {
		sbuf_adds(link_at, "/");
		free(abs);
		return -1;
	}
	for (tok = strtok_r(abs, "/", &save); tok; tok = next) {
		next = strtok_r(NULL, "/", &save);
		sbuf_addc(link_at, '/');
		sbuf_adds(link_at, tok);
		if (fstatat(fd, tok, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT || next || !create)
				goto fail;
			if (mkdirat(fd, tok, 0700) < 0 && errno != EEXIST)
				goto fail;
			if (fstatat(fd, tok, &st, AT_SYMLINK_NOFOLLOW) < 0)
				goto fail;
		}
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(fd, tok, target, sizeof(target) - 1);
			sbuf_add(link_to, target, n > 0 ? (size_t)n : 0);
			errno = ELOOP;
			goto fail;
		}
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			goto fail;
		}
		int sub = openat(fd, tok, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			goto fail;
		close(fd);
		fd = sub;
	}
	free(abs);
	return fd;
fail:
	{
		int e = errno;
		close(fd);
		free(abs);
		errno = e;
	}
	return -1;
}

int path_inside(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	if (!realpath(a, ra) || !realpath(b, rb))
		return -1;
	size_t n = strlen(rb);
	if (n == 1)	/* b is "/" */
		return 1;
	return !strncmp(ra, rb, n) && (ra[n] == '\0' || ra[n] == '/');
}

int fsync_fd_dir(int dirfd)
{
	return fsync(dirfd);
}

/* ---- walking ---------------------------------------------------------- */

static __thread const char *sort_base;	/* walks may run in several threads */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(sort_base + ((const struct dirent_ref *)a)->off,
		      sort_base + ((const struct dirent_ref *)b)->off);
}

void dirlist_release(struct dirlist *lv)
{
	sbuf_free(&lv->names);
	free(lv->v);
	memset(lv, 0, sizeof(*lv));
}

/* rewind: fd may have been read before (a folder opened just now has not) */
static int dirlist_fill(int fd, struct dirlist *lv, int rewind)
{
	/* getdents64() on fd itself: readdir() would need a DIR of its own,
	 * which costs a dup(), two fcntl() and a close() per folder */
	char buf[32768] __attribute__((aligned(8)));
	ssize_t got;

	lv->n = 0;
	sbuf_reset(&lv->names);
	if (rewind && lseek(fd, 0, SEEK_SET) < 0)
		return -1;
	while ((got = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t at = 0; at < got;) {
			const struct dirent64 *de = (const struct dirent64 *)(buf + at);
			at += de->d_reclen;
			if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
				continue;
			if (lv->n == lv->cap) {
				lv->cap = lv->cap ? lv->cap * 2 : 64;
				lv->v = xrealloc(lv->v, lv->cap * sizeof(*lv->v));
			}
			lv->v[lv->n].off = lv->names.len;
			lv->v[lv->n].dtype = de->d_type;
			lv->n++;
			sbuf_add(&lv->names, de->d_name, strlen(de->d_name) + 1);
		}
	}
	if (got < 0)
		return -1;
	sort_base = lv->names.buf;
	if (lv->n > 1)
		qsort(lv->v, lv->n, sizeof(*lv->v), name_cmp);
	return 0;
}

int dirlist_read(int fd, struct dirlist *lv) { return dirlist_fill(fd, lv, 1); }

struct walker {
	unsigned flags;
	walk_fn fn;
	void *arg;
	struct sbuf rel;
	struct dirlist *lv;
	int nlv;
};

static int walk_dir(struct walker *w, int fd, int depth)
{
	struct dirlist *lv;
	int rc = 0;

	if (depth >= w->nlv) {
		w->lv = xrealloc(w->lv, sizeof(*w->lv) * (size_t)(depth + 1));
		memset(w->lv + w->nlv, 0, sizeof(*w->lv) * (size_t)(depth + 1 - w->nlv));
		w->nlv = depth + 1;
	}
	lv = &w->lv[depth];
	if (dirlist_fill(fd, lv, depth == 0) < 0)	/* below the root: opened here */
		return (w->flags & WALK_QUIET) ? -1 : error_errno("cannot read folder: '%s'", escp(w->rel.len ? w->rel.buf : "."));
	size_t base = w->rel.len;
	for (size_t i = 0; i < lv->n && rc >= 0; i++) {
		struct walk_ent e;
		const char *name = lv->names.buf + lv->v[i].off;

		w->rel.len = base;
		if (base)
			sbuf_addc(&w->rel, '/');
		sbuf_adds(&w->rel, name);
		memset(&e, 0, sizeof(e));
		e.parent = fd;
		e.name = name;
		e.rel = w->rel.buf;
		e.fd = -1;
		e.depth = depth + 1;
		if ((w->flags & WALK_LAZY_REG) && lv->v[i].dtype == DT_REG) {
			e.st.st_mode = S_IFREG;
		} else if (lv->v[i].dtype == DT_DIR &&
			   (e.fd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			/* a folder by d_type: the status of the folder opened */
			if (fstat(e.fd, &e.st) < 0) {
				close(e.fd);
				rc = (w->flags & WALK_QUIET) ? -1 : error_errno("cannot stat: '%s'", escp(e.rel));
				break;
			}
		} else if (fstatat(fd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) {
				if (!(w->flags & WALK_QUIET))
					warning("file vanished during the walk: '%s'", escp(e.rel));
				continue;
			}
			rc = (w->flags & WALK_QUIET) ? -1 : error_errno("cannot stat: '%s'", escp(e.rel));
			break;
		}
		if (S_ISDIR(e.st.st_mode) && e.fd < 0) {
			/* opened as the folder that was stat'ed, or not at all */
			struct stat st2;
			e.fd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (e.fd < 0 || fstat(e.fd, &st2) < 0 ||
			    st2.st_dev != e.st.st_dev || st2.st_ino != e.st.st_ino) {
				if (e.fd >= 0)
					close(e.fd);
				rc = (w->flags & WALK_QUIET) ? -1 :
				     error_errno("folder changed or cannot be opened during the walk: '%s'", escp(e.rel));
				break;
			}
		}
		rc = w->fn(w->arg, &e);
		if (rc == 0 && e.fd >= 0)
			rc = walk_dir(w, e.fd, depth + 1);
		else if (rc == WALK_SKIP)
			rc = 0;
		/* the recursion reused deeper levels only; ours is intact */
		lv = &w->lv[depth];
		if (e.fd >= 0)
			close(e.fd);
	}
	w->rel.len = base;
	if (w->rel.buf)
		w->rel.buf[base] = '\0';
	return rc;
}

int walk_tree(int rootfd, unsigned flags, walk_fn fn, void *arg)
{
	return walk_tree_at(rootfd, NULL, flags, fn, arg);
}

int walk_tree_at(int rootfd, const char *rel, unsigned flags, walk_fn fn, void *arg)
{
	struct walker w;
	struct walk_ent e;
	int rc;

	memset(&w, 0, sizeof(w));
	w.flags = flags;
	w.fn = fn;
	w.arg = arg;
	if (rel)
		sbuf_adds(&w.rel, rel);
	memset(&e, 0, sizeof(e));
	e.parent = -1;
	e.name = ".";
	e.rel = rel ? rel : ".";
	e.fd = rootfd;
	if (fstat(rootfd, &e.st) < 0)
		return (flags & WALK_QUIET) ? -1 : error_errno("cannot stat the root folder");
	rc = fn(arg, &e);
	if (rc == 0)
		rc = walk_dir(&w, rootfd, 0);
	else if (rc == WALK_SKIP)
		rc = 0;
	for (int i = 0; i < w.nlv; i++)
		dirlist_release(&w.lv[i]);
	free(w.lv);
	sbuf_free(&w.rel);
	return rc;
}

/* ---- removal ---------------------------------------------------------- */

int rm_tree_at(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct dirlist lv;
	memset(&lv, 0, sizeof(lv));
	int rc = dirlist_read(fd, &lv);
	for (size_t i = 0; rc == 0 && i < lv.n; i++)
		rc = rm_tree_at(fd, lv.names.buf + lv.v[i].off);
	int e = errno;
	dirlist_release(&lv);
	close(fd);
	if (rc < 0) {
		errno = e;
		return -1;
	}
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

int path_excluded(char *const *globs, int n, const char *rel, const char *name)
{
	for (int i = 0; i < n; i++) {
		const char *g = globs[i];
		if (!fnmatch(g, rel, 0) || (!strchr(g, '/') && !fnmatch(g, name, 0)))
			return 1;
	}
	return 0;
}

int open_parent_nofollow(int rootfd, const char *rel, const char **base)
{
	const char *s = rel, *slash;
	int fd = dup(rootfd);

	while (fd >= 0 && (slash = strchr(s, '/'))) {
		char comp[NAME_MAX + 1];
		size_t n = (size_t)(slash - s);
		if (n == 0 || n > NAME_MAX) {
			close(fd);
			errno = EINVAL;
			return -1;
		}
		memcpy(comp, s, n);
		comp[n] = '\0';
		int sub = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(fd);
		errno = e;
		fd = sub;
		s = slash + 1;
	}
	*base = s;
	return fd;
}

int rm_tree_spare(int dirfd, const char *name, struct sbuf *rel, char *const *globs, int n)
{
	struct stat st;
	size_t base = rel->len;
	int spared = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct dirlist lv;
	memset(&lv, 0, sizeof(lv));
	int rc = dirlist_read(fd, &lv);
	for (size_t i = 0; rc >= 0 && i < lv.n; i++) {
		const char *c = lv.names.buf + lv.v[i].off;
		rel->len = base;
		sbuf_addc(rel, '/');
		sbuf_adds(rel, c);
		if (path_excluded(globs, n, rel->buf, c)) {
			spared = 1;
			continue;
		}
		int r = rm_tree_spare(fd, c, rel, globs, n);
		if (r < 0)
			rc = -1;
		else if (r > 0)
			spared = 1;
	}
	rel->len = base;
	rel->buf[base] = '\0';
	int e = errno;
	dirlist_release(&lv);
	close(fd);
	if (rc < 0) {
		errno = e;
		return -1;
	}
	if (spared)
		return 1;
	return unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
}

int fs_attr_flags(int fd, unsigned *flags)
{
	int f = 0;

	*flags = 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &f) < 0) {
		if (errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS)
			return 0;
		return -1;
	}
	if (f & FS_IMMUTABLE_FL)
		*flags |= FS_ATTR_IMMUTABLE;
	if (f & FS_APPEND_FL)
		*flags |= FS_ATTR_APPEND;
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
	for (size_t done = 0; done < n;) {
		ssize_t w = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

int fd_direct(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT);
}
