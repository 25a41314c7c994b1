/*
 * store.h - the layout of the backup folder (zdt-manifest(5)).
 *
 *     BACKUP_DIR/                      0700
 *       .lock                          lock.h
 *       audit.log                      append-only, one line per event
 *       AR/                            one folder per component (canonical name)
 *         20261125T081800Z-01/         a complete snapshot
 *           archive.tar | archive.tar.gz
 *           manifest                   manifest.h
 *           meta                       key=value summary for list
 *         20261125T091500Z-01.partial/ a backup in progress or interrupted
 *
 * Snapshot IDs are the UTC start time and a two-digit sequence number that
 * makes them unique within a second (store_new_id() runs under the
 * exclusive lock), so they sort by creation time.  A snapshot is written
 * under ID.partial and published by renaming it to ID once every file and
 * the folders are fsynced: a folder without the suffix is complete.
 */
#ifndef ZDT_STORE_H
#define ZDT_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "xxh.h"

#include "util.h"

#define SNAP_ARCHIVE_NONE "archive.tar"
#define SNAP_ARCHIVE_GZIP "archive.tar.gz"
#define SNAP_MANIFEST "manifest"
#define SNAP_META "meta"
#define SNAP_JOURNAL "rollback.journal"
#define PARTIAL_SUFFIX ".partial"
#define AUDIT_LOG "audit.log"
#define SNAP_ID_MAX 40

enum { SNAP_COMPLETE, SNAP_PARTIAL, SNAP_ROLLBACK_INTERRUPTED };

struct snapinfo {
	int comp;
	char id[SNAP_ID_MAX];
	int state;
	int meta_ok;		/* meta read and well-formed */
	int named_partial;	/* the folder is ID.partial (else ID, even when damaged) */
	time_t created;
	uint64_t entries, files, bytes, archive_bytes;
	char *source;
	char *compress;		/* "none", "gzip:6" */
	char *archive;		/* file name in the snapshot folder */
	char *manifest_checksum;
	char *excludes;		/* escaped, space-separated; informative */
	/* the backup folder at backup time (absent from older snapshots) */
	int has_pin;
	char *bk_path;		/* its real path */
	uint64_t bk_dev, bk_ino;
};

const char *snap_state_name(int state);
/* the backup folder's path, for messages */
void store_set_label(const char *backup_dir);

/* length of the ID in name, 0 if name is not ID or ID.partial */
size_t store_parse_name(const char *name, int *partial);

/* the component's folder (O_NOFOLLOW); create: mkdir 0700 when missing */
int store_comp_dir(int bkfd, int comp, int create);
int store_new_id(int compfd, time_t now, char id[SNAP_ID_MAX]);

int store_meta_write(int snapfd, const struct snapinfo *si);
int store_meta_read(int snapfd, struct snapinfo *si);
void snapinfo_release(struct snapinfo *si);

/*
 * The manifest's checksum line (digest sum, as a reader that reached the
 * end returns it) against the manifest_checksum that meta recorded when
 * the snapshot was made: 0 when they are equal or meta records none
 * (or is damaged: reported as such elsewhere), 1 when they differ, with
 * the reason in why.  A manifest that checks out against its own checksum
 * line but not against meta was replaced or rewritten as a whole.
 */
int store_meta_checksum_cmp(const struct snapinfo *si, XXH128_hash_t sum, struct sbuf *why);

/* every snapshot of the components in mask, oldest first */
int store_list(int bkfd, unsigned mask, struct snapinfo **v, size_t *n);
void store_list_free(struct snapinfo *v, size_t n);

/* the complete snapshot ID (NULL: the newest); 0 found, -1 not */
int store_pick(int bkfd, int comp, const char *id, struct snapinfo *out);
/* descriptor of a snapshot's folder */
int store_open_snap(int bkfd, const struct snapinfo *si);

/* removes ID.partial folders; call with the exclusive lock held */
int store_remove_partials(int bkfd, int comp, unsigned *removed);

/* appends one line (newline added) to the audit log */
int audit_append(int bkfd, const char *line);

#endif
