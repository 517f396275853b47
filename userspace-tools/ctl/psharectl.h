/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of psharectl share: the command descriptor, exit codes,
 * paths and hints, and the helpers each command builds on. One .c file per
 * command (status.c, top.c, ...); main.c only dispatches.
 *
 * Helpers by file:
 *   util.c      errors, paths, units, number parsing, clocks, signals
 *   options.c   the getopt loop and usage messages every command shares
 *   ctl.c       /dev/pshare: API negotiation, region files and their
 *               statistics, the error explanations of region ioctls
 *   snapshot.c  one reading of sysfs and the debugfs region table, the
 *               figures derived from it, and their JSON
 *   qmp.c       a minimal JSON reader and QMP client (balloon agent)
 *   advise_model.c  the capacity arithmetic of `advise`, without I/O (its
 *               host test links it alone)
 *   json_writer.c  every --json output
 */
#ifndef PSHARECTL_H
#define PSHARECTL_H

#define _GNU_SOURCE
#include <getopt.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <linux/pshare.h>

#include "json_writer.h"

#define PSHARECTL_VERSION	"0.2"

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)		__attribute__((format(printf, a, b)))

#define PSHARE_SYSFS_DIR	"/sys/kernel/mm/pshare"
#define PSHARE_DEBUGFS_MNT	"/sys/kernel/debug"
#define PSHARE_DEVICE		"/dev/pshare"
#define PSHARE_FS_TYPE		"pshare"
#define PSHARE_MOUNT_HINT	"mount -t " PSHARE_FS_TYPE " pshare /run/pshare"
#define PSHARE_LOAD_HINT	"load the module: insmod pshare.ko or modprobe pshare"
#define PSHARE_UNMERGE_HINT	"write 2 to /sys/kernel/mm/pshare/run to unmerge first"

/* A region page is always 4 KiB: file offset / 4096 is the guest PPN. */
#define PSHARE_PAGE_SIZE	4096ULL
#define MIB			(1024ULL * 1024ULL)

/* Limits the module enforces on policy values (uapi/linux/pshare.h). */
#define PSHARE_SHARES_LIMIT	(1ULL << 30)
#define PSHARE_PAGES_LIMIT	(1ULL << 28)

enum {
	EXIT_OK = 0,
	EXIT_ERR = 1,
	EXIT_USAGE = 2,
};

/**
 * struct psharectl_cmd - one subcommand
 * @name:	what the user types
 * @args:	argument synopsis for the usage line
 * @summary:	one line for the command list
 * @help:	the rest of `psharectl help <name>`
 * @longopts:	its long options, without --help (added for every command);
 *		NULL for none
 * @shortopts:	getopt() letters of the options that have a short form
 * @nargs:	arguments after the options, or -1 when the command counts
 *		them itself
 * @nargs_what:	names them in the error when the count is wrong ("FILE")
 * @run:	the command; argv[0] is @name, returns an exit status
 */
struct psharectl_cmd {
	const char *name;
	const char *args;
	const char *summary;
	const char *help;
	const struct option *longopts;
	const char *shortopts;
	int nargs;
	const char *nargs_what;
	int (*run)(const struct psharectl_cmd *cmd, int argc, char **argv);
};

/* The commands, one per file; main.c lists them. */
extern const struct psharectl_cmd psharectl_status_cmd;
extern const struct psharectl_cmd psharectl_top_cmd;
extern const struct psharectl_cmd psharectl_metrics_cmd;
extern const struct psharectl_cmd psharectl_region_cmd;
extern const struct psharectl_cmd psharectl_policy_cmd;
extern const struct psharectl_cmd psharectl_domain_cmd;
extern const struct psharectl_cmd psharectl_backing_cmd;
extern const struct psharectl_cmd psharectl_balloon_cmd;
extern const struct psharectl_cmd psharectl_api_cmd;
extern const struct psharectl_cmd psharectl_advise_cmd;
extern const struct psharectl_cmd psharectl_help_cmd;

/* main.c: the command table. */
const struct psharectl_cmd *psharectl_find_cmd(const char *name);
void psharectl_usage(FILE *out);

/* --- util.c ---------------------------------------------------------- */

void __printf(1, 2) err_msg(const char *fmt, ...);
const char *sysfs_dir(void);
const char *debugfs_mnt(void);
const char *device_path(void);
const char *meminfo_path(void);
bool module_loaded(void);
bool pshare_mounted(void);
const char *human(char *buf, size_t len, unsigned long long bytes);
const char *hpages(char *buf, size_t len, unsigned long long pages);
bool parse_u64(const char *s, unsigned long long *out);
bool parse_size(const char *s, unsigned long long *out, bool *had_unit);
bool parse_pages(const char *s, unsigned long long *pages);
bool parse_secs(const char *s, double min, double *out);
int finish_output(int rc);
double now_mono(void);
const char *clock_str(char *buf, size_t len);

/* Set by SIGINT/SIGTERM in the long-running commands (top, balloon). */
extern atomic_bool psharectl_stop;
void catch_stop_signals(void);
void sleep_until(double until);

/* --- options.c ------------------------------------------------------- */

/*
 * parse_opts() calls it for each option of @cmd other than --help, with
 * the option's getopt value and argument; it returns -1 to go on, or an
 * exit status.
 */
typedef int (*opt_handler)(const struct psharectl_cmd *cmd, int opt,
			   const char *arg, void *data);

int parse_opts(const struct psharectl_cmd *cmd, int argc, char **argv,
	       opt_handler handle, void *data);
int opt_json(const struct psharectl_cmd *cmd, int opt, const char *arg,
	     void *data);
void cmd_usage(const struct psharectl_cmd *cmd, FILE *out);
void cmd_help_text(const struct psharectl_cmd *cmd);
int wrong_args(const struct psharectl_cmd *cmd, const char *what);
int bad_value(const struct psharectl_cmd *cmd, const char *opt,
	      const char *val, const char *want);

/* The long options of the commands whose only option is --json. */
extern const struct option json_longopts[];

/* --- ctl.c ----------------------------------------------------------- */

/**
 * struct ctl - an open /dev/pshare with its negotiated API
 * @devfd:	the device
 * @api:	what PSHARE_IOC_API answered
 */
struct ctl {
	int devfd;
	struct pshare_api api;
};

int ctl_open(struct ctl *c, __u64 need);
void ctl_close(struct ctl *c);
int ctl_open_region(struct ctl *c, __u64 need, const char *path);
int open_region(const char *path, int mode);
void explain_region_err(const struct ctl *c, const char *name,
			const char *path, int fd, int err);
int region_stats_fd(const struct ctl *c, const char *path, int fd,
		    struct pshare_region_stats *rs);
int region_stats(const struct ctl *c, const char *path,
		 struct pshare_region_stats *rs);
void print_api_text(const struct pshare_api *api);
void api_json(struct json_writer *w, const struct pshare_api *api);

/* --- snapshot.c ------------------------------------------------------ */

/**
 * struct sysfs_entry - one file of /sys/kernel/mm/pshare
 * @name:	file name
 * @value:	its content without the trailing newline (valid if !@err)
 * @err:	errno of a failed read, 0 if @value is valid
 * @num:	@value as a number (valid if @is_num)
 * @is_num:	@value is one unsigned decimal number
 */
struct sysfs_entry {
	char name[256];
	char value[256];
	int err;
	unsigned long long num;
	bool is_num;
};

/**
 * struct region_row - one line of /sys/kernel/debug/pshare/regions
 * @ino:	inode number of the region file
 * @st:		the statistics of PSHARE_IOC_REGION_STATS, from @st.size on
 *		(PSHARE_REGION_STATS_FIELDS); columns the loaded module does
 *		not have stay 0
 * @name:	name of the region file, or "(deleted)"
 */
struct region_row {
	unsigned long long ino;
	struct pshare_region_stats st;
	char name[PATH_MAX];
};

/*
 * A region nobody maps or has open: its memory stays until its file is
 * removed (a QEMU killed with its mem-path file still linked). Only
 * meaningful when the table has the columns (struct status @have_users).
 */
static inline bool row_orphan(const struct region_row *r)
{
	return !r->st.mappings && !r->st.files_open;
}

/**
 * struct status - one reading of the module's state
 * @sys:	the files of the sysfs directory, sorted by name
 * @nr_sys:	entries in @sys
 * @rows:	the region table (valid if @have_rows)
 * @nr_rows:	entries in @rows
 * @have_rows:	the debugfs table was read
 * @have_users:	its rows have mappings and files_open (a module with
 *		PSHARE_FEATURE_REGION_USERS): orphans can be told
 * @when:	monotonic time of the reading, seconds
 * @why:	why the table was not read, with how to fix it (when it was
 *		wanted and !@have_rows)
 */
struct status {
	struct sysfs_entry *sys;
	size_t nr_sys;
	struct region_row *rows;
	size_t nr_rows;
	bool have_rows;
	bool have_users;
	double when;
	char why[PATH_MAX + 256];
};

/**
 * struct derived - figures computed from one reading
 * @size_pages:		sum of region sizes, in pages (table)
 * @table_private:	private frames summed over the table
 * @hole_pages:		pages with no frame and not paged (never written,
 *			punched by the balloon) (table)
 * @held:		pages the regions hold: private frames plus shared
 *			frames (sysfs; what limit_pages bounds)
 * @saved:		pages saved by sharing: pages_sharing (sysfs)
 * @zero:		pages mapped to the zero frame (sysfs)
 * @paged:		pages in backing files (sysfs)
 * @limit:		limit_pages, 0 for none
 * @sharing_ratio:	pages_sharing / pages_shared; -1 if no shared frame
 * @overcommit:		@size_pages / @held; -1 if undefined
 * @state:		memory_state, or "?"
 */
struct derived {
	unsigned long long size_pages, table_private, hole_pages;
	unsigned long long held, saved, zero, paged, limit;
	double sharing_ratio, overcommit;
	const char *state;
};

int read_status(struct status *s, bool want_rows, bool quiet);
void status_free(struct status *s);
const struct sysfs_entry *sysfs_find(const struct status *s,
				     const char *name);
unsigned long long sysfs_num(const struct status *s, const char *name,
			     unsigned long long def);
bool is_pages(const struct sysfs_entry *e);
void derive(const struct status *s, struct derived *d);
const char *ratio_str(char *buf, size_t len, double v);
const char *limit_str(char *buf, size_t len, unsigned long long limit);
const char *pct_str(char *buf, size_t len, unsigned long long permille);
size_t name_width(const struct status *s, size_t min);
void sysfs_json(struct json_writer *w, const struct status *s);
void rows_json(struct json_writer *w, const struct status *s);
void derived_json(struct json_writer *w, const struct status *s);

/* --- advise_model.c ------------------------------------------------- */

/*
 * The host's free-memory state drops from "high" to "soft", and pshare
 * starts reclaiming, when MemAvailable falls below this share of MemTotal
 * (module/reclaim.c, pshare_mem_state(); fixed, not a knob).
 */
#define ADVISE_HIGH_PERCENT	6

/**
 * struct advise_in - what the capacity model reads, all in 4 KiB pages
 * @rows:		the debugfs region table
 * @nr_rows:		entries in @rows
 * @domain:		the sharing domain of the new VMs (if @have_domain)
 * @have_domain:	false: the domain with the most regions
 * @size_pages:		size of one new VM; 0: the mean of its domain
 * @n_plus_one:		keep the largest region's size free (failover)
 * @limit_pages:	sysfs limit_pages, 0 for none
 * @held_pages:		sysfs pages_private + pages_shared (what the limit
 *			bounds)
 * @paged_pages:	sysfs pages_paged
 * @mem_total_pages:	MemTotal of /proc/meminfo
 * @mem_avail_pages:	MemAvailable of /proc/meminfo
 */
struct advise_in {
	const struct region_row *rows;
	size_t nr_rows;
	unsigned int domain;
	bool have_domain;
	unsigned long long size_pages;
	bool n_plus_one;
	unsigned long long limit_pages, held_pages, paged_pages;
	unsigned long long mem_total_pages, mem_avail_pages;
};

/* One estimate and its range; "low" and "high" of the VM's footprint. */
enum { ADVISE_EXPECTED, ADVISE_LOW, ADVISE_HIGH, ADVISE_NR };

/* What limits the count of new VMs. */
enum advise_binding {
	ADVISE_BIND_LIMIT,	/* limit_pages minus what the regions hold */
	ADVISE_BIND_HOST,	/* MemAvailable above the reclaim threshold */
	ADVISE_BIND_HEADROOM,	/* the N+1 reserve took VMs away */
};

enum advise_err {
	ADVISE_OK,
	ADVISE_NO_REGIONS,	/* no region at all, and no size given */
	ADVISE_EMPTY_DOMAIN,	/* no region in @domain, and no size given */
};

/**
 * struct advise_out - the answer of advise_compute()
 * @domain:		the domain modelled
 * @domain_regions:	its regions
 * @size_pages:		size of one new VM
 * @active_permille:	its active fraction of the pages it touches
 *			[ADVISE_EXPECTED, _LOW, _HIGH]
 * @touched_permille:	pages the domain's regions touched (private, zero,
 *			shared or paged) per page of their size
 * @sharing_permille:	zero and shared pages per touched page
 * @per_vm_pages:	pages one new VM is expected to hold, by estimate
 * @fit:		new VMs that fit, by estimate: @fit[ADVISE_LOW] comes
 *			from @per_vm_pages[ADVISE_HIGH], and the other way
 * @limit_room:		limit_pages - held (if @have_limit)
 * @have_limit:		limit_pages is set
 * @threshold_pages:	the high/soft state boundary
 * @host_room:		MemAvailable - @threshold_pages
 * @headroom_pages:	kept free for failover (0 without n_plus_one)
 * @available_pages:	min(@limit_room, @host_room) - @paged_pages of the
 *			input - @headroom_pages
 * @binding:		what limits @fit[ADVISE_EXPECTED]
 */
struct advise_out {
	unsigned int domain;
	size_t domain_regions;
	unsigned long long size_pages;
	unsigned int active_permille[ADVISE_NR];
	unsigned int touched_permille, sharing_permille;
	unsigned long long per_vm_pages[ADVISE_NR];
	unsigned long long fit[ADVISE_NR];
	unsigned long long limit_room;
	bool have_limit;
	unsigned long long threshold_pages, host_room;
	unsigned long long headroom_pages, available_pages;
	enum advise_binding binding;
};

enum advise_err advise_compute(const struct advise_in *in,
			       struct advise_out *out);
const char *advise_binding_name(enum advise_binding b);

/* --- qmp.c ----------------------------------------------------------- */

/**
 * struct qmp - one QMP session
 * @fd:		the connected socket
 * @buf:	received bytes not yet consumed, NUL-terminated
 * @len:	bytes in @buf
 * @cap:	size of @buf
 * @msg:	the last message read (points into @buf until the next read)
 * @used:	bytes of @buf that @msg and its line end take
 */
struct qmp {
	int fd;
	char *buf;
	size_t len, cap;
	char *msg;
	size_t used;
};

int qmp_open(struct qmp *q, const char *path, char *why, size_t whylen);
void qmp_close(struct qmp *q);
int qmp_cmd(struct qmp *q, const char *json, const char **ret,
	    char *why, size_t whylen);
int qmp_balloon_actual(struct qmp *q, unsigned long long *actual,
		       char *why, size_t whylen);

#endif /* PSHARECTL_H */
