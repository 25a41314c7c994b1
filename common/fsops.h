/*
 * fsops.h - file-system walking and safe paths, all through directory
 * descriptors.
 *
 * open_dir_nofollow() resolves a path one component at a time from "/" with
 * O_NOFOLLOW, so that no folder on the way may be a symbolic link; it is how
 * zdt opens the backup folder.  Everything afterwards is done relative to
 * the descriptor it returns: a path string is never resolved twice.
 *
 * walk_tree() visits a tree depth-first, "." first, siblings in bytewise
 * name order: the canonical order of manifest.h, so that a walk and a
 * manifest can be merged as two sorted streams.  It holds the names of one
 * folder per level, never the whole tree.  Folders are opened with
 * O_NOFOLLOW|O_DIRECTORY relative to their parent: one the listing names as
 * a folder is opened first and its status taken from the descriptor, any
 * other is checked to be the folder that was stat'ed; symbolic links are
 * never followed.
 *
 * rm_tree_at() removes a file or a whole tree below dirfd without following
 * symbolic links (a link is removed as a link).
 */
#ifndef ZDT_FSOPS_H
#define ZDT_FSOPS_H

#include <stdint.h>
#include <sys/stat.h>

#include "util.h"

/*
 * Opens PATH as a folder.  create: mkdir the last component (mode 0700) when
 * missing.  On a symlink anywhere in PATH: -1 with errno ELOOP, *link_at set
 * to the path up to the link and *link_to to its target.  Other failures: -1
 * with errno, *link_at set to the component that failed.
 */
int open_dir_nofollow(const char *path, int create, struct sbuf *link_at, struct sbuf *link_to);

/* "a" is "b" or inside it (after realpath of both); 1, 0, -1 on error */
int path_inside(const char *a, const char *b);
/* realpath of path, or of its nearest existing ancestor plus the rest */
char *real_path_prefix(const char *path);
/* absolute, lexically normalised copy of path (relative to the cwd) */
char *abs_path(const char *path);

struct walk_ent {
	int parent;		/* descriptor of the folder holding the entry */
	const char *name;	/* name in parent; "." for the root */
	const char *rel;	/* path from the root; "." for the root */
	struct stat st;		/* lstat; see WALK_LAZY_REG */
	int fd;			/* folders: open descriptor, valid in the callback */
	int depth;
};

/* Regular files (by d_type) are not stat'ed: st.st_mode is S_IFREG only and
 * the callback opens and fstat()s them itself. */
#define WALK_LAZY_REG 1u
/* Says nothing: a failure is only the -1, a vanished entry is skipped (for
 * a second walk beside one that reports) */
#define WALK_QUIET 2u

/* 0: go on; WALK_SKIP: do not descend into this folder; < 0: stop */
#define WALK_SKIP 1
typedef int (*walk_fn)(void *arg, struct walk_ent *e);

/* Returns 0, or the callback's negative value, or -1 after printing an
 * error for a folder that could not be read. */
int walk_tree(int rootfd, unsigned flags, walk_fn fn, void *arg);
/* the same for a folder at path REL of a tree: the root entry's rel is REL,
 * the others' REL/...; its parent is -1 as walk_tree()'s root */
int walk_tree_at(int rootfd, const char *rel, unsigned flags, walk_fn fn, void *arg);

int rm_tree_at(int dirfd, const char *name);

/*
 * rm_tree_spare() is rm_tree_at() that leaves alone every path matching the
 * exclude globs (path_excluded()) and the folders holding them; rel holds
 * the path of name from the tree's root and is restored on return.
 * 0: all removed, 1: something was spared, -1: error.
 */
int rm_tree_spare(int dirfd, const char *name, struct sbuf *rel, char *const *globs, int n);

/* the names of one folder, sorted bytewise */
struct dirent_ref {
	size_t off;
	unsigned char dtype;
};
struct dirlist {
	struct sbuf names;	/* NUL-separated */
	struct dirent_ref *v;
	size_t n, cap;
};
int dirlist_read(int fd, struct dirlist *dl);
void dirlist_release(struct dirlist *dl);
#define dirlist_name(dl, i) ((dl)->names.buf + (dl)->v[i].off)

/* --exclude semantics: the glob matches the relative path (fnmatch without
 * flags, so '*' crosses '/'), or, for a glob without '/', the name */
int path_excluded(char *const *globs, int n, const char *rel, const char *name);

/* descriptor of the folder holding rel (relative to rootfd), reached one
 * component at a time with O_NOFOLLOW; *base is the last component */
int open_parent_nofollow(int rootfd, const char *rel, const char **base);
int fsync_fd_dir(int dirfd);
/* pwrite() of all n bytes at off (EINTR retried); 0, or -1 with errno */
int pwrite_all(int fd, const void *buf, size_t n, uint64_t off);

/*
 * The inode flags of an open file or folder (FS_IOC_GETFLAGS): *flags gets
 * FS_ATTR_IMMUTABLE and FS_ATTR_APPEND where set.  0, or -1 with errno;
 * a file system without inode flags (ENOTTY, EOPNOTSUPP, EINVAL) gives 0
 * with no flag.  Only call it on regular files and folders: on a device or
 * FIFO the ioctl would go to the driver.
 */
#define FS_ATTR_IMMUTABLE 1u
#define FS_ATTR_APPEND 2u
int fs_attr_flags(int fd, unsigned *flags);

/* O_DIRECT on (on != 0) or off for fd: 0, or -1 with errno (the file
 * system may refuse it) */
int fd_direct(int fd, int on);

#endif
