/* test_event.c - unit tests of the event model: field interning, arena strings, clone, time parsing, JSON output. */
#include <stdlib.h>

#include "test.h"
#include "vigil/buf.h"
#include "vigil/event.h"

TEST(event_intern_is_case_insensitive)
{
	uint32_t a = vg_field_intern("Image", 5);
	uint32_t b = vg_field_intern("image", 5);
	uint32_t c = vg_field_intern("ImageLoaded", 11);

	ASSERT_NE(a, 0);
	ASSERT_EQ(a, b);
	ASSERT_NE(a, c);
	ASSERT_STR_EQ(vg_field_name(a), "Image");
	ASSERT_EQ(vg_field_lookup("IMAGE", 5), a);
	ASSERT_EQ(vg_field_lookup("NeverInternedName", 17), 0);
}

TEST(event_fields_and_reset)
{
	struct vg_event *ev = vg_event_new();
	vg_event_reset(ev);
	for (int i = 0; i < 100; i++) {
		char name[32], val[64];
		snprintf(name, sizeof(name), "F%d", i);
		snprintf(val, sizeof(val), "value-%d", i);
		ASSERT_TRUE(vg_event_add_field(ev, name, strlen(name), val, strlen(val)) != NULL);
	}
	ASSERT_EQ(ev->nfields, 100);
	ASSERT_STR_EQ(vg_event_get(ev, "f42"), "value-42");
	ASSERT_NULL(vg_event_get(ev, "F100"));
	vg_event_reset(ev);
	ASSERT_EQ(ev->nfields, 0);
	ASSERT_NULL(vg_event_get(ev, "F1"));
	vg_event_free(ev);
	vg_event_free(NULL);
}

TEST(event_clone_is_deep)
{
	struct vg_event *ev = vg_event_new(), *cl;
	vg_event_reset(ev);
	ev->type = VG_EV_PROCESS_START;
	ev->proc.image = vg_event_strdup(ev, "C:\\x.exe", 8);
	vg_event_add_field(ev, "Image", 5, "C:\\x.exe", 8);
	ev->nraw = 1;
	cl = vg_event_clone(ev);
	vg_event_reset(ev);
	ASSERT_STR_EQ(cl->proc.image, "C:\\x.exe");
	ASSERT_STR_EQ(vg_event_get(cl, "Image"), "C:\\x.exe");
	ASSERT_EQ(cl->type, VG_EV_PROCESS_START);
	ASSERT_EQ(cl->nraw, 1);
	vg_event_free(ev);
	vg_event_free(cl);
}

TEST(time_parse_forms)
{
	int64_t t;
	char buf[40];

	ASSERT_EQ(vg_time_parse("2018-03-06T20:01:02.123456Z", 27, &t), 0);
	ASSERT_STR_EQ(vg_time_format(t, buf, sizeof(buf)), "2018-03-06T20:01:02.123456Z");
	ASSERT_EQ(vg_time_parse("2018-03-06 20:01:02.123", 23, &t), 0);
	ASSERT_STR_EQ(vg_time_format(t, buf, sizeof(buf)), "2018-03-06T20:01:02.123000Z");
	ASSERT_EQ(vg_time_parse("1970-01-01T00:00:00Z", 20, &t), 0);
	ASSERT_EQ(t, 0);
	ASSERT_EQ(vg_time_parse("2020-01-01T02:00:00+02:00", 25, &t), 0);
	ASSERT_STR_EQ(vg_time_format(t, buf, sizeof(buf)), "2020-01-01T00:00:00.000000Z");
	ASSERT_EQ(vg_time_parse("not a time at all!!", 19, &t), VG_EPARSE);
	ASSERT_EQ(vg_time_parse("2018-13-06T20:01:02Z", 20, &t), VG_EPARSE);
	ASSERT_EQ(vg_time_parse("2018-03", 7, &t), VG_EPARSE);
}

TEST(event_json_escapes_and_keeps_raw)
{
	struct vg_event *ev = vg_event_new();
	struct vg_buf b = { 0 };

	vg_event_reset(ev);
	ev->type = VG_EV_REGISTRY_SET;
	ev->reg.key = "HKU\\S-1\\Run\\\"q\"";
	vg_event_add_field(ev, "TargetObject", 12, "a\"b\\c\n", 6);
	ev->nraw = 1;
	vg_event_add_field(ev, "VigilPersistKind", 16, "run_key", 7);
	vg_event_write_json(ev, &b);
	ASSERT_TRUE(strstr(b.p, "\"type\":\"registry_set\"") != NULL);
	ASSERT_TRUE(strstr(b.p, "\"raw\":{\"TargetObject\":\"a\\\"b\\\\c\\n\"}") != NULL);
	ASSERT_TRUE(strstr(b.p, "\"derived\":{\"VigilPersistKind\":\"run_key\"}") != NULL);
	vg_buf_free(&b);
	vg_event_free(ev);
}

TEST(buf_json_invalid_utf8_is_escaped)
{
	struct vg_buf b = { 0 };
	vg_buf_json_strn(&b, "a\xff\xc3\xa9z\x01", 6);
	ASSERT_STR_EQ(b.p, "\"a\\u00ff\xc3\xa9z\\u0001\"");
	vg_buf_free(&b);
}
