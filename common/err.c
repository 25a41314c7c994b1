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

static void vreport(const char *prefix, int errnum, const char *fmt, va_list ap)
{
	char msg[4096];
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
	if (!prefix || strcmp(prefix, "warning: ")) {
		const char *body = msg + 5 + (command ? strlen(command) + 2 : 0);
		size_t bl = (size_t)n - (size_t)(body - msg);
		if (bl >= sizeof(last))
			bl = sizeof(last) - 1;
		memcpy(last, body, bl);
		last[bl] = '\0';
		char *nl = strchr(last, '\n');	/* keep the message, not the hint */
		if (nl)
			*nl = '\0';
	}
	msg[n++] = '\n';
	/* one write, so that lines of concurrent runs do not interleave */
	if (write(STDERR_FILENO, msg, n) < 0) {
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
	char msg[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(msg) - 2)
		n = sizeof(msg) - 2;
	msg[n++] = '\n';
	if (write(STDERR_FILENO, "hint: ", 6) < 0 || write(STDERR_FILENO, msg, n) < 0) {
		/* ignore */
	}
}

static void vlog(int level, const char *fmt, va_list ap)
{
	if (zdt_verbosity < level)
		return;
	fflush(stdout);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
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
