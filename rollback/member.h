/*
 * member.h - one archive member checked against its manifest entry; shared
 * by verify and by rollback's check of the members it needs.
 *
 * member_path() is the member's path as the manifest writes it (no trailing
 * slash on folders, "." for the root).  member_check() compares type, mode,
 * owner, mtime, attributes, link targets and, for files, reads the data
 * and compares size and XXH3-128; it calls bad() once per difference and
 * returns 0, or -1 when the archive itself failed while reading the data.
 */
#ifndef ZDT_MEMBER_H
#define ZDT_MEMBER_H

#include <stdint.h>

#include "../common/manifest.h"
#include "../common/progress.h"

struct archive;
struct archive_entry;

#define MEMBER_ZBUF (1u << 20)

typedef void (*member_bad_fn)(void *arg, const struct mentry *m, int64_t offset, const char *why);

void member_path(struct sbuf *sb, struct archive_entry *e);
char member_type(struct archive_entry *e);
/* zeros: MEMBER_ZBUF zero bytes; p: progress or NULL */
/* the same without the data: -1 when the types differ (nothing more is
 * compared then), 0 otherwise */
int member_check_head(struct archive_entry *e, const struct mentry *m, member_bad_fn bad, void *arg);
int member_check(struct archive *a, struct archive_entry *e, const struct mentry *m,
		 const char *zeros, struct progress *p, member_bad_fn bad, void *arg);
/* appends rollback's line for one damaged member of snapshot name (no
 * newline): "damaged snapshot NAME: 'PATH': WHY[ (its data starts ...)]" */
void member_bad_line(struct sbuf *sb, const char *name, const struct mentry *m, int64_t off, const char *why);

#endif
