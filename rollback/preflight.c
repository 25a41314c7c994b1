/*
 * preflight.c - the checks rollback makes before its first write; see
 * preflight.h.
 *
 * Inode flags are read through descriptors opened without following any
 * symbolic link: the folder of a path is the plan's own descriptor of the
 * folder it is comparing (rbctx.cur_dfd, opened with O_NOFOLLOW from the
 * install folder down), and the path itself is opened relative to it with
 * O_NOFOLLOW, after an fstatat() said it is a regular file or a folder
 * (opening a device or a FIFO could have side effects, and their flags
 * would be the driver's business).  The plan reports changes folder by
 * folder, so each folder's flags are read once, and each path costs one
 * openat() and one ioctl().
 */
#include "preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../common/atomic.h"
#include "../common/component.h"
#include "../common/fsops.h"
#include "../common/json.h"
#include "../zdt.h"

void preflight_init(struct preflight *pf, struct rbctx *r)
{
	memset(pf, 0, sizeof(*pf));
	pf->r = r;
}

void preflight_release(struct preflight *pf)
{
	sbuf_free(&pf->parent);
	for (size_t i = 0; i < pf->nexcl; i++)
		free(pf->excl[i]);
	free(pf->excl);
	memset(pf, 0, sizeof(*pf));
}

_Noreturn static void refuse(struct preflight *pf, const char *rel, unsigned fl, const char *why)
{
	struct sbuf p = SBUF_INIT, h = SBUF_INIT;
	const char *flag = fl & FS_ATTR_IMMUTABLE ? "immutable (chattr +i)" : "append-only (chattr +a)";

	esc_path(&p, rel);
	sbuf_addf(&h, "'lsattr -d' shows it; if the change is intended, clear the flag (chattr %s) and run the rollback again",
		  fl & FS_ATTR_IMMUTABLE ? "-i" : "-a");
	die_hint(ZDT_EREFUSED, h.buf, "'%s/%s' is %s: rolling back %s must %s; nothing was changed",
		 escp(pf->r->root), strcmp(rel, ".") ? p.buf : ".", flag, component_name(pf->r->comp), why);
}

/* the flags of a file or folder fd; an unreadable answer is no answer */
static unsigned flags_of(int fd)
{
	unsigned fl = 0;

	if (fs_attr_flags(fd, &fl) < 0)
		return 0;
	return fl & (FS_ATTR_IMMUTABLE | FS_ATTR_APPEND);
}

/* name in dfd, when it is a regular file or a folder: its flags */
static unsigned flags_at(int dfd, const char *name)
{
	struct stat st, st2;
	unsigned fl;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
		return 0;
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	fl = fstat(fd, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev ? flags_of(fd) : 0;
	close(fd);
	return fl;
}

/* the folder holding rel: the plan's descriptor of the folder it is
 * comparing (rel is one of its entries), -1 inside a folder the plan
 * creates; the folder's own flags are checked once */
static int parent_of(struct preflight *pf, const char *rel, const char **base)
{
	const char *slash = strrchr(rel, '/');
	size_t n = slash ? (size_t)(slash - rel) : 0;
	int dfd = pf->r->cur_dfd;

	*base = slash ? slash + 1 : rel;
	if (dfd < 0)
		return -1;
	if (pf->parent.buf && pf->parent.len == n && !strncmp(pf->parent.buf, rel, n))
		return dfd;
	sbuf_reset(&pf->parent);
	sbuf_add(&pf->parent, rel, n);
	unsigned fl = flags_of(dfd);
	pf->checked++;
	if (fl)
		refuse(pf, n ? pf->parent.buf : ".", fl, "create, replace or remove entries in this folder");
	return dfd;
}

struct subwalk {
	struct preflight *pf;
	const char *top;
	struct sbuf rel;
};

static int removed_cb(void *arg, struct walk_ent *e)
{
	struct subwalk *w = arg;
	struct rbctx *r = w->pf->r;

	sbuf_reset(&w->rel);
	sbuf_adds(&w->rel, w->top);
	if (strcmp(e->rel, ".")) {
		sbuf_addc(&w->rel, '/');
		sbuf_adds(&w->rel, e->rel);
		if (path_excluded(r->h.exclude, r->h.nexclude, w->rel.buf, e->name))
			return WALK_SKIP;	/* spared by the removal */
	}
	unsigned fl = 0;
	if (S_ISDIR(e->st.st_mode))
		fl = flags_of(e->fd);
	else if (S_ISREG(e->st.st_mode))
		fl = flags_at(e->parent, e->name);
	w->pf->checked++;
	if (fl)
		refuse(w->pf, w->rel.buf, fl, S_ISDIR(e->st.st_mode) ? "remove this folder and what it holds"
		       : "remove this file");
	return 0;
}

void preflight_change(struct preflight *pf, unsigned ch, const char *rel, const struct stat *st)
{
	struct rbctx *r = pf->r;
	const char *base = rel;
	int dfd = r->rootfd;

	if (r->rootfd < 0)
		return;		/* the install folder is created: nothing there yet */
	if (strcmp(rel, ".")) {
		dfd = parent_of(pf, rel, &base);
		if (dfd < 0)
			return;	/* inside a folder the plan creates */
	}
	if (!st)
		return;		/* created: its folder was checked */
	if (!(S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)))
		return;
	unsigned fl = strcmp(rel, ".") ? flags_at(dfd, base) : flags_of(r->rootfd);
	pf->checked++;
	if (fl)
		refuse(pf, rel, fl, ch & (CH_ADDED | CH_TYPE) ? "remove it" :
		       ch & (CH_CONTENT | CH_TARGET | CH_LINK) ? "replace it" : "change its metadata");
	if (S_ISDIR(st->st_mode) && (ch & (CH_ADDED | CH_TYPE))) {
		/* a folder removed with what it holds */
		int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return;
		struct subwalk w = { pf, rel, SBUF_INIT };
		walk_tree(fd, 0, removed_cb, &w);
		sbuf_free(&w.rel);
		close(fd);
	}
}

void preflight_readonly(struct rbctx *r)
{
	struct statvfs vf;
	int rc;

	if (r->rootfd >= 0) {
		rc = fstatvfs(r->rootfd, &vf);
	} else {
		/* the install folder is created: its nearest existing ancestor */
		char *p = real_path_prefix(r->root);
		for (;;) {
			rc = statvfs(*p ? p : "/", &vf);
			char *s = strrchr(p, '/');
			if (rc == 0 || !s)
				break;
			*s = '\0';
		}
		free(p);
	}
	if (rc == 0 && (vf.f_flag & ST_RDONLY))
		die_hint(ZDT_EREFUSED, "remount it read-write (mount -o remount,rw MOUNTPOINT), then run the rollback again",
			 "the install folder's file system is mounted read-only: '%s'; rolling back %s must write there; "
			 "nothing was changed", escp(r->root), component_name(r->comp));
}

/* ---- excluded paths that changed ---------------------------------------- */

static void excl_add(struct preflight *pf, const char *rel)
{
	pf->nexcl_total++;
	if (pf->nexcl >= PF_EXCL_JSON)
		return;
	pf->excl = xrealloc(pf->excl, (pf->nexcl + 1) * sizeof(*pf->excl));
	pf->excl[pf->nexcl++] = xstrdup(rel);
}

static int newer(const struct preflight *pf, const struct stat *st)
{
	return st->st_mtim.tv_sec > pf->r->si.created;
}

static int excl_cb(void *arg, struct walk_ent *e)
{
	struct subwalk *w = arg;

	check_signal();
	if (!strcmp(e->rel, "."))
		return 0;	/* the excluded folder itself: done by the caller */
	if (newer(w->pf, &e->st)) {
		sbuf_reset(&w->rel);
		sbuf_addf(&w->rel, "%s/%s", w->top, e->rel);
		excl_add(w->pf, w->rel.buf);
	}
	return 0;
}

void preflight_excluded(struct preflight *pf, int dfd, const char *name, const char *rel)
{
	struct stat st;

	if (dfd < 0 || fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (newer(pf, &st))
		excl_add(pf, rel);
	if (!S_ISDIR(st.st_mode))
		return;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	struct subwalk w = { pf, rel, SBUF_INIT };
	walk_tree(fd, 0, excl_cb, &w);
	sbuf_free(&w.rel);
	close(fd);
}

void preflight_excluded_report(struct preflight *pf)
{
	struct rbctx *r = pf->r;
	char t[32];

	for (size_t i = 0; i < pf->nexcl && i < PF_EXCL_TEXT; i++) {
		struct sbuf p = SBUF_INIT;
		esc_path(&p, pf->excl[i]);
		warning("%s: '%s' was excluded from the snapshot and changed since %s; it is left as it is, by design",
			component_name(r->comp), p.buf, fmt_time(t, sizeof(t), r->si.created));
		sbuf_free(&p);
	}
	if (pf->nexcl_total > PF_EXCL_TEXT)
		warning("%s: and %llu more excluded paths changed since the snapshot, left as they are",
			component_name(r->comp), (unsigned long long)(pf->nexcl_total - PF_EXCL_TEXT));
}

void preflight_excluded_json(struct preflight *pf, struct json *j)
{
	json_arr(j, "excluded_changed");
	for (size_t i = 0; i < pf->nexcl; i++)
		json_str(j, NULL, pf->excl[i]);
	json_end(j);
	json_u64(j, "excluded_changed_count", pf->nexcl_total);
}
