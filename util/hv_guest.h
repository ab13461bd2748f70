/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Hypervisor layer, guest side (DESIGN.md sections 4 and 8.1): everything
 * the provider needs from the hypervisor, as one ops table.  A context
 * picks its table once (hv_guest_select()) and keeps it with the
 * connection the table made; nothing above this header knows which
 * hypervisor it runs on.
 *
 * Implementations: util/emu/guest.c (the embedded emulation: a local
 * xenibd behind a unix socket, sealed memfds, socketpair notifiers) and
 * util/xen/ (real Xen: xenstore, a granted control mailbox relayed to a
 * socket, gntalloc grants, event channels).
 *
 * What both give the provider, whatever runs underneath:
 *   - the control channel is a connected SOCK_SEQPACKET socket carrying
 *     the messages of xenib-abi.h (hv_msg_send/hv_msg_recv); closing it or
 *     the backend going away hangs it up;
 *   - a notifier's guest end is a pollable fd made by hv_notify_pair(), so
 *     hv_notify_signal/drain/wait (util/hv.h) work on it.
 */
#ifndef XENIB_HV_GUEST_H
#define XENIB_HV_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/hv.h"

struct hv_ops;

/*
 * One context's connection to its backend.  Implementations embed it
 * first in their own structure.
 */
struct hv_conn {
	const struct hv_ops *ops;	/* the table that made it */
};

/* A notifier on its way to the backend (BIND_NOTIFY) and back. */
struct hv_notifier {
	uint32_t kind;		/* XENIB_NOTIFY_* */
	int guest_fd;		/* our pollable end; -1 for the doorbell */
	int self_fd;		/* signalling it makes guest_fd readable */
	int pass_fd;		/* sent with BIND_NOTIFY, or -1 */
	uint32_t port;		/* BIND_NOTIFY's port, or 0 */
};

/* Called once per device found, in ascending order of device names. */
typedef void (*hv_found_fn)(void *arg, const char *devname);

struct hv_ops {
	const char *name;		/* "emulated", "xen" */

	/* ---- devices and connections ------------------------------- */

	/* Is this hypervisor underneath us (auto-detection)? */
	bool (*present)(void);
	/* Devices ("xenib0", ...) the backend offers now.  0 or errno. */
	int (*discover)(hv_found_fn found, void *arg);
	/* Where devname is reached, for error messages. */
	void (*where)(const char *devname, char *buf, size_t len);
	/*
	 * devname's character node (/dev/infiniband/xenibN), whose mode
	 * says who may use the device: its path in buf, or false if the
	 * device has none.
	 */
	bool (*node)(const char *devname, char *buf, size_t len);
	/*
	 * Open a context's control channel on devname: *sock (see the top)
	 * and *conn, which every other op of the context takes.  0 or errno.
	 */
	int (*connect)(const char *devname, struct hv_conn **conn, int *sock);
	/* Close sock and let go of conn (the backend reclaims the context). */
	void (*disconnect)(struct hv_conn *conn, int sock);
	/*
	 * ibv_import_device: open a new channel for a context that shares
	 * the one whose channel cmd_fd is (another context's *sock, dup()ed
	 * or passed): req (XENIB_CMD_ATTACH) goes through cmd_fd with the new
	 * channel's far end; the answer comes on *sock.  *conn and *sock as
	 * for connect.  NULL: this hypervisor cannot share contexts.
	 */
	int (*attach)(int cmd_fd, const void *req, size_t len,
		      struct hv_conn **conn, int *sock);
	/*
	 * The resume hook: fn(arg, true) before the implementation rewrites
	 * the context's shared memory after a save/restore or migration,
	 * fn(arg, false) after.  The provider then holds every lock under
	 * which it stores into shared memory.  A no-op where nothing resumes.
	 */
	void (*set_quiesce)(struct hv_conn *conn,
			    void (*fn)(void *arg, bool on), void *arg);

	/* ---- shareable memory (process-wide, outlives connections) --- */

	/* New zero-filled pages (len a page multiple).  0 or errno. */
	int (*shm_alloc)(struct hv_shm *shm, size_t len, const char *name);
	/*
	 * Re-back [addr, addr + len) (page aligned) in place with shareable
	 * pages, same contents and address.  EFAULT: not all mapped; EINVAL:
	 * cannot be shared (e.g. a shared file mapping).
	 */
	int (*shm_adopt)(struct hv_shm *shm, void *addr, size_t len);
	/* Stop sharing; unmap too unless adopted memory (unmap == 0). */
	void (*shm_release)(struct hv_shm *shm, int unmap);

	/* ---- regions: telling the backend about shared memory ------- */

	/*
	 * Before MAP_REGION of shm: what the request carries (*ref, and
	 * *pass_fd, -1 for none).  On success always followed by
	 * region_done().
	 */
	int (*region_publish)(struct hv_conn *conn, struct hv_shm *shm,
			      uint64_t *ref, int *pass_fd);
	/*
	 * After MAP_REGION: handle is the backend's region handle, or
	 * XENIB_INVALID_HANDLE if it failed.  The region is unpublished by
	 * shm_release() (after UNMAP_REGION, or with the connection).
	 * MAP_REGION names the whole of shm.  The caller holds the control
	 * channel from region_publish() to region_done() (and from
	 * notify_new() to notify_bound()): no other request is in flight
	 * meanwhile, which a move relies on (util/emu/relay.c).
	 */
	void (*region_done)(struct hv_conn *conn, struct hv_shm *shm,
			    uint32_t handle);

	/* ---- notifiers ---------------------------------------------- */

	/* A new notifier of kind: fills *n for BIND_NOTIFY.  0 or errno. */
	int (*notify_new)(struct hv_conn *conn, uint32_t kind,
			  struct hv_notifier *n);
	/*
	 * After BIND_NOTIFY.  handle == XENIB_INVALID_HANDLE: it failed, and
	 * everything of n is undone (its fds closed).  Otherwise the binding
	 * is kept; a doorbell's ends are the implementation's (kick()), the
	 * other kinds' guest_fd and self_fd the caller's.  n's fds that are
	 * not the caller's are -1 on return.
	 */
	void (*notify_bound)(struct hv_conn *conn, struct hv_notifier *n,
			     uint32_t handle);
	/* After UNBIND_NOTIFY of handle: forget it (fds stay the caller's). */
	void (*notify_forget)(struct hv_conn *conn, uint32_t handle);
	/* Kick the backend through the context's doorbell; never blocks. */
	void (*kick)(struct hv_conn *conn);

	/* ---- moving between backends -------------------------------- */

	/*
	 * The control channel sock hung up (EOF, EPIPE, ECONNRESET seen on
	 * it, or POLLHUP): was the context moved to another backend rather
	 * than its backend gone?  Waits for a move in progress to end
	 * (bounded) unless HV_HANGUP_NOWAIT.  0: the context moved and sock
	 * (the same fd number) now reaches its new backend; a request that
	 * got no answer was never executed and must be sent again, once.
	 * EINPROGRESS (NOWAIT only): a move is under way, ask again later.
	 * Any other errno: the backend is gone (the device is dead).
	 * HV_HANGUP_UNANSWERED: the caller holds the control channel and its
	 * request got no answer (no other request can be in flight).
	 * NULL where contexts never move this way.
	 */
	int (*hangup)(struct hv_conn *conn, int sock, unsigned int flags);
};

#define HV_HANGUP_UNANSWERED	1u
#define HV_HANGUP_NOWAIT	2u

extern const struct hv_ops hv_emu_guest_ops;	/* util/emu/guest.c */
extern const struct hv_ops hv_xen_guest_ops;	/* util/xen/conn.c */

/*
 * The table for this process's contexts: XENIB_HV=xen or XENIB_HV=emulated
 * (any other non-empty value: emulated) forces one; else the emulation if
 * XENIB_EMU_DIR is set, else Xen in a Xen domU, else the emulation: the
 * rule of hv_guest_wants_xen() (util/hv.h), which librdmacm follows too.
 */
const struct hv_ops *hv_guest_select(void);

#endif /* XENIB_HV_GUEST_H */
