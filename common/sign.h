/*
 * sign.h - signed manifests: an HMAC-SHA256 of a snapshot's manifest file,
 * with a key kept outside the backup folder (nettle's hmac_sha256).
 *
 * The manifest's XXH3-128 hashes and its checksum line find accidents
 * (a flipped bit, a truncated file); anyone who can write the backup
 * folder can recompute them.  The HMAC needs the key: with it, a manifest
 * (and through its archive line, the archive) changed by someone without
 * the key is found.
 *
 *     struct signkey k;
 *     struct sbuf err = SBUF_INIT;
 *     int code = signkey_load(&k, file, backup_dir, install_dir, &err);
 *     if (code) die(code, "%s", err.buf);     2: unreadable, 3: unsafe place or mode
 *     sign_write(snapfd, mfd, &k);            backup: SNAP_SIG, fsynced
 *     sign_check(snapfd, mfd, &k, &why);      verify, rollback: 0 good
 *     signkey_release(&k);
 *
 * The signature file holds three lines:
 *
 *     zdt-signature 1
 *     key-id <16 hex>          first 8 bytes of HMAC-SHA256(key, "zdt key id")
 *     hmac-sha256 <64 hex>     of every byte of the manifest file
 */
#ifndef ZDT_SIGN_H
#define ZDT_SIGN_H

#include <stddef.h>

#include "util.h"

#define SNAP_SIG "manifest.sig"
#define SIGNKEY_MAX (64u << 10)

struct signkey {
	unsigned char *key;
	size_t len;
	char file[4096];	/* its real path, for messages */
	char id[17];
};

/*
 * Reads the key: the file's bytes as they are, 1 byte to 64 KiB.  Returns
 * 0, or an exit code with err set: ZDT_EUSAGE when it cannot be read or is
 * empty, ZDT_EREFUSED when it lies inside backup_dir or install_dir (NULL:
 * not checked), is not a regular file, or gives any access to group or
 * others.
 */
int signkey_load(struct signkey *k, const char *file, const char *backup_dir, const char *install_dir,
		 struct sbuf *err);
void signkey_release(struct signkey *k);

/* HMAC-SHA256 of the whole file fd (read with pread from 0) as hex */
int sign_fd(const struct signkey *k, int fd, char hex[65]);
/* writes SNAP_SIG below snapfd for the manifest mfd (atomic, fsynced) */
int sign_write(int snapfd, int mfd, const struct signkey *k);
/* 0 the signature matches; 1 none, 2 damaged, 3 made with another key,
 * 4 does not match (why says which, for people); -1 read error (errno) */
int sign_check(int snapfd, int mfd, const struct signkey *k, struct sbuf *why);

#endif
