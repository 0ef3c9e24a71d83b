/*
 * tf_json.h: a small JSON reader for model directories (config.json,
 * tokenizer.json, vocab.json, modules.json, generation_config.json).
 *
 * tf_json_parse() builds a tree of TfJson nodes in tf_alloc'd memory. It
 * accepts RFC 8259 JSON and rejects anything else with a TF_ERR_FORMAT
 * naming the byte offset. Nesting is limited to TF_JSON_MAX_DEPTH, so
 * hostile input cannot exhaust the stack.
 *
 * Non-finite numbers are accepted on purpose, as Python's json module reads
 * and writes them: the literals NaN, Infinity and -Infinity, and numbers
 * beyond the double range (1e400 is Infinity). A config file that Python's
 * json.dump wrote therefore parses; every number that sizes, indexes or
 * scales anything must be read through tf_json_int_value() or a checked
 * reader built on it (tf_config_int and kin), which reject them.
 */
#ifndef TF_JSON_H
#define TF_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tf_runtime.h"

#define TF_JSON_MAX_DEPTH 64

typedef enum TfJsonType
{
	TF_JSON_NULL,
	TF_JSON_BOOL,
	TF_JSON_NUMBER,
	TF_JSON_STRING,
	TF_JSON_ARRAY,
	TF_JSON_OBJECT
} TfJsonType;

typedef struct TfJson
{
	TfJsonType	type;
	bool		boolean;
	double		number;
	char	   *string;			/* STRING: decoded UTF-8, NUL-terminated */
	size_t		string_len;		/* its length in bytes (may contain NULs) */
	char	   *key;			/* set when this node is an object member */
	size_t		key_len;
	int32_t		count;			/* ARRAY/OBJECT: number of children */
	struct TfJson *children;	/* TfJson[count], in document order */
} TfJson;

/* Parse text[0..len); NULL (and err filled) when it is not valid JSON. */
TfJson	   *tf_json_parse(const char *text, size_t len, TfError *err);

/* Free a tree from tf_json_parse (NULL is fine). */
void		tf_json_free(TfJson *root);

/* Member `key` of an object, or NULL (also when obj is NULL or not an object). */
const TfJson *tf_json_get(const TfJson *obj, const char *key);

/* Typed member lookups: return `fallback` when the member is absent or
 * JSON null; set *ok = false (if ok is not NULL) when it has another type. */
double		tf_json_number(const TfJson *obj, const char *key, double fallback, bool *ok);
bool		tf_json_bool(const TfJson *obj, const char *key, bool fallback, bool *ok);
const char *tf_json_string(const TfJson *obj, const char *key, const char *fallback, bool *ok);

/* Is v a number with an integer value in [min, max]? (NaN, +-Infinity and
 * fractions are not.) Stores it in *out when so. */
bool		tf_json_int_value(const TfJson *v, int64_t min, int64_t max, int64_t *out);

#endif							/* TF_JSON_H */
