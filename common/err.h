/*
 * err.h - messages and exit codes.
 *
 * Every message goes to stderr as one line:
 *
 *     zdt: COMMAND: what failed: 'PATH': reason
 *
 * followed, where the fix is not obvious, by a "hint:" line.  Call
 * err_set_command() once the command is known.  die() and friends exit with
 * one of the ZDT_E* codes of the contract after running the functions
 * registered with err_on_exit() (removal of partial files, see atomic.h), so
 * a failed run never leaves half-written data behind.
 *
 * error() and error_errno() print and return -1, for per-entry problems that
 * are reported and counted while the run goes on.
 */
#ifndef ZDT_ERR_H
#define ZDT_ERR_H

#include <stdarg.h>

enum {
	ZDT_OK = 0,
	ZDT_EFAIL = 1,		/* the operation failed (I/O error...) */
	ZDT_EUSAGE = 2,		/* usage error */
	ZDT_EREFUSED = 3,	/* refused by a safety check */
	ZDT_EINTEGRITY = 4,	/* damaged archive or manifest, unsafe entry */
	ZDT_ENOSNAP = 5,	/* no usable snapshot */
};

#define ZDT_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* -q = 0, default = 1, -v = 2, -vv = 3 */
extern int zdt_verbosity;

void err_set_command(const char *cmd);
const char *err_command(void);

/* fn runs (once, in reverse order of registration) before die() exits. */
void err_on_exit(void (*fn)(void));
/* Runs the registered functions now; used by signal and normal exits. */
void err_run_exit_hooks(void);
/* The code die() is exiting with, for exit hooks (audit log). */
int err_exit_code(void);
void err_set_exit_code(int code);

_Noreturn void die(int code, const char *fmt, ...) ZDT_PRINTF(2, 3);
_Noreturn void die_errno(int code, const char *fmt, ...) ZDT_PRINTF(2, 3);
/* Like die() but prints the hint line after the message. */
_Noreturn void die_hint(int code, const char *hint, const char *fmt, ...)
	ZDT_PRINTF(3, 4);
/* Exits after error() already said what failed: its one line, a hint. */
_Noreturn void die_reported(int code, const char *hint);
_Noreturn void BUG(const char *fmt, ...) ZDT_PRINTF(1, 2);
int error(const char *fmt, ...) ZDT_PRINTF(1, 2);
int error_errno(const char *fmt, ...) ZDT_PRINTF(1, 2);
void warning(const char *fmt, ...) ZDT_PRINTF(1, 2);
void warning_errno(const char *fmt, ...) ZDT_PRINTF(1, 2);
void hint(const char *fmt, ...) ZDT_PRINTF(1, 2);
/* Informational lines on stderr: note() unless -q, verbose() with -v. */
void note(const char *fmt, ...) ZDT_PRINTF(1, 2);
void verbose(const char *fmt, ...) ZDT_PRINTF(1, 2);

/* The last error message printed (without the "zdt: COMMAND: " prefix). */
const char *err_last_message(void);

/* Number of warning() calls so far (reported in summaries). */
unsigned long err_warnings(void);

#endif
