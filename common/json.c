/* json.c - streaming JSON writer; see json.h. */
#include "json.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "util.h"

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = 1;
}

/* length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 when it is not one */
static int utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	unsigned lo = 0x80, hi = 0xbf;
	int len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (int i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static void quote(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		unsigned c = *p;
		int len = utf8_len(p);
		if (len > 1) {
			fwrite(p, 1, (size_t)len, f);
			p += len;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc((int)c, f);
		p++;
	}
	fputc('"', f);
}

static void key(struct json *j, const char *k)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = 0;
	if (j->depth)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	if (k) {
		quote(j->f, k);
		fputs(": ", j->f);
	}
}

static void open_(struct json *j, const char *k, char c)
{
	key(j, k);
	fputc(c, j->f);
	if (j->depth + 1 >= (int)(sizeof(j->first) / sizeof(j->first[0])))
		BUG("json nesting too deep");
	j->close[j->depth + 1] = c == '{' ? '}' : ']';
	j->first[++j->depth] = 1;
}

void json_obj(struct json *j, const char *k) { open_(j, k, '{'); }
void json_arr(struct json *j, const char *k) { open_(j, k, '['); }

void json_end(struct json *j)
{
	int empty = j->first[j->depth];
	char c = j->close[j->depth];

	if (j->depth <= 0)
		BUG("json_end without an open object");
	j->depth--;
	if (!empty)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	fputc(c, j->f);
	if (!j->depth)
		fputc('\n', j->f);
}

void json_str(struct json *j, const char *k, const char *s)
{
	key(j, k);
	if (s)
		quote(j->f, s);
	else
		fputs("null", j->f);
}

void json_u64(struct json *j, const char *k, uint64_t v)
{
	key(j, k);
	fprintf(j->f, "%" PRIu64, v);
}

void json_i64(struct json *j, const char *k, int64_t v)
{
	key(j, k);
	fprintf(j->f, "%" PRId64, v);
}

void json_dbl(struct json *j, const char *k, double v)
{
	key(j, k);
	fprintf(j->f, "%.3f", v);
}

void json_bool(struct json *j, const char *k, int v)
{
	key(j, k);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *k)
{
	key(j, k);
	fputs("null", j->f);
}

void json_time(struct json *j, const char *k, int64_t t)
{
	char buf[32];

	key(j, k);
	fprintf(j->f, "\"%s\"", fmt_time(buf, sizeof(buf), (time_t)t));
}
