// SPDX-License-Identifier: GPL-2.0
/*
 * One reading of the module's state, as status and top show it: every
 * file of the sysfs directory, the debugfs region table, the figures
 * derived from them, and how all three are written as JSON (status and
 * top print the same members).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "psharectl.h"

/* Free what read_status() allocated. */
void status_free(struct status *s)
{
	free(s->sys);
	free(s->rows);
	memset(s, 0, sizeof(*s));
}

static int cmp_sysfs(const void *a, const void *b)
{
	return strcmp(((const struct sysfs_entry *)a)->name,
		      ((const struct sysfs_entry *)b)->name);
}

/* Files whose unit is pages get a human size next to them. */
bool is_pages(const struct sysfs_entry *e)
{
	static const char *const pages[] = {
		"pages_private", "pages_zero", "pages_shared", "pages_sharing",
		"pages_hinted", "pages_paged", "limit_pages",
	};
	size_t i;

	if (!e->is_num)
		return false;
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		if (!strcmp(e->name, pages[i]))
			return true;
	return false;
}

/* The entry of sysfs file @name, if it was read without an error. */
const struct sysfs_entry *sysfs_find(const struct status *s,
				     const char *name)
{
	size_t i;

	for (i = 0; i < s->nr_sys; i++)
		if (!strcmp(s->sys[i].name, name) && !s->sys[i].err)
			return &s->sys[i];
	return NULL;
}

/* A numeric sysfs value, or @def when the file is missing or not a number. */
unsigned long long sysfs_num(const struct status *s, const char *name,
			     unsigned long long def)
{
	const struct sysfs_entry *e = sysfs_find(s, name);

	return e && e->is_num ? e->num : def;
}

static void read_sysfs_file(int dfd, struct sysfs_entry *e)
{
	ssize_t n;
	int fd;

	fd = openat(dfd, e->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		e->err = errno;
		return;
	}
	n = read(fd, e->value, sizeof(e->value) - 1);
	if (n < 0) {
		e->err = errno;
		close(fd);
		return;
	}
	close(fd);
	e->value[n] = '\0';
	while (n > 0 && (e->value[n - 1] == '\n' || e->value[n - 1] == ' '))
		e->value[--n] = '\0';
	e->is_num = parse_u64(e->value, &e->num);
}

/*
 * Room for element @used of the array @arr of @cap elements of @size
 * bytes: @arr itself, or a larger copy (twice the size, so that filling an
 * array costs amortized O(1) per element). NULL when out of memory
 * (reported); @arr is then still valid.
 */
static void *grow(void *arr, size_t *cap, size_t used, size_t size)
{
	size_t n = *cap ? 2 * *cap : 16;
	void *p;

	if (used < *cap)
		return arr;
	p = realloc(arr, n * size);
	if (!p) {
		err_msg("out of memory");
		return NULL;
	}
	*cap = n;
	return p;
}

/* Read every regular file of the sysfs directory, sorted by name. */
static int read_sysfs(struct status *s)
{
	const char *dir = sysfs_dir();
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			err_msg("%s missing: %s", dir, PSHARE_LOAD_HINT);
		else
			err_msg("%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		struct sysfs_entry *e;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		if (strlen(de->d_name) >= sizeof(e->name))
			continue;
		e = grow(s->sys, &cap, s->nr_sys, sizeof(*e));
		if (!e) {
			closedir(d);
			return -1;
		}
		s->sys = e;
		e = &s->sys[s->nr_sys++];
		memset(e, 0, sizeof(*e));
		strcpy(e->name, de->d_name);
		read_sysfs_file(dirfd(d), e);
	}
	closedir(d);
	qsort(s->sys, s->nr_sys, sizeof(*s->sys), cmp_sysfs);
	return 0;
}

/*
 * The table could not be read: keep why in @s->why (metrics prints it as a
 * comment) and report it unless @quiet.
 */
static void __printf(3, 4) regions_fail(struct status *s, bool quiet,
					const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	if (!quiet)
		err_msg("%s", s->why);
}

/* Say why the debugfs table could not be opened and how to fix it. */
static void explain_debugfs(struct status *s, bool quiet, const char *path,
			    int err)
{
	const char *mnt = debugfs_mnt();
	struct statfs sfs;

	if (err == EACCES || err == EPERM) {
		regions_fail(s, quiet, "%s: %s: debugfs is readable by root only; run as root for the region table",
			     path, strerror(err));
		return;
	}
	if (err == ENOENT && !strcmp(mnt, PSHARE_DEBUGFS_MNT) &&
	    (statfs(mnt, &sfs) != 0 || sfs.f_type != DEBUGFS_MAGIC)) {
		regions_fail(s, quiet, "%s missing: debugfs is not mounted; mount -t debugfs none %s",
			     path, mnt);
		return;
	}
	if (err == ENOENT) {
		regions_fail(s, quiet, "%s missing although debugfs is mounted: the loaded pshare module has no debugfs table (kernel without CONFIG_DEBUG_FS?)",
			     path);
		return;
	}
	regions_fail(s, quiet, "%s: %s", path, strerror(err));
}

/*
 * The table's columns, found by the names of its header line: "ino", the
 * statistics fields as struct pshare_region_stats names them, and "name",
 * always last. A column this psharectl does not know is skipped, one it
 * knows that the module does not print stays 0.
 */
struct column {
	const char *name;
	size_t offset;
};

static const struct column columns[] = {
	{ .name = "ino", .offset = offsetof(struct region_row, ino) },
#define COLUMN(f) { .name = #f, .offset = offsetof(struct region_row, st.f) },
	PSHARE_REGION_STATS_FIELDS(COLUMN)
#undef COLUMN
};

/*
 * Where each column of the header goes: an offset, or -1 to skip it.
 * @users: the module has the files_open column (and mappings with it).
 */
struct layout {
	long offset[64];
	size_t n;
	bool users;
};

/* Parse the header line; false if it has no ino first and name last. */
static bool parse_header(char *line, struct layout *l)
{
	char *save = NULL, *tok;
	size_t i;

	l->n = 0;
	l->users = false;
	for (tok = strtok_r(line, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (!strcmp(tok, "name"))
			return l->n && l->offset[0] == 0 &&
			       !strtok_r(NULL, " \t\r\n", &save);
		if (l->n == ARRAY_SIZE(l->offset))
			return false;
		l->offset[l->n] = -1;
		l->users |= !strcmp(tok, "files_open");
		for (i = 0; i < ARRAY_SIZE(columns); i++)
			if (!strcmp(tok, columns[i].name))
				l->offset[l->n] = columns[i].offset;
		l->n++;
	}
	return false;
}

/* Parse one region line by @l; false if it does not fit. */
static bool parse_region_line(char *line, const struct layout *l,
			      struct region_row *r)
{
	unsigned long long v;
	size_t i, len;
	char *end;

	len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	memset(r, 0, sizeof(*r));
	for (i = 0; i < l->n; i++) {
		errno = 0;
		v = strtoull(line, &end, 10);
		if (end == line || *end != ' ' || errno)
			return false;
		if (l->offset[i] >= 0)
			memcpy((char *)r + l->offset[i], &v, sizeof(v));
		line = end + 1;
	}
	snprintf(r->name, sizeof(r->name), "%s", line);
	return true;
}

/*
 * Read the debugfs table: a header line, then one line per region. Lines
 * that do not parse are the header, or a format this psharectl does not
 * know: the latter is an error. @quiet: report nothing (top retries).
 */
static int read_regions(struct status *s, bool quiet)
{
	char path[PATH_MAX], line[PATH_MAX + 512];
	size_t cap = 0, lineno = 0;
	struct layout l;
	int rc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/pshare/regions", debugfs_mnt());
	f = fopen(path, "re");
	if (!f) {
		explain_debugfs(s, quiet, path, errno);
		return -1;
	}
	if (!fgets(line, sizeof(line), f) || !parse_header(line, &l)) {
		regions_fail(s, quiet, "%s: no header line of the columns psharectl knows: psharectl does not match the loaded module; rebuild both from one tree",
			     path);
		fclose(f);
		return -1;
	}
	lineno++;
	while (fgets(line, sizeof(line), f)) {
		struct region_row r, *n;

		lineno++;
		if (!parse_region_line(line, &l, &r)) {
			if (line[0] == '#' || line[0] == '\0')
				continue;
			regions_fail(s, quiet, "%s:%zu: unexpected line \"%s\": psharectl does not match the loaded module; rebuild both from one tree",
				     path, lineno, line);
			rc = -1;
			continue;
		}
		n = grow(s->rows, &cap, s->nr_rows, sizeof(*n));
		if (!n) {
			rc = -1;
			break;
		}
		s->rows = n;
		s->rows[s->nr_rows++] = r;
	}
	if (ferror(f)) {
		regions_fail(s, quiet, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	s->have_rows = rc == 0;
	s->have_users = l.users;
	return rc;
}

/*
 * Read sysfs (must work) and the region table (@want_rows; may fail, which
 * is reported unless @quiet). Returns 0, 1 (no table), or -1 (no sysfs).
 */
int read_status(struct status *s, bool want_rows, bool quiet)
{
	memset(s, 0, sizeof(*s));
	s->when = now_mono();
	if (read_sysfs(s))
		return -1;
	if (want_rows && read_regions(s, quiet))
		return 1;
	return 0;
}

/* Compute the derived figures of reading @s. */
void derive(const struct status *s, struct derived *d)
{
	const struct sysfs_entry *e;
	unsigned long long frames;
	size_t i;

	memset(d, 0, sizeof(*d));
	for (i = 0; s->have_rows && i < s->nr_rows; i++) {
		const struct region_row *r = &s->rows[i];
		unsigned long long pages, used;

		pages = (r->st.size + PSHARE_PAGE_SIZE - 1) / PSHARE_PAGE_SIZE;
		used = r->st.pages_private + r->st.pages_zero + r->st.pages_shared + r->st.pages_paged;
		d->size_pages += pages;
		d->table_private += r->st.pages_private;
		/* Counters and size are read at slightly different times. */
		d->hole_pages += pages > used ? pages - used : 0;
	}
	frames = sysfs_num(s, "pages_shared", 0);
	d->held = sysfs_num(s, "pages_private", d->table_private) + frames;
	d->saved = sysfs_num(s, "pages_sharing", 0);
	d->zero = sysfs_num(s, "pages_zero", 0);
	d->paged = sysfs_num(s, "pages_paged", 0);
	d->limit = sysfs_num(s, "limit_pages", 0);
	d->sharing_ratio = frames ? (double)d->saved / frames : -1;
	d->overcommit = s->have_rows && d->held ?
			(double)d->size_pages / d->held : -1;
	e = sysfs_find(s, "memory_state");
	d->state = e ? e->value : "?";
}

/* A ratio for people: two decimals, "n/a" when undefined (negative). */
const char *ratio_str(char *buf, size_t len, double v)
{
	if (v < 0 || !isfinite(v))
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.2f", v);
	return buf;
}

/* limit_pages for people: "none" for 0, else pages and size. */
const char *limit_str(char *buf, size_t len, unsigned long long limit)
{
	char h[32];

	if (!limit)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%llu pages (%s)", limit,
			 hpages(h, sizeof(h), limit));
	return buf;
}

/* "12.5" for 125 permille. */
const char *pct_str(char *buf, size_t len, unsigned long long permille)
{
	snprintf(buf, len, "%.1f", permille / 10.0);
	return buf;
}

/* Width of the NAME column: the longest region name, @min to 32. */
size_t name_width(const struct status *s, size_t min)
{
	size_t i, w = min;

	for (i = 0; i < s->nr_rows; i++)
		if (strlen(s->rows[i].name) > w)
			w = strlen(s->rows[i].name);
	return w > 32 ? 32 : w;
}


/*
 * A ratio for JSON: three decimals, null when undefined (negative, or not
 * finite).
 */
static void ratio_json(struct json_writer *w, const char *name, double v)
{
	if (v < 0 || !isfinite(v))
		jw_null_field(w, name);
	else
		jw_double_field(w, name, v, 3);
}

/*
 * The member "sysfs": each file by name, as a number when it is one, else
 * as a string, and null when it could not be read.
 */
void sysfs_json(struct json_writer *w, const struct status *s)
{
	size_t i;

	jw_name(w, "sysfs");
	jw_begin_object(w);
	for (i = 0; i < s->nr_sys; i++) {
		const struct sysfs_entry *e = &s->sys[i];

		if (e->err)
			jw_null_field(w, e->name);
		else if (e->is_num)
			jw_u64_field(w, e->name, e->num);
		else
			jw_string_field(w, e->name, e->value);
	}
	jw_end_object(w);
}

/*
 * One row of the region table, every column named as the ioctl names it,
 * but size, which is "size_bytes" here, then "orphan" (null when the
 * module does not say who uses its regions).
 */
static void row_json(struct json_writer *w, const struct status *s,
		     const struct region_row *r)
{
	unsigned long long v;
	size_t i;

	jw_begin_object(w);
	jw_string_field(w, "name", r->name);
	for (i = 0; i < ARRAY_SIZE(columns); i++) {
		memcpy(&v, (const char *)r + columns[i].offset, sizeof(v));
		jw_u64_field(w, strcmp(columns[i].name, "size") ?
			     columns[i].name : "size_bytes", v);
	}
	if (s->have_users)
		jw_bool_field(w, "orphan", row_orphan(r));
	else
		jw_null_field(w, "orphan");
	jw_end_object(w);
}

/* The member "regions": the table's rows, or null when it was not read. */
void rows_json(struct json_writer *w, const struct status *s)
{
	size_t i;

	if (!s->have_rows) {
		jw_null_field(w, "regions");
		return;
	}
	jw_name(w, "regions");
	jw_begin_array(w);
	for (i = 0; i < s->nr_rows; i++)
		row_json(w, s, &s->rows[i]);
	jw_end_array(w);
}

/*
 * The member "derived", in bytes where status's text shows sizes. The
 * figures that need the table are null without it.
 */
void derived_json(struct json_writer *w, const struct status *s)
{
	struct derived d;

	derive(s, &d);
	jw_name(w, "derived");
	jw_begin_object(w);
	jw_u64_field(w, "held_pages", d.held);
	jw_u64_field(w, "held_bytes", d.held * PSHARE_PAGE_SIZE);
	jw_u64_field(w, "saved_by_sharing_bytes", d.saved * PSHARE_PAGE_SIZE);
	ratio_json(w, "sharing_ratio", d.sharing_ratio);
	jw_u64_field(w, "zero_bytes", d.zero * PSHARE_PAGE_SIZE);
	jw_u64_field(w, "paged_bytes", d.paged * PSHARE_PAGE_SIZE);
	jw_string_field(w, "memory_state", d.state);
	jw_u64_field(w, "limit_pages", d.limit);
	if (s->have_rows) {
		jw_u64_field(w, "size_bytes", d.size_pages * PSHARE_PAGE_SIZE);
		jw_u64_field(w, "hole_bytes", d.hole_pages * PSHARE_PAGE_SIZE);
		ratio_json(w, "overcommit_ratio", d.overcommit);
	} else {
		jw_null_field(w, "size_bytes");
		jw_null_field(w, "hole_bytes");
		jw_null_field(w, "overcommit_ratio");
	}
	jw_end_object(w);
}
