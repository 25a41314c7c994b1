/*
 * util.h - memory, strings, numbers and times.
 *
 * x*() allocators die on failure.  struct sbuf is a growable byte buffer:
 * zero it (SBUF_INIT), append, use .buf (always NUL-terminated), sbuf_free().
 *
 * Parsers return 0 on success and -1 on bad input, without printing; the
 * caller names the option in its message (see parse_opt_* for the helpers
 * that do it the house way: "invalid --keep-last 'x' (1..1000)").
 *
 * Escaping: esc_path() writes bytes <= 0x20, 0x7f and '\' as "\ooo" octal
 * (and '\' as "\\"), so that a path is one space-free token on one line that
 * stays readable for UTF-8 names; unesc_path() reverses it and rejects
 * malformed escapes.
 */
#ifndef ZDT_UTIL_H
#define ZDT_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

/* pthread_create() of a thread that blocks every signal, so that signals
 * go to the caller's thread, which handles them; 0 or an error number */
int thread_start(pthread_t *t, void *(*fn)(void *), void *arg);
/* *ts = the time on clock, ms milliseconds from now (for a timed wait) */
void deadline_ms(struct timespec *ts, clockid_t clock, long ms);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* n bytes for O_DIRECT writes (free() them): aligned to 2 MiB and backed
 * by transparent huge pages where the kernel gives them on request, so a
 * direct write of up to 2 MiB is one segment of one request to the disk */
void *xalloc_dio(size_t n);
char *xasprintf(const char *fmt, ...) ZDT_PRINTF(1, 2);

struct sbuf {
	char *buf;
	size_t len, cap;
};
#define SBUF_INIT { NULL, 0, 0 }
void sbuf_grow(struct sbuf *sb, size_t extra);
void sbuf_add(struct sbuf *sb, const void *p, size_t n);
void sbuf_addc(struct sbuf *sb, char c);
void sbuf_adds(struct sbuf *sb, const char *s);
void sbuf_addf(struct sbuf *sb, const char *fmt, ...) ZDT_PRINTF(2, 3);
void sbuf_reset(struct sbuf *sb);
void sbuf_free(struct sbuf *sb);

/* escaping of paths for one-line text files; see above */
void esc_path(struct sbuf *sb, const char *s);
/* Unescapes s[0..n) into sb; -1 on a malformed escape or an embedded NUL. */
int unesc_path(struct sbuf *sb, const char *s, size_t n);
/* s escaped with esc_path() for a message argument: one line whatever the
 * name holds.  The result lives in a ring of 8 buffers, until the 8th next
 * call: enough for the paths of one message.  errno is kept.  Main thread
 * only. */
const char *escp(const char *s);

/* numbers: the whole string must be a number in [min, max] */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* sizes: bytes, or N with K M G T (powers of 1024), optional "iB"/"B" */
int parse_size(const char *s, uint64_t *out);
/* durations: N with s m h d w */
int parse_duration(const char *s, uint64_t *seconds);
/* The same, dying with exit 2 and a message naming the option. */
uint64_t parse_opt_u64(const char *opt, const char *s, uint64_t min, uint64_t max);
uint64_t parse_opt_size(const char *opt, const char *s);
uint64_t parse_opt_duration(const char *opt, const char *s);

/* "1.3 GiB", "512 B" into buf (at least 16 bytes) */
const char *fmt_size(char *buf, size_t n, uint64_t bytes);
/* ISO 8601 UTC "2026-11-25T08:18:00Z" into buf (at least 21 bytes) */
const char *fmt_time(char *buf, size_t n, time_t t);
/* Parses the form fmt_time() writes; -1 if malformed. */
int parse_time(const char *s, time_t *out);

/* the wall clock; test builds (-DZDT_TESTING) take it from $ZDT_TEST_NOW
 * (seconds since the epoch) when set, so that ages can be tested */
time_t zdt_now(void);

/* monotonic seconds, for elapsed times and rates */
double now_mono(void);

#endif
