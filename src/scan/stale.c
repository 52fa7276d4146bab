/*
 * stale.c - stale mappings: file-backed mappings whose name now
 * names another file (HS_MAP_REPLACED) or nothing (HS_MAP_DELETED).
 * The process keeps running the old inode; a restart would pick up the
 * new one.
 *
 * Where names are looked up.  The kernel prints a mapped file's name as
 * seen from the READER's root, and from the root of the file's own mount
 * namespace when the reader cannot reach it.  So:
 *  - a process in our mount namespace (chrooted or not) is judged by
 *    looking the name up in our own view; /proc/PID/root/NAME would be
 *    wrong for a chroot (the name already includes the chroot's path);
 *  - a process in another mount namespace (a container) is judged under
 *    /proc/PID/root with openat2(RESOLVE_IN_ROOT), so that its absolute
 *    symbolic links resolve inside its own file system.  A process that
 *    also chroot()s inside its namespace is judged against its chroot,
 *    which may be wrong (reported DELETED).
 *
 * " (deleted)": the name as printed is looked up first, so a file that
 * is literally named "x (deleted)" is not stale; then the name without
 * the suffix.  Same file means same inode number and device; when the
 * devices differ (btrfs subvolumes: maps shows the superblock's device,
 * stat(2) the subvolume's) the mapping's own inode is asked through
 * /proc/PID/map_files (root only), and without that the inode number
 * alone decides.
 *
 * What is never reported, because it looks deleted but is not an
 * upgrade: these are names the kernel gives to memory that never had a
 * name in a file system, or temporary files that programs unlink on
 * purpose right after mapping them.
 *  - "/memfd:..."		memfd_create(2) memory (always "deleted")
 *  - "/SYSV..."		System V shared memory segments
 *  - "/dev/zero"		shared anonymous memory (MAP_SHARED|MAP_ANON)
 *  - "/anon_hugepage"		anonymous huge-page memory (MAP_HUGETLB)
 *  - "/[aio]"			io_setup(2) completion rings
 *  - "/dev/shm/..."		POSIX shared memory, unlinked by design
 *  - "/dev/dri/...", "/drm mm object"	GPU buffers
 *  - a deleted file whose base name starts with "ffi" or "jna":
 *    libffi closure trampolines and JNA's extracted native library,
 *    created, mapped and unlinked on purpose, in whatever directory
 *  - a deleted file under /tmp/ or /var/tmp/ mapped executable: code a
 *    program extracted or generated for itself (JITs, self-extracting
 *    runtimes), never an installed file.  The whole file is ignored, its
 *    data mappings too, as soon as one of its mappings is executable.
 * A replaced file is reported even under /tmp: the kernel marks its old
 * inode " (deleted)" too, so this last rule applies only when the name
 * now names nothing (hs_stale_ignored() says 2: judge first).
 *
 * Speed: the same few hundred files are mapped by every process, so the
 * verdicts on names looked up in our own view (processes in our mount
 * namespace) are kept for the walk in a fixed table keyed by (name,
 * device, inode): one stat(2) per distinct file, not per process and
 * file.  The table has a fixed size, so memory stays constant; a
 * collision just looks the name up again.  The mount namespace of a
 * process is asked only when it maps a file with a name to judge.
 *
 * Memory: any user chooses how many mappings a process has (up to
 * vm.max_map_count, 65530 by default) and how long their names are (up
 * to PATH_MAX).  A row of mappings of the same file under the same name
 * keeps that name once: their paths are one pointer, which par.c
 * and the callers rely on to group them without comparing the names.
 * Past STALE_NAMES_MAX bytes of names or STALE_MAPS_MAX mappings, a
 * process's further stale mappings are counted in hs_proc.dropped, not
 * kept: 65530 mappings of 4 KiB names would otherwise be 256 MiB.
 */
#include <sys/stat.h>
#include <linux/openat2.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan.h"
#include "sys.h"

#define LAST_NONE   (-3)
#define CACHE_SLOTS 1024 /* a power of two */
#define CACHE_NAME  224	 /* longer names are not kept */

struct hs_verdict {
	dev_t dev;
	ino_t ino;
	int verdict; /* LAST_NONE: empty slot */
	unsigned short len;
	char name[CACHE_NAME];
};
#define VERDICT_FATAL	(-2)
#define VERDICT_UNKNOWN (-1)

/* clang-format off */
static const char *const ignored_prefix[] = {
	"/memfd:", "/SYSV", "/anon_hugepage", "/[aio]", "/dev/shm/",
	"/dev/dri/", "/drm mm object",
};
/* clang-format on */

static int
has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

int
hs_stale_ignored(const struct hs_maps_rec *rec)
{
	const char *name = rec->path, *base;
	size_t len = rec->namelen, i;

	for (i = 0; i < sizeof(ignored_prefix) / sizeof(*ignored_prefix); i++)
		if (has_prefix(name, len, ignored_prefix[i]))
			return 1;
	if (len == 9 && memcmp(name, "/dev/zero", 9) == 0)
		return 1;
	if (!(rec->flags & HS_MAPS_DELETED))
		return 0;
	base = memrchr(name, '/', len);
	base = base != NULL ? base + 1 : name;
	len -= (size_t)(base - name);
	if (has_prefix(base, len, "ffi") || has_prefix(base, len, "jna"))
		return 1;
	return (rec->perms & HS_MAPS_X) &&
		(has_prefix(name, rec->namelen, "/tmp/") ||
		    has_prefix(name, rec->namelen, "/var/tmp/")) ?
	    2 :
	    0;
}

/* stat(2) name as the process sees it; see the top of the file. */
static int
lookup(struct hs_scan *s, const char *name, struct stat *st)
{
	int r;

	if (s->proc.other_mntns != 1)
		return hs_sys.fstatat(AT_FDCWD, name, st, 0);
	if (s->rootfd == -1 &&
	    (hs_scan_pdir(s) == -1 ||
		(s->rootfd = hs_openat(s->pdir, "root", O_PATH | O_DIRECTORY,
		     0)) == -1))
		return -1;
	r = hs_scan_stat_in(s->rootfd, name, RESOLVE_IN_ROOT, st);
	if (r == -1 && errno == ENOSYS) /* before 5.6 */
		return hs_sys.fstatat(s->rootfd, name + 1, st, 0);
	return r;
}

static int
same_file(struct hs_scan *s, const struct hs_maps_rec *rec,
    const struct stat *st)
{
	struct stat mst;
	char name[64];

	if (st->st_ino != rec->ino)
		return 0;
	if (st->st_dev == rec->dev)
		return 1;
	s->cacheable = 0; /* the answer is this process's */
	(void)snprintf(name, sizeof(name), "%s/map_files/%llx-%llx", s->pidname,
	    (unsigned long long)rec->start, (unsigned long long)rec->end);
	if (hs_sys.fstatat(s->procfd, name, &mst, 0) == 0)
		return mst.st_dev == st->st_dev && mst.st_ino == st->st_ino;
	return 1;
}

/* Put the name of rec, without " (deleted)", in s->tmp; raw: as printed. */
static int
copy_name(struct hs_scan *s, const struct hs_maps_rec *rec, int raw)
{
	size_t need = raw ? rec->namelen * 4 + 1 : rec->namelen + 1;
	char *p;

	if (need > s->tmpcap) {
		if ((p = realloc(s->tmp, need)) == NULL)
			return -1;
		s->tmp = p;
		s->tmpcap = need;
	}
	if (raw)
		return hs_maps_reescape(rec, s->tmp, s->tmpcap) == -1 ? -1 : 0;
	memcpy(s->tmp, rec->path, rec->namelen);
	s->tmp[rec->namelen] = '\0';
	return 0;
}

/*
 * 0 if the mapping's name still names its file, HS_MAP_DELETED or
 * HS_MAP_REPLACED if not, VERDICT_UNKNOWN if the name could not be
 * looked up (EACCES, ELOOP...), VERDICT_FATAL on ENOMEM.
 */
static int
judge(struct hs_scan *s, const struct hs_maps_rec *rec)
{
	struct stat st;
	int r;

	r = lookup(s, rec->path, &st);
	if (r == 0 && same_file(s, rec, &st))
		return 0;
	if (rec->flags & HS_MAPS_DELETED) {
		if (copy_name(s, rec, 0) == -1)
			return VERDICT_FATAL;
		r = lookup(s, s->tmp, &st);
	}
	if (r == -1 && (errno == ENOENT || errno == ENOTDIR) &&
	    (rec->flags & HS_MAPS_ESCAPED)) {
		/* Maybe "\012" was in the name itself: try it as printed. */
		if (copy_name(s, rec, 1) == -1)
			return VERDICT_FATAL;
		r = lookup(s, s->tmp, &st);
	}
	if (r == 0)
		return same_file(s, rec, &st) ? 0 : HS_MAP_REPLACED;
	if (errno == ENOENT || errno == ENOTDIR)
		return HS_MAP_DELETED;
	return VERDICT_UNKNOWN;
}

/*
 * For fds.c and script.c: the verdict on a name the kernel gave (a
 * descriptor's link, with " (deleted)" if deleted) for the file (dev,
 * ino) as stat(2) shows it: 0, HS_MAP_DELETED, HS_MAP_REPLACED, or -1
 * if it could not be judged (counted in unresolved; ENOMEM: -2).
 */
int
hs_stale_judge(struct hs_scan *s, const char *name, size_t pathlen,
    size_t namelen, dev_t dev, ino_t ino)
{
	struct hs_maps_rec rec;
	int v;

	memset(&rec, 0, sizeof(rec));
	rec.dev = dev;
	rec.ino = ino;
	rec.path = name;
	rec.pathlen = pathlen;
	rec.namelen = namelen;
	rec.flags = namelen < pathlen ? HS_MAPS_DELETED : 0;
	(void)hs_procinfo_mntns(s);
	if ((v = judge(s, &rec)) == VERDICT_UNKNOWN)
		s->st.unresolved++;
	return v;
}

/* The VMAs of one file come in a row: judge the file once. */
static int
same_as_last(const struct hs_scan *s, const struct hs_maps_rec *rec)
{
	return s->lastverdict != LAST_NONE && rec->dev == s->lastdev &&
	    rec->ino == s->lastino && rec->pathlen == s->lastlen &&
	    memcmp(rec->path, s->last, rec->pathlen) == 0;
}

static int
remember(struct hs_scan *s, const struct hs_maps_rec *rec, int verdict)
{
	char *p;

	if (rec->pathlen + 1 > s->lastcap) {
		if ((p = realloc(s->last, rec->pathlen + 1)) == NULL)
			return -1;
		s->last = p;
		s->lastcap = rec->pathlen + 1;
	}
	memcpy(s->last, rec->path, rec->pathlen);
	s->lastlen = rec->pathlen;
	s->lastdev = rec->dev;
	s->lastino = rec->ino;
	s->lastverdict = verdict;
	return 0;
}

static size_t
cache_slot(const struct hs_maps_rec *rec)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < rec->pathlen; i++)
		h = (h ^ (unsigned char)rec->path[i]) * 1099511628211ULL;
	h ^= (uint64_t)rec->ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)rec->dev;
	return (size_t)(h ^ (h >> 29)) & (CACHE_SLOTS - 1);
}

/* The walk's verdict on rec in our view, or LAST_NONE. */
static int
cache_get(const struct hs_scan *s, const struct hs_maps_rec *rec)
{
	const struct hs_verdict *v;

	if (s->cache == NULL || rec->pathlen >= CACHE_NAME)
		return LAST_NONE;
	v = &s->cache[cache_slot(rec)];
	if (v->verdict == LAST_NONE || v->dev != rec->dev ||
	    v->ino != rec->ino || v->len != rec->pathlen ||
	    memcmp(v->name, rec->path, rec->pathlen) != 0)
		return LAST_NONE;
	return v->verdict;
}

static void
cache_put(struct hs_scan *s, const struct hs_maps_rec *rec, int verdict)
{
	struct hs_verdict *v;
	size_t i;

	if (rec->pathlen >= CACHE_NAME)
		return;
	if (s->cache == NULL) {
		if ((s->cache = malloc(CACHE_SLOTS * sizeof(*v))) == NULL)
			return; /* no cache: slower, still right */
		for (i = 0; i < CACHE_SLOTS; i++)
			s->cache[i].verdict = LAST_NONE;
	}
	v = &s->cache[cache_slot(rec)];
	v->dev = rec->dev;
	v->ino = rec->ino;
	v->verdict = verdict;
	v->len = (unsigned short)rec->pathlen;
	memcpy(v->name, rec->path, rec->pathlen);
}

/* Forget the verdicts: a new walk looks again. */
void
hs_stale_forget(struct hs_scan *s)
{
	free(s->cache);
	s->cache = NULL;
}

/* The verdict on rec, from the last VMA, the cache or a lookup. */
static int
verdict(struct hs_scan *s, const struct hs_maps_rec *rec)
{
	int v, ours;

	if (same_as_last(s, rec))
		return s->lastverdict;
	ours = hs_procinfo_mntns(s) != 1;
	if (!ours || (v = cache_get(s, rec)) == LAST_NONE) {
		s->cacheable = ours;
		if ((v = judge(s, rec)) == VERDICT_FATAL)
			return v;
		if (v == VERDICT_UNKNOWN)
			s->st.unresolved++;
		else if (s->cacheable)
			cache_put(s, rec, v);
	}
	return remember(s, rec, v) == -1 ? VERDICT_FATAL : v;
}

/* An executable deleted temp file: remember it, to drop its data too. */
static int
ignore_tmp_code(struct hs_scan *s, const struct hs_maps_rec *rec)
{
	struct hs_scan_id *v;
	size_t cap;

	if (!(rec->flags & HS_MAPS_DELETED) || !(rec->perms & HS_MAPS_X))
		return 0;
	if (s->ntmpx > 0 && s->tmpx[s->ntmpx - 1].dev == rec->dev &&
	    s->tmpx[s->ntmpx - 1].ino == rec->ino)
		return 0; /* the same file's next VMA */
	if (s->ntmpx == s->captmpx) {
		cap = s->captmpx ? s->captmpx * 2 : 8;
		if ((v = reallocarray(s->tmpx, cap, sizeof(*v))) == NULL)
			return -1;
		s->tmpx = v;
		s->captmpx = cap;
	}
	s->tmpx[s->ntmpx].dev = rec->dev;
	s->tmpx[s->ntmpx].ino = rec->ino;
	s->ntmpx++;
	return 0;
}

static int
id_cmp(const void *a, const void *b)
{
	const struct hs_scan_id *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int
is_tmp_code(const struct hs_scan *s, const struct hs_mapping *m)
{
	struct hs_scan_id key = { .dev = m->dev, .ino = m->ino };

	return bsearch(&key, s->tmpx, s->ntmpx, sizeof(key), id_cmp) != NULL;
}

/*
 * Drop the mappings of the files ignore_tmp_code() saw.  Sorted and
 * searched, as one process may make tens of thousands of each.
 */
static void
drop_tmp_code(struct hs_scan *s)
{
	size_t i, o;

	if (s->ntmpx == 0)
		return;
	qsort(s->tmpx, s->ntmpx, sizeof(*s->tmpx), id_cmp);
	for (i = o = 1; i < s->ntmpx; i++)
		if (id_cmp(&s->tmpx[i], &s->tmpx[o - 1]) != 0)
			s->tmpx[o++] = s->tmpx[i];
	s->ntmpx = o;
	for (i = o = 0; i < s->nmaps; i++) {
		if (is_tmp_code(s, &s->maps[i]))
			continue;
		s->maps[o] = s->maps[i];
		s->pathoff[o++] = s->pathoff[i];
	}
	s->nmaps = o;
}

/*
 * Keep a stale mapping, within the limits (see the top of the file).
 * again: it is the same file under the same name as the last mapping
 * kept, whose name it shares.
 */
static int
keep(struct hs_scan *s, const struct hs_maps_rec *rec, unsigned int kind,
    int again)
{
	if (s->nmaps >= STALE_MAPS_MAX ||
	    (!again && s->nameslen + rec->namelen + 1 > STALE_NAMES_MAX)) {
		s->dropped++;
		s->lastkept = 0;
		return 0;
	}
	if (!again) {
		s->lastkept = 1;
		return hs_scan_add(s, rec, kind, 0, rec->path, rec->namelen);
	}
	if (hs_scan_add(s, rec, kind, 0, NULL, 0) == -1)
		return -1;
	s->pathoff[s->nmaps - 1] = s->pathoff[s->nmaps - 2];
	return 0;
}

static int
stale_rec(void *arg, const struct hs_maps_rec *rec)
{
	struct hs_scan *s = arg;
	int v, again;

	if (rec->ino == 0 || rec->pathlen == 0 || rec->path[0] != '/')
		return 0;
	s->filerecs++;
	if ((v = hs_stale_ignored(rec)) == 1)
		return ignore_tmp_code(s, rec);
	again = s->lastkept && same_as_last(s, rec);
	if (!again)
		s->lastkept = 0; /* verdict() moves "last" to rec */
	if (v == 2) {
		/* Temporary code, unless its name now names another file. */
		if ((v = verdict(s, rec)) == VERDICT_FATAL)
			return -1;
		if (v != HS_MAP_REPLACED)
			return ignore_tmp_code(s, rec);
	} else if ((v = verdict(s, rec)) == VERDICT_FATAL)
		return -1;
	if (v <= 0)
		return 0;
	return keep(s, rec, hs_scan_kind(rec->perms) | (unsigned)v, again);
}

/* Collect the current process's stale mappings. */
int
hs_stale_maps(struct hs_scan *s)
{
	int r;

	s->lastverdict = LAST_NONE;
	s->lastkept = 0;
	s->dropped = 0;
	s->ntmpx = 0;
	s->filerecs = 0;
	r = hs_pmaps_read(&s->pmaps, s->mapsfd, HS_PMAPS_TEXT, stale_rec, s);
	if (r == 0)
		drop_tmp_code(s);
	/* Beyond the maps: only a process with files (not a kernel thread). */
	if (r == 0 && s->filerecs > 0 && !(s->flags & HS_SCAN_MAPS_ONLY) &&
	    (hs_stale_fds(s) == -1 || hs_stale_script(s) == -1))
		return -1;
	return r;
}
