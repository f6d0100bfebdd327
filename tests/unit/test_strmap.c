/* test_strmap.c - unit tests of the string hash map: case folding, replacement, deletion with backward shift. */
#include <stdint.h>

#include "test.h"
#include "vigil/strmap.h"

TEST(strmap_put_get_del_many)
{
	struct vg_strmap m;
	char k[32];

	vg_strmap_init(&m, 0);
	for (intptr_t i = 1; i <= 5000; i++) {
		snprintf(k, sizeof(k), "key-%ld", (long)i);
		ASSERT_EQ(vg_strmap_put(&m, k, strlen(k), (void *)i, NULL), 0);
	}
	ASSERT_EQ(m.count, 5000);
	/* delete every other key; the rest must stay reachable after the shifts */
	for (intptr_t i = 1; i <= 5000; i += 2) {
		snprintf(k, sizeof(k), "key-%ld", (long)i);
		ASSERT_EQ((intptr_t)vg_strmap_del(&m, k, strlen(k)), i);
	}
	for (intptr_t i = 1; i <= 5000; i++) {
		snprintf(k, sizeof(k), "key-%ld", (long)i);
		void *v = vg_strmap_get(&m, k, strlen(k));
		if (i % 2)
			ASSERT_NULL(v);
		else
			ASSERT_EQ((intptr_t)v, i);
	}
	ASSERT_EQ(m.count, 2500);
	ASSERT_NULL(vg_strmap_del(&m, "absent", 6));
	vg_strmap_free(&m);
}

TEST(strmap_fold_case_and_replace)
{
	struct vg_strmap m;
	void *old = NULL;

	vg_strmap_init(&m, 1);
	ASSERT_EQ(vg_strmap_put(&m, "C:\\Windows\\X.exe", 16, (void *)1, NULL), 0);
	ASSERT_EQ((intptr_t)vg_strmap_get(&m, "c:\\windows\\x.EXE", 16), 1);
	ASSERT_EQ(vg_strmap_put(&m, "c:\\WINDOWS\\x.exe", 16, (void *)2, &old), 0);
	ASSERT_EQ((intptr_t)old, 1);
	ASSERT_EQ(m.count, 1);
	vg_strmap_free(&m);

	vg_strmap_init(&m, 0);
	vg_strmap_put(&m, "Abc", 3, (void *)1, NULL);
	ASSERT_NULL(vg_strmap_get(&m, "abc", 3));
	vg_strmap_free(&m);
}
