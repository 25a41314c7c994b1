/*
 * preflight.h - the checks rollback makes before its first write, beyond
 * those of plan.h (manifest, needed members) and restore.c (free space,
 * busy processes, server): the install folder's file system is writable,
 * no path the plan changes is immutable or append-only, and the report of
 * excluded paths that changed since the snapshot.
 *
 *     struct preflight pf;
 *     preflight_init(&pf, &r);         before rb_merge(&r, RB_PLAN)
 *     preflight_change(&pf, ...)       from the plan's report callback
 *     preflight_excluded(&pf, ...)     from the plan's excluded callback
 *     preflight_readonly(&r);          after the plan (exit 3)
 *     preflight_excluded_report(&pf, json);
 *     preflight_release(&pf);
 *
 * A refusal exits 3 at once, naming the path: nothing has been written.
 */
#ifndef ZDT_PREFLIGHT_H
#define ZDT_PREFLIGHT_H

#include <stdint.h>
#include <sys/stat.h>

#include "plan.h"

struct json;

/* how many excluded paths are named, in text and in JSON */
#define PF_EXCL_TEXT 20
#define PF_EXCL_JSON 1000

struct preflight {
	struct rbctx *r;
	struct sbuf parent;	/* the folder last checked as a parent */
	char **excl;		/* excluded paths changed since the snapshot */
	size_t nexcl;
	uint64_t nexcl_total;
	uint64_t checked;	/* paths whose inode flags were read */
};

void preflight_init(struct preflight *pf, struct rbctx *r);
void preflight_release(struct preflight *pf);

/* one change of the plan: the path itself (when it exists, is a file or a
 * folder), its folder when an entry is created, replaced or removed there,
 * and a whole folder that is removed */
void preflight_change(struct preflight *pf, unsigned ch, const char *rel, const struct stat *st);

/* an excluded live path (rel, name in dfd): it and, for a folder, what it
 * holds are remembered when their mtime is after the snapshot's creation */
void preflight_excluded(struct preflight *pf, int dfd, const char *name, const char *rel);

/* exit 3 when the install folder's file system is mounted read-only */
void preflight_readonly(struct rbctx *r);

/* a warning per remembered excluded path (at most PF_EXCL_TEXT, then "and
 * N more") */
void preflight_excluded_report(struct preflight *pf);
/* the array "excluded_changed" and "excluded_changed_count" into j */
void preflight_excluded_json(struct preflight *pf, struct json *j);

#endif
