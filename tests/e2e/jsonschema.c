/* jsonschema.c - the tests' JSON Schema validator (the subset docs/schemas/ use), on cJSON and POSIX regular expressions. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonschema.h"

static int type_ok(const char *t, const cJSON *v)
{
	if (!strcmp(t, "object"))
		return cJSON_IsObject(v);
	if (!strcmp(t, "array"))
		return cJSON_IsArray(v);
	if (!strcmp(t, "string"))
		return cJSON_IsString(v);
	if (!strcmp(t, "boolean"))
		return cJSON_IsBool(v);
	if (!strcmp(t, "null"))
		return cJSON_IsNull(v);
	if (!strcmp(t, "number"))
		return cJSON_IsNumber(v);
	if (!strcmp(t, "integer"))
		return cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble;
	return 0;
}

static int check(const cJSON *s, const cJSON *v, const char *at, char *err, size_t errlen)
{
	const cJSON *k;

	if ((k = cJSON_GetObjectItemCaseSensitive(s, "type"))) {
		int ok = 0;
		if (cJSON_IsString(k))
			ok = type_ok(k->valuestring, v);
		else if (cJSON_IsArray(k)) {
			const cJSON *t;
			cJSON_ArrayForEach(t, k) ok |= cJSON_IsString(t) && type_ok(t->valuestring, v);
		}
		if (!ok) {
			char *txt = cJSON_PrintUnformatted(v);
			snprintf(err, errlen, "%s: wrong type (%.60s)", at[0] ? at : "/", txt ? txt : "?");
			free(txt);
			return -1;
		}
	}
	if ((k = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
		const cJSON *e;
		int ok = 0;
		cJSON_ArrayForEach(e, k) ok |= cJSON_Compare(e, v, 1);
		if (!ok) {
			snprintf(err, errlen, "%s: not one of the enum values", at);
			return -1;
		}
	}
	if (cJSON_IsString(v) && (k = cJSON_GetObjectItemCaseSensitive(s, "pattern")) && cJSON_IsString(k)) {
		regex_t re;
		if (regcomp(&re, k->valuestring, REG_EXTENDED | REG_NOSUB)) {
			snprintf(err, errlen, "%s: bad pattern in schema: %s", at, k->valuestring);
			return -1;
		}
		int m = regexec(&re, v->valuestring, 0, NULL, 0);
		regfree(&re);
		if (m) {
			snprintf(err, errlen, "%s: '%.60s' does not match %s", at, v->valuestring, k->valuestring);
			return -1;
		}
	}
	if (cJSON_IsNumber(v)) {
		if ((k = cJSON_GetObjectItemCaseSensitive(s, "minimum")) && v->valuedouble < k->valuedouble) {
			snprintf(err, errlen, "%s: %g below minimum %g", at, v->valuedouble, k->valuedouble);
			return -1;
		}
		if ((k = cJSON_GetObjectItemCaseSensitive(s, "maximum")) && v->valuedouble > k->valuedouble) {
			snprintf(err, errlen, "%s: %g above maximum %g", at, v->valuedouble, k->valuedouble);
			return -1;
		}
	}
	if (cJSON_IsObject(v)) {
		const cJSON *r, *p;
		if ((k = cJSON_GetObjectItemCaseSensitive(s, "required")))
			cJSON_ArrayForEach(r, k) if (cJSON_IsString(r) && !cJSON_GetObjectItemCaseSensitive(v, r->valuestring))
			{
				snprintf(err, errlen, "%s: missing required '%s'", at[0] ? at : "/", r->valuestring);
				return -1;
			}
		if ((k = cJSON_GetObjectItemCaseSensitive(s, "properties")))
			cJSON_ArrayForEach(p, k)
			{
				const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, p->string);
				char sub[512];
				if (!m)
					continue;
				snprintf(sub, sizeof(sub), "%s/%s", at, p->string);
				if (check(p, m, sub, err, errlen))
					return -1;
			}
	}
	if (cJSON_IsArray(v) && (k = cJSON_GetObjectItemCaseSensitive(s, "items"))) {
		const cJSON *e;
		int i = 0;
		cJSON_ArrayForEach(e, v)
		{
			char sub[512];
			snprintf(sub, sizeof(sub), "%s/%d", at, i++);
			if (check(k, e, sub, err, errlen))
				return -1;
		}
	}
	return 0;
}

int ts_validate(const cJSON *schema, const cJSON *doc, char *err, size_t errlen)
{
	err[0] = 0;
	return check(schema, doc, "", err, errlen);
}

cJSON *ts_schema_load(const char *name)
{
	char path[1024];
	FILE *f;
	long n;
	char *text;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/docs/schemas/%s.json", VIGIL_SOURCE_DIR, name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = malloc((size_t)n + 1);
	if (!text || fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		fclose(f);
		return NULL;
	}
	text[n] = 0;
	fclose(f);
	j = cJSON_Parse(text);
	free(text);
	return j;
}

int ts_validate_text(const char *schema_name, const char *text, char *err, size_t errlen)
{
	cJSON *s = ts_schema_load(schema_name), *d = cJSON_Parse(text);
	int rc;
	if (!s || !d) {
		snprintf(err, errlen, "%s", !s ? "schema does not load" : "document is not JSON");
		rc = -1;
	} else
		rc = ts_validate(s, d, err, errlen);
	cJSON_Delete(s);
	cJSON_Delete(d);
	return rc;
}
