/*
 * A directory tree's entries, listed for the policy to judge (scan.c).
 */
#ifndef JAIL_SCAN_H
#define JAIL_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "jail.h"

/* Set on a directory whose entries below are not all listed: it could not
 * be opened or read, one of its entries could not be stat'd, or it lies
 * deeper than max_depth. */
#define JAIL_SCAN_INCOMPLETE 1u

struct jail_scan_entry {
	uint32_t mode; /* st_mode, from lstat (a directory's from its fstat) */
	uint32_t flags;
	uint64_t dev, ino;
	/* A directory's st_mtime and st_ctime in nanoseconds, from the fstat
	 * made before it was listed (jail_scan_verify checks them); a file's
	 * from its lstat. */
	uint64_t mtime_ns, ctime_ns;
};

struct jail_scan {
	struct jail_scan_entry *entries;
	size_t n, cap;
	/* Each entry's path relative to the root, in entry order, each ending
	 * with a NUL; the root's own is "". */
	char *names;
	size_t names_len, names_cap;
	/* Set when a watch asked for could not be added. */
	int unwatched;
	/* CLOCK_REALTIME in nanoseconds just before the root was opened: a
	 * directory whose times were older than this by more than the file
	 * system clock's tick was listed after its last change. */
	uint64_t began_ns;
};

/* Every entry under the directory `root` (an absolute path) but symlinks,
 * the root first, then in pre-order, a directory's entries sorted by name; no
 * symlink followed below the root. Directories deeper than max_depth below
 * the root are listed without their entries. With watch_fd >= 0 (inotify),
 * each directory listed is watched first (out->unwatched when one could
 * not be). Returns -1 with err filled in
 * when root cannot be opened or memory runs out; else 0, and out must be
 * freed with jail_scan_free. */
int jail_scan_tree(const char *root, int max_depth, int watch_fd, struct jail_scan *out, struct jail_error *err);

/* Whether the tree at root holds what scan `s` (a scan of it made before,
 * with no entry incomplete) reported, without listing a directory: each
 * entry, in the scan's order, has the mode, dev and inode it had, and each
 * directory the modification and change times too, which any name added,
 * removed or renamed in it would have moved (for a scan made after the
 * directory's last change, see began_ns). An entry made a symlink since,
 * or mounted over, has another mode or identity; a file's mode changed
 * through a hard link elsewhere is its own lstat's. 1 when all agree, 0
 * when one differs or cannot be looked at, or root cannot be opened. */
int jail_scan_verify(const char *root, const struct jail_scan *s);

void jail_scan_free(struct jail_scan *s);

#endif
