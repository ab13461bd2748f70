/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Logging (stderr or syslog) and the clock; every layer uses them. */
#ifndef XENIBD_DAEMON_LOG_H
#define XENIBD_DAEMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

struct xd_ctx;

/* A log rate limit: at most a burst of lines per second, the rest counted. */
struct xd_ratelimit {
	uint64_t window_ns;
	unsigned int lines, dropped;
};

/*
 * May one more line go out under rl (burst lines a second)?  When a new
 * second starts, first logs how many were suppressed in the last one,
 * prefixed by who.
 */
bool xd_ratelimit(struct xd_ratelimit *rl, unsigned int burst,
		  const char *who);

void xd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xd_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A line about what a guest did, rate-limited per guest (all its contexts
 * together) and for all guests together, so that no guest can flood the
 * log, whatever number of contexts or names it uses.
 */
void xd_ctx_log(struct xd_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Log what ctx's guest had suppressed, if anything (its context closes). */
void xd_ctx_log_flush(struct xd_ctx *ctx);
uint64_t xd_now_ns(void);


#endif /* XENIBD_DAEMON_LOG_H */
