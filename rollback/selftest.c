/*
 * selftest.c - zdt selftest: on this host and file system, a backup and two
 * rollbacks of a scratch tree that holds every kind of file zdt keeps, and
 * the proof that every attribute came back.
 *
 * DIR holds the tree, a scratch backup folder, a private configuration
 * file, a signing key and the commands' logs.  The configured backup
 * folder, its snapshots, lock and audit log are never opened: the default
 * DIR is only created inside it (to test its file system).
 *
 * The commands run as they run for an administrator: child processes of
 * this very binary (/proc/self/exe) with --config DIR/zdt.conf and
 * -b DIR/bk, so their options, locks, exit codes and die() paths are the
 * real ones (a command that stops calls exit(), which an in-process call
 * could not survive).  The check does not use zdt's own comparison (plan.c,
 * the manifest): each state of the tree is recorded here with lstat,
 * readlink, the XXH3-128 of the content, every extended attribute (POSIX
 * ACLs included) as raw bytes, the data map of regular files
 * (SEEK_DATA/SEEK_HOLE) and the hardlink groups, and two records are
 * compared attribute by attribute.
 *
 *     build the tree -> record R0
 *     backup (none), backup (gzip:1), verify --all      -> tree == R0
 *     mutate as an upgrade would (R1 != R0), diff exits 1
 *     rollback --snapshot A (differential)               -> tree == R0
 *     diff --checksum exits 0
 *     remove the tree, rollback --snapshot B (gzip)      -> tree == R0
 *
 * What the file system or the user cannot do (user xattrs, ACLs, holes,
 * device nodes, other owners without root) is left out of the tree and
 * listed; a nosuid or nodev mount keeps those bits and nodes, which are
 * compared and listed as without effect.  Test builds (-DZDT_TESTING) undo
 * one restored attribute after the first rollback when
 * $ZDT_TEST_SELFTEST_BREAK names it, to prove that the comparison sees it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "../common/xxh.h"

#include "../common/atomic.h"
#include "../common/fsops.h"
#include "../common/json.h"
#include "../common/store.h"
#include "../zdt.h"

const char selftest_usage[] =
	"usage: zdt selftest [--keep] [DIR]\n"
	"\n"
	"Proves on this host and file system that a backup and a rollback give back\n"
	"every attribute zdt keeps: builds a scratch tree with every kind of file\n"
	"in DIR, backs it up into a scratch backup folder there, changes it as an\n"
	"upgrade would, rolls it back (and into an empty folder), and compares every\n"
	"attribute with what it was.  What the file system does not support is\n"
	"listed and skipped.  The configured backup folder's snapshots, lock and\n"
	"audit log are not touched.  Exit 0 when everything came back, 1 otherwise.\n"
	"\n"
	"  DIR                    a new or empty folder (default: a new\n"
	"                         selftest.XXXXXX in the backup folder, else in /var/tmp)\n"
	"      --keep             keep DIR: the tree, the scratch backup folder, the logs\n";

#define SELFTEST_TMP "/var/tmp"
#define MAX_STEPS 12
#define MAX_SHOWN 20		/* differences printed; --json lists up to MAX_DIFFS */
#define MAX_DIFFS 200
#define BIG_FILE (2u << 20)	/* more than one read buffer, and direct I/O */
#define SPARSE_SIZE ((off_t)8 << 20)
#define SPARSE_CHUNK ((size_t)64 << 10)
#define DEEP_LEVELS 24		/* 24 names of 200 bytes: a path beyond PATH_MAX */
#define ACL_ID 4321		/* the named user of the ACLs, and the other owner */

/* ---- what is tested ------------------------------------------------------ */

enum {
	F_REGULAR, F_EMPTY, F_BIG, F_HARDLINK, F_SYMLINK, F_DANGLING, F_SPARSE, F_SETID, F_STICKY,
	F_ACL, F_DEFACL, F_XATTR, F_FIFO, F_DEVICE, F_OWNER, F_NAMES, F_EMPTY_DIR, F_DEEP, F_READONLY,
	F_N
};

enum { FEAT_TESTED, FEAT_UNSUPPORTED, FEAT_NO_EFFECT };

static const struct {
	const char *name, *what;
} feat_names[F_N] = {
	[F_REGULAR] = { "regular", "regular files" },
	[F_EMPTY] = { "empty-file", "empty files" },
	[F_BIG] = { "big-file", "a 2 MiB file (several buffers, direct I/O)" },
	[F_HARDLINK] = { "hardlink", "hardlinks, within and across folders" },
	[F_SYMLINK] = { "symlink", "symbolic links, relative and absolute" },
	[F_DANGLING] = { "dangling-symlink", "symbolic links to nothing" },
	[F_SPARSE] = { "sparse", "holes in sparse files" },
	[F_SETID] = { "setuid-setgid", "setuid and setgid modes" },
	[F_STICKY] = { "sticky", "the sticky bit" },
	[F_ACL] = { "posix-acl", "POSIX access ACLs" },
	[F_DEFACL] = { "default-acl", "POSIX default ACLs, and what they pass on" },
	[F_XATTR] = { "user-xattr", "user.* extended attributes" },
	[F_FIFO] = { "fifo", "FIFOs" },
	[F_DEVICE] = { "device", "device nodes" },
	[F_OWNER] = { "owner", "owners and groups other than the running user's" },
	[F_NAMES] = { "odd-names", "names with spaces, a newline, a backslash, invalid UTF-8" },
	[F_EMPTY_DIR] = { "empty-folder", "empty folders" },
	[F_DEEP] = { "deep-nesting", "24 levels of 200-byte names (a path beyond PATH_MAX)" },
	[F_READONLY] = { "read-only-folder", "changes inside a folder without write permission" },
};

/* one path of a recorded tree */
struct rec {
	char *path;		/* from the tree's root, "." for it */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	off_t size;
	struct timespec mtime;
	dev_t rdev, dev;
	ino_t ino;
	nlink_t nlink;
	char *target;		/* symbolic link */
	int has_hash;
	XXH128_hash_t hash;
	char *xattrs;		/* "name=hex\n" sorted by name, NULL when none */
	char *map;		/* data map of a regular file, "off+len " */
	const char *group;	/* first path of its hardlink group, or NULL */
};

struct record {
	struct rec *v;
	size_t n, cap;
};

struct step {
	char name[32];
	char cmd[256];
	int exit, want;
	double elapsed;
};

struct diff {
	const char *phase;
	char *path, *attr, *got, *want;
};

struct selftest {
	struct zdt *z;
	int keep;
	char *dir;		/* real path of DIR */
	int dirfd;
	int made;		/* DIR was created here: removed whole */
	int parentfd;
	char *base;		/* DIR's name in parentfd */
	char *tree, *bk, *conf, *key, *log;
	char exe[PATH_MAX];
	int root;		/* euid 0 */
	int sparse;		/* holes can be compared */
	struct {
		int state;
		char why[256];
	} f[F_N];
	char fstype[64], mntopts[256], device[32];
	struct step steps[MAX_STEPS];
	int nsteps;
	char snap_a[SNAP_ID_MAX], snap_b[SNAP_ID_MAX];
	struct diff *d;
	size_t nd, capd, ndtotal;
	uint64_t paths, changes;
	const char *stage;	/* "build", "change": for messages */
	char fail[1024];	/* the first failure, empty while all is well */
	struct sbuf child_err;	/* stderr of the failed step, for people */
	double t0;
};

static struct selftest *cleanup_st;	/* removed at exit unless --keep */

/* ---- small helpers ----------------------------------------------------------- */

static int failf(struct selftest *s, const char *fmt, ...) ZDT_PRINTF(2, 3);
static int failf(struct selftest *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->fail[0]) {
		va_start(ap, fmt);
		vsnprintf(s->fail, sizeof(s->fail), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* an operation of the build that has no reason to fail */
static int sysfail(struct selftest *s, const char *what, const char *rel)
{
	struct sbuf p = SBUF_INIT;
	int e = errno;

	esc_path(&p, rel);
	failf(s, "cannot %s the scratch tree: %s '%s': %s", s->stage, what, p.buf, strerror(e));
	sbuf_free(&p);
	return -1;
}

/* errors that mean "this file system (or user) does not do that" */
static int unsupported_errno(int e)
{
	return e == EOPNOTSUPP || e == ENOTSUP || e == EPERM || e == EINVAL || e == ENOSYS || e == EACCES;
}

static void unsupported(struct selftest *s, int f, const char *fmt, ...) ZDT_PRINTF(3, 4);
static void unsupported(struct selftest *s, int f, const char *fmt, ...)
{
	va_list ap;

	if (s->f[f].state != FEAT_TESTED)
		return;
	s->f[f].state = FEAT_UNSUPPORTED;
	va_start(ap, fmt);
	vsnprintf(s->f[f].why, sizeof(s->f[f].why), fmt, ap);
	va_end(ap);
}

static int tested(const struct selftest *s, int f)
{
	return s->f[f].state != FEAT_UNSUPPORTED;
}

/* deterministic bytes, different for each seed */
static void fill(char *buf, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (char)(x >> 24);
	}
}

static int write_all(int fd, const void *p, size_t n, off_t off)
{
	const char *c = p;

	while (n) {
		ssize_t w = pwrite(fd, c, n, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* a file with data, then mode (umask is 077 in zdt); 0 or -1 */
static int mkfile(struct selftest *s, int dfd, const char *rel, mode_t mode, const void *data, size_t n)
{
	int fd = openat(dfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 || write_all(fd, data, n, 0) < 0 || fchmod(fd, mode) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return sysfail(s, "create", rel);
	}
	if (close(fd) < 0)
		return sysfail(s, "write", rel);
	return 0;
}

static int mkdirm(struct selftest *s, int dfd, const char *rel, mode_t mode)
{
	if (mkdirat(dfd, rel, 0700) < 0 || fchmodat(dfd, rel, mode, 0) < 0)
		return sysfail(s, "create the folder", rel);
	return 0;
}

static int mklink(struct selftest *s, int dfd, const char *target, const char *rel)
{
	if (symlinkat(target, dfd, rel) < 0)
		return sysfail(s, "create the symbolic link", rel);
	return 0;
}

/* a POSIX ACL as the kernel stores it in system.posix_acl_*: version 2, then
 * (tag, perm, id) little-endian, sorted by tag: user::, user:ACL_ID:,
 * group::, mask::, other:: */
static size_t acl_blob(unsigned char *b, unsigned uo, unsigned u, unsigned go, unsigned o)
{
	static const unsigned tags[] = { 0x01, 0x02, 0x04, 0x10, 0x20 };
	unsigned perms[] = { uo, u, go, u | go, o };
	size_t n = 0;

	b[n++] = 2, b[n++] = 0, b[n++] = 0, b[n++] = 0;
	for (int i = 0; i < 5; i++) {
		uint32_t id = tags[i] == 0x02 ? ACL_ID : 0xffffffffu;
		b[n++] = (unsigned char)tags[i];
		b[n++] = 0;
		b[n++] = (unsigned char)perms[i];
		b[n++] = 0;
		for (int k = 0; k < 4; k++)
			b[n++] = (unsigned char)(id >> (8 * k));
	}
	return n;
}

/* "/proc/self/fd/DFD/NAME": NAME without opening it (FIFOs) or following it */
static const char *fdpath(char *buf, size_t n, int dfd, const char *name)
{
	snprintf(buf, n, "/proc/self/fd/%d/%s", dfd, name);
	return buf;
}

/* an optional attribute: unsupported when the file system refuses it */
static int try_xattr(struct selftest *s, int f, int dfd, const char *rel, const char *name, const void *v,
		     size_t n)
{
	char p[PATH_MAX];

	if (!tested(s, f))
		return 0;
	if (lsetxattr(fdpath(p, sizeof(p), dfd, rel), name, v, n, 0) == 0)
		return 0;
	if (unsupported_errno(errno)) {
		unsupported(s, f, "setting %s: %s", name, strerror(errno));
		return 0;
	}
	return sysfail(s, "set an extended attribute on", rel);
}

/* ---- the tree --------------------------------------------------------------- */

static const char *const odd_names[] = {
	"names/a file with spaces", "names/new\nline", "names/bad-\xff\xfe-utf8", "names/back\\slash",
	"names/-leading-dash", "names/caf\xc3\xa9", "names/tab\tand\x7f",
};
#define N_ODD (sizeof(odd_names) / sizeof(odd_names[0]))

static int deep_name(char *buf, size_t n, int level)
{
	int k = snprintf(buf, n, "L%02d-", level);
	while (k < 200 && (size_t)k + 1 < n)
		buf[k++] = (char)('a' + level % 26);
	buf[k] = '\0';
	return k;
}

/* the folder DEEP_LEVELS down under deep/, or -1 */
static int open_deep(int rootfd, int levels)
{
	char name[256];
	int fd = openat(rootfd, "deep", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	for (int i = 0; fd >= 0 && i < levels; i++) {
		deep_name(name, sizeof(name), i);
		int nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = nfd;
	}
	return fd;
}

static int build_tree(struct selftest *s, int rootfd)
{
	char *buf = xmalloc(BIG_FILE);
	unsigned char acl[64];
	struct statvfs vf;
	char name[256];
	int rc = -1, fd;

	/* folders */
	static const struct { const char *rel; mode_t mode; } dirs[] = {
		{ "bin", 0755 }, { "conf", 0750 }, { "lib", 0755 }, { "links", 0755 }, { "data", 0755 },
		{ "names", 0755 }, { "empty", 0755 }, { "nest", 0711 }, { "nest/a", 0700 },
		{ "nest/a/b", 0755 }, { "nest/a/b/c", 0755 }, { "nest/a/b/c/empty", 0500 }, { "etc", 0755 },
		{ "etc/sub", 0755 }, { "shared", 01777 }, { "shared/group", 02775 }, { "acl-dir", 0750 },
		{ "owned", 0755 }, { "ro", 0755 }, { "deep", 0755 },
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdirm(s, rootfd, dirs[i].rel, dirs[i].mode) < 0)
			goto out;

	/* regular, empty, big, symbolic links */
	fill(buf, BIG_FILE, 1);
	if (mkfile(s, rootfd, "bin/arserverd", 0755, buf, BIG_FILE) < 0 ||
	    mkfile(s, rootfd, "conf/ar.cfg", 0600, "Server-Name: selftest\nOperating-Mode: 0\n", 40) < 0 ||
	    mkfile(s, rootfd, "conf/empty.cfg", 0644, "", 0) < 0 ||
	    mkfile(s, rootfd, "conf/acl-file", 0640, "acl\n", 4) < 0 ||
	    mkfile(s, rootfd, "conf/xattr-file", 0644, "xattr\n", 6) < 0 ||
	    mkfile(s, rootfd, "lib/libar.so.9.1.0", 0644, buf + 100, 5000) < 0 ||
	    mkfile(s, rootfd, "etc/x.conf", 0644, "x=1\n", 4) < 0 ||
	    mkfile(s, rootfd, "etc/sub/y.conf", 0600, "y=2\n", 4) < 0 ||
	    mkfile(s, rootfd, "replaced", 0644, "a file, then a folder\n", 22) < 0 ||
	    mkfile(s, rootfd, "ro/file", 0444, "read-only\n", 10) < 0 ||
	    mklink(s, rootfd, "libar.so.9.1.0", "lib/libar.so") < 0 ||
	    mklink(s, rootfd, "../nowhere/missing", "lib/dangling") < 0 ||
	    mklink(s, rootfd, "/nonexistent/zdt-selftest", "lib/absolute") < 0 ||
	    mklink(s, rootfd, "../conf/ar.cfg", "links/to-ar.cfg") < 0)
		goto out;

	/* setuid, setgid, sticky (chmod keeps them for the owner) */
	if (mkfile(s, rootfd, "bin/setuid-helper", 04755, "#!/bin/sh\n", 10) < 0 ||
	    mkfile(s, rootfd, "bin/setgid-helper", 02755, "#!/bin/sh\n", 10) < 0 ||
	    mkfile(s, rootfd, "shared/group/file", 0664, "g\n", 2) < 0)
		goto out;
	if (fstatvfs(rootfd, &vf) == 0 && (vf.f_flag & ST_NOSUID)) {
		s->f[F_SETID].state = FEAT_NO_EFFECT;
		snprintf(s->f[F_SETID].why, sizeof(s->f[F_SETID].why),
			 "mounted nosuid: the bits are kept and compared, but do not act");
	}

	/* hardlinks: a group of three across folders, one with an odd name */
	if (mkfile(s, rootfd, "links/a", 0640, "linked\n", 7) < 0)
		goto out;
	if (linkat(rootfd, "links/a", rootfd, "links/b", 0) < 0 ||
	    linkat(rootfd, "links/a", rootfd, "data/linked across", 0) < 0) {
		sysfail(s, "link", "links/a");
		goto out;
	}

	/* a FIFO */
	if (mkfifoat(rootfd, "data/pipe", 0600) < 0 || fchmodat(rootfd, "data/pipe", 0640, 0) < 0) {
		if (!unsupported_errno(errno)) {
			sysfail(s, "create the FIFO", "data/pipe");
			goto out;
		}
		unsupported(s, F_FIFO, "mkfifo: %s", strerror(errno));
	}

	/* a device node: root only */
	if (!s->root) {
		unsupported(s, F_DEVICE, "not root: only root creates device nodes");
	} else if (mknodat(rootfd, "data/null", S_IFCHR | 0600, makedev(1, 3)) < 0) {
		if (!unsupported_errno(errno)) {
			sysfail(s, "create the device node", "data/null");
			goto out;
		}
		unsupported(s, F_DEVICE, "mknod: %s", strerror(errno));
	} else if (fstatvfs(rootfd, &vf) == 0 && (vf.f_flag & ST_NODEV)) {
		s->f[F_DEVICE].state = FEAT_NO_EFFECT;
		snprintf(s->f[F_DEVICE].why, sizeof(s->f[F_DEVICE].why),
			 "mounted nodev: the nodes are kept and compared, but cannot be opened");
	}

	/* a sparse file: data at the start, in the middle and at the end */
	fd = openat(rootfd, "data/sparse.dat", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write_all(fd, buf, SPARSE_CHUNK, 0) < 0 ||
	    write_all(fd, buf + SPARSE_CHUNK, SPARSE_CHUNK, SPARSE_SIZE / 2) < 0 ||
	    write_all(fd, buf + 2 * SPARSE_CHUNK, SPARSE_CHUNK, SPARSE_SIZE - (off_t)SPARSE_CHUNK) < 0 ||
	    fchmod(fd, 0644) < 0 || fsync(fd) < 0) {
		if (fd >= 0)
			close(fd);
		sysfail(s, "create", "data/sparse.dat");
		goto out;
	}
	off_t hole = lseek(fd, 0, SEEK_HOLE);
	close(fd);
	s->sparse = hole >= 0 && hole < SPARSE_SIZE;
	if (!s->sparse)
		unsupported(s, F_SPARSE, "no holes: SEEK_HOLE finds none in a file written with gaps "
			    "(the file is stored, and compared, in full)");

	/* odd names */
	for (size_t i = 0; i < N_ODD; i++)
		if (mkfile(s, rootfd, odd_names[i], 0644, odd_names[i], strlen(odd_names[i])) < 0)
			goto out;

	/* deep nesting */
	fd = openat(rootfd, "deep", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	for (int i = 0; fd >= 0 && i < DEEP_LEVELS; i++) {
		deep_name(name, sizeof(name), i);
		int nfd = -1;
		if (mkdirat(fd, name, 0755) == 0 && fchmodat(fd, name, 0755, 0) == 0)
			nfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = nfd;
	}
	if (fd < 0) {
		sysfail(s, "create the nested folders in", "deep");
		goto out;
	}
	rc = mkfile(s, fd, "bottom.txt", 0644, "at the bottom\n", 14);
	if (rc == 0)
		rc = mkfile(s, fd, "second.txt", 0600, "also\n", 5);
	close(fd);
	if (rc < 0)
		goto out;
	rc = -1;

	/* other owners: root only; before the ACLs and modes (chown clears setuid) */
	if (!s->root) {
		unsupported(s, F_OWNER, "not root: files can only belong to the running user");
	} else {
		if (mkfile(s, rootfd, "owned/file", 0640, "owned\n", 6) < 0 ||
		    mklink(s, rootfd, "file", "owned/link") < 0)
			goto out;
		if (fchownat(rootfd, "owned/file", ACL_ID, ACL_ID + 1, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchownat(rootfd, "owned/link", ACL_ID + 2, ACL_ID + 3, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchownat(rootfd, "owned", ACL_ID, ACL_ID, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchownat(rootfd, "bin/setgid-helper", 0, ACL_ID + 1, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(rootfd, "bin/setgid-helper", 02755, 0) < 0) {
			if (!unsupported_errno(errno)) {
				sysfail(s, "change the owner of", "owned/file");
				goto out;
			}
			unsupported(s, F_OWNER, "chown: %s", strerror(errno));
		}
	}

	/* extended attributes and ACLs */
	if (try_xattr(s, F_XATTR, rootfd, "conf/xattr-file", "user.zdt.selftest", "value", 5) < 0 ||
	    try_xattr(s, F_XATTR, rootfd, "conf/xattr-file", "user.zdt.binary", "\0\1\2\377", 4) < 0 ||
	    try_xattr(s, F_XATTR, rootfd, "etc", "user.zdt.folder", "on a folder", 11) < 0)
		goto out;
	size_t an = acl_blob(acl, 6, 4, 4, 0);
	if (try_xattr(s, F_ACL, rootfd, "conf/acl-file", "system.posix_acl_access", acl, an) < 0)
		goto out;
	an = acl_blob(acl, 7, 5, 5, 0);
	if (try_xattr(s, F_DEFACL, rootfd, "acl-dir", "system.posix_acl_default", acl, an) < 0)
		goto out;
	/* created after the default ACL: inherits it */
	if (mkfile(s, rootfd, "acl-dir/inherited", 0640, "inherited\n", 10) < 0 ||
	    mkdirm(s, rootfd, "acl-dir/sub", 0750) < 0)
		goto out;

	/* last: the read-only folder */
	if (fchmodat(rootfd, "ro", 0555, 0) < 0) {
		sysfail(s, "chmod", "ro");
		goto out;
	}
	if (!s->root)
		unsupported(s, F_READONLY, "not root: a rollback run by this user cannot write in a folder "
			    "without write permission, so nothing inside one is changed (run zdt as root)");
	rc = 0;
out:
	free(buf);
	return rc;
}

/* mtimes, deepest first (a folder's mtime changes with its contents): a
 * different second and nanosecond for every path */
static int set_times(struct selftest *s, int dfd, const char *name, const char *rel, unsigned *n)
{
	struct stat st;
	struct timespec ts[2];

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sysfail(s, "stat", rel);
	if (S_ISDIR(st.st_mode)) {
		struct dirlist dl;
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return sysfail(s, "open", rel);
		memset(&dl, 0, sizeof(dl));
		if (dirlist_read(fd, &dl) < 0) {
			close(fd);
			return sysfail(s, "read", rel);
		}
		int rc = 0;
		for (size_t i = 0; rc == 0 && i < dl.n; i++)
			rc = set_times(s, fd, dirlist_name(&dl, i), dirlist_name(&dl, i), n);
		dirlist_release(&dl);
		close(fd);
		if (rc < 0)
			return -1;
	}
	(*n)++;
	ts[0].tv_sec = ts[1].tv_sec = 1600000000 + (time_t)*n * 3607;
	ts[0].tv_nsec = ts[1].tv_nsec = (long)((*n * 123456789ull + 1) % 1000000000ull);
	if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return sysfail(s, "set the mtime of", rel);
	return 0;
}

/* ---- recording a tree --------------------------------------------------------- */

static void rec_free(struct record *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].path);
		free(r->v[i].target);
		free(r->v[i].xattrs);
		free(r->v[i].map);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* every extended attribute, sorted by name, values in hex */
static int read_xattrs(int fd, const char *proc, char **out)
{
	char *names = NULL, **v = NULL;
	ssize_t n = fd >= 0 ? flistxattr(fd, NULL, 0) : llistxattr(proc, NULL, 0);
	size_t k = 0;
	struct sbuf sb = SBUF_INIT;
	int rc = -1;

	*out = NULL;
	if (n < 0)
		return errno == ENOTSUP || errno == EOPNOTSUPP ? 0 : -1;
	if (n == 0)
		return 0;
	names = xmalloc((size_t)n + 1);
	n = fd >= 0 ? flistxattr(fd, names, (size_t)n) : llistxattr(proc, names, (size_t)n);
	if (n < 0)
		goto out;
	names[n] = '\0';
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		v = xrealloc(v, (k + 1) * sizeof(*v));
		v[k++] = names + i;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), name_cmp);
	for (size_t i = 0; i < k; i++) {
		unsigned char val[65536];
		ssize_t vn = fd >= 0 ? fgetxattr(fd, v[i], val, sizeof(val)) : lgetxattr(proc, v[i], val, sizeof(val));
		if (vn < 0)
			goto out;
		sbuf_addf(&sb, "%s=", v[i]);
		for (ssize_t b = 0; b < vn; b++)
			sbuf_addf(&sb, "%02x", val[b]);
		sbuf_addc(&sb, '\n');
	}
	*out = sb.buf;
	sb.buf = NULL;
	rc = 0;
out:
	sbuf_free(&sb);
	free(names);
	free(v);
	return rc;
}

/* content hash and data map of a regular file */
static int read_file(struct rec *r, int fd)
{
	char *buf = xmalloc(1u << 20);
	XXH3_state_t *xs = XXH3_createState();
	struct sbuf map = SBUF_INIT;
	off_t off = 0, size = r->size;
	int rc = -1;

	if (!xs)
		die(ZDT_EFAIL, "out of memory");
	XXH3_128bits_reset(xs);
	for (;;) {
		ssize_t n = read(fd, buf, 1u << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		XXH3_128bits_update(xs, buf, (size_t)n);
	}
	r->hash = XXH3_128bits_digest(xs);
	r->has_hash = 1;
	while (off < size) {
		off_t data = lseek(fd, off, SEEK_DATA);
		if (data < 0)
			break;	/* ENXIO: only a hole is left */
		off_t hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = size;
		sbuf_addf(&map, "%lld+%lld ", (long long)data, (long long)(hole - data));
		off = hole;
	}
	r->map = map.buf ? map.buf : xstrdup("");
	map.buf = NULL;
	rc = 0;
out:
	sbuf_free(&map);
	XXH3_freeState(xs);
	free(buf);
	return rc;
}

static int walk_rec(struct selftest *s, struct record *r, int dfd, const char *name, const char *rel, int isroot)
{
	struct stat st;
	char proc[PATH_MAX];
	int fd = -1;

	if (isroot ? fstat(dfd, &st) < 0 : fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return failf(s, "cannot stat '%s' in the scratch tree: %s", rel, strerror(errno));
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 128;
		r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	struct rec *e = &r->v[r->n++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(rel);
	e->mode = st.st_mode;
	e->uid = st.st_uid;
	e->gid = st.st_gid;
	e->size = st.st_size;
	e->mtime = st.st_mtim;
	e->rdev = st.st_rdev;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	e->nlink = st.st_nlink;
	if (S_ISLNK(st.st_mode)) {
		char t[PATH_MAX + 1];
		ssize_t n = readlinkat(dfd, name, t, sizeof(t) - 1);
		if (n < 0)
			return failf(s, "cannot read the link '%s': %s", rel, strerror(errno));
		t[n] = '\0';
		e->target = xstrdup(t);
	}
	if (isroot)
		fd = dup(dfd);
	else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0));
	if ((S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) && fd < 0)
		return failf(s, "cannot open '%s' in the scratch tree: %s", rel, strerror(errno));
	if (read_xattrs(fd, fd >= 0 ? NULL : fdpath(proc, sizeof(proc), dfd, name), &e->xattrs) < 0) {
		int er = errno;
		if (fd >= 0)
			close(fd);
		return failf(s, "cannot read the extended attributes of '%s': %s", rel, strerror(er));
	}
	int rc = 0;
	if (S_ISREG(st.st_mode) && read_file(e, fd) < 0)
		rc = failf(s, "cannot read '%s': %s", rel, strerror(errno));
	if (rc == 0 && S_ISDIR(st.st_mode)) {
		struct dirlist dl;
		memset(&dl, 0, sizeof(dl));
		if (dirlist_read(fd, &dl) < 0)
			rc = failf(s, "cannot read the folder '%s': %s", rel, strerror(errno));
		for (size_t i = 0; rc == 0 && i < dl.n; i++) {
			const char *child = dirlist_name(&dl, i);
			char *crel = isroot ? xstrdup(child) : xasprintf("%s/%s", rel, child);
			rc = walk_rec(s, r, fd, child, crel, 0);
			free(crel);
		}
		dirlist_release(&dl);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

struct rref {
	struct rec *r;
};

static int inode_cmp(const void *a, const void *b)
{
	const struct rec *x = ((const struct rref *)a)->r, *y = ((const struct rref *)b)->r;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int path_order(const void *a, const void *b)
{
	return strcmp(((const struct rec *)a)->path, ((const struct rec *)b)->path);
}

/* the tree at DIR/tree, or an empty record when it does not exist */
static int record(struct selftest *s, struct record *r)
{
	int fd = openat(s->dirfd, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return errno == ENOENT ? 0 : failf(s, "cannot open the scratch tree: %s", strerror(errno));
	int rc = walk_rec(s, r, fd, ".", ".", 1);
	close(fd);
	if (rc < 0)
		return -1;
	if (!r->n)
		return 0;
	qsort(r->v, r->n, sizeof(*r->v), path_order);
	/* hardlink groups: the first path of each inode with several names */
	struct rref *by = xmalloc(r->n * sizeof(*by));
	for (size_t i = 0; i < r->n; i++)
		by[i].r = &r->v[i];
	qsort(by, r->n, sizeof(*by), inode_cmp);
	for (size_t i = 0; i < r->n;) {
		size_t k = i + 1;
		while (k < r->n && by[k].r->dev == by[i].r->dev && by[k].r->ino == by[i].r->ino)
			k++;
		if (k - i > 1 && !S_ISDIR(by[i].r->mode))
			for (size_t m = i; m < k; m++)
				by[m].r->group = by[i].r->path;
		i = k;
	}
	free(by);
	return 0;
}

/* ---- comparing two records ---------------------------------------------------- */

static void add_diff(struct selftest *s, const char *phase, const char *path, const char *attr,
		     const char *got, const char *want)
{
	s->ndtotal++;
	if (!phase)
		return;		/* only counted */
	if (s->nd == MAX_DIFFS)
		return;
	if (s->nd == s->capd) {
		s->capd = s->capd ? 2 * s->capd : 16;
		s->d = xrealloc(s->d, s->capd * sizeof(*s->d));
	}
	struct diff *d = &s->d[s->nd++];
	d->phase = phase;
	d->path = xstrdup(path);
	d->attr = xstrdup(attr);
	d->got = xstrdup(got);
	d->want = xstrdup(want);
}

static const char *type_name(mode_t m)
{
	if (S_ISREG(m)) return "file";
	if (S_ISDIR(m)) return "folder";
	if (S_ISLNK(m)) return "symlink";
	if (S_ISFIFO(m)) return "fifo";
	if (S_ISCHR(m)) return "char-device";
	if (S_ISBLK(m)) return "block-device";
	if (S_ISSOCK(m)) return "socket";
	return "?";
}

/* the names of the attributes that differ, one per name */
static void xattr_diff(struct selftest *s, const char *phase, const char *path, const char *got, const char *want)
{
	const char *lists[2] = { got ? got : "", want ? want : "" };

	for (int side = 0; side < 2; side++) {
		for (const char *l = lists[side]; *l;) {
			const char *eol = strchr(l, '\n'), *eq = strchr(l, '=');
			size_t nl = (size_t)(eq - l);
			char key[300];
			snprintf(key, sizeof(key), "%.*s=", (int)(nl < 250 ? nl : 250), l);
			/* the same name on the other side, and its value */
			const char *o = lists[!side], *hit = NULL;
			for (const char *m = o; *m; m = strchr(m, '\n') + 1)
				if (!strncmp(m, key, strlen(key))) {
					hit = m;
					break;
				}
			char attr[300];
			snprintf(attr, sizeof(attr), "xattr %.*s", (int)(nl < 250 ? nl : 250), l);
			if (!hit) {
				char v[64];
				snprintf(v, sizeof(v), "%zu bytes", (size_t)(eol - eq - 1) / 2);
				add_diff(s, phase, path, attr, side ? "absent" : v, side ? v : "absent");
			} else if (side == 0) {
				const char *heol = strchr(hit, '\n');
				if ((size_t)(heol - hit) != (size_t)(eol - l) || memcmp(hit, l, (size_t)(eol - l)))
					add_diff(s, phase, path, attr, "another value", "the value at backup time");
			}
			l = eol + 1;
		}
	}
}

/* differences of b (now) from a (the reference); phase NULL: count only */
static uint64_t compare(struct selftest *s, const char *phase, const struct record *want, const struct record *got)
{
	size_t i = 0, k = 0, before = s->ndtotal;
	char g[160], w[160];

	while (i < want->n || k < got->n) {
		int c = i == want->n ? 1 : k == got->n ? -1 : strcmp(want->v[i].path, got->v[k].path);
		if (c < 0) {
			add_diff(s, phase, want->v[i].path, "path", "missing", type_name(want->v[i].mode));
			i++;
			continue;
		}
		if (c > 0) {
			add_diff(s, phase, got->v[k].path, "path", type_name(got->v[k].mode), "absent");
			k++;
			continue;
		}
		const struct rec *a = &want->v[i++], *b = &got->v[k++];
		const char *p = a->path;
		if ((a->mode & S_IFMT) != (b->mode & S_IFMT)) {
			add_diff(s, phase, p, "type", type_name(b->mode), type_name(a->mode));
			continue;
		}
		if ((a->mode & 07777) != (b->mode & 07777) && !S_ISLNK(a->mode)) {
			snprintf(g, sizeof(g), "%04o", (unsigned)b->mode & 07777);
			snprintf(w, sizeof(w), "%04o", (unsigned)a->mode & 07777);
			add_diff(s, phase, p, "mode", g, w);
		}
		if (a->uid != b->uid || a->gid != b->gid) {
			snprintf(g, sizeof(g), "%lu:%lu", (unsigned long)b->uid, (unsigned long)b->gid);
			snprintf(w, sizeof(w), "%lu:%lu", (unsigned long)a->uid, (unsigned long)a->gid);
			add_diff(s, phase, p, "owner", g, w);
		}
		if (a->mtime.tv_sec != b->mtime.tv_sec || a->mtime.tv_nsec != b->mtime.tv_nsec) {
			char t[32];
			fmt_time(t, sizeof(t), b->mtime.tv_sec);
			snprintf(g, sizeof(g), "%.19s.%09ldZ", t, b->mtime.tv_nsec);
			fmt_time(t, sizeof(t), a->mtime.tv_sec);
			snprintf(w, sizeof(w), "%.19s.%09ldZ", t, a->mtime.tv_nsec);
			add_diff(s, phase, p, "mtime", g, w);
		}
		if (S_ISREG(a->mode)) {
			if (a->size != b->size) {
				snprintf(g, sizeof(g), "%lld", (long long)b->size);
				snprintf(w, sizeof(w), "%lld", (long long)a->size);
				add_diff(s, phase, p, "size", g, w);
			} else if (!XXH128_isEqual(a->hash, b->hash)) {
				add_diff(s, phase, p, "content", "other bytes", "the bytes at backup time");
			}
			if (s->sparse && strcmp(a->map, b->map))
				add_diff(s, phase, p, "holes", *b->map ? b->map : "none", *a->map ? a->map : "none");
		}
		if (S_ISLNK(a->mode) && strcmp(a->target, b->target))
			add_diff(s, phase, p, "target", b->target, a->target);
		if ((S_ISCHR(a->mode) || S_ISBLK(a->mode)) && a->rdev != b->rdev) {
			snprintf(g, sizeof(g), "%u:%u", major(b->rdev), minor(b->rdev));
			snprintf(w, sizeof(w), "%u:%u", major(a->rdev), minor(a->rdev));
			add_diff(s, phase, p, "device", g, w);
		}
		if (!S_ISDIR(a->mode) && (!a->group != !b->group || (a->group && strcmp(a->group, b->group))))
			add_diff(s, phase, p, "hardlink", b->group ? b->group : "not linked",
				 a->group ? a->group : "not linked");
		if ((a->xattrs || b->xattrs) && (!a->xattrs || !b->xattrs || strcmp(a->xattrs, b->xattrs)))
			xattr_diff(s, phase, p, b->xattrs, a->xattrs);
	}
	return s->ndtotal - before;
}

/* ---- what an upgrade does -------------------------------------------------------- */

static int mutate(struct selftest *s)
{
	char *buf = xmalloc(BIG_FILE + 4096);
	int rootfd = openat(s->dirfd, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), fd, rc = -1;
	char p[PATH_MAX];

	if (rootfd < 0) {
		free(buf);
		return failf(s, "cannot open the scratch tree: %s", strerror(errno));
	}
#define M(cond, what, rel) do { if (!(cond)) { sysfail(s, what, rel); goto out; } } while (0)
	/* new content: another size, a new inode; in place; an empty file filled */
	fill(buf, BIG_FILE + 4096, 2);
	M(unlinkat(rootfd, "bin/arserverd", 0) == 0, "remove", "bin/arserverd");
	M(mkfile(s, rootfd, "bin/arserverd", 0755, buf, BIG_FILE + 4096) == 0, "create", "bin/arserverd");
	fd = openat(rootfd, "conf/ar.cfg", O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	M(fd >= 0 && write(fd, "Plugin-Port: 9999\n", 18) == 18 && close(fd) == 0, "append to", "conf/ar.cfg");
	fd = openat(rootfd, "conf/empty.cfg", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	M(fd >= 0 && write(fd, "now set\n", 8) == 8 && close(fd) == 0, "write", "conf/empty.cfg");
	/* a library replaced by a newer one, the symlinks retargeted */
	M(unlinkat(rootfd, "lib/libar.so.9.1.0", 0) == 0, "remove", "lib/libar.so.9.1.0");
	M(mkfile(s, rootfd, "lib/libar.so.9.2.0", 0644, buf + 7, 6000) == 0, "create", "lib/libar.so.9.2.0");
	M(unlinkat(rootfd, "lib/libar.so", 0) == 0 && symlinkat("libar.so.9.2.0", rootfd, "lib/libar.so") == 0,
	  "retarget", "lib/libar.so");
	M(unlinkat(rootfd, "lib/dangling", 0) == 0 && symlinkat("libar.so.9.2.0", rootfd, "lib/dangling") == 0,
	  "retarget", "lib/dangling");
	M(unlinkat(rootfd, "links/to-ar.cfg", 0) == 0, "remove", "links/to-ar.cfg");
	/* modes */
	M(fchmodat(rootfd, "bin/setuid-helper", 0755, 0) == 0, "chmod", "bin/setuid-helper");
	M(fchmodat(rootfd, "conf/ar.cfg", 0644, 0) == 0, "chmod", "conf/ar.cfg");
	M(fchmodat(rootfd, "shared", 0777, 0) == 0, "chmod", "shared");
	M(fchmodat(rootfd, ".", 0700, 0) == 0, "chmod", ".");
	/* a hardlink broken: links/b becomes a copy */
	M(mkfile(s, rootfd, "links/b.new", 0640, "linked\n", 7) == 0, "create", "links/b.new");
	M(renameat(rootfd, "links/b.new", rootfd, "links/b") == 0, "rename over", "links/b");
	/* a folder replaced by a symbolic link to another folder (a rollback
	 * that followed it would write into conf/), a file by a folder */
	M(rm_tree_at(rootfd, "etc") == 0, "remove", "etc");
	M(symlinkat("conf", rootfd, "etc") == 0, "create", "etc");
	M(unlinkat(rootfd, "replaced", 0) == 0 && mkdirat(rootfd, "replaced", 0755) == 0, "replace", "replaced");
	M(mkfile(s, rootfd, "replaced/inside", 0644, "in\n", 3) == 0, "create", "replaced/inside");
	/* the FIFO and the device node become files */
	if (tested(s, F_FIFO)) {
		M(unlinkat(rootfd, "data/pipe", 0) == 0, "remove", "data/pipe");
		M(mkfile(s, rootfd, "data/pipe", 0644, "no longer a pipe\n", 17) == 0, "create", "data/pipe");
	}
	if (tested(s, F_DEVICE)) {
		M(unlinkat(rootfd, "data/null", 0) == 0, "remove", "data/null");
		M(mkfile(s, rootfd, "data/null", 0600, "x", 1) == 0, "create", "data/null");
	}
	/* a hole filled (same size) */
	fd = openat(rootfd, "data/sparse.dat", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	M(fd >= 0 && write_all(fd, buf, SPARSE_CHUNK, 2 * (off_t)SPARSE_CHUNK) == 0 && close(fd) == 0, "write",
	  "data/sparse.dat");
	/* names */
	M(renameat(rootfd, odd_names[0], rootfd, "names/renamed") == 0, "rename", odd_names[0]);
	M(unlinkat(rootfd, odd_names[1], 0) == 0, "remove", odd_names[1]);
	fd = openat(rootfd, odd_names[2], O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
	M(fd >= 0 && close(fd) == 0, "truncate", odd_names[2]);
	/* folders: filled, removed, a subtree of the deep one removed */
	M(mkfile(s, rootfd, "empty/added", 0644, "added\n", 6) == 0, "create", "empty/added");
	M(fchmodat(rootfd, "nest/a/b/c/empty", 0700, 0) == 0 && unlinkat(rootfd, "nest/a/b/c/empty", AT_REMOVEDIR) == 0,
	  "remove", "nest/a/b/c/empty");
	fd = open_deep(rootfd, DEEP_LEVELS / 2);
	M(fd >= 0, "open", "deep");
	{
		char name[256];
		deep_name(name, sizeof(name), DEEP_LEVELS / 2);
		int r2 = rm_tree_at(fd, name);
		close(fd);
		M(r2 == 0, "remove a subtree of", "deep");
	}
	/* new files and folders */
	M(mkfile(s, rootfd, "added-by-upgrade.txt", 0644, "new\n", 4) == 0, "create", "added-by-upgrade.txt");
	M(mkdirat(rootfd, "plugins", 0755) == 0 && mkdirat(rootfd, "plugins/new", 0755) == 0, "create", "plugins/new");
	M(mkfile(s, rootfd, "plugins/new/plugin.jar", 0644, buf, 3000) == 0, "create", "plugins/new/plugin.jar");
	M(symlinkat("../bin/arserverd", rootfd, "plugins/link") == 0, "create", "plugins/link");
	/* attributes */
	if (tested(s, F_XATTR)) {
		M(lsetxattr(fdpath(p, sizeof(p), rootfd, "conf/xattr-file"), "user.zdt.selftest", "changed", 7, 0) == 0,
		  "set an extended attribute on", "conf/xattr-file");
		M(lremovexattr(fdpath(p, sizeof(p), rootfd, "conf/xattr-file"), "user.zdt.binary") == 0,
		  "remove an extended attribute of", "conf/xattr-file");
		M(lsetxattr(fdpath(p, sizeof(p), rootfd, "conf/ar.cfg"), "user.zdt.added", "1", 1, 0) == 0,
		  "set an extended attribute on", "conf/ar.cfg");
	}
	if (tested(s, F_ACL)) {
		unsigned char acl[64];
		size_t an = acl_blob(acl, 6, 6, 4, 4);
		M(lremovexattr(fdpath(p, sizeof(p), rootfd, "conf/acl-file"), "system.posix_acl_access") == 0,
		  "remove the ACL of", "conf/acl-file");
		M(lsetxattr(fdpath(p, sizeof(p), rootfd, "bin/setgid-helper"), "system.posix_acl_access", acl, an, 0) == 0,
		  "set an ACL on", "bin/setgid-helper");
	}
	if (tested(s, F_DEFACL))
		M(lremovexattr(fdpath(p, sizeof(p), rootfd, "acl-dir"), "system.posix_acl_default") == 0,
		  "remove the default ACL of", "acl-dir");
	/* owners */
	if (tested(s, F_OWNER)) {
		M(fchownat(rootfd, "owned/file", 0, 0, AT_SYMLINK_NOFOLLOW) == 0, "chown", "owned/file");
		M(fchownat(rootfd, "owned/link", 0, 0, AT_SYMLINK_NOFOLLOW) == 0, "chown", "owned/link");
		M(fchownat(rootfd, "conf/ar.cfg", ACL_ID, ACL_ID, AT_SYMLINK_NOFOLLOW) == 0, "chown", "conf/ar.cfg");
	}
	/* inside the read-only folder */
	if (tested(s, F_READONLY)) {
		M(fchmodat(rootfd, "ro", 0755, 0) == 0, "chmod", "ro");
		M(unlinkat(rootfd, "ro/file", 0) == 0, "remove", "ro/file");
		M(mkfile(s, rootfd, "ro/file", 0644, "rewritten\n", 10) == 0, "create", "ro/file");
		M(mkfile(s, rootfd, "ro/added", 0644, "added\n", 6) == 0, "create", "ro/added");
		M(fchmodat(rootfd, "ro", 0555, 0) == 0, "chmod", "ro");
	}
	/* mtimes alone: a folder and a symbolic link */
	{
		struct timespec ts[2] = { { 1700000000, 5 }, { 1700000000, 5 } };
		M(utimensat(rootfd, "lib/absolute", ts, AT_SYMLINK_NOFOLLOW) == 0, "touch", "lib/absolute");
		M(utimensat(rootfd, "names", ts, AT_SYMLINK_NOFOLLOW) == 0, "touch", "names");
	}
#undef M
	rc = 0;
out:
	close(rootfd);
	free(buf);
	return rc;
}

#ifdef ZDT_TESTING
/*
 * $ZDT_TEST_SELFTEST_BREAK=WHAT: after the first rollback, undo what it
 * restored of one attribute, as a rollback that forgot it would leave it:
 * mode, owner, mtime, content (same size and mtime), holes (a hole filled
 * with zeros: same bytes), hardlink, target, xattr, acl, type, missing,
 * extra, root (the mtime of the tree's root).
 */
static int test_break(struct selftest *s)
{
	const char *what = getenv("ZDT_TEST_SELFTEST_BREAK");
	int rootfd, fd, rc = 0;
	char p[PATH_MAX];
	struct stat st;
	struct timespec ts[2];

	if (!what || !*what)
		return 0;
	rootfd = openat(s->dirfd, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return failf(s, "ZDT_TEST_SELFTEST_BREAK: no tree");
	if (!strcmp(what, "mode")) {
		rc = fchmodat(rootfd, "bin/setuid-helper", 0755, 0);
	} else if (!strcmp(what, "owner")) {
		rc = fchownat(rootfd, "conf/ar.cfg", getuid() + 1, (gid_t)-1, AT_SYMLINK_NOFOLLOW);
	} else if (!strcmp(what, "mtime")) {
		rc = fstatat(rootfd, "conf/ar.cfg", &st, AT_SYMLINK_NOFOLLOW);
		ts[0] = ts[1] = st.st_mtim;
		ts[1].tv_nsec = (ts[1].tv_nsec + 1) % 1000000000L;
		rc = rc ? rc : utimensat(rootfd, "conf/ar.cfg", ts, AT_SYMLINK_NOFOLLOW);
	} else if (!strcmp(what, "content") || !strcmp(what, "holes")) {
		const char *f = what[0] == 'c' ? "bin/arserverd" : "data/sparse.dat";
		char *z = xcalloc(1, SPARSE_CHUNK);
		rc = fstatat(rootfd, f, &st, AT_SYMLINK_NOFOLLOW);
		fd = openat(rootfd, f, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (rc == 0 && fd >= 0 && what[0] == 'c') {
			unsigned char c;
			rc = pread(fd, &c, 1, 4096) == 1 ? 0 : -1;
			c ^= 0xff;
			rc = rc ? rc : pwrite(fd, &c, 1, 4096) == 1 ? 0 : -1;
		} else if (rc == 0 && fd >= 0) {
			rc = write_all(fd, z, SPARSE_CHUNK, 2 * (off_t)SPARSE_CHUNK);
		}
		free(z);
		ts[0] = st.st_atim;
		ts[1] = st.st_mtim;
		rc = rc || fd < 0 ? -1 : futimens(fd, ts);
		if (fd >= 0)
			close(fd);
	} else if (!strcmp(what, "hardlink")) {
		rc = fstatat(rootfd, "links/b", &st, AT_SYMLINK_NOFOLLOW);
		rc = rc ? rc : mkfile(s, rootfd, "links/b.x", st.st_mode & 07777, "linked\n", 7);
		ts[0] = ts[1] = st.st_mtim;
		rc = rc ? rc : utimensat(rootfd, "links/b.x", ts, AT_SYMLINK_NOFOLLOW);
		rc = rc ? rc : renameat(rootfd, "links/b.x", rootfd, "links/b");
	} else if (!strcmp(what, "target")) {
		rc = unlinkat(rootfd, "lib/libar.so", 0);
		rc = rc ? rc : symlinkat("libar.so.9.2.0", rootfd, "lib/libar.so");
	} else if (!strcmp(what, "xattr")) {
		rc = lsetxattr(fdpath(p, sizeof(p), rootfd, "conf/xattr-file"), "user.zdt.selftest", "broken", 6, 0);
	} else if (!strcmp(what, "acl")) {
		rc = lremovexattr(fdpath(p, sizeof(p), rootfd, "conf/acl-file"), "system.posix_acl_access");
	} else if (!strcmp(what, "type")) {
		rc = unlinkat(rootfd, "lib/dangling", 0);
		rc = rc ? rc : mkfile(s, rootfd, "lib/dangling", 0644, "", 0);
	} else if (!strcmp(what, "missing")) {
		rc = unlinkat(rootfd, "conf/empty.cfg", 0);
	} else if (!strcmp(what, "extra")) {
		rc = mkfile(s, rootfd, "extra-file", 0644, "", 0);
	} else if (!strcmp(what, "root")) {
		rc = fstat(rootfd, &st);
		ts[0] = ts[1] = st.st_mtim;
		ts[1].tv_sec += 1;
		rc = rc ? rc : futimens(rootfd, ts);
	} else {
		rc = -1;
		errno = EINVAL;
	}
	int e = errno;
	close(rootfd);
	if (rc)
		return failf(s, "ZDT_TEST_SELFTEST_BREAK=%s: %s", what, strerror(e));
	return 0;
}
#endif

/* ---- the commands, as child processes ------------------------------------------- */

static void find_exe(struct selftest *s)
{
	ssize_t n = readlink("/proc/self/exe", s->exe, sizeof(s->exe) - 1);
	struct stat st;

	if (n > 0) {
		s->exe[n] = '\0';
		/* replaced since it started (an upgrade of zdt): run the old image */
		if (stat(s->exe, &st) == 0 && !strstr(s->exe, " (deleted)"))
			return;
	}
	snprintf(s->exe, sizeof(s->exe), "/proc/self/exe");
}

/* the first lines of a child's stderr, and its stdout lines that say
 * FAILED (verify's), into s->child_err */
static void keep_child_err(struct selftest *s, const char *out, const char *err)
{
	const char *files[2] = { err, out };
	char line[1024];
	int n = 0;

	sbuf_reset(&s->child_err);
	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "re");
		if (!f)
			continue;
		while (n < 12 && fgets(line, sizeof(line), f)) {
			if (i == 1 && !strstr(line, ": FAILED ("))
				continue;
			sbuf_adds(&s->child_err, line);
			if (line[strlen(line) - 1] != '\n')
				sbuf_addc(&s->child_err, '\n');
			n++;
		}
		fclose(f);
	}
}

/*
 * Runs "zdt --config CONF -b BK --progress never ARGS..." and waits for it;
 * its stdout and stderr go to DIR/log/NN-NAME.out and .err.  A signal to
 * selftest stops the child first, then selftest (check_signal).
 */
static int run(struct selftest *s, const char *name, int want, const char *const *args)
{
	const char *argv[24];
	int n = 0;
	struct step *st;
	char out[PATH_MAX], err[PATH_MAX];

	if (s->nsteps == MAX_STEPS)
		BUG("too many selftest steps");
	st = &s->steps[s->nsteps];
	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->want = want;
	argv[n++] = "zdt";
	argv[n++] = "--config";
	argv[n++] = s->conf;
	argv[n++] = "-b";
	argv[n++] = s->bk;
	argv[n++] = "--progress";
	argv[n++] = "never";
	{
		struct sbuf c = SBUF_INIT;
		for (int i = 0; args[i]; i++) {
			argv[n++] = args[i];
			sbuf_addf(&c, "%s%s", i ? " " : "", args[i]);
		}
		snprintf(st->cmd, sizeof(st->cmd), "%s", c.buf ? c.buf : "");
		sbuf_free(&c);
	}
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/%02d-%s.out", s->log, s->nsteps + 1, name);
	snprintf(err, sizeof(err), "%s/%02d-%s.err", s->log, s->nsteps + 1, name);
	s->nsteps++;

	double t0 = now_mono();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return failf(s, "cannot start %s: %s", name, strerror(errno));
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(126);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		unsetenv("ZDT_BACKUP_DIR");
		unsetenv("ZDT_CONFIG");
		unsetenv("ZDT_AR_PASSWORD");
		execv(s->exe, (char *const *)argv);
		dprintf(2, "zdt: selftest: cannot run '%s': %s\n", s->exe, strerror(errno));
		_exit(127);
	}
	int status = 0;
	for (;;) {
		pid_t w = waitpid(pid, &status, 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return failf(s, "cannot wait for %s: %s", name, strerror(errno));
		if (zdt_signal) {
			/* stop the child before the scratch folder goes */
			kill(pid, SIGTERM);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			check_signal();
		}
	}
	st->elapsed = now_mono() - t0;
	st->exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	verbose("step %d, %s: zdt %s: exit %d (%.2f s)", s->nsteps, name, st->cmd, st->exit, st->elapsed);
	check_signal();
	if (st->exit != want) {
		keep_child_err(s, out, err);
		const char *first = s->child_err.buf ? s->child_err.buf : "";
		return failf(s, "%s exited %d, want %d: %.*s", name, st->exit, want, (int)strcspn(first, "\n"), first);
	}
	return 0;
}

/* the snapshot a backup just made: the newest ID in bk/AR other than have */
static int new_snapshot(struct selftest *s, const char *have, char out[SNAP_ID_MAX])
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/AR", s->bk);
	d = opendir(path);
	if (!d)
		return failf(s, "cannot read the scratch backup folder '%s': %s", path, strerror(errno));
	while ((de = readdir(d))) {
		int partial;
		size_t len = store_parse_name(de->d_name, &partial);
		if (!len || partial || len != strlen(de->d_name) || (have && !strcmp(de->d_name, have)))
			continue;
		if (strcmp(de->d_name, out) > 0)
			snprintf(out, SNAP_ID_MAX, "%.*s", SNAP_ID_MAX - 1, de->d_name);
	}
	closedir(d);
	return out[0] ? 0 : failf(s, "the backup made no complete snapshot in '%s'", path);
}

/* ---- DIR ---------------------------------------------------------------------- */

static int rm_scratch(int dfd, const char *name);

/* removes name below dfd, making its folders writable first (read-only
 * folders of the tree, without root) */
static int rm_scratch(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct dirlist dl;
		int rc = 0;
		if (fd < 0) {
			if (fchmodat(dfd, name, 0700, 0) < 0)
				return -1;
			fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				return -1;
		}
		if ((st.st_mode & 0700) != 0700)
			fchmod(fd, 0700);
		memset(&dl, 0, sizeof(dl));
		rc = dirlist_read(fd, &dl);
		for (size_t i = 0; rc == 0 && i < dl.n; i++)
			rc = rm_scratch(fd, dirlist_name(&dl, i));
		dirlist_release(&dl);
		close(fd);
		if (rc < 0)
			return -1;
		return unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT ? -1 : 0;
	}
	return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
}

static void remove_scratch(struct selftest *s)
{
	static const char *const names[] = { "tree", "bk", "log", "key", "zdt.conf" };
	int rc = 0;

	if (s->keep || s->dirfd < 0)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		rc |= rm_scratch(s->dirfd, names[i]);
	if (s->made && rc == 0 && unlinkat(s->parentfd, s->base, AT_REMOVEDIR) < 0)
		rc = -1;
	if (rc)
		warning_errno("cannot remove all of the scratch folder '%s'", escp(s->dir));
}

static void on_exit_remove(void)
{
	if (cleanup_st)
		remove_scratch(cleanup_st);
	cleanup_st = NULL;
}

/* mkdir name below parentfd, with a random suffix for XXXXXX; 0 or -1 */
static int make_unique(int parentfd, char *name)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char *x = strstr(name, "XXXXXX");

	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -1;
		for (int i = 0; i < 6; i++)
			x[i] = chars[r[i] % (sizeof(chars) - 1)];
		if (mkdirat(parentfd, name, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* DIR as given (new, or an empty folder), or the default; sets dir, dirfd */
static void open_scratch(struct selftest *s, const char *given)
{
	struct sbuf at = SBUF_INIT, to = SBUF_INIT;
	struct stat st;
	char *parent = NULL, *base = NULL;

	if (given) {
		if (!*given)
			die(ZDT_EUSAGE, "invalid DIR '' (a new or empty folder)");
		char *abs = abs_path(given);
		char *slash = strrchr(abs, '/');
		parent = slash == abs ? xstrdup("/") : xasprintf("%.*s", (int)(slash - abs), abs);
		base = xstrdup(slash + 1);
		free(abs);
		if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
			die(ZDT_EUSAGE, "invalid DIR '%s' (a new or empty folder)", escp(given));
		s->parentfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->parentfd < 0)
			die_errno(errno == ENOENT || errno == ENOTDIR ? ZDT_EUSAGE : ZDT_EFAIL,
				  "cannot open the folder of DIR: '%s'", escp(parent));
		if (fstatat(s->parentfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISLNK(st.st_mode))
				die_hint(ZDT_EREFUSED, "give the real folder, or a new one",
					 "DIR is a symbolic link: '%s'", escp(given));
			if (!S_ISDIR(st.st_mode))
				die_hint(ZDT_EREFUSED, "give a new or empty folder", "DIR is not a folder: '%s'", escp(given));
			int fd = openat(s->parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct dirlist dl;
			memset(&dl, 0, sizeof(dl));
			if (fd < 0 || dirlist_read(fd, &dl) < 0)
				die_errno(ZDT_EFAIL, "cannot read DIR: '%s'", escp(given));
			close(fd);
			size_t n = dl.n;
			dirlist_release(&dl);
			if (n)
				die_hint(ZDT_EREFUSED, "give a new or empty folder: selftest fills it and removes what it made",
					 "DIR exists and is not empty: '%s'", escp(given));
		} else if (errno != ENOENT) {
			die_errno(ZDT_EFAIL, "cannot stat DIR: '%s'", escp(given));
		} else if (mkdirat(s->parentfd, base, 0700) < 0) {
			die_errno(ZDT_EFAIL, "cannot create DIR: '%s'", escp(given));
		} else {
			s->made = 1;
		}
	} else {
		/* the backup folder's file system: a new folder inside it */
		int bfd = s->z->backup_dir ? open_dir_nofollow(s->z->backup_dir, 0, &at, &to) : -1;
		base = xstrdup("selftest.XXXXXX");
		if (bfd >= 0 && make_unique(bfd, base) == 0) {
			parent = xstrdup(s->z->backup_dir);
			s->parentfd = bfd;
		} else {
			if (s->z->backup_dir)
				note("cannot create a scratch folder in the backup folder '%s' (%s): using %s",
				     escp(s->z->backup_dir), strerror(errno), SELFTEST_TMP);
			if (bfd >= 0)
				close(bfd);
			free(base);
			base = xstrdup("zdt-selftest.XXXXXX");
			parent = xstrdup(SELFTEST_TMP);
			s->parentfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (s->parentfd < 0 || make_unique(s->parentfd, base) < 0)
				die_errno(ZDT_EFAIL, "cannot create a scratch folder in '%s'", escp(parent));
		}
		s->made = 1;
	}
	s->base = base;
	s->dirfd = openat(s->parentfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->dirfd < 0)
		die_errno(ZDT_EFAIL, "cannot open the scratch folder '%s/%s'", escp(parent), escp(base));
	if (s->made)
		fchmod(s->dirfd, 0700);
	/* from here, the scratch folder goes away however the run ends */
	cleanup_st = s;
	err_on_exit(on_exit_remove);
	/* the children need a path without symbolic links (they refuse them) */
	char pp[PATH_MAX];
	snprintf(pp, sizeof(pp), "/proc/self/fd/%d", s->dirfd);
	s->dir = realpath(pp, NULL);
	if (!s->dir)
		die_errno(ZDT_EFAIL, "cannot resolve the scratch folder '%s/%s'", escp(parent), escp(base));
	free(parent);
	sbuf_free(&at);
	sbuf_free(&to);
}

/* the file system of DIR from /proc/self/mountinfo: the mount whose point
 * is the longest prefix of DIR */
static void describe_fs(struct selftest *s)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t best = 0;
	struct stat st;

	snprintf(s->fstype, sizeof(s->fstype), "?");
	snprintf(s->mntopts, sizeof(s->mntopts), "?");
	if (fstat(s->dirfd, &st) == 0)
		snprintf(s->device, sizeof(s->device), "%u:%u", major(st.st_dev), minor(st.st_dev));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *fld[12], *save = NULL, *dash;
		int n = 0;
		dash = strstr(line, " - ");
		if (!dash)
			continue;
		*dash = '\0';
		for (char *t = strtok_r(line, " ", &save); t && n < 12; t = strtok_r(NULL, " ", &save))
			fld[n++] = t;
		if (n < 6)
			continue;
		/* the mount point, unescaped (\040 and friends) */
		struct sbuf mp = SBUF_INIT;
		for (const char *c = fld[4]; *c; c++) {
			if (c[0] == '\\' && c[1] >= '0' && c[1] <= '3' && c[2] && c[3]) {
				sbuf_addc(&mp, (char)((c[1] - '0') * 64 + (c[2] - '0') * 8 + (c[3] - '0')));
				c += 3;
			} else {
				sbuf_addc(&mp, *c);
			}
		}
		size_t l = mp.len;
		int under = !strcmp(mp.buf, "/") ? 1 : !strncmp(s->dir, mp.buf, l) && (s->dir[l] == '/' || !s->dir[l]);
		if (under && l >= best) {
			char type[64] = "?";
			sscanf(dash + 3, "%63s", type);
			best = l;
			snprintf(s->fstype, sizeof(s->fstype), "%s", type);
			snprintf(s->mntopts, sizeof(s->mntopts), "%s", fld[5]);
		}
		sbuf_free(&mp);
	}
	fclose(f);
}

static int write_private(struct selftest *s, const char *name, const void *data, size_t n)
{
	int fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 || write_all(fd, data, n, 0) < 0 || fchmod(fd, 0600) < 0 || close(fd) < 0)
		return failf(s, "cannot write '%s/%s': %s", s->dir, name, strerror(errno));
	return 0;
}

/* ---- the report --------------------------------------------------------------- */

static void print_diffs(struct selftest *s, FILE *out)
{
	for (size_t i = 0; i < s->nd && i < MAX_SHOWN; i++) {
		struct sbuf p = SBUF_INIT, g = SBUF_INIT, w = SBUF_INIT;
		/* targets and hardlink groups are paths: escaped as paths */
		int paths = !strcmp(s->d[i].attr, "target") || !strcmp(s->d[i].attr, "hardlink");
		esc_path(&p, s->d[i].path);
		if (paths && strcmp(s->d[i].got, "not linked"))
			esc_path(&g, s->d[i].got);
		else
			sbuf_adds(&g, s->d[i].got);
		if (paths && strcmp(s->d[i].want, "not linked"))
			esc_path(&w, s->d[i].want);
		else
			sbuf_adds(&w, s->d[i].want);
		fprintf(out, "difference %s: '%s': %s %s, want %s\n", s->d[i].phase, p.buf, s->d[i].attr, g.buf, w.buf);
		sbuf_free(&p);
		sbuf_free(&g);
		sbuf_free(&w);
	}
	if (s->ndtotal > MAX_SHOWN)
		fprintf(out, "... and %zu more difference%s\n", s->ndtotal - MAX_SHOWN,
			s->ndtotal - MAX_SHOWN == 1 ? "" : "s");
}

static void report(struct selftest *s, const char *verdict, int ok)
{
	struct zdt *z = s->z;
	FILE *out = z->out;

	if (zdt_verbosity >= 1) {
		fprintf(out, "selftest: '%s': %s (%s), device %s, as %s\n", s->dir ? s->dir : "?", s->fstype,
			s->mntopts, s->device, s->root ? "root" : "a user without root");
		for (int f = 0; f < F_N; f++)
			if (s->f[f].state != FEAT_TESTED)
				fprintf(out, "unsupported: %s (%s): %s%s\n", feat_names[f].name, feat_names[f].what,
					s->f[f].why, s->f[f].state == FEAT_UNSUPPORTED ? "; not tested" : "");
	}
	if (!ok || zdt_verbosity >= 1) {
		print_diffs(s, out);
		if (!ok && s->child_err.len) {
			for (const char *l = s->child_err.buf; *l;) {
				size_t n = strcspn(l, "\n");
				fprintf(out, "  | %.*s\n", (int)n, l);
				l += n + (l[n] == '\n');
			}
		}
		fprintf(out, "%s\n", verdict);
		if (s->keep)
			fprintf(out, "selftest: kept '%s'\n", s->dir);
		else if (!ok)
			fprintf(out, "hint: 'zdt selftest --keep' keeps the scratch folder and the commands' logs\n");
	}
	if (!z->json)
		return;
	struct json j;
	json_init(&j, z->jf);
	json_obj(&j, NULL);
	json_str(&j, "command", "selftest");
	json_bool(&j, "ok", ok);
	json_str(&j, "verdict", verdict);
	json_str(&j, "dir", s->dir ? s->dir : "");
	json_bool(&j, "kept", s->keep);
	json_obj(&j, "file_system");
	json_str(&j, "type", s->fstype);
	json_str(&j, "mount_options", s->mntopts);
	json_str(&j, "device", s->device);
	json_end(&j);
	json_bool(&j, "root", s->root);
	json_arr(&j, "features");
	for (int f = 0; f < F_N; f++) {
		static const char *const st[] = { "tested", "unsupported", "no-effect" };
		json_obj(&j, NULL);
		json_str(&j, "name", feat_names[f].name);
		json_str(&j, "description", feat_names[f].what);
		json_str(&j, "status", st[s->f[f].state]);
		if (s->f[f].state != FEAT_TESTED)
			json_str(&j, "reason", s->f[f].why);
		else
			json_null(&j, "reason");
		json_end(&j);
	}
	json_end(&j);
	json_arr(&j, "unsupported");
	for (int f = 0; f < F_N; f++) {
		if (s->f[f].state == FEAT_TESTED)
			continue;
		json_obj(&j, NULL);
		json_str(&j, "feature", feat_names[f].name);
		json_str(&j, "reason", s->f[f].why);
		json_bool(&j, "compared", s->f[f].state == FEAT_NO_EFFECT);
		json_end(&j);
	}
	json_end(&j);
	json_u64(&j, "paths", s->paths);
	json_u64(&j, "changes", s->changes);
	json_arr(&j, "steps");
	for (int i = 0; i < s->nsteps; i++) {
		json_obj(&j, NULL);
		json_str(&j, "name", s->steps[i].name);
		json_str(&j, "args", s->steps[i].cmd);
		json_i64(&j, "exit", s->steps[i].exit);
		json_i64(&j, "expected", s->steps[i].want);
		json_dbl(&j, "elapsed_s", s->steps[i].elapsed);
		json_end(&j);
	}
	json_end(&j);
	json_u64(&j, "differences_total", s->ndtotal);
	json_arr(&j, "differences");
	for (size_t i = 0; i < s->nd; i++) {
		json_obj(&j, NULL);
		json_str(&j, "phase", s->d[i].phase);
		json_str(&j, "path", s->d[i].path);
		json_str(&j, "attribute", s->d[i].attr);
		json_str(&j, "got", s->d[i].got);
		json_str(&j, "want", s->d[i].want);
		json_end(&j);
	}
	json_end(&j);
	if (!ok)
		json_str(&j, "error", s->fail);
	else
		json_null(&j, "error");
	json_dbl(&j, "elapsed_s", now_mono() - s->t0);
	json_end(&j);
}

/* ---- the command ---------------------------------------------------------------- */

static int check_equal(struct selftest *s, const char *phase, const struct record *want)
{
	struct record now;

	if (record(s, &now) < 0)
		return -1;
	uint64_t n = compare(s, phase, want, &now);
	rec_free(&now);
	if (n)
		return failf(s, "%" PRIu64 " difference%s %s", n, n == 1 ? "" : "s", phase);
	return 0;
}

static int selftest_run(struct selftest *s)
{
	struct record r0, r1;
	int rc = -1, rootfd;
	unsigned n = 0;
	char conf[512], keyb[32];

	memset(&r0, 0, sizeof(r0));
	memset(&r1, 0, sizeof(r1));
	/* the private config, the key, the logs */
	snprintf(conf, sizeof(conf), "# zdt selftest: the private configuration of its commands (the\n"
		 "# configured backup folder and settings do not apply to them)\n");
	if (getrandom(keyb, sizeof(keyb), 0) != (ssize_t)sizeof(keyb)) {
		failf(s, "cannot make a key: %s", strerror(errno));
		goto out;
	}
	if (write_private(s, "zdt.conf", conf, strlen(conf)) < 0 || write_private(s, "key", keyb, sizeof(keyb)) < 0)
		goto out;
	explicit_bzero(keyb, sizeof(keyb));
	if (mkdirat(s->dirfd, "log", 0700) < 0) {
		failf(s, "cannot create '%s/log': %s", s->dir, strerror(errno));
		goto out;
	}

	/* the tree, its mtimes, its record */
	if (mkdirat(s->dirfd, "tree", 0700) < 0) {
		failf(s, "cannot create '%s/tree': %s", s->dir, strerror(errno));
		goto out;
	}
	rootfd = openat(s->dirfd, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0) {
		failf(s, "cannot open '%s/tree': %s", s->dir, strerror(errno));
		goto out;
	}
	s->stage = "build";
	rc = build_tree(s, rootfd);
	if (rc == 0 && fchmod(rootfd, 0755) < 0)
		rc = sysfail(s, "chmod", ".");
	if (rc == 0)
		rc = set_times(s, s->dirfd, "tree", ".", &n);
	close(rootfd);
	if (rc < 0 || record(s, &r0) < 0)
		goto fail;
	s->paths = r0.n;
	check_signal();

	/* two snapshots, both verified; the tree untouched */
	const char *b1[] = { "backup", "-c", "AR", "--key-file", s->key, "--reserve", "1M", s->tree, NULL };
	const char *b2[] = { "backup", "-c", "AR", "--key-file", s->key, "--reserve", "1M", "--compress", "gzip:1",
			     s->tree, NULL };
	const char *v[] = { "verify", "--all", "--key-file", s->key, NULL };
	if (run(s, "backup", 0, b1) < 0 || new_snapshot(s, NULL, s->snap_a) < 0 ||
	    run(s, "backup-gzip", 0, b2) < 0 || new_snapshot(s, s->snap_a, s->snap_b) < 0 ||
	    run(s, "verify", 0, v) < 0 || check_equal(s, "after the backups", &r0) < 0)
		goto fail;

	/* the upgrade: it must change things, and diff must see it */
	s->stage = "change";
	if (mutate(s) < 0 || record(s, &r1) < 0)
		goto fail;
	s->changes = compare(s, NULL, &r0, &r1);
	s->ndtotal = 0;
	if (s->changes < 20) {
		failf(s, "the simulated upgrade changed only %" PRIu64 " attributes: the test would prove nothing",
		      s->changes);
		goto fail;
	}
	const char *d1[] = { "diff", "-c", "AR", "--snapshot", s->snap_a, NULL };
	if (run(s, "diff", 1, d1) < 0)
		goto fail;

	/* the differential rollback */
	const char *rb1[] = { "rollback", "-c", "AR", "--snapshot", s->snap_a, "--key-file", s->key, NULL };
	if (run(s, "rollback", 0, rb1) < 0)
		goto fail;
#ifdef ZDT_TESTING
	if (test_break(s) < 0)
		goto fail;
#endif
	if (check_equal(s, "after the rollback", &r0) < 0)
		goto fail;
	const char *d2[] = { "diff", "-c", "AR", "--snapshot", s->snap_a, "--checksum", NULL };
	if (run(s, "diff-after", 0, d2) < 0)
		goto fail;

	/* into an empty folder, from the gzip snapshot */
	if (rm_scratch(s->dirfd, "tree") < 0) {
		failf(s, "cannot remove the scratch tree: %s", strerror(errno));
		goto fail;
	}
	const char *rb2[] = { "rollback", "-c", "AR", "--snapshot", s->snap_b, "--key-file", s->key, NULL };
	if (run(s, "rollback-empty", 0, rb2) < 0 ||
	    check_equal(s, "after the rollback into an empty folder", &r0) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	rc = -1;
out:
	rec_free(&r0);
	rec_free(&r1);
	return rc;
}

int cmd_selftest(struct zdt *z, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "keep", no_argument, NULL, OPT_CMD },
		ZDT_GLOBAL_LONG,
		{ NULL, 0, NULL, 0 },
	};
	struct selftest s;
	int c;

	memset(&s, 0, sizeof(s));
	s.z = z;
	s.dirfd = s.parentfd = -1;
	s.t0 = now_mono();
	while ((c = zdt_getopt(z, argc, argv, "", lo)) != -1)
		if (c == OPT_CMD)
			s.keep = 1;
	if (argc - optind > 1)
		zdt_usage_error(z, "too many arguments (one DIR)");
	zdt_setup(z);
	s.root = geteuid() == 0;
	find_exe(&s);
	open_scratch(&s, optind < argc ? argv[optind] : NULL);
	describe_fs(&s);
	s.tree = xasprintf("%s/tree", s.dir);
	s.bk = xasprintf("%s/bk", s.dir);
	s.conf = xasprintf("%s/zdt.conf", s.dir);
	s.key = xasprintf("%s/key", s.dir);
	s.log = xasprintf("%s/log", s.dir);

	int rc = selftest_run(&s);
	char verdict[2048];
	if (rc == 0) {
		struct sbuf un = SBUF_INIT;
		int nt = 0;
		for (int f = 0; f < F_N; f++) {
			if (s.f[f].state == FEAT_TESTED) {
				nt++;
				continue;
			}
			nt += s.f[f].state == FEAT_NO_EFFECT;
			sbuf_addf(&un, "%s%s (%s)", un.len ? ", " : "", feat_names[f].name,
				  s.f[f].state == FEAT_NO_EFFECT ? "kept, no effect" : "skipped");
		}
		snprintf(verdict, sizeof(verdict),
			 "selftest: ok (%s at '%s': %" PRIu64 " paths, %d features, every attribute equal after 2 "
			 "backups, a rollback of %" PRIu64 " changes and a rollback into an empty folder; "
			 "not supported here: %s; %.1f s)", s.fstype, s.dir, s.paths, nt, s.changes,
			 un.len ? un.buf : "none", now_mono() - s.t0);
		sbuf_free(&un);
	} else {
		snprintf(verdict, sizeof(verdict), "selftest: FAILED: %s", s.fail);
		if (s.nd) {
			struct sbuf p = SBUF_INIT;
			esc_path(&p, s.d[0].path);
			size_t l = strlen(verdict);
			snprintf(verdict + l, sizeof(verdict) - l, " (first: '%s': %s)", p.buf, s.d[0].attr);
			sbuf_free(&p);
		}
	}
	report(&s, verdict, rc == 0);

	remove_scratch(&s);
	cleanup_st = NULL;
	for (size_t i = 0; i < s.nd; i++) {
		free(s.d[i].path);
		free(s.d[i].attr);
		free(s.d[i].got);
		free(s.d[i].want);
	}
	free(s.d);
	sbuf_free(&s.child_err);
	if (s.dirfd >= 0)
		close(s.dirfd);
	if (s.parentfd >= 0)
		close(s.parentfd);
	free(s.dir);
	free(s.base);
	free(s.tree);
	free(s.bk);
	free(s.conf);
	free(s.key);
	free(s.log);
	return rc == 0 ? 0 : ZDT_EFAIL;
}
