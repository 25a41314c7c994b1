/* err.c - messages and exit codes; see err.h. */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int zdt_verbosity = 1;

static const char *command;
static unsigned long nwarnings;
static void (*hooks[8])(void);
static int nhooks;
static int exit_code;
static char last[1024];

const char *err_last_message(void) { return last[0] ? last : NULL; }

int err_exit_code(void) { return exit_code; }
void err_set_exit_code(int code) { exit_code = code; }

void err_set_command(const char *cmd) { command = cmd; }
const char *err_command(void) { return command; }
unsigned long err_warnings(void) { return nwarnings; }

void err_on_exit(void (*fn)(void))
{
	if (nhooks == (int)(sizeof(hooks) / sizeof(hooks[0])))
		BUG("too many exit hooks");
	hooks[nhooks++] = fn;
}

void err_run_exit_hooks(void)
{
	while (nhooks > 0)
		hooks[--nhooks]();
}

/*
 * msg[0..n) with its control bytes written as \ooo into out (at most cap - 2
 * bytes, then a newline): a message is one line whatever a name in it
 * holds.  Callers escape the paths they print (escp()); this catches what
 * they cannot, such as a library's error string naming a member.
 */
static size_t one_line(char *out, size_t cap, const char *msg, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)msg[i];
		if (c >= 0x20 && c != 0x7f) {
			if (k + 2 > cap)
				break;
			out[k++] = (char)c;
		} else {
			if (k + 5 > cap)
				break;
			out[k++] = '\\';
			out[k++] = (char)('0' + (c >> 6));
			out[k++] = (char)('0' + ((c >> 3) & 7));
			out[k++] = (char)('0' + (c & 7));
		}
	}
	out[k++] = '\n';
	return k;
}

static void vreport(const char *prefix, int errnum, const char *fmt, va_list ap)
{
	char msg[4096], line[4096];
	int n = 0;

	fflush(stdout);
	n = snprintf(msg, sizeof(msg), "zdt: ");
	if (command)
		n += snprintf(msg + n, sizeof(msg) - n, "%s: ", command);
	if (prefix)
		n += snprintf(msg + n, sizeof(msg) - n, "%s", prefix);
	if (n < (int)sizeof(msg))
		n += vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	if (errnum && n < (int)sizeof(msg))
		n += snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(errnum));
	if (n >= (int)sizeof(msg))
		n = sizeof(msg) - 1;
	size_t k = one_line(line, sizeof(line), msg, (size_t)n);
	if (!prefix || strcmp(prefix, "warning: ")) {
		size_t skip = 5 + (command ? strlen(command) + 2 : 0);
		size_t bl = k - 1 > skip ? k - 1 - skip : 0;
		if (bl >= sizeof(last))
			bl = sizeof(last) - 1;
		memcpy(last, line + skip, bl);
		last[bl] = '\0';
	}
	/* one write, so that lines of concurrent runs do not interleave */
	if (write(STDERR_FILENO, line, k) < 0) {
		/* nothing sensible left to do */
	}
}

_Noreturn static void finish(int code)
{
	exit_code = code;
	err_run_exit_hooks();
	exit(code);
}

void die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(NULL, 0, fmt, ap);
	va_end(ap);
	finish(code);
}

void die_errno(int code, const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vreport(NULL, e, fmt, ap);
	va_end(ap);
	finish(code);
}

void die_hint(int code, const char *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(NULL, 0, fmt, ap);
	va_end(ap);
	if (h)
		hint("%s", h);
	finish(code);
}

void die_reported(int code, const char *h)
{
	if (h)
		hint("%s", h);
	finish(code);
}

void BUG(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("BUG: ", 0, fmt, ap);
	va_end(ap);
	abort();
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(NULL, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int error_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	vreport(NULL, e, fmt, ap);
	va_end(ap);
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	nwarnings++;
	if (zdt_verbosity < 1)
		return;
	va_start(ap, fmt);
	vreport("warning: ", 0, fmt, ap);
	va_end(ap);
}

void warning_errno(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	nwarnings++;
	if (zdt_verbosity < 1)
		return;
	va_start(ap, fmt);
	vreport("warning: ", e, fmt, ap);
	va_end(ap);
}

void hint(const char *fmt, ...)
{
	char msg[2048], line[2048 + 6];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(msg))
		n = sizeof(msg) - 1;
	memcpy(line, "hint: ", 6);
	size_t k = 6 + one_line(line + 6, sizeof(line) - 6, msg, (size_t)n);
	if (write(STDERR_FILENO, line, k) < 0) {
		/* ignore */
	}
}

static void vlog(int level, const char *fmt, va_list ap)
{
	char msg[4096], line[4096];
	int n;

	if (zdt_verbosity < level)
		return;
	fflush(stdout);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(msg))
		n = sizeof(msg) - 1;
	fflush(stderr);
	if (write(STDERR_FILENO, line, one_line(line, sizeof(line), msg, (size_t)n)) < 0) {
		/* ignore */
	}
}

void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(1, fmt, ap);
	va_end(ap);
}

void verbose(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(2, fmt, ap);
	va_end(ap);
}
