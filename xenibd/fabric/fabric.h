/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The fabric: this backend as one host of a cluster (DESIGN.md 8.2-8.4).
 * With fabric.etcd configured, xenibd joins the cluster directory
 * (directory.h, on etcd), takes guests' identities from it, publishes where
 * each of its guests is served, and carries requests between its QPs and
 * other hosts' over the inter-host wire (wire.h, UCX).  Without it, xenibd
 * is one host alone, as it always was.
 *
 *   fabric.c    setup, the event loop's part, hosts and their wire peers
 *   fident.c    guest identities and locations from the directory
 *   fpeer.c     the peer seam towards other hosts (the requester's side)
 *   fhold.c     answers that wait: behind a landing READ, for a thaw
 *   target.c    requests from other hosts (the responder's side)
 *   fcm.c       the connection manager's messages between hosts
 *   proto.[ch]  the messages and their validation
 *   mig_src.c mig_dst.c  a migration's handover between two hosts
 */
#ifndef XENIBD_FABRIC_H
#define XENIBD_FABRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xd_fabric_config;

/* Join the cluster if fabric.etcd is configured.  0 (also: not configured)
 * or errno, with a log line. */
int xd_fabric_init(void);
void xd_fabric_fini(void);
bool xd_fabric_enabled(void);
/*
 * The loop's part: *next_ns bounds the sleep for the directory's timers;
 * xd_fabric_busy() says the wire has work (UCX could not arm its wakeup),
 * so the loop must not sleep.
 */
void xd_fabric_tick(uint64_t *next_ns);
bool xd_fabric_busy(void);
/* Timers that run whether or not the loop sleeps (handovers). */
void xd_fabric_timers(uint64_t *next_ns);
/* Progress the wire while the loop polls; messages handled. */
unsigned int xd_fabric_poll(void);

/*
 * Where LID lid is served: "local", "host H (addr)", or why not known
 * ("unknown"), into buf.
 */
void xd_fabric_where(uint16_t lid, char *buf, size_t len);
/*
 * xenibctl migrate: move guest name to host (docs/migration.md).  done(arg,
 * err, report) from the loop when it is over: moved (0), or still here.
 * 0 (started) or errno with *why (nothing happened).
 */
int xd_fabric_migrate(const char *name, const char *host,
		      void (*done)(void *arg, int err, const char *report),
		      void *arg, const char **why);
/* xenibctl hosts / routes: text lines into buf; the length. */
int xd_fabric_fmt_hosts(char *buf, size_t len);
int xd_fabric_fmt_routes(char *buf, size_t len);

#endif /* XENIBD_FABRIC_H */
