/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the emulated transport checks of the sockets a guest hands it, and
 * bounded reads from them (emu_sock.c).
 */
#ifndef XENIBD_TRANSPORT_EMU_SOCK_H
#define XENIBD_TRANSPORT_EMU_SOCK_H

#include <stdint.h>
#include <sys/types.h>

/*
 * Is fd the backend end of a notifier pair made by process pid: an
 * AF_UNIX datagram socket without an address of its own, connected to a
 * peer without one either (only a socketpair's ends are), created by pid
 * (SO_PEERCRED)?  0, or EINVAL with why set to the reason.
 */
int xd_emu_notify_check(int fd, pid_t pid, const char **why);

/*
 * Where fd's datagrams go now: 0 to an unnamed peer (its pair),
 * ENOTCONN if to nobody (the guest closed its end), EADDRINUSE if to a
 * socket with an address (the guest reconnected it: never write there).
 */
int xd_emu_peer_state(int fd);

/* Read and discard at most max queued datagrams; how many there were. */
uint64_t xd_emu_drain(int fd, unsigned int max);

#endif /* XENIBD_TRANSPORT_EMU_SOCK_H */
