// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Logging and time. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "xenibd/dev/dev.h"
#include "xenibd/transport/transport.h"

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

bool xd_ratelimit(struct xd_ratelimit *rl, unsigned int burst,
		  const char *who)
{
	uint64_t now = xd_now_ns();

	if (now - rl->window_ns >= 1000000000ull) {
		if (rl->dropped)
			xd_log("%s%u more messages suppressed", who,
			       rl->dropped);
		rl->window_ns = now;
		rl->lines = 0;
		rl->dropped = 0;
	}
	if (rl->lines >= burst) {
		rl->dropped++;
		return false;
	}
	rl->lines++;
	return true;
}

/*
 * Lines one guest may log per second, and all guests together (a guest
 * can claim many names in the emulation).  Contexts before HELLO have no
 * guest yet: they share one limit.
 */
#define XD_GUEST_LOG_BURST	50
#define XD_ALL_GUESTS_LOG_BURST	500

static struct xd_ratelimit anonymous_rl, all_guests_rl;

static struct xd_ratelimit *guest_rl(struct xd_ctx *ctx)
{
	return ctx->guest ? &ctx->guest->log_rl : &anonymous_rl;
}

static void prefix_of(struct xd_ctx *ctx, char *prefix, size_t len)
{
	char who[96];

	ctx->tp->describe(ctx, who, sizeof(who));
	if (ctx->guest)
		snprintf(prefix, len, "guest %s (%s): ", ctx->guest->name, who);
	else
		snprintf(prefix, len, "guests before HELLO (last %s): ", who);
}

void xd_ctx_log(struct xd_ctx *ctx, const char *fmt, ...)
{
	char prefix[192];
	va_list ap;

	prefix_of(ctx, prefix, sizeof(prefix));
	if (!xd_ratelimit(guest_rl(ctx), XD_GUEST_LOG_BURST, prefix) ||
	    !xd_ratelimit(&all_guests_rl, XD_ALL_GUESTS_LOG_BURST,
			  "all guests: "))
		return;
	va_start(ap, fmt);
	vlog(prefix, fmt, ap);
	va_end(ap);
}

void xd_ctx_log_flush(struct xd_ctx *ctx)
{
	struct xd_ratelimit *rl = guest_rl(ctx);
	char prefix[192];

	if (!rl->dropped)
		return;
	prefix_of(ctx, prefix, sizeof(prefix));
	xd_log("%s%u more messages suppressed", prefix, rl->dropped);
	rl->dropped = 0;
}
