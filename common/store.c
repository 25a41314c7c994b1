/* store.c - the backup folder's layout; see store.h. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "component.h"
#include "fsops.h"
#include "manifest.h"
#include "util.h"

static const char *store_label;

void store_set_label(const char *backup_dir) { store_label = backup_dir; }

const char *snap_state_name(int state)
{
	switch (state) {
	case SNAP_COMPLETE: return "complete";
	case SNAP_PARTIAL: return "partial";
	case SNAP_ROLLBACK_INTERRUPTED: return "rollback-interrupted";
	}
	return "unknown";
}

/* YYYYMMDDTHHMMSSZ-NN[N...] */
size_t store_parse_name(const char *name, int *partial)
{
	size_t i;

	for (i = 0; i < 15; i++) {
		if (i == 8 ? name[i] != 'T' : (name[i] < '0' || name[i] > '9'))
			return 0;
	}
	if (name[15] != 'Z' || name[16] != '-')
		return 0;
	for (i = 17; name[i] >= '0' && name[i] <= '9'; i++)
		;
	if (i < 19 || i >= SNAP_ID_MAX)
		return 0;
	if (!name[i]) {
		*partial = 0;
		return i;
	}
	if (!strcmp(name + i, PARTIAL_SUFFIX)) {
		*partial = 1;
		return i;
	}
	return 0;
}

int store_comp_dir(int bkfd, int comp, int create)
{
	const char *name = component_name(comp);
	int fd = openat(bkfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && create) {
		if (mkdirat(bkfd, name, 0700) < 0 && errno != EEXIST)
			return -1;
		fd = openat(bkfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && fsync(bkfd) < 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

int store_new_id(int compfd, time_t now, char id[SNAP_ID_MAX])
{
	struct tm tm;
	char stamp[24];
	unsigned seq = 0;
	int dfd = dup(compfd);
	DIR *d;
	struct dirent *de;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		int partial;
		if (!store_parse_name(de->d_name, &partial) || strncmp(de->d_name, stamp, 16))
			continue;
		unsigned n = (unsigned)strtoul(de->d_name + 17, NULL, 10);
		if (n > seq)
			seq = n;
	}
	closedir(d);
	if (seq >= 99) {
		errno = EEXIST;
		return -1;
	}
	snprintf(id, SNAP_ID_MAX, "%s-%02u", stamp, seq + 1);
	return 0;
}

int store_meta_write(int snapfd, const struct snapinfo *si)
{
	struct sbuf sb = SBUF_INIT;
	char t[32];
	int rc;

	sbuf_addf(&sb, "id=%s\ncomponent=%s\ncreated=%s\n", si->id,
		  component_name(si->comp), fmt_time(t, sizeof(t), si->created));
	sbuf_adds(&sb, "source=");
	esc_path(&sb, si->source);
	sbuf_addf(&sb, "\ncompress=%s\narchive=%s\nentries=%" PRIu64 "\nfiles=%" PRIu64
		  "\nbytes=%" PRIu64 "\narchive_bytes=%" PRIu64 "\nmanifest_checksum=%s\n",
		  si->compress, si->archive, si->entries, si->files, si->bytes,
		  si->archive_bytes, si->manifest_checksum);
	sbuf_addf(&sb, "excludes=%s\n", si->excludes ? si->excludes : "");
	if (si->has_pin && si->bk_path) {
		sbuf_adds(&sb, "backup_dir=");
		esc_path(&sb, si->bk_path);
		sbuf_addf(&sb, "\nbackup_dev=%" PRIu64 "\nbackup_ino=%" PRIu64 "\n", si->bk_dev, si->bk_ino);
	}
	rc = atomic_write_at(snapfd, SNAP_META, sb.buf, sb.len);
	sbuf_free(&sb);
	return rc;
}

void snapinfo_release(struct snapinfo *si)
{
	free(si->source);
	free(si->compress);
	free(si->archive);
	free(si->manifest_checksum);
	free(si->excludes);
	free(si->bk_path);
	si->source = si->compress = si->archive = si->manifest_checksum = si->excludes = si->bk_path = NULL;
	si->has_pin = 0;
}

int store_meta_read(int snapfd, struct snapinfo *si)
{
	char buf[16384];
	int fd = openat(snapfd, SNAP_META, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;
	struct sbuf tmp = SBUF_INIT;
	int have = 0, pin = 0;

	si->meta_ok = 0;
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (char *line = buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (!next)
			break;	/* no newline: truncated */
		*next++ = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		const char *k = line, *v = eq + 1;
		uint64_t u;
		if (!strcmp(k, "created") && !parse_time(v, &si->created)) {
			have |= 1;
		} else if (!strcmp(k, "source") && !unesc_path(&tmp, v, strlen(v))) {
			free(si->source);
			si->source = xstrdup(tmp.buf ? tmp.buf : "");
			have |= 2;
		} else if (!strcmp(k, "compress")) {
			free(si->compress);
			si->compress = xstrdup(v);
			have |= 4;
		} else if (!strcmp(k, "archive")) {
			if (strcmp(v, SNAP_ARCHIVE_NONE) && strcmp(v, SNAP_ARCHIVE_GZIP))
				continue;
			free(si->archive);
			si->archive = xstrdup(v);
			have |= 8;
		} else if (!strcmp(k, "manifest_checksum")) {
			free(si->manifest_checksum);
			si->manifest_checksum = xstrdup(v);
		} else if (!strcmp(k, "excludes")) {
			free(si->excludes);
			si->excludes = xstrdup(v);
		} else if (!strcmp(k, "backup_dir") && v[0] == '/' && !unesc_path(&tmp, v, strlen(v))) {
			free(si->bk_path);
			si->bk_path = xstrdup(tmp.buf);
			pin |= 1;
		} else if (!strcmp(k, "backup_dev") && !parse_u64(v, 0, UINT64_MAX, &u)) {
			si->bk_dev = u;
			pin |= 2;
		} else if (!strcmp(k, "backup_ino") && !parse_u64(v, 0, UINT64_MAX, &u)) {
			si->bk_ino = u;
			pin |= 4;
		} else if (!parse_u64(v, 0, UINT64_MAX, &u)) {
			if (!strcmp(k, "entries"))
				si->entries = u;
			else if (!strcmp(k, "files"))
				si->files = u, have |= 16;
			else if (!strcmp(k, "bytes"))
				si->bytes = u;
			else if (!strcmp(k, "archive_bytes"))
				si->archive_bytes = u;
		}
	}
	sbuf_free(&tmp);
	/* all three or none: a meta with part of them is damaged */
	si->has_pin = pin == 7;
	si->meta_ok = have == 31 && (pin == 0 || pin == 7);
	return si->meta_ok ? 0 : -1;
}

int store_meta_checksum_cmp(const struct snapinfo *si, XXH128_hash_t sum, struct sbuf *why)
{
	XXH128_hash_t want;
	char got[33];

	if (!si->meta_ok || !si->manifest_checksum)
		return 0;
	hash_to_hex(sum, got);
	if (hex_to_hash(si->manifest_checksum, strlen(si->manifest_checksum), &want)) {
		sbuf_addf(why, "meta records a malformed manifest_checksum '%.40s' (the manifest's is %s)",
			  si->manifest_checksum, got);
		return 1;
	}
	if (XXH128_isEqual(want, sum))
		return 0;
	sbuf_addf(why, "the manifest's checksum %s is not the one recorded in meta when the snapshot was "
		  "made (%s): the manifest was replaced or rewritten", got, si->manifest_checksum);
	return 1;
}

static int snap_cmp(const void *a, const void *b)
{
	const struct snapinfo *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : x->comp - y->comp;
}

int store_list(int bkfd, unsigned mask, struct snapinfo **out, size_t *nout)
{
	struct snapinfo *v = NULL;
	size_t n = 0, cap = 0;

	for (int c = 0; c < COMP_N; c++) {
		if (!(mask & (1u << c)))
			continue;
		int cfd = store_comp_dir(bkfd, c, 0);
		if (cfd < 0) {
			if (errno == ENOENT)
				continue;
			if (errno == ELOOP || errno == ENOTDIR) {
				/* planted or damaged: never followed, never listed */
				warning("not a folder (a symbolic link?), never followed; %s skipped: '%s/%s'",
					component_name(c), store_label ? store_label : ".", component_name(c));
				continue;
			}
			store_list_free(v, n);
			return -1;
		}
		DIR *d = fdopendir(cfd);
		if (!d) {
			close(cfd);
			store_list_free(v, n);
			return -1;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			int partial;
			size_t len = store_parse_name(de->d_name, &partial);
			if (!len)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				v = xrealloc(v, cap * sizeof(*v));
			}
			struct snapinfo *si = &v[n++];
			memset(si, 0, sizeof(*si));
			si->comp = c;
			memcpy(si->id, de->d_name, len);
			si->id[len] = '\0';
			si->state = partial ? SNAP_PARTIAL : SNAP_COMPLETE;
			si->named_partial = partial;
			int sfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sfd < 0) {
				n--;	/* not a folder (a planted file or link): not a snapshot */
				continue;
			}
			store_meta_read(sfd, si);
			if (!si->meta_ok)
				parse_time("1970-01-01T00:00:00Z", &si->created);
			if (!partial && faccessat(sfd, SNAP_JOURNAL, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
				si->state = SNAP_ROLLBACK_INTERRUPTED;
			if (!si->meta_ok && !partial) {
				/* a complete snapshot always has its meta: treat as damaged */
				si->state = SNAP_PARTIAL;
			}
			close(sfd);
		}
		closedir(d);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), snap_cmp);
	*out = v;
	*nout = n;
	return 0;
}

void store_list_free(struct snapinfo *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		snapinfo_release(&v[i]);
	free(v);
}

int store_pick(int bkfd, int comp, const char *id, struct snapinfo *out)
{
	struct snapinfo *v;
	size_t n;
	int found = -1;

	if (store_list(bkfd, 1u << comp, &v, &n) < 0)
		return -1;
	for (size_t i = n; i-- > 0;) {
		if (v[i].state == SNAP_PARTIAL)
			continue;
		if (id && strcmp(v[i].id, id))
			continue;
		*out = v[i];
		memset(&v[i], 0, sizeof(v[i]));
		found = 0;
		break;
	}
	store_list_free(v, n);
	if (found < 0)
		errno = ENOENT;
	return found;
}

int store_open_snap(int bkfd, const struct snapinfo *si)
{
	char name[SNAP_ID_MAX + 16];
	int cfd = store_comp_dir(bkfd, si->comp, 0), fd;

	if (cfd < 0)
		return -1;
	snprintf(name, sizeof(name), "%s%s", si->id, si->named_partial ? PARTIAL_SUFFIX : "");
	fd = openat(cfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(cfd);
	errno = e;
	return fd;
}

int store_remove_partials(int bkfd, int comp, unsigned *removed)
{
	int cfd = store_comp_dir(bkfd, comp, 0);
	DIR *d;
	struct dirent *de;
	int rc = 0;

	*removed = 0;
	if (cfd < 0)
		return errno == ENOENT ? 0 : -1;
	d = fdopendir(cfd);
	if (!d) {
		close(cfd);
		return -1;
	}
	while ((de = readdir(d))) {
		int partial;
		if (!store_parse_name(de->d_name, &partial) || !partial)
			continue;
		if (rm_tree_at(dirfd(d), de->d_name) < 0) {
			rc = -1;
			continue;
		}
		(*removed)++;
	}
	if (*removed && fsync(dirfd(d)) < 0)
		rc = -1;
	closedir(d);
	return rc;
}

int audit_append(int bkfd, const char *line)
{
	int fd = openat(bkfd, AUDIT_LOG, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	struct sbuf sb = SBUF_INIT;
	int rc = 0;

	if (fd < 0)
		return -1;
	sbuf_adds(&sb, line);
	sbuf_addc(&sb, '\n');
	if (write(fd, sb.buf, sb.len) != (ssize_t)sb.len || fdatasync(fd) < 0)
		rc = -1;
	sbuf_free(&sb);
	close(fd);
	return rc;
}
