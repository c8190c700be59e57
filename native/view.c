/*
 * The view, built the way bubblewrap builds its root: a scratch tmpfs holds
 * "newroot" (the view, another tmpfs) and "oldroot" (the machine's root,
 * moved there by pivot_root). Each entry is made under /newroot from
 * /oldroot; then oldroot is detached and the view becomes the root.
 *
 * Every object outside is opened with the same checked open the Landlock
 * step uses (no symlink, the identity the plan saw), and both the mount and
 * the Landlock rule are made from that descriptor: swapping the path after
 * the check gains nothing. Mount points are reached from the view's root
 * one name at a time, following no symlink, so what is already mounted in
 * the view cannot redirect a later entry either.
 */
#define _GNU_SOURCE
#include "view.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Where the scratch tmpfs goes, in the new mount namespace only. */
#define SCRATCH "/tmp"
#define OLDROOT "/oldroot"
#define NEWROOT "/newroot"

/* What to make of a missing name when walking to a mount point. */
enum make { MAKE_DIR, MAKE_FILE };

static void close_keeping_errno(int fd)
{
	int saved = errno;

	if (fd >= 0)
		close(fd);
	errno = saved;
}

/* One name in `dir`, not a symlink. Without openat2 (Linux 5.6, or an
 * outer filter refusing it), O_NOFOLLOW on a single name does the same
 * once the result is checked not to be a symlink. */
static int open_beneath(int dir, const char *name)
{
	struct jail_open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = JAIL_RESOLVE_NO_SYMLINKS | JAIL_RESOLVE_NO_MAGICLINKS | JAIL_RESOLVE_BENEATH,
	};
	struct stat st;
	int fd;

	if (strcmp(name, "..") == 0) {
		errno = EXDEV; /* as RESOLVE_BENEATH would say */
		return -1;
	}
	fd = (int)syscall(__NR_openat2, dir, name, &how, sizeof(how));
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;
	fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
		close(fd);
		errno = ELOOP;
		return -1;
	}
	return fd;
}

/* What the entries share while the view is built. */
struct build {
	int top;     /* /newroot as it is now: opened again after a mount on "/" */
	int ruleset; /* -1: no rules */
	int empty_file, empty_dir; /* /empty, /empty.d on the scratch tmpfs, once made */
};

/* The whole of `rel` (relative, no leading '/') beneath `dir` in one
 * openat2 following no symlink: what walking it a name at a time does,
 * when every name exists. -1 with ENOSYS/EPERM (no openat2) or ENOENT
 * sends the caller to the walk by names. */
static int open_all_beneath(int dir, const char *rel)
{
	struct jail_open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = JAIL_RESOLVE_NO_SYMLINKS | JAIL_RESOLVE_NO_MAGICLINKS | JAIL_RESOLVE_BENEATH,
	};

	return (int)syscall(__NR_openat2, dir, *rel ? rel : ".", &how, sizeof(how));
}

/* A missing name in `dir`, made as `make` says, and its fd (for a file,
 * the fd of its creation: O_EXCL and O_NOFOLLOW make it ours). */
static int make_name(int dir, const char *name, enum make make, const char **sc)
{
	int fd;

	if (make == MAKE_DIR) {
		*sc = "mkdirat";
		if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST)
			return -1;
		*sc = "openat2";
		return open_beneath(dir, name);
	}
	*sc = "openat";
	fd = openat(dir, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
	if (fd >= 0 || errno != EEXIST)
		return fd;
	*sc = "openat2";
	return open_beneath(dir, name);
}

/* The name at `path` in the view, as an fd, walked from the view's root
 * following no symlink; a missing component is made (a directory; the
 * last one as `last` says). `upto` stops before the last component (for
 * symlinks), and then *leaf is it. In one openat2 when all of it exists
 * (or all but the last name), else a name at a time. */
static int walk(const struct build *b, const char *path, enum make last, int upto, const char **leaf, const char **sc)
{
	char buf[PATH_MAX];
	char *name, *next, *slash;
	int dir, fd;

	while (*path == '/')
		path++;
	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		*sc = "openat2";
		return -1;
	}
	strcpy(buf, path);
	/* No trailing '/': the last component is the last name. */
	for (size_t n = strlen(buf); n > 0 && buf[n - 1] == '/'; n--)
		buf[n - 1] = '\0';
	*sc = "openat2";
	slash = strrchr(buf, '/');
	if (!upto) {
		fd = open_all_beneath(b->top, buf);
		if (fd >= 0 || (errno != ENOENT && errno != ENOSYS && errno != EPERM))
			return fd;
	}
	/* The parent in one go, then the last name. */
	if (buf[0] != '\0') {
		if (slash)
			*slash = '\0';
		dir = slash ? open_all_beneath(b->top, buf) : open_all_beneath(b->top, "");
		if (slash)
			*slash = '/';
		if (dir >= 0) {
			name = slash ? slash + 1 : buf;
			if (upto) {
				*leaf = name;
				return dir;
			}
			fd = open_beneath(dir, name);
			if (fd < 0 && errno == ENOENT)
				fd = make_name(dir, name, last, sc);
			close_keeping_errno(dir);
			return fd;
		}
		if (errno != ENOENT && errno != ENOSYS && errno != EPERM)
			return -1;
	}
	/* A name at a time, making what is missing. */
	name = buf;
	*sc = "openat2";
	dir = open_beneath(b->top, ".");
	while (dir >= 0) {
		if (*name == '\0')
			return dir;
		next = strchr(name, '/');
		if (next)
			*next++ = '\0';
		else
			next = name + strlen(name);
		while (*next == '/')
			next++;
		if (upto && *next == '\0') {
			*leaf = name;
			return dir;
		}
		*sc = "openat2";
		fd = open_beneath(dir, name);
		if (fd < 0 && errno == ENOENT)
			fd = make_name(dir, name, *next ? MAKE_DIR : last, sc);
		close_keeping_errno(dir);
		dir = fd;
		name = next;
	}
	return -1;
}

static int add_rule(int ruleset, int fd, uint64_t access)
{
	struct jail_path_beneath_attr attr = { .allowed_access = access, .parent_fd = fd };

	if (ruleset < 0 || access == 0)
		return 0;
	return (int)syscall(__NR_landlock_add_rule, ruleset, JAIL_LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
}

static int move_to(int mnt, int point)
{
	return (int)syscall(__NR_move_mount, mnt, "", point, "",
			    JAIL_MOVE_MOUNT_F_EMPTY_PATH | JAIL_MOVE_MOUNT_T_EMPTY_PATH);
}

/* A copy of the tree at `name` in `dir` (the object itself with
 * AT_EMPTY_PATH and name ""), with `attr`, mounted on `point`. *sc names
 * the step that failed. */
static int clone_onto(int dir, const char *name, unsigned int flags, const struct jail_mount_attr *attr, int point, const char **sc)
{
	int tree, rc = -1;

	*sc = "open_tree";
	tree = (int)syscall(__NR_open_tree, dir, name, JAIL_OPEN_TREE_CLONE | O_CLOEXEC | flags);
	if (tree < 0)
		return -1;
	*sc = "mount_setattr";
	if (syscall(__NR_mount_setattr, tree, "", AT_EMPTY_PATH | (flags & JAIL_AT_RECURSIVE), attr, sizeof(*attr)) < 0)
		goto out;
	*sc = "move_mount";
	rc = move_to(tree, point);
out:
	close_keeping_errno(tree);
	return rc;
}

/* ---- one function per kind of entry ------------------------------------ */

/* The entry's source, outside (under /oldroot), opened as the Landlock
 * step opens a grant: no symlink in it, and the object the plan saw. */
static int open_source(const struct jail_view_entry *e, struct stat *st, struct jail_error *err)
{
	char outside[PATH_MAX];
	const char *src = e->source ? e->source : e->path;
	const char *sc;
	int fd;

	if (strlen(OLDROOT) + strlen(src) >= sizeof(outside)) {
		errno = ENAMETOOLONG;
		return jail_fail(err, "view", "openat2", src);
	}
	strcpy(outside, OLDROOT);
	strcat(outside, strcmp(src, "/") == 0 ? "" : src);
	fd = jail_open_checked(outside, e->has_identity, e->dev, e->ino, OLDROOT "/proc", st, &sc);
	if (fd < 0)
		return jail_fail(err, "view", sc, src);
	return fd;
}

static int view_bind(const struct jail_view_entry *e, struct build *b, struct jail_error *err)
{
	const char *src = e->source ? e->source : e->path;
	struct jail_mount_attr attr = {
		.attr_set = JAIL_MOUNT_ATTR_NOSUID | (e->read_only ? JAIL_MOUNT_ATTR_RDONLY : 0) |
			    (e->device ? 0 : JAIL_MOUNT_ATTR_NODEV),
	};
	const char *sc;
	struct stat st;
	int fd, point = -1;

	fd = open_source(e, &st, err);
	if (fd < 0)
		return -1;
	point = walk(b, e->path, S_ISDIR(st.st_mode) ? MAKE_DIR : MAKE_FILE, 0, NULL, &sc);
	if (point < 0)
		goto fail_path;
	if (clone_onto(fd, "", JAIL_AT_RECURSIVE | AT_EMPTY_PATH, &attr, point, &sc) < 0) {
		if (strcmp(sc, "open_tree") == 0)
			goto fail_src; /* the source's fault, not the mount point's */
		goto fail_path;
	}
	sc = "landlock_add_rule";
	if (add_rule(b->ruleset, fd, e->access) < 0)
		goto fail_path;
	close(point);
	close(fd);
	return 0;
fail_src:
	jail_fail(err, "view", sc, src);
	goto out;
fail_path:
	jail_fail(err, "view", sc, e->path);
out:
	close_keeping_errno(point);
	close_keeping_errno(fd);
	return -1;
}

/* A rule without a mount: for objects a bind already shows (the files of
 * /etc that are not root's alone, say), at a syscall or two each. */
static int view_rule(const struct jail_view_entry *e, struct build *b, struct jail_error *err)
{
	int fd = open_source(e, NULL, err), rc;

	if (fd < 0)
		return -1;
	rc = add_rule(b->ruleset, fd, e->access);
	close_keeping_errno(fd);
	if (rc < 0)
		return jail_fail(err, "view", "landlock_add_rule", e->path);
	return 0;
}

static int view_dir(const struct jail_view_entry *e, struct build *b, struct jail_error *err)
{
	const char *sc = "landlock_add_rule";
	int fd = walk(b, e->path, MAKE_DIR, 0, NULL, &sc), rc;

	if (fd < 0)
		return jail_fail(err, "view", sc, e->path);
	rc = add_rule(b->ruleset, fd, e->access);
	close_keeping_errno(fd);
	if (rc < 0)
		return jail_fail(err, "view", "landlock_add_rule", e->path);
	return 0;
}

static int view_symlink(const struct jail_view_entry *e, struct build *b, struct jail_error *err)
{
	const char *sc, *leaf = NULL;
	int dir = walk(b, e->path, MAKE_DIR, 1, &leaf, &sc), rc;

	(void)b;
	if (dir < 0)
		return jail_fail(err, "view", sc, e->path);
	rc = leaf ? symlinkat(e->target, dir, leaf) : 0;
	close_keeping_errno(dir);
	if (rc < 0 && errno != EEXIST) /* something there already: keep it */
		return jail_fail(err, "view", "symlinkat", e->path);
	return 0;
}

/* A new file system of `type` with `options` ("key=value" or "flag"),
 * mounted at the entry's path with `attrs`, and its rule. */
static int view_fs(const struct jail_view_entry *e, struct build *b, struct jail_error *err,
		   const char *type, const char *const *options, uint64_t attrs)
{
	char key[64];
	const char *sc, *value;
	int point, fs = -1, mnt = -1;

	point = walk(b, e->path, MAKE_DIR, 0, NULL, &sc);
	if (point < 0)
		return jail_fail(err, "view", sc, e->path);
	sc = "fsopen";
	fs = (int)syscall(__NR_fsopen, type, JAIL_FSOPEN_CLOEXEC);
	if (fs < 0)
		goto fail;
	sc = "fsconfig";
	for (; *options; options++) {
		value = strchr(*options, '=');
		if (!value) {
			if (syscall(__NR_fsconfig, fs, JAIL_FSCONFIG_SET_FLAG, *options, NULL, 0) < 0)
				goto fail;
			continue;
		}
		if ((size_t)(value - *options) >= sizeof(key)) {
			errno = EINVAL;
			goto fail;
		}
		memcpy(key, *options, (size_t)(value - *options));
		key[value - *options] = '\0';
		if (syscall(__NR_fsconfig, fs, JAIL_FSCONFIG_SET_STRING, key, value + 1, 0) < 0)
			goto fail;
	}
	if (syscall(__NR_fsconfig, fs, JAIL_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto fail;
	sc = "fsmount";
	mnt = (int)syscall(__NR_fsmount, fs, JAIL_FSMOUNT_CLOEXEC, attrs);
	if (mnt < 0)
		goto fail;
	sc = "move_mount";
	if (move_to(mnt, point) < 0)
		goto fail;
	sc = "landlock_add_rule";
	if (add_rule(b->ruleset, mnt, e->access) < 0)
		goto fail;
	close(mnt);
	close(fs);
	close(point);
	return 0;
fail:
	jail_fail(err, "view", sc, e->path);
	close_keeping_errno(mnt);
	close_keeping_errno(fs);
	close_keeping_errno(point);
	return -1;
}

static int view_proc(const struct jail_view_entry *e, struct build *b, struct jail_error *err)
{
	static const char *const none[] = { NULL };
	return view_fs(e, b, err, "proc", none,
		       JAIL_MOUNT_ATTR_NOSUID | JAIL_MOUNT_ATTR_NODEV | JAIL_MOUNT_ATTR_NOEXEC);
}

static int view_devpts(const struct jail_view_entry *e, struct build *b, struct jail_error *err)
{
	static const char *const opts[] = { "newinstance", "ptmxmode=0666", "mode=0620", NULL };
	return view_fs(e, b, err, "devpts", opts, JAIL_MOUNT_ATTR_NOSUID | JAIL_MOUNT_ATTR_NOEXEC);
}

/* Over what must not show (the host's /sys under --ro /): empty, and no
 * one's to write in once the command has dropped its capabilities; the
 * init still makes mount points in it for what is granted inside. */
static int view_tmpfs(const struct jail_view_entry *e, struct build *b, struct jail_error *err)
{
	static const char *const opts[] = { "mode=0555", NULL };
	return view_fs(e, b, err, "tmpfs", opts, JAIL_MOUNT_ATTR_NOSUID | JAIL_MOUNT_ATTR_NODEV | JAIL_MOUNT_ATTR_NOEXEC);
}

/* Whether fd is the object the entry names by dev and ino. */
static int same_object(int fd, const struct jail_view_entry *e)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (uint64_t)st.st_dev == e->dev && (uint64_t)st.st_ino == e->ino;
}

/* A hidden path, or what a listed directory left out: a read-only bind
 * of one empty file, or one empty directory, made on the scratch tmpfs
 * (ours alone) when first needed. */
static int view_empty(const struct jail_view_entry *e, struct build *b, struct jail_error *err)
{
	struct jail_mount_attr attr = { .attr_set = JAIL_MOUNT_ATTR_RDONLY | JAIL_MOUNT_ATTR_NOSUID | JAIL_MOUNT_ATTR_NODEV | JAIL_MOUNT_ATTR_NOEXEC };
	const char *empty = e->is_dir ? "/empty.d" : "/empty";
	int *made = e->is_dir ? &b->empty_dir : &b->empty_file;
	const char *sc = "openat2";
	int fd, point;

	if (!*made) {
		if (e->is_dir) {
			if (mkdir(empty, 0555) < 0)
				return jail_fail(err, "view", "mkdir", e->path);
		} else {
			fd = open(empty, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
			if (fd < 0)
				return jail_fail(err, "view", "openat", e->path);
			close(fd);
		}
		*made = 1;
	}
	/* What it covers was there at the scan, inside a read-only bind. Gone
	 * since (/etc changes: a package manager, another run's test file), it
	 * has nothing to hide, and no mountpoint can be made for it there
	 * (EROFS): skipped. A name made again later meets Landlock, which has
	 * no rule for it, as any name made after the scan does.
	 * A hidden path (with its identity) is another matter: Landlock allows
	 * it, so the cover must go over the object found, and where that is
	 * not at the path (renamed away with its directory, to come back once
	 * the view is made) the run is refused (ESTALE). A mount, once made,
	 * stays with the object through renames. */
	point = open_all_beneath(b->top, e->path + strspn(e->path, "/"));
	if (point < 0 && errno == ENOENT && !e->has_identity)
		return 0;
	if (point < 0 && !e->has_identity)
		point = walk(b, e->path, e->is_dir ? MAKE_DIR : MAKE_FILE, 0, NULL, &sc);
	if (point >= 0 && e->has_identity && !same_object(point, e)) {
		close(point);
		point = -1;
		errno = ESTALE;
		sc = "fstat";
	}
	if (point < 0 && e->has_identity && errno == ENOENT)
		errno = ESTALE; /* found at the scan, gone now */
	if (point < 0 || clone_onto(AT_FDCWD, empty, 0, &attr, point, &sc) < 0) {
		jail_fail(err, "view", sc, e->path);
		close_keeping_errno(point);
		return -1;
	}
	close(point);
	return 0;
}

/* "<key>/oldroot/proc/self/fd/<fd>": a path overlayfs resolves to the
 * object already opened (and checked), not to whatever the name is now.
 * By hand: no snprintf in a forked copy of Node. */
static void fd_option(char *buf, size_t size, const char *key, int fd)
{
	char digits[12];
	size_t n = 0, len;

	do
		digits[n++] = (char)('0' + fd % 10);
	while ((fd /= 10) > 0 && n < sizeof(digits));
	len = strlen(key) + strlen(OLDROOT "/proc/self/fd/") + n;
	if (len >= size) {
		buf[0] = '\0';
		return;
	}
	strcpy(buf, key);
	strcat(buf, OLDROOT "/proc/self/fd/");
	len = strlen(buf);
	while (n > 0)
		buf[len++] = digits[--n];
	buf[len] = '\0';
}

/* An overlay: the real directory at the entry's path below (read-only,
 * the object the plan saw), jail's private upper/ and work/ above, so that
 * what the command writes there stays out of the real directory. userxattr:
 * overlayfs in a user namespace keeps its metadata in user.* xattrs. */
static int view_overlay(const struct jail_view_entry *e, struct build *b, struct jail_error *err)
{
	struct jail_view_entry layer_entry = { .path = e->target };
	char lower[64], upper[64], work[64];
	const char *opts[] = { lower, upper, work, "userxattr", NULL };
	int low, layer, up = -1, wk = -1, rc = -1;

	low = open_source(e, NULL, err);
	if (low < 0)
		return -1;
	layer = open_source(&layer_entry, NULL, err);
	if (layer < 0)
		goto out;
	up = open_beneath(layer, "upper");
	wk = open_beneath(layer, "work");
	if (up < 0 || wk < 0) {
		jail_fail(err, "view", "openat2", e->target);
		goto out;
	}
	fd_option(lower, sizeof(lower), "lowerdir=", low);
	fd_option(upper, sizeof(upper), "upperdir=", up);
	fd_option(work, sizeof(work), "workdir=", wk);
	rc = view_fs(e, b, err, "overlay", opts, JAIL_MOUNT_ATTR_NOSUID | JAIL_MOUNT_ATTR_NODEV);
out:
	close_keeping_errno(wk);
	close_keeping_errno(up);
	close_keeping_errno(layer);
	close_keeping_errno(low);
	return rc;
}

/* Indexed by enum jail_view_kind. */
static int (*const kinds[])(const struct jail_view_entry *, struct build *, struct jail_error *) = {
	[JAIL_VIEW_BIND] = view_bind,
	[JAIL_VIEW_DIR] = view_dir,
	[JAIL_VIEW_SYMLINK] = view_symlink,
	[JAIL_VIEW_PROC] = view_proc,
	[JAIL_VIEW_DEVPTS] = view_devpts,
	[JAIL_VIEW_TMPFS] = view_tmpfs,
	[JAIL_VIEW_RULE] = view_rule,
	[JAIL_VIEW_EMPTY] = view_empty,
	[JAIL_VIEW_OVERLAY] = view_overlay,
};

/* ---- the scaffolding ---------------------------------------------------- */

/* A scratch tmpfs at SCRATCH becomes the root, with the view's own tmpfs
 * at /newroot and the machine's root at /oldroot. Returns an fd of the
 * view's tmpfs (not of what is later mounted on it). */
static int enter_scratch(struct jail_error *err)
{
	int fd;

	/* Nothing done here propagates out, or in. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return jail_fail(err, "namespaces", "mount", "/");
	if (mount("tmpfs", SCRATCH, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return jail_fail(err, "namespaces", "mount", SCRATCH);
	if (chdir(SCRATCH) < 0)
		return jail_fail(err, "namespaces", "chdir", SCRATCH);
	if (mkdir("newroot", 0755) < 0 || mkdir("oldroot", 0755) < 0)
		return jail_fail(err, "namespaces", "mkdir", SCRATCH);
	if (mount("tmpfs", "newroot", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		return jail_fail(err, "namespaces", "mount", SCRATCH "/newroot");
	if (syscall(SYS_pivot_root, ".", "oldroot") < 0)
		return jail_fail(err, "namespaces", "pivot_root", SCRATCH);
	if (chdir("/") < 0)
		return jail_fail(err, "namespaces", "chdir", "/");
	fd = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return jail_fail(err, "namespaces", "open", NEWROOT);
	return fd;
}

/* Detach the machine's root, and make the view the root. */
static int leave_scratch(struct jail_error *err)
{
	int scratch;

	if (umount2(OLDROOT, MNT_DETACH) < 0)
		return jail_fail(err, "namespaces", "umount2", OLDROOT);
	scratch = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (scratch < 0)
		return jail_fail(err, "namespaces", "open", "/");
	/* pivot_root(".", ".") stacks the scratch root on the view's; it is
	 * then detached from where it is, which fchdir reaches. */
	if (chdir(NEWROOT) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || fchdir(scratch) < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		jail_fail(err, "namespaces", "pivot_root", NEWROOT);
		close_keeping_errno(scratch);
		return -1;
	}
	close(scratch);
	return 0;
}

int jail_view_build(const struct jail_namespaces *ns, int ruleset_fd, int skip_rules, struct jail_error *err)
{
	struct jail_mount_attr ro = { .attr_set = JAIL_MOUNT_ATTR_RDONLY };
	struct build b = { .top = -1, .ruleset = ruleset_fd };
	size_t i;
	int root = enter_scratch(err);

	if (root < 0)
		return -1;
	b.top = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b.top < 0) {
		jail_fail(err, "namespaces", "open", NEWROOT);
		goto fail;
	}
	for (i = 0; i < ns->n_view; i++) {
		const struct jail_view_entry *e = &ns->view[i];
		if ((size_t)e->kind >= LEN(kinds) || e->path[0] != '/') {
			errno = EINVAL;
			jail_fail(err, "view", "mount", e->path);
			goto fail;
		}
		if (skip_rules && e->kind == JAIL_VIEW_RULE)
			continue;
		if (kinds[e->kind](e, &b, err) < 0)
			goto fail;
		/* A mount on the view's root hides what was under it: walks
		 * start from the new top. */
		if (e->path[strspn(e->path, "/")] == '\0') {
			close(b.top);
			b.top = open(NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (b.top < 0) {
				jail_fail(err, "namespaces", "open", NEWROOT);
				goto fail;
			}
		}
	}
	/* The skeleton itself (mount points, symlinks, empty directories) is
	 * read-only; what is mounted on it keeps its own flags. */
	if (syscall(__NR_mount_setattr, root, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0) {
		jail_fail(err, "namespaces", "mount_setattr", "/");
		goto fail;
	}
	close(b.top);
	close(root);
	if (leave_scratch(err) < 0)
		return -1;
	if (chdir(ns->cwd) < 0)
		return jail_fail(err, "view", "chdir", ns->cwd);
	return 0;
fail:
	close_keeping_errno(b.top);
	close_keeping_errno(root);
	return -1;
}

int jail_view_has_rules(const struct jail_namespaces *ns)
{
	size_t i;

	for (i = 0; ns && i < ns->n_view; i++)
		if (ns->view[i].kind == JAIL_VIEW_RULE)
			return 1;
	return 0;
}

int jail_view_rules(const struct jail_namespaces *ns, int ruleset_fd, struct jail_error *err)
{
	const char *src, *sc;
	size_t i;
	int fd, rc;

	for (i = 0; i < ns->n_view; i++) {
		const struct jail_view_entry *e = &ns->view[i];

		if (e->kind != JAIL_VIEW_RULE)
			continue;
		src = e->source ? e->source : e->path;
		fd = jail_open_checked(src, e->has_identity, e->dev, e->ino, "/proc", NULL, &sc);
		if (fd < 0)
			return jail_fail(err, "view", sc, src);
		rc = add_rule(ruleset_fd, fd, e->access);
		close_keeping_errno(fd);
		if (rc < 0)
			return jail_fail(err, "view", "landlock_add_rule", e->path);
	}
	return 0;
}
