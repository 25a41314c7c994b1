/* hcheck.c - archive headers against the manifest on a thread; see hcheck.h. */
#include "hcheck.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/archive_io.h"
#include "../common/manifest.h"
#include "../common/store.h"
#include "member.h"

#define HINT_VERIFY "the live tree was not touched; 'zdt verify' names every damaged path"

static void fatal(struct hcheck *h, const char *hint, const char *fmt, ...) ZDT_PRINTF(3, 4);
static void fatal(struct hcheck *h, const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);	/* whole, however long the paths */
	va_end(ap);
	char *buf = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	va_start(ap, fmt);
	vsnprintf(buf, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
	va_end(ap);
	sbuf_adds(&h->fatal_msg, buf);
	free(buf);
	sbuf_adds(&h->fatal_hint, hint ? hint : "");
	h->fatal = 1;
}

/* member_bad_fn: one line, as rollback's check of the needed members says it */
static void bad(void *arg, const struct mentry *m, int64_t off, const char *why)
{
	struct hcheck *h = arg;

	if (h->nbad++ >= HCHECK_MAX_LINES)
		return;
	member_bad_line(&h->bad, h->name, m, off, why);
	sbuf_addc(&h->bad, '\n');
}

static void *run(void *arg)
{
	struct hcheck *h = arg;
	struct mreader mr;
	struct mentry m;
	struct sbuf p = SBUF_INIT, q = SBUF_INIT;
	struct archive *a = NULL;
	struct archive_entry *ae;
	uint64_t ord = 0;
	int rc;

	memset(&mr, 0, sizeof(mr));
	mentry_init(&m);
	if (mreader_open(&mr, h->mfd) < 0) {
		fatal(h, NULL, "damaged manifest of %s: %s", h->name, mr.err);
		goto out;
	}
	a = areader_open(h->afd);
	for (;;) {
		if (__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE))
			goto out;
		rc = mreader_next(&mr, &m);
		if (rc < 0) {
			fatal(h, NULL, "damaged manifest of %s: %s", h->name, mr.err);
			goto out;
		}
		if (rc == 0)
			break;
		if (ord >= h->entries) {
			fatal(h, NULL, "damaged manifest of %s: more entries than when it was opened", h->name);
			goto out;
		}
		rc = archive_read_next_header(a, &ae);
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			esc_path(&p, m.path.buf);
			fatal(h, HINT_VERIFY, "damaged archive of %s at entry '%s': %s", h->name, p.buf,
			      rc == ARCHIVE_EOF ? "archive ends early" : archive_error_string(a));
			goto out;
		}
		if (ord % h->every == 0)
			h->ckpt[ord / h->every] = (uint64_t)archive_read_header_position(a);
		member_path(&q, ae);
		if (strcmp(q.buf, m.path.buf)) {
			struct sbuf e = SBUF_INIT;
			esc_path(&p, q.buf);
			esc_path(&e, m.path.buf);
			fatal(h, NULL, "archive of %s: member '%s' where the manifest has '%s'; the live tree was not touched",
			      h->name, p.buf, e.buf);
			sbuf_free(&e);
			goto out;
		}
		if (m.type == M_FILE && archive_entry_sparse_reset(ae) > 0)
			h->sparse[ord >> 3] |= (unsigned char)(1u << (ord & 7));
		member_check_head(ae, &m, bad, h);
		ord++;
	}
	/* nothing after the manifest's last entry */
	rc = archive_read_next_header(a, &ae);
	if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) {
		member_path(&q, ae);
		esc_path(&p, q.buf);
		fatal(h, HINT_VERIFY, "archive of %s: member '%s' is not in the manifest", h->name, p.buf);
	} else if (rc != ARCHIVE_EOF) {
		fatal(h, HINT_VERIFY, "damaged archive of %s after its last entry: %s", h->name,
		      archive_error_string(a));
	} else {
		h->done = 1;
	}
out:
	if (a)
		archive_read_free(a);
	mentry_release(&m);
	mreader_release(&mr);
	sbuf_free(&p);
	sbuf_free(&q);
	return NULL;
}

int hcheck_start(struct hcheck *h, int snapfd, const char *archive, uint64_t entries, uint64_t every,
		 const char *name)
{
	memset(h, 0, sizeof(*h));
	h->mfd = h->afd = -1;
	h->entries = entries;
	h->every = every ? every : 1;
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->mfd = openat(snapfd, SNAP_MANIFEST, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	h->afd = openat(snapfd, archive, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (h->mfd < 0 || h->afd < 0)
		goto fail;
	h->ckpt = xcalloc((size_t)(entries / h->every + 1), sizeof(*h->ckpt));
	h->sparse = xcalloc((size_t)(entries / 8 + 1), 1);
	int rc = thread_start(&h->t, run, h);
	if (rc) {
		errno = rc;
		goto fail;
	}
	h->running = 1;
	return 0;
fail:;
	int e = errno;
	hcheck_release(h);
	errno = e;
	return -1;
}

void hcheck_join(struct hcheck *h, int stop)
{
	if (!h->running)
		return;
	if (stop)
		__atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
	pthread_join(h->t, NULL);
	h->running = 0;
}

void hcheck_release(struct hcheck *h)
{
	if (!h->every)
		return;	/* never started (a zeroed struct) or released */
	hcheck_join(h, 1);
	if (h->mfd >= 0)
		close(h->mfd);
	if (h->afd >= 0)
		close(h->afd);
	h->mfd = h->afd = -1;
	free(h->ckpt);
	free(h->sparse);
	h->ckpt = NULL;
	h->sparse = NULL;
	sbuf_free(&h->bad);
	sbuf_free(&h->fatal_msg);
	sbuf_free(&h->fatal_hint);
	h->every = 0;
}
