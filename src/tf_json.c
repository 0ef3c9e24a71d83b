/*
 * tf_json.c: recursive-descent JSON parser (see tf_json.h).
 */
#include "tf_json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct JsonParser
{
	const char *text;
	size_t		len;
	size_t		pos;
	TfError    *err;
} JsonParser;

static bool parse_value(JsonParser *p, TfJson *out, int depth);

static bool
syntax_error(JsonParser *p, const char *what)
{
	return tf_fail(p->err, TF_ERR_FORMAT, "invalid JSON: %s at byte %zu", what, p->pos);
}

static void
skip_space(JsonParser *p)
{
	while (p->pos < p->len && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
							   p->text[p->pos] == '\n' || p->text[p->pos] == '\r'))
		p->pos++;
}

/* Does the input continue with the literal `word`? Consumes it if so. */
static bool
take_word(JsonParser *p, const char *word)
{
	size_t		n = strlen(word);

	if (p->len - p->pos >= n && memcmp(p->text + p->pos, word, n) == 0)
	{
		p->pos += n;
		return true;
	}
	return false;
}

/* Four hex digits at the cursor -> code unit, or -1. */
static long
read_hex4(JsonParser *p)
{
	long		v = 0;

	if (p->len - p->pos < 4)
		return -1;
	for (int i = 0; i < 4; i++)
	{
		char		c = p->text[p->pos++];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* Append code point cp as UTF-8 to buf (room for 4 bytes assumed). */
static size_t
put_utf8(char *buf, unsigned long cp)
{
	if (cp < 0x80)
	{
		buf[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		buf[0] = (char) (0xC0 | (cp >> 6));
		buf[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		buf[0] = (char) (0xE0 | (cp >> 12));
		buf[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		buf[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	buf[0] = (char) (0xF0 | (cp >> 18));
	buf[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	buf[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	buf[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/* Parse a string at the cursor (on its opening quote) into a new buffer.
 * Lone surrogates from \u escapes become U+FFFD, as Python's decoder would
 * not, but no caller needs them. */
static bool
parse_string(JsonParser *p, char **out, size_t *out_len)
{
	size_t		start = ++p->pos;
	size_t		n = 0;
	char	   *buf;

	/* the decoded string is never longer than the raw text */
	while (p->pos < p->len && p->text[p->pos] != '"')
		p->pos += (p->text[p->pos] == '\\') ? 2 : 1;
	if (p->pos >= p->len)
		return syntax_error(p, "unterminated string");
	buf = tf_alloc(p->pos - start + 1);
	p->pos = start;
	while (p->text[p->pos] != '"')
	{
		unsigned char c = (unsigned char) p->text[p->pos++];

		if (c < 0x20)
		{
			tf_free(buf);
			return syntax_error(p, "control character in string");
		}
		if (c != '\\')
		{
			buf[n++] = (char) c;
			continue;
		}
		c = (unsigned char) p->text[p->pos++];
		switch (c)
		{
			case '"':
			case '\\':
			case '/':
				buf[n++] = (char) c;
				break;
			case 'b':
				buf[n++] = '\b';
				break;
			case 'f':
				buf[n++] = '\f';
				break;
			case 'n':
				buf[n++] = '\n';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case 'u':
				{
					long		cp = read_hex4(p);

					if (cp < 0)
					{
						tf_free(buf);
						return syntax_error(p, "bad \\u escape");
					}
					if (cp >= 0xD800 && cp < 0xDC00 && p->len - p->pos >= 6 &&
						p->text[p->pos] == '\\' && p->text[p->pos + 1] == 'u')
					{
						size_t		save = p->pos;
						long		lo;

						p->pos += 2;
						lo = read_hex4(p);
						if (lo >= 0xDC00 && lo < 0xE000)
							cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						else
							p->pos = save;
					}
					if (cp >= 0xD800 && cp < 0xE000)
						cp = 0xFFFD;
					n += put_utf8(buf + n, (unsigned long) cp);
					break;
				}
			default:
				tf_free(buf);
				return syntax_error(p, "bad escape");
		}
	}
	p->pos++;					/* closing quote */
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return true;
}

/* Advance *i over the decimal digits of s[0..n); how many there were. */
static size_t
skip_digits(const char *s, size_t n, size_t *i)
{
	size_t		start = *i;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i - start;
}

/* Length of the RFC 8259 number at the cursor (-?int frac? exp?), or 0
 * when there is none: "01", "+1", ".5", "1." and "1e" are not numbers. */
static size_t
number_length(const JsonParser *p)
{
	const char *s = p->text + p->pos;
	size_t		n = p->len - p->pos;
	size_t		i = 0;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (skip_digits(s, n, &i) == 0)
		return 0;
	if (i < n && s[i] == '.')
	{
		i++;
		if (skip_digits(s, n, &i) == 0)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (skip_digits(s, n, &i) == 0)
			return 0;
	}
	return i;
}

/* A number; beyond the double range it becomes +-Infinity, as in Python. */
static bool
parse_number(JsonParser *p, TfJson *out)
{
	char		small[64];
	size_t		n = number_length(p);
	char	   *copy;

	if (n == 0)
		return syntax_error(p, "bad number");
	/* strtod needs a terminated copy: the text may go on with digits */
	copy = n < sizeof(small) ? small : tf_alloc(n + 1);
	memcpy(copy, p->text + p->pos, n);
	copy[n] = '\0';
	out->number = strtod(copy, NULL);
	if (copy != small)
		tf_free(copy);
	out->type = TF_JSON_NUMBER;
	p->pos += n;
	return true;
}

/* Parse '[' ... ']' or '{' ... '}' at the cursor. */
static bool
parse_container(JsonParser *p, TfJson *out, int depth, bool is_object)
{
	char		close = is_object ? '}' : ']';
	int32_t		capacity = 0;

	out->type = is_object ? TF_JSON_OBJECT : TF_JSON_ARRAY;
	p->pos++;
	skip_space(p);
	if (p->pos < p->len && p->text[p->pos] == close)
	{
		p->pos++;
		return true;
	}
	for (;;)
	{
		TfJson	   *child;

		if (out->count == capacity)
		{
			if (capacity >= (1 << 28))
				return tf_fail(p->err, TF_ERR_LIMIT, "JSON container too large");
			capacity = capacity ? capacity * 2 : 8;
			out->children = tf_realloc(out->children, sizeof(TfJson) * capacity);
		}
		child = &out->children[out->count];
		memset(child, 0, sizeof(TfJson));
		out->count++;
		skip_space(p);
		if (is_object)
		{
			if (p->pos >= p->len || p->text[p->pos] != '"')
				return syntax_error(p, "expected a member name");
			if (!parse_string(p, &child->key, &child->key_len))
				return false;
			skip_space(p);
			if (p->pos >= p->len || p->text[p->pos] != ':')
				return syntax_error(p, "expected ':'");
			p->pos++;
		}
		if (!parse_value(p, child, depth + 1))
			return false;
		skip_space(p);
		if (p->pos < p->len && p->text[p->pos] == ',')
		{
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->text[p->pos] == close)
		{
			p->pos++;
			return true;
		}
		return syntax_error(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static bool
parse_value(JsonParser *p, TfJson *out, int depth)
{
	char		c;

	if (depth > TF_JSON_MAX_DEPTH)
		return syntax_error(p, "nesting too deep");
	skip_space(p);
	if (p->pos >= p->len)
		return syntax_error(p, "unexpected end of input");
	c = p->text[p->pos];
	if (c == '{' || c == '[')
		return parse_container(p, out, depth, c == '{');
	if (c == '"')
	{
		out->type = TF_JSON_STRING;
		return parse_string(p, &out->string, &out->string_len);
	}
	if (take_word(p, "true") || take_word(p, "false"))
	{
		out->type = TF_JSON_BOOL;
		out->boolean = (c == 't');
		return true;
	}
	if (take_word(p, "null"))
	{
		out->type = TF_JSON_NULL;
		return true;
	}
	if (take_word(p, "NaN"))
	{
		out->type = TF_JSON_NUMBER;
		out->number = NAN;
		return true;
	}
	if (take_word(p, "Infinity") || take_word(p, "-Infinity"))
	{
		out->type = TF_JSON_NUMBER;
		out->number = (c == '-') ? -INFINITY : INFINITY;
		return true;
	}
	return parse_number(p, out);
}

/* Free the children and strings of a node (not the node itself). */
static void
free_node(TfJson *node)
{
	for (int32_t i = 0; i < node->count; i++)
		free_node(&node->children[i]);
	tf_free(node->children);
	tf_free(node->string);
	tf_free(node->key);
}

TfJson *
tf_json_parse(const char *text, size_t len, TfError *err)
{
	JsonParser	p = {text, len, 0, err};
	TfJson	   *root = tf_alloc(sizeof(TfJson));

	if (parse_value(&p, root, 0))
	{
		skip_space(&p);
		if (p.pos == len)
			return root;
		syntax_error(&p, "trailing characters");
	}
	tf_json_free(root);
	return NULL;
}

void
tf_json_free(TfJson *root)
{
	if (root == NULL)
		return;
	free_node(root);
	tf_free(root);
}

const TfJson *
tf_json_get(const TfJson *obj, const char *key)
{
	size_t		n = strlen(key);

	if (obj == NULL || obj->type != TF_JSON_OBJECT)
		return NULL;
	/* the last duplicate wins, as in Python's json */
	for (int32_t i = obj->count - 1; i >= 0; i--)
		if (obj->children[i].key_len == n && memcmp(obj->children[i].key, key, n) == 0)
			return &obj->children[i];
	return NULL;
}

/* The member, or NULL when absent or null; *ok cleared when its type differs. */
static const TfJson *
typed_member(const TfJson *obj, const char *key, TfJsonType type, bool *ok)
{
	const TfJson *v = tf_json_get(obj, key);

	if (v == NULL || v->type == TF_JSON_NULL)
		return NULL;
	if (v->type != type)
	{
		if (ok)
			*ok = false;
		return NULL;
	}
	return v;
}

double
tf_json_number(const TfJson *obj, const char *key, double fallback, bool *ok)
{
	const TfJson *v = typed_member(obj, key, TF_JSON_NUMBER, ok);

	return v ? v->number : fallback;
}

bool
tf_json_bool(const TfJson *obj, const char *key, bool fallback, bool *ok)
{
	const TfJson *v = typed_member(obj, key, TF_JSON_BOOL, ok);

	return v ? v->boolean : fallback;
}

const char *
tf_json_string(const TfJson *obj, const char *key, const char *fallback, bool *ok)
{
	const TfJson *v = typed_member(obj, key, TF_JSON_STRING, ok);

	return v ? v->string : fallback;
}

bool
tf_json_int_value(const TfJson *v, int64_t min, int64_t max, int64_t *out)
{
	double		d;
	int64_t		i;

	if (v == NULL || v->type != TF_JSON_NUMBER)
		return false;
	d = v->number;
	/* inside int64's range first (false for NaN): only then is the cast defined */
	if (!(d >= -0x1p63 && d < 0x1p63) || d != floor(d))
		return false;
	i = (int64_t) d;
	if (i < min || i > max)
		return false;
	*out = i;
	return true;
}
