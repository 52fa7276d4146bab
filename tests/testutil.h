/*
 * testutil.h - helpers for the cmocka suites of the replacement engine:
 * private directories, file contents, and fault injection through the
 * system-call seam (src/sys/sys.h).
 */
#ifndef HS_TESTUTIL_H
#define HS_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/types.h>

/* A fresh mkdtemp(3) directory; tu_rmdir() removes it and all inside. */
char *tu_mkdtemp(void);
void tu_rmdir(char *);
/* rm -rf path, in-process; the path itself is not freed. */
void tu_rmtree(const char *path);

/* dir/name, in a static ring of buffers (valid for a few calls). */
const char *tu_path(const char *dir, const char *name);

void tu_write(const char *path, const void *buf, size_t len);
void tu_write_str(const char *path, const char *s);
/* The file's content, NUL-terminated, malloc'd; *len its length. */
char *tu_read(const char *path, size_t *len);
void tu_assert_content(const char *path, const char *expected);
ino_t tu_ino(const char *path);
/* lstat(2) st_mode & 07777 of path. */
mode_t tu_mode(const char *path);
/* Number of entries in dir other than . and .. */
int tu_count(const char *dir);

/*
 * Fault injection.  tu_faults_install() wraps every entry of hs_sys
 * that can fail; then the n-th wrapped call (counting from 1) fails with
 * errno e, once, if n > 0.  tu_fault_calls() says how many wrapped calls
 * were made; tu_fault_fired() whether the fault was injected.  Calls to
 * close() and unlinkat() (cleanup) are never failed.
 */
void tu_faults_install(void);
void tu_faults_arm(int n, int e);
int tu_fault_calls(void);
int tu_fault_fired(void);
/*
 * Crash mode: the n-th wrapped call does not return, the process _exit()s
 * with status 99, as if killed there (no cleanup runs).
 */
void tu_faults_crash_at(int n);
/* The name of the call that the fault hit, or "". */
const char *tu_fault_name(void);
/* Only fail calls named name (e.g. "fsync"); NULL for all. */
void tu_faults_only(const char *name);

/* A trace of the wrapped calls, as "name" or "fsync:dir"/"fsync:file". */
const char *tu_trace(void);
void tu_trace_clear(void);

#endif /* HS_TESTUTIL_H */
