/* test_fsops.c - unit tests of common/fsops.c */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/fsops.h"
#include "../../common/manifest.h"

/* ---- helpers --------------------------------------------------------- */

struct tmp {
	char dir[PATH_MAX];
	int fd;
};

static int setup(void **state)
{
	struct tmp *t = xcalloc(1, sizeof(*t));
	char templ[] = "/tmp/zdt-test-fsops-XXXXXX";

	if (!mkdtemp(templ))
		return -1;
	/* the real path, so that no component of it is a link */
	if (!realpath(templ, t->dir))
		return -1;
	t->fd = open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->fd < 0)
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	char cmd[PATH_MAX + 32];

	close(t->fd);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", t->dir);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static void mkdir_at(int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0755) < 0)
		fail_msg("mkdir %s: %s", name, strerror(errno));
}

static void write_at(int dfd, const char *name, const char *text)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		fail_msg("create %s: %s", name, strerror(errno));
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int exists_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static char *cat(const char *a, const char *b)
{
	return xasprintf("%s%s", a, b);
}

/* ---- open_dir_nofollow ----------------------------------------------- */

static void test_open_real_folder(void **state)
{
	struct tmp *t = *state;
	struct sbuf at = SBUF_INIT, to = SBUF_INIT;
	struct stat a, b;

	mkdir_at(t->fd, "real");
	mkdir_at(t->fd, "real/sub");
	char *p = cat(t->dir, "/real/sub");
	int fd = open_dir_nofollow(p, 0, &at, &to);
	if (fd < 0)
		fail_msg("open_dir_nofollow(%s): %s (at %s)", p, strerror(errno), at.buf);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(p, &b), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	close(fd);

	/* "/" itself, and a path with "." and ".." and doubled slashes */
	fd = open_dir_nofollow("/", 0, &at, &to);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat("/", &b), 0);
	assert_true(a.st_ino == b.st_ino);
	close(fd);
	free(p);
	p = xasprintf("%s//real/./sub/../sub/", t->dir);
	fd = open_dir_nofollow(p, 0, &at, &to);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstatat(t->fd, "real/sub", &b, 0), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	close(fd);
	free(p);
	sbuf_free(&at);
	sbuf_free(&to);
}

static void test_open_relative(void **state)
{
	struct tmp *t = *state;
	struct sbuf at = SBUF_INIT, to = SBUF_INIT;
	struct stat a, b;
	char cwd[PATH_MAX];

	mkdir_at(t->fd, "rel");
	mkdir_at(t->fd, "rel/x");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(t->dir), 0);
	int fd = open_dir_nofollow("rel/x", 0, &at, &to);
	assert_int_equal(chdir(cwd), 0);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstatat(t->fd, "rel/x", &b, 0), 0);
	assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	close(fd);
	sbuf_free(&at);
	sbuf_free(&to);
}

static void test_open_symlinked_component(void **state)
{
	struct tmp *t = *state;
	struct sbuf at = SBUF_INIT, to = SBUF_INIT;

	mkdir_at(t->fd, "real");
	mkdir_at(t->fd, "real/sub");
	assert_int_equal(symlinkat("real", t->fd, "link"), 0);

	char *p = cat(t->dir, "/link/sub");
	char *want_at = cat(t->dir, "/link");
	errno = 0;
	assert_int_equal(open_dir_nofollow(p, 0, &at, &to), -1);
	assert_int_equal(errno, ELOOP);
	assert_non_null(at.buf);
	assert_string_equal(at.buf, want_at);
	assert_true(at.len >= 5 && !strcmp(at.buf + at.len - 5, "/link"));
	assert_string_equal(to.buf, "real");
	free(p);

	/* the link as the last component, and with create */
	errno = 0;
	assert_int_equal(open_dir_nofollow(want_at, 1, &at, &to), -1);
	assert_int_equal(errno, ELOOP);
	assert_string_equal(at.buf, want_at);
	assert_string_equal(to.buf, "real");

	/* an absolute link target is reported as written */
	assert_int_equal(symlinkat("/nonexistent/target", t->fd, "abslink"), 0);
	p = cat(t->dir, "/abslink/x/y");
	errno = 0;
	assert_int_equal(open_dir_nofollow(p, 0, &at, &to), -1);
	assert_int_equal(errno, ELOOP);
	assert_string_equal(to.buf, "/nonexistent/target");
	free(p);
	free(want_at);
	sbuf_free(&at);
	sbuf_free(&to);
}

static void test_open_create(void **state)
{
	struct tmp *t = *state;
	struct sbuf at = SBUF_INIT, to = SBUF_INIT;
	struct stat st;
	mode_t old = umask(0);

	char *p = cat(t->dir, "/newdir");
	int fd = open_dir_nofollow(p, 1, &at, &to);
	umask(old);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	close(fd);
	/* existing: opened, not an error */
	fd = open_dir_nofollow(p, 1, &at, &to);
	assert_true(fd >= 0);
	close(fd);
	free(p);

	/* missing parents are not created */
	p = cat(t->dir, "/missing/newdir");
	char *want_at = cat(t->dir, "/missing");
	errno = 0;
	assert_int_equal(open_dir_nofollow(p, 1, &at, &to), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(at.buf, want_at);
	assert_false(exists_at(t->fd, "missing"));
	free(p);
	free(want_at);

	/* without create, a missing last component is an error */
	p = cat(t->dir, "/absent");
	errno = 0;
	assert_int_equal(open_dir_nofollow(p, 0, &at, &to), -1);
	assert_int_equal(errno, ENOENT);
	assert_false(exists_at(t->fd, "absent"));
	free(p);

	/* a file on the way */
	write_at(t->fd, "file", "x");
	p = cat(t->dir, "/file/sub");
	errno = 0;
	assert_int_equal(open_dir_nofollow(p, 1, &at, &to), -1);
	assert_int_equal(errno, ENOTDIR);
	free(p);
	p = cat(t->dir, "/file");
	errno = 0;
	assert_int_equal(open_dir_nofollow(p, 1, &at, &to), -1);
	assert_int_equal(errno, ENOTDIR);
	free(p);
	sbuf_free(&at);
	sbuf_free(&to);
}

/* ---- walk_tree ------------------------------------------------------- */

struct rec {
	char *v[64];
	int n;
	int skip_at;		/* return WALK_SKIP for rel "skip" */
	const char *stop_at;	/* return -5 there */
	int lazy;
};

static int rec_cb(void *arg, struct walk_ent *e)
{
	struct rec *r = arg;

	if (r->n == 64)
		fail_msg("too many entries");
	r->v[r->n++] = xstrdup(e->rel);
	/* the entry's fields agree with each other */
	if (!strcmp(e->rel, ".")) {
		assert_int_equal(e->depth, 0);
		assert_string_equal(e->name, ".");
		assert_true(S_ISDIR(e->st.st_mode));
	} else {
		const char *slash = strrchr(e->rel, '/');
		assert_string_equal(e->name, slash ? slash + 1 : e->rel);
		int depth = 1;
		for (const char *s = e->rel; *s; s++)
			depth += *s == '/';
		assert_int_equal(e->depth, depth);
		assert_true(e->parent >= 0);
		/* parent is the folder holding name */
		struct stat st;
		assert_int_equal(fstatat(e->parent, e->name, &st, AT_SYMLINK_NOFOLLOW), 0);
		if (!(r->lazy && S_ISREG(st.st_mode)))
			assert_true(st.st_ino == e->st.st_ino);
	}
	if (S_ISDIR(e->st.st_mode)) {
		struct stat st;
		assert_true(e->fd >= 0);
		assert_int_equal(fstat(e->fd, &st), 0);
		assert_true(st.st_ino == e->st.st_ino);
	} else {
		assert_int_equal(e->fd, -1);
	}
	if (r->lazy && S_ISREG(e->st.st_mode))
		assert_int_equal(e->st.st_mode, S_IFREG);
	if (r->skip_at && !strcmp(e->rel, "skip"))
		return WALK_SKIP;
	if (r->stop_at && !strcmp(e->rel, r->stop_at))
		return -5;
	return 0;
}

static void rec_free(struct rec *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->v[i]);
}

static int cmp_ptr(const void *a, const void *b)
{
	return path_cmp(*(const char *const *)a, *(const char *const *)b);
}

static void make_tree(int fd)
{
	mkdir_at(fd, "a");
	write_at(fd, "a/b", "b");
	mkdir_at(fd, "a/z");
	write_at(fd, "a/z/y", "y");
	write_at(fd, "a-b", "");
	mkdir_at(fd, "a.b");
	write_at(fd, "a.b/c", "c");
	write_at(fd, "a0", "");
	mkdir_at(fd, "skip");
	write_at(fd, "skip/inner", "");
	mkdir_at(fd, "skip/innerdir");
	mkdir_at(fd, "empty");
	assert_int_equal(symlinkat("a", fd, "dirlink"), 0);
	assert_int_equal(symlinkat("/", fd, "rootlink"), 0);
	write_at(fd, "b", "");
	write_at(fd, "caf\xc3\xa9", "");
	write_at(fd, "B", "");
	write_at(fd, "with space", "");
	assert_int_equal(mkfifoat(fd, "fifo", 0600), 0);
}

static const char *const tree_paths[] = {
	".", "a", "a/b", "a/z", "a/z/y", "a-b", "a.b", "a.b/c", "a0", "skip", "skip/inner",
	"skip/innerdir", "empty", "dirlink", "rootlink", "b", "caf\xc3\xa9", "B",
	"with space", "fifo",
};
#define NTREE (sizeof(tree_paths) / sizeof(tree_paths[0]))

static void check_walk(struct tmp *t, unsigned flags)
{
	struct rec r;
	const char *want[NTREE];
	size_t nwant = 0;

	memset(&r, 0, sizeof(r));
	r.lazy = !!(flags & WALK_LAZY_REG);
	assert_int_equal(walk_tree(t->fd, flags, rec_cb, &r), 0);
	memcpy(want, tree_paths, sizeof(want));
	nwant = NTREE;
	qsort(want, nwant, sizeof(want[0]), cmp_ptr);
	assert_string_equal(want[0], ".");
	if ((size_t)r.n != nwant) {
		for (int i = 0; i < r.n; i++)
			print_message("  visited %s\n", r.v[i]);
		fail_msg("walk visited %d entries, expected %zu", r.n, nwant);
	}
	for (size_t i = 0; i < nwant; i++)
		if (strcmp(r.v[i], want[i]))
			fail_msg("visit #%zu is '%s', expected '%s'", i, r.v[i], want[i]);
	rec_free(&r);
}

static void test_walk_order(void **state)
{
	struct tmp *t = *state;

	make_tree(t->fd);
	check_walk(t, 0);
	check_walk(t, WALK_LAZY_REG);
}

static void test_walk_skip_and_links(void **state)
{
	struct tmp *t = *state;
	struct rec r;

	make_tree(t->fd);
	memset(&r, 0, sizeof(r));
	r.skip_at = 1;
	assert_int_equal(walk_tree(t->fd, 0, rec_cb, &r), 0);
	int saw_skip = 0, saw_link = 0;
	for (int i = 0; i < r.n; i++) {
		if (!strcmp(r.v[i], "skip"))
			saw_skip = 1;
		if (!strcmp(r.v[i], "dirlink"))
			saw_link = 1;
		if (!strncmp(r.v[i], "skip/", 5))
			fail_msg("walk descended into a skipped folder: '%s'", r.v[i]);
		if (!strncmp(r.v[i], "dirlink/", 8) || !strncmp(r.v[i], "rootlink/", 9))
			fail_msg("walk followed a symlink: '%s'", r.v[i]);
	}
	assert_true(saw_skip);
	assert_true(saw_link);
	assert_int_equal(r.n, (int)NTREE - 2);
	/* the walk goes on after the skipped folder */
	assert_string_equal(r.v[r.n - 1], "with space");
	rec_free(&r);
}

static int link_cb(void *arg, struct walk_ent *e)
{
	int *n = arg;

	if (!strcmp(e->rel, "dirlink")) {
		assert_true(S_ISLNK(e->st.st_mode));
		assert_int_equal(e->fd, -1);
		(*n)++;
	}
	return 0;
}

static void test_walk_symlink_is_entry(void **state)
{
	struct tmp *t = *state;
	int n = 0;

	make_tree(t->fd);
	assert_int_equal(walk_tree(t->fd, 0, link_cb, &n), 0);
	assert_int_equal(n, 1);
}

static void test_walk_stop_and_root_skip(void **state)
{
	struct tmp *t = *state;
	struct rec r;

	make_tree(t->fd);
	memset(&r, 0, sizeof(r));
	r.stop_at = "a/z";
	assert_int_equal(walk_tree(t->fd, 0, rec_cb, &r), -5);
	/* nothing after the entry that stopped the walk, at any level */
	static const char *const want[] = { ".", "B", "a", "a/b", "a/z" };
	assert_int_equal(r.n, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(r.v[i], want[i]);
	rec_free(&r);

	memset(&r, 0, sizeof(r));
	r.stop_at = ".";
	assert_int_equal(walk_tree(t->fd, 0, rec_cb, &r), -5);
	assert_int_equal(r.n, 1);
	rec_free(&r);
}

static int skip_root_cb(void *arg, struct walk_ent *e)
{
	int *n = arg;

	(*n)++;
	(void)e;
	return WALK_SKIP;
}

static void test_walk_root_skip(void **state)
{
	struct tmp *t = *state;
	int n = 0;

	make_tree(t->fd);
	assert_int_equal(walk_tree(t->fd, 0, skip_root_cb, &n), 0);
	assert_int_equal(n, 1);
}

/* changes the tree under the walk: after its folder listing was read, the
 * folder "a.b" becomes a symlink to "a" and the folder "empty" a file */
struct swap {
	int rootfd, n;
	struct stat ab, empty;
	int ab_fd, saw_ab_child;
};

static int swap_cb(void *arg, struct walk_ent *e)
{
	struct swap *w = arg;

	w->n++;
	if (!strcmp(e->rel, "a-b")) {	/* visited after "a", before "a.b" */
		assert_int_equal(renameat(w->rootfd, "a.b", w->rootfd, "moved"), 0);
		assert_int_equal(symlinkat("a", w->rootfd, "a.b"), 0);
		assert_int_equal(unlinkat(w->rootfd, "empty", AT_REMOVEDIR), 0);
		write_at(w->rootfd, "empty", "now a file");
	} else if (!strcmp(e->rel, "a.b")) {
		w->ab = e->st;
		w->ab_fd = e->fd;
	} else if (!strcmp(e->rel, "empty")) {
		w->empty = e->st;
		assert_int_equal(e->fd, -1);
	} else if (!strncmp(e->rel, "a.b/", 4)) {
		w->saw_ab_child = 1;
	}
	return 0;
}

/* a folder (by the listing's d_type) that is something else when the walk
 * gets to it is reported as what it is now, and a symlink is not followed */
static void test_walk_folder_replaced_meanwhile(void **state)
{
	struct tmp *t = *state;
	struct swap w;

	make_tree(t->fd);
	memset(&w, 0, sizeof(w));
	w.rootfd = t->fd;
	assert_int_equal(walk_tree(t->fd, 0, swap_cb, &w), 0);
	assert_true(S_ISLNK(w.ab.st_mode));
	assert_int_equal(w.ab_fd, -1);
	assert_false(w.saw_ab_child);
	assert_true(S_ISREG(w.empty.st_mode));
	assert_int_equal(w.empty.st_size, 10);
}

/*
 * The walk's order must be the manifest's canonical order (path_cmp), strictly
 * increasing, since the backup writes the walk straight into the manifest
 * and the reader merges the two as sorted streams.  A name may hold byte 0x01.
 */
static void test_walk_order_is_path_cmp_order_byte_01(void **state)
{
	struct tmp *t = *state;
	struct rec r;

	mkdir_at(t->fd, "a");
	write_at(t->fd, "a/b", "");
	write_at(t->fd, "a/c", "");
	write_at(t->fd, "a\x01" "b", "");
	memset(&r, 0, sizeof(r));
	assert_int_equal(walk_tree(t->fd, 0, rec_cb, &r), 0);
	assert_int_equal(r.n, 5);
	for (int i = 1; i < r.n; i++) {
		int c = path_cmp(r.v[i - 1], r.v[i]);
		if (c >= 0)
			fail_msg("walk visits '%s' after '%s' but path_cmp = %d (must be < 0)",
				 r.v[i], r.v[i - 1], c);
	}
	rec_free(&r);
}

/* ---- rm_tree_at ------------------------------------------------------ */

static void test_rm_tree(void **state)
{
	struct tmp *t = *state;
	char *outside = cat(t->dir, "/outside");

	mkdir_at(t->fd, "outside");
	write_at(t->fd, "outside/precious", "keep");
	mkdir_at(t->fd, "outside/sub");
	write_at(t->fd, "outside/sub/f", "keep");

	mkdir_at(t->fd, "victim");
	mkdir_at(t->fd, "victim/d1");
	mkdir_at(t->fd, "victim/d1/d2");
	mkdir_at(t->fd, "victim/d1/d2/d3");
	write_at(t->fd, "victim/d1/d2/d3/f", "x");
	write_at(t->fd, "victim/f", "x");
	assert_int_equal(symlinkat(outside, t->fd, "victim/link"), 0);
	assert_int_equal(symlinkat("../outside", t->fd, "victim/d1/rellink"), 0);
	char *pf = cat(outside, "/precious");
	assert_int_equal(symlinkat(pf, t->fd, "victim/filelink"), 0);
	assert_int_equal(symlinkat("dangling", t->fd, "victim/dangling"), 0);
	assert_int_equal(mkfifoat(t->fd, "victim/fifo", 0600), 0);

	assert_int_equal(rm_tree_at(t->fd, "victim"), 0);
	assert_false(exists_at(t->fd, "victim"));
	assert_true(exists_at(t->fd, "outside/precious"));
	assert_true(exists_at(t->fd, "outside/sub/f"));
	char buf[8] = { 0 };
	int fd = openat(t->fd, "outside/precious", O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 4);
	assert_string_equal(buf, "keep");
	close(fd);

	/* a symlink to a folder is removed as a link */
	assert_int_equal(symlinkat(outside, t->fd, "toplink"), 0);
	assert_int_equal(rm_tree_at(t->fd, "toplink"), 0);
	assert_false(exists_at(t->fd, "toplink"));
	assert_true(exists_at(t->fd, "outside/sub/f"));

	/* a file; a missing name is not an error */
	write_at(t->fd, "plain", "x");
	assert_int_equal(rm_tree_at(t->fd, "plain"), 0);
	assert_false(exists_at(t->fd, "plain"));
	assert_int_equal(rm_tree_at(t->fd, "never-existed"), 0);
	free(pf);
	free(outside);
}

/* ---- abs_path and path_inside ---------------------------------------- */

static void test_abs_path(void **state)
{
	struct tmp *t = *state;
	char cwd[PATH_MAX];
	char *p, *want;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(t->dir), 0);
	p = abs_path("a/./b/../c");
	want = cat(t->dir, "/a/c");
	assert_string_equal(p, want);
	free(p);
	free(want);
	p = abs_path(".");
	assert_string_equal(p, t->dir);
	free(p);
	p = abs_path("x/");
	want = cat(t->dir, "/x");
	assert_string_equal(p, want);
	free(p);
	free(want);
	assert_int_equal(chdir(cwd), 0);

	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "/", "/" },
		{ "/..", "/" },
		{ "/../..", "/" },
		{ "//a//b/", "/a/b" },
		{ "/a/b/../../..", "/" },
		{ "/a/./b/./", "/a/b" },
		{ "/a/b/../c/../../d", "/d" },
		{ "/a/..b/c..", "/a/..b/c.." },
		{ "/a/.../b", "/a/.../b" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = abs_path(cases[i].in);
		if (strcmp(p, cases[i].out))
			fail_msg("abs_path('%s') = '%s', expected '%s'", cases[i].in, p, cases[i].out);
		free(p);
	}
}

static void test_path_inside(void **state)
{
	struct tmp *t = *state;

	mkdir_at(t->fd, "real");
	mkdir_at(t->fd, "real/sub");
	mkdir_at(t->fd, "realx");
	assert_int_equal(symlinkat("real", t->fd, "link"), 0);
	char *real = cat(t->dir, "/real"), *sub = cat(t->dir, "/real/sub");
	char *realx = cat(t->dir, "/realx"), *link = cat(t->dir, "/link/sub");

	assert_int_equal(path_inside(sub, real), 1);
	assert_int_equal(path_inside(real, real), 1);
	assert_int_equal(path_inside(real, sub), 0);
	assert_int_equal(path_inside(realx, real), 0);	/* a prefix is not a parent */
	assert_int_equal(path_inside(link, real), 1);	/* after realpath */
	assert_int_equal(path_inside(real, "/"), 1);
	assert_int_equal(path_inside("/nonexistent-zdt", real), -1);
	free(real);
	free(sub);
	free(realx);
	free(link);
}

/* pwrite_all: every byte at its offset, a gap left a hole of zeros */
static void test_pwrite_all(void **state)
{
	struct tmp *t = *state;
	char buf[3 * 65536], back[sizeof(buf) + 10];
	int fd = openat(t->fd, "pw", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 7);
	assert_int_equal(pwrite_all(fd, buf, sizeof(buf), 10), 0);
	assert_int_equal(pwrite_all(fd, "ab", 2, 0), 0);
	assert_int_equal(pread(fd, back, sizeof(back), 0), (ssize_t)sizeof(back));
	assert_memory_equal(back, "ab\0\0\0\0\0\0\0\0", 10);
	assert_memory_equal(back + 10, buf, sizeof(buf));
	close(fd);
	assert_int_equal(pwrite_all(-1, "x", 1, 0), -1);
	assert_int_equal(errno, EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pwrite_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_real_folder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_relative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_symlinked_component, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_skip_and_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_symlink_is_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_stop_and_root_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_root_skip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_folder_replaced_meanwhile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_order_is_path_cmp_order_byte_01, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rm_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abs_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_inside, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
