/* jsonschema.h - a small JSON Schema (draft 2020-12) validator for the keywords Vigil's schemas use, for the tests. */
#ifndef VIGIL_TEST_JSONSCHEMA_H
#define VIGIL_TEST_JSONSCHEMA_H

#include <cjson/cJSON.h>
#include <stddef.h>

/*
 * Validates doc against schema. Supports type (one or a list), required,
 * properties, enum (strings, numbers), items, pattern (POSIX extended),
 * minimum, maximum. Other keywords are ignored. Returns 0 when valid, else
 * -1 with the first failure ("/file/sha256: does not match pattern ...") in err.
 */
int ts_validate(const cJSON *schema, const cJSON *doc, char *err, size_t errlen);
/* Loads docs/schemas/<name>.json from the source tree. NULL when missing or bad. Free with cJSON_Delete. */
cJSON *ts_schema_load(const char *name);
/* Parses text and validates it against the named schema; 0 valid, -1 with err. */
int ts_validate_text(const char *schema_name, const char *text, char *err, size_t errlen);

#endif
