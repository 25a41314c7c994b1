/*
 * plan.h - the comparison of a live install folder with a snapshot, shared
 * by diff, rollback --dry-run and rollback.
 *
 * The live tree is walked folder by folder (names sorted bytewise) and the
 * manifest is read in its canonical order, so the two merge as sorted
 * streams; the archive follows the manifest entry by entry.  Memory stays
 * at one folder listing per level and two bits per manifest entry.
 *
 *     struct rbctx r;                  zeroed, then the fields marked "in"
 *     rb_open(&r, bkfd, &snapinfo);    manifest checked whole (exit 4)
 *     rb_check_start(&r);              (rollback) headers checked on a thread
 *     rb_merge(&r, RB_PLAN);           report() per difference, counts
 *     rb_verify_needed(&r);            archive members the plan needs (exit 4)
 *     rb_merge(&r, RB_APPLY);          make the live tree equal the snapshot
 *     rb_close(&r);
 */
#ifndef ZDT_PLAN_H
#define ZDT_PLAN_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "../common/manifest.h"
#include "../common/progress.h"
#include "../common/store.h"
#include "ahead.h"
#include "hcheck.h"

struct archive;
struct archive_entry;
struct zdt;

/* what differs for one path (bit mask) */
enum {
	CH_ADDED = 1 << 0,	/* live only: the upgrade added it */
	CH_REMOVED = 1 << 1,	/* snapshot only */
	CH_TYPE = 1 << 2,	/* type changed */
	CH_CONTENT = 1 << 3,	/* file content (size/mtime, or hash) */
	CH_TARGET = 1 << 4,	/* symlink target */
	CH_LINK = 1 << 5,	/* hardlink no longer linked to its group */
	CH_MODE = 1 << 6,
	CH_OWNER = 1 << 7,
	CH_MTIME = 1 << 8,
	CH_XATTR = 1 << 9,	/* extended attributes or ACLs */
	CH_LEFTOVER = 1 << 10,	/* temporary file of an interrupted rollback */
};
#define CH_META (CH_MODE | CH_OWNER | CH_MTIME | CH_XATTR)

enum { RB_PLAN, RB_APPLY };

#define DIO_MIN (1u << 20)	/* files this big are written with O_DIRECT */
#define SFR_MIN (64u << 10)	/* write-back of files this big starts when written */
#define DIO_BUF (1u << 20)
#define DIO_ALIGN 4096u
#define TRASH_MAX (64u << 20)	/* at most this much data waits in the trash */

struct rbctx {
	/* in */
	struct zdt *z;
	int comp;
	int full, checksum;
	int fused;		/* apply checks each member as it uses it: no
				 * rb_verify_needed first (an empty install
				 * folder, see restore.c) */
	char **paths;		/* --path, normalised; NULL = everything */
	int npaths;
	void (*report)(struct rbctx *r, unsigned ch, const char *path,
		       const struct mentry *m, const struct stat *st);
	void *arg;
	/* planning: a live path that the snapshot's exclude globs leave alone
	 * (not descended into; NULL: not reported) */
	void (*excluded)(struct rbctx *r, int dfd, const char *name, const char *rel);
	/* snapshot */
	struct snapinfo si;
	int snapfd, mfd, afd;
	char *root;		/* install folder (the snapshot's source) */
	int rootfd;
	struct mheader h;	/* excludes */
	uint64_t entries;
	/* cursors */
	struct mreader mr;
	struct mentry m;
	int mstate;		/* 1 entry in m, 0 end */
	uint64_t ord;		/* ordinal of m */
	struct archive *a;
	struct archive_entry *ae;
	uint64_t aord;		/* entries read from the archive so far */
	/* a bit per manifest entry in each */
	unsigned char *need;	/* the plan needs the archive member */
	unsigned char *differs;	/* --checksum: content differs */
	unsigned char *xdiff;	/* attributes differ (found by the plan) */
	unsigned char *dirty;	/* paths the plan found changed, and the
				 * folders holding one at any depth */
	unsigned char *sparse;	/* needed files stored sparse (rb_verify_needed) */
	int raw;		/* apply reads plain file data at the manifest's
				 * offsets (uncompressed, members checked) */
	uint64_t *ckpt;		/* uncompressed: archive offset of the header of
				 * every CKPT_EVERY-th member (rb_verify_needed) */
	struct ahead ah;	/* --checksum: live files hashed on a thread
				 * ahead of the plan (rb_merge) */
	struct hcheck hc;	/* uncompressed: the headers checked on a thread
				 * while the plan runs (rb_check_start) */
	uint64_t *dstack;	/* ordinals of the folders being walked */
	size_t ndstack, capdstack;
	struct hset rewritten;	/* hardlink targets the plan rewrites */
	struct hset hl_targets;	/* first paths of hardlink groups */
	struct hset hl_seen;	/* those met so far in this pass */
	int mode;
	int is_root;
	uid_t euid;
	gid_t egid;
	pid_t pid;		/* in the names of temporary files */
	int parent_dacl;	/* the folder being applied has a default ACL */
	/* results of the last merge */
	uint64_t n_changes, n_rewrite, n_create, n_remove, n_meta;
	uint64_t bytes_write, bytes_freed, max_file, n_need;
	uint64_t data_write, max_data;	/* the same without holes (rb_verify_needed) */
	unsigned long errors;
	struct progress prog;
	char *buf, *zeros;
	char *dbuf;		/* aligned buffer for direct I/O */
	int dio_ok;
	unsigned tmpseq;
	struct archive_entry *scratch;
	/* fused: worker threads create the small files (common/wpool.h) */
	struct wpool *wp;
	int wq;			/* the queue of the folder being applied */
	int new_dir;		/* merge_dir: the folder was just created */
	int cur_dfd;		/* the folder whose entries are being compared
				 * (report() is about one of them), -1 none */
	uint64_t n_pooled;	/* files the workers wrote */
	uint64_t n_copied;	/* of them, by the copy queue (wpool_copy) */
	/* a differential apply: what a new file replaces is renamed into
	 * this folder of the install folder and unlinked by the workers */
	int trashfd;
	char trash[48];
	unsigned trash_seq;
	uint64_t trash_bytes;	/* renamed there since the last drain */
	uint64_t n_trashed;	/* files unlinked there by the workers */
};

void rb_open(struct rbctx *r, int bkfd);
void rb_merge(struct rbctx *r, int mode);
/* an uncompressed snapshot: check every archive header on a thread of its
 * own while the plan runs (rollback, before rb_merge(RB_PLAN)); stop it
 * when rb_verify_needed() will not be called (rb_close() does too) */
void rb_check_start(struct rbctx *r);
void rb_check_stop(struct rbctx *r);
/* exit 4 when a member the plan needs is damaged, or any header disagrees
 * with the manifest; sets data_write and max_data (holes left out) */
void rb_verify_needed(struct rbctx *r);
void rb_close(struct rbctx *r);

/* words for a change mask: "content", "mode, mtime" ... into sb */
void rb_describe(struct sbuf *sb, unsigned ch, const struct mentry *m, const struct stat *st);

#endif
