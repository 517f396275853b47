/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small JSON writer: every --json output of psharectl goes through it,
 * so that separators, nesting and string escaping are decided in one place
 * and no command can print malformed JSON.
 *
 * The text comes out in the compact form psharectl has always printed:
 * ", " between members and elements, ": " after a name, and a newline when
 * the outermost value is complete (one JSON text per line, which is what
 * `psharectl top --json` streams).
 */
#ifndef PSHARECTL_JSON_WRITER_H
#define PSHARECTL_JSON_WRITER_H

#include <stdbool.h>
#include <stdio.h>

/* Deep enough for every psharectl output (three levels today). */
#define JSON_WRITER_MAX_DEPTH	16

/**
 * struct json_writer - state of one JSON text being written
 * @out:	where the text goes
 * @depth:	open objects and arrays
 * @kind:	'{' or '[' for each open level, outermost first
 * @count:	values written so far at each level (a member is one value)
 * @named:	a member name was written and its value is still due
 */
struct json_writer {
	FILE *out;
	int depth;
	char kind[JSON_WRITER_MAX_DEPTH];
	unsigned int count[JSON_WRITER_MAX_DEPTH];
	bool named;
};

void jw_init(struct json_writer *w, FILE *out);

void jw_begin_object(struct json_writer *w);
void jw_end_object(struct json_writer *w);
void jw_begin_array(struct json_writer *w);
void jw_end_array(struct json_writer *w);

/* The name of the next member of the current object. */
void jw_name(struct json_writer *w, const char *name);

/* Values: an array element, or the value of the member just named. */
void jw_string(struct json_writer *w, const char *s);
void jw_u64(struct json_writer *w, unsigned long long v);
void jw_s64(struct json_writer *w, long long v);
void jw_double(struct json_writer *w, double v, int decimals);
void jw_bool(struct json_writer *w, bool v);
void jw_null(struct json_writer *w);

/* Members: the name and its value in one call. */
void jw_string_field(struct json_writer *w, const char *name, const char *s);
void jw_u64_field(struct json_writer *w, const char *name,
		  unsigned long long v);
void jw_s64_field(struct json_writer *w, const char *name, long long v);
void jw_double_field(struct json_writer *w, const char *name, double v,
		     int decimals);
void jw_bool_field(struct json_writer *w, const char *name, bool v);
void jw_null_field(struct json_writer *w, const char *name);

#endif /* PSHARECTL_JSON_WRITER_H */
