// SPDX-License-Identifier: GPL-2.0
/*
 * The JSON writer of json_writer.h. It keeps one small stack of open
 * objects and arrays and writes the separator before each value itself;
 * the callers only say what comes next. Using it wrongly (a value in an
 * object without a name, a name in an array, closing the wrong kind) is a
 * bug in psharectl, not bad input, so it aborts instead of printing
 * something a script would misread.
 */
#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "json_writer.h"

void jw_init(struct json_writer *w, FILE *out)
{
	w->out = out;
	w->depth = 0;
	w->named = false;
}

/* The separator a new value or member name needs, and count it. */
static void jw_sep(struct json_writer *w, bool is_name)
{
	int d = w->depth - 1;

	if (w->named) {
		/* The value of a member: its name has placed it already. */
		assert(!is_name);
		w->named = false;
		return;
	}
	if (d < 0) {
		/* The outermost value: never a member. */
		assert(!is_name);
		return;
	}
	/* In an object a member starts with its name; an array has none. */
	assert(is_name == (w->kind[d] == '{'));
	if (w->count[d]++)
		fputs(", ", w->out);
}

/* A value is complete: end the line if it was the outermost one. */
static void jw_done(struct json_writer *w)
{
	if (!w->depth)
		fputc('\n', w->out);
}

static void jw_open(struct json_writer *w, char kind)
{
	jw_sep(w, false);
	assert(w->depth < JSON_WRITER_MAX_DEPTH);
	w->kind[w->depth] = kind;
	w->count[w->depth] = 0;
	w->depth++;
	fputc(kind, w->out);
}

static void jw_close(struct json_writer *w, char kind)
{
	assert(w->depth > 0 && w->kind[w->depth - 1] == kind && !w->named);
	w->depth--;
	fputc(kind == '{' ? '}' : ']', w->out);
	jw_done(w);
}

void jw_begin_object(struct json_writer *w)
{
	jw_open(w, '{');
}

void jw_end_object(struct json_writer *w)
{
	jw_close(w, '{');
}

void jw_begin_array(struct json_writer *w)
{
	jw_open(w, '[');
}

void jw_end_array(struct json_writer *w)
{
	jw_close(w, '[');
}

/*
 * @s as a string literal: quote and backslash escaped, newline and tab by
 * their short forms, other control characters (and DEL) as \u00XX. Bytes
 * above 0x7f pass through: file names are taken to be UTF-8.
 */
static void jw_quote(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void jw_name(struct json_writer *w, const char *name)
{
	jw_sep(w, true);
	jw_quote(w->out, name);
	fputs(": ", w->out);
	w->named = true;
}

void jw_string(struct json_writer *w, const char *s)
{
	jw_sep(w, false);
	jw_quote(w->out, s);
	jw_done(w);
}

void jw_u64(struct json_writer *w, unsigned long long v)
{
	jw_sep(w, false);
	fprintf(w->out, "%llu", v);
	jw_done(w);
}

void jw_s64(struct json_writer *w, long long v)
{
	jw_sep(w, false);
	fprintf(w->out, "%lld", v);
	jw_done(w);
}

/* JSON has no NaN or infinity: those are written as null. */
void jw_double(struct json_writer *w, double v, int decimals)
{
	jw_sep(w, false);
	if (isfinite(v))
		fprintf(w->out, "%.*f", decimals, v);
	else
		fputs("null", w->out);
	jw_done(w);
}

void jw_bool(struct json_writer *w, bool v)
{
	jw_sep(w, false);
	fputs(v ? "true" : "false", w->out);
	jw_done(w);
}

void jw_null(struct json_writer *w)
{
	jw_sep(w, false);
	fputs("null", w->out);
	jw_done(w);
}

void jw_string_field(struct json_writer *w, const char *name, const char *s)
{
	jw_name(w, name);
	jw_string(w, s);
}

void jw_u64_field(struct json_writer *w, const char *name,
		  unsigned long long v)
{
	jw_name(w, name);
	jw_u64(w, v);
}

void jw_s64_field(struct json_writer *w, const char *name, long long v)
{
	jw_name(w, name);
	jw_s64(w, v);
}

void jw_double_field(struct json_writer *w, const char *name, double v,
		     int decimals)
{
	jw_name(w, name);
	jw_double(w, v, decimals);
}

void jw_bool_field(struct json_writer *w, const char *name, bool v)
{
	jw_name(w, name);
	jw_bool(w, v);
}

void jw_null_field(struct json_writer *w, const char *name)
{
	jw_name(w, name);
	jw_null(w);
}
