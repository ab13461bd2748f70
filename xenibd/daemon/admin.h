/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The admin socket and its commands (xenibctl(8)). */
#ifndef XENIBD_DAEMON_ADMIN_H
#define XENIBD_DAEMON_ADMIN_H

#include <stddef.h>
#include <stdint.h>

/* admin.c: DIR/xenibd.ctl, served from the loop without blocking. 0/errno */
int xd_admin_listen(const char *dir);
/* Drop clients past their deadline; *next_ns: the earliest deadline. */
void xd_admin_tick(uint64_t *next_ns);
/* Close every client and the socket (and remove it). */
void xd_admin_fini(const char *dir);
/* admin_qps.c: xenibctl qps. */
int xd_admin_fmt_qps(char *buf, size_t len);
/*
 * From inside a command: the answer comes later, with xd_admin_finish(id,
 * text) from the loop (the client waits up to a minute).  id 0: not from
 * a command.  A finish for a client that went away is dropped.
 */
uint64_t xd_admin_defer(void);
void xd_admin_finish(uint64_t id, const char *text);
/* admin_cmds.c: run one command line; the answer's length in out. */
int xd_admin_command(const char *cmd, char *out, size_t len);

#endif /* XENIBD_DAEMON_ADMIN_H */
