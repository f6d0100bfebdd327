/* test.h - the tiny test framework: self-registering tests and typed asserts that print both values. */
#ifndef VIGIL_TEST_H
#define VIGIL_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*vg_test_fn)(int *failed);
void vg_test_register(const char *name, const char *file, vg_test_fn fn);

/* TEST(name) { ... } defines and registers a test. Asserts return from it on failure. */
#define TEST(name)                                                                   \
	static void test_##name(int *vg_test_failed);                               \
	__attribute__((constructor)) static void register_##name(void)              \
	{                                                                            \
		vg_test_register(#name, __FILE__, test_##name);                     \
	}                                                                            \
	static void test_##name(int *vg_test_failed)

#define VG_FAIL_(...)                                                                \
	do {                                                                         \
		fprintf(stderr, "    %s:%d: ", __FILE__, __LINE__);                     \
		fprintf(stderr, __VA_ARGS__);                                        \
		fputc('\n', stderr);                                                 \
		*vg_test_failed = 1;                                                 \
		return;                                                              \
	} while (0)

#define ASSERT_TRUE(c)                                                               \
	do {                                                                         \
		if (!(c))                                                            \
			VG_FAIL_("expected true: %s", #c);                           \
	} while (0)

#define ASSERT_EQ(a, b)                                                              \
	do {                                                                         \
		long long va_ = (long long)(a), vb_ = (long long)(b);               \
		if (va_ != vb_)                                                      \
			VG_FAIL_("%s == %s: %lld != %lld", #a, #b, va_, vb_);        \
	} while (0)

#define ASSERT_NE(a, b)                                                              \
	do {                                                                         \
		long long va_ = (long long)(a), vb_ = (long long)(b);               \
		if (va_ == vb_)                                                      \
			VG_FAIL_("%s != %s: both %lld", #a, #b, va_);                \
	} while (0)

#define ASSERT_GE(a, b)                                                              \
	do {                                                                         \
		long long va_ = (long long)(a), vb_ = (long long)(b);               \
		if (va_ < vb_)                                                       \
			VG_FAIL_("%s >= %s: %lld < %lld", #a, #b, va_, vb_);         \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                          \
	do {                                                                         \
		const char *sa_ = (a), *sb_ = (b);                                   \
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0)                           \
			VG_FAIL_("%s == %s: \"%s\" != \"%s\"", #a, #b,               \
				 sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");        \
	} while (0)

#define ASSERT_NULL(a)                                                               \
	do {                                                                         \
		const void *pa_ = (a);                                               \
		if (pa_)                                                             \
			VG_FAIL_("%s is not NULL", #a);                              \
	} while (0)

/* Path helpers for tests: the shared data folder and the build folder. */
const char *vg_test_shared_dir(void);   /* ../shared/data or $VIGIL_SHARED_DATA */
const char *vg_test_build_dir(void);    /* $VIGIL_BUILD or "build" */
/*
 * For tests that need root (eBPF, namespaces, other processes): 1 when
 * running as root; else 0 after a loud "SKIPPED: <what> need root" on
 * stderr, or, when CI=true, after marking the test failed.
 */
int vg_test_need_root(int *vg_test_failed, const char *what);
/* Runs a shell command, captures stdout into a malloc'd buffer (*out) and returns the exit status. */
int vg_test_run(const char *cmd, char **out);

/*
 * Builds a Sysmon event (host "host1") from NULL-terminated name/value pairs
 * through the real Windows mapper. The caller frees it with vg_event_free.
 */
struct vg_event;
struct vg_event *vg_test_sysmon(unsigned eid, const char *time, ...);

#endif /* VIGIL_TEST_H */
