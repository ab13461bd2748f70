// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Diagnostics.  VERBS_LOG_LEVEL (a number, VERBS_LOG_* of driver.h) selects
 * what providers' __verbs_log() calls print, IBV_DEBUG turns on everything
 * including the library's own debug messages; VERBS_LOG_FILE redirects the
 * output from stderr to a file.  Errors are always printed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ibverbs.h"

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static unsigned long log_level = VERBS_LOG_ERR;
static FILE *log_file;

static void log_init(void)
{
	const char *level = getenv("VERBS_LOG_LEVEL");
	const char *file = getenv("VERBS_LOG_FILE");

	if (level && *level)
		log_level = strtoul(level, NULL, 0);
	if (getenv("IBV_DEBUG"))
		log_level = VERBS_LOG_DEBUG;
	if (file && *file)
		log_file = fopen(file, "ae");
}

static FILE *log_out(void)
{
	pthread_once(&log_once, log_init);
	return log_file ? log_file : stderr;
}

void ibverbs_dbg(const char *fmt, ...)
{
	FILE *out = log_out();
	va_list ap;

	if (log_level < VERBS_LOG_DEBUG)
		return;
	fprintf(out, "libibverbs: ");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
}

static const char *provider_name(struct verbs_context *ctx)
{
	struct ibv_device *dev;
	const struct verbs_device_ops *ops;

	if (!ctx || !(dev = ctx->context.device))
		return NULL;
	ops = verbs_get_device(dev)->ops;
	return ops ? ops->name : NULL;
}

void __verbs_log(struct verbs_context *ctx, uint32_t level, const char *fmt,
		 ...)
{
	FILE *out = log_out();
	const char *name;
	va_list ap;

	if (level > VERBS_LOG_ERR && level > log_level)
		return;
	name = provider_name(ctx);
	fprintf(out, name ? "libibverbs: %s: " : "libibverbs: ",
		name ? name : "");
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
}
