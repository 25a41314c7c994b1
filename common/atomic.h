/*
 * atomic.h - files that appear whole or not at all, and what is removed
 * when a run stops half-way.
 *
 * atomic_write_at() writes NAME below dirfd as a temporary file created
 * with O_EXCL, fsyncs it, renames it over NAME and fsyncs the folder.
 *
 * The cleanup registry holds what a failed run must remove: a partial
 * snapshot folder, a temporary file.  die(), an interrupting signal
 * (check_signal()) and cleanup_run() remove every registered path, newest
 * first; cleanup_forget() drops one once it was published.  Only one level
 * of names below a descriptor is kept, so nothing outside that folder can
 * be touched.
 *
 * signals_install() makes SIGINT/SIGTERM/SIGHUP set a flag; long loops call
 * check_signal(), which removes the registered paths, prints one line and
 * exits 130/143/129.
 */
#ifndef ZDT_ATOMIC_H
#define ZDT_ATOMIC_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

extern volatile sig_atomic_t zdt_signal;

int atomic_write_at(int dirfd, const char *name, const void *data, size_t n);

/* returns a handle for cleanup_forget() */
int cleanup_register(int dirfd, const char *name);
void cleanup_forget(int handle);
void cleanup_run(void);

void signals_install(void);
void check_signal(void);

#endif
