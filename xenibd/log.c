// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Logging and time. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "xenibd/xenibd.h"
#include "xenibd/xen.h"

uint64_t xd_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	fputs("xenibd: ", stderr);
	if (prefix)
		fputs(prefix, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void xd_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(NULL, fmt, ap);
	va_end(ap);
}

void xd_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!xd.cfg.verbose)
		return;
	va_start(ap, fmt);
	vlog(NULL, fmt, ap);
	va_end(ap);
}

/* Lines one context may log per second; the rest are counted. */
#define XD_CTX_LOG_BURST 50

void xd_ctx_log(struct xd_ctx *ctx, const char *fmt, ...)
{
	uint64_t now = xd_now_ns();
	char prefix[128];
	va_list ap;

	if (ctx->xen)
		snprintf(prefix, sizeof(prefix), "guest %s (domain %u ctx %u): ",
			 ctx->guest ? ctx->guest->name : "?", ctx->xen->domid,
			 ctx->xen->k);
	else
		snprintf(prefix, sizeof(prefix), "guest %s (pid %d): ",
			 ctx->guest ? ctx->guest->name : "?", (int)ctx->pid);
	if (now - ctx->log_window_ns >= 1000000000ull) {
		if (ctx->log_dropped)
			xd_log("%s%u more messages suppressed", prefix,
			       ctx->log_dropped);
		ctx->log_window_ns = now;
		ctx->log_lines = 0;
		ctx->log_dropped = 0;
	}
	if (++ctx->log_lines > XD_CTX_LOG_BURST) {
		ctx->log_dropped++;
		return;
	}
	va_start(ap, fmt);
	vlog(prefix, fmt, ap);
	va_end(ap);
}
