/*
 * xattr.h - extended attributes and POSIX ACLs of a live file, as entries
 * of a libarchive archive_entry, and their digest.
 *
 * xattr_read_fd() reads every extended attribute of an open file into the
 * entry; the POSIX ACLs (system.posix_acl_access and _default) are decoded
 * into libarchive ACL entries so that the pax writer stores them as
 * SCHILY.acl.* records that any extractor restores.
 *
 * xattr_digest() is an XXH3-64 over the entry's attributes (sorted by name)
 * and its ACL text: the same value whether the entry was filled from a live
 * file or read back from an archive, so verify, diff and rollback compare
 * one number.  It returns 0 with *has = 0 when there is nothing.
 */
#ifndef ZDT_XATTR_H
#define ZDT_XATTR_H

#include <stddef.h>
#include <stdint.h>

struct archive_entry;
struct sbuf;

/* 0, or -1 with errno; attributes that vanish while read are skipped */
int xattr_read_fd(int fd, struct archive_entry *entry);
/* the same for NAME in folder dfd, not following a symlink, without opening
 * it (through /proc/self/fd; falls back to opening it) */
int xattr_read_at(int dfd, const char *name, struct archive_entry *entry);
/* The same in two steps, for reading in one thread and archiving in
 * another: the attributes of fd as a blob of bytes (appended to *blob),
 * then the blob into an entry; -1: not a blob of xattr_read_blob(). */
int xattr_read_blob(int fd, struct sbuf *blob);
int xattr_from_blob(struct archive_entry *entry, const void *blob, size_t n);
uint64_t xattr_digest(struct archive_entry *entry, int *has);
/* The permission bits (07777) that stat shows for a file with entry's
 * mode and ACL.  libarchive keeps the bits of an access ACL's group::
 * entry in the mode's group bits (so does the pax archive); with a mask::
 * entry the file's group bits are the mask's instead. */
unsigned xattr_stat_mode(struct archive_entry *entry);
/* Removes every attribute of NAME in folder dfd without following or
 * opening it (a FIFO would block): for nodes zdt stores no attributes of,
 * which inherit an ACL from a default ACL when created.  0 or -1. */
int xattr_strip_at(int dfd, const char *name);
/* Makes fd's attributes and ACLs those of entry: sets them and removes the
 * others.  0, or -1 with errno. */
int xattr_apply_fd(int fd, struct archive_entry *entry);

#endif
