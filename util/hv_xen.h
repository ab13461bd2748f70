/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Hypervisor layer, real Xen, guest side (DESIGN.md section 4).
 *
 * A process in a Xen domU reaches xenibd in the backend domain through:
 *   - xenstore: device discovery and one split-driver handshake per device
 *     context (layout in xenib-abi.h, "Real Xen transport");
 *   - a control mailbox in three granted pages plus an event channel;
 *   - shared memory granted with gntalloc (util/hv_xen_grant.c), which
 *     also re-backs registered application memory in place;
 *   - event channels for the doorbell and the backend's notifications.
 *
 * The provider keeps its emulation-shaped view: a context's control channel
 * is still a SOCK_SEQPACKET socket and its notifier fds are still socket
 * pairs.  A relay thread (one per process) moves control messages between
 * those sockets and the mailboxes, turns event-channel upcalls into
 * notifier signals, and reconnects every context by itself after the
 * domain was saved and restored or migrated (xenib-abi.h, "RESUME").
 */
#ifndef XENIB_HV_XEN_H
#define XENIB_HV_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "util/hv.h"

struct hv_xen_conn;

/*
 * Should this process use real Xen?  XENIB_HV=xen|emulated forces a mode;
 * by default: Xen in a domU (/proc/xen/capabilities without control_d)
 * unless XENIB_EMU_DIR names an emulated hypervisor.
 */
bool hv_xen_wanted(void);

/* Device indexes N with a device/xenib/N node, ascending; count or -errno. */
int hv_xen_list_devices(unsigned int *idx, int max);

/*
 * Open a context on device index devidx: handshake through xenstore, then
 * hand back the provider's end of the control socket (*sock) and the
 * connection.  Closing *sock closes the context.  0 or errno.
 */
int hv_xen_connect(unsigned int devidx, struct hv_xen_conn **conn, int *sock);

/*
 * The provider's quiesce hook: called by the relay thread with on = true
 * before it re-grants the context's memory after a resume (the provider
 * then holds every lock that guards stores into its rings) and with
 * on = false afterwards.
 */
void hv_xen_set_quiesce(struct hv_xen_conn *conn,
			void (*fn)(void *arg, bool on), void *arg);

/* ------------------------------------------------------------------ */
/* Regions (MAP_REGION)                                                */

/*
 * Grant a directory of shm's grant refs for MAP_REGION (*ref); end it with
 * hv_xen_region_done(), which also records the backend's region handle
 * (handle != XENIB_INVALID_HANDLE) so the region is re-granted and
 * re-announced after a resume.  0 or errno.
 */
int hv_xen_region_publish(struct hv_shm *shm, __u64 *ref);
void hv_xen_region_done(struct hv_xen_conn *conn, struct hv_shm *shm,
			uint32_t handle);
/* Stop tracking a grant (its shm is being released). */
void hv_xen_untrack(struct hv_xen_grant *g);

/* ------------------------------------------------------------------ */
/* Notifiers (BIND_NOTIFY)                                             */

/*
 * A new event channel for the backend (*port).  For backend -> guest kinds
 * the relay signals *self_fd, the peer of *guest_fd, whenever the backend
 * notifies; the doorbell has no fds (-1): kick it with hv_xen_kick().
 * Finish with hv_xen_notify_done(): handle != XENIB_INVALID_HANDLE records
 * the binding, otherwise everything is undone.  0 or errno.
 */
int hv_xen_notify_new(struct hv_xen_conn *conn, uint32_t kind,
		      int *guest_fd, int *self_fd, uint32_t *port);
void hv_xen_notify_done(struct hv_xen_conn *conn, uint32_t port,
			uint32_t handle);
/* The provider unbound notifier handle: forget it (fds stay the caller's). */
void hv_xen_notify_forget(struct hv_xen_conn *conn, uint32_t handle);

/* Kick the context's doorbell (current port; never blocks). */
void hv_xen_kick(struct hv_xen_conn *conn);

/* The provider closed the context's socket and is done with conn. */
void hv_xen_disconnect(struct hv_xen_conn *conn);

/* ------------------------------------------------------------------ */
/* Grants (util/hv_xen_grant.c)                                        */

struct hv_xen_list {
	struct hv_xen_list *next, *prev;
};

struct hv_xen_grant {
	void *va;		/* where the pages are mapped */
	uint64_t index;		/* gntalloc offset of the current grant */
	uint32_t npages;
	uint32_t *refs;		/* npages grant refs */
	void *dir_va;		/* MAP_REGION directory while published */
	uint32_t dir_npages;
	struct hv_xen_conn *conn;	/* tracked for resume, or NULL */
	uint32_t handle;	/* backend region handle while tracked */
	struct hv_xen_list link;	/* in conn->regions */
};

/* Domain the grants go to; installs the grant-backed hv_shm_ops. */
int hv_xen_grant_init(uint32_t backend_domid);
/*
 * Grant npages fresh pages and map them at va (MAP_FIXED), or anywhere when
 * va is NULL, first copying what is at va when copy is set.  Used for new
 * memory, for adoption of application memory and for re-granting the same
 * memory after a resume.  Fills g (refs allocated here).  0 or errno.
 */
int hv_xen_grant_map(struct hv_xen_grant *g, void **va, uint32_t npages,
		     bool copy, bool writable);
void hv_xen_grant_free(struct hv_xen_grant *g);
/* Grant a read-only directory of g's refs (xenib-abi.h); see above. */
int hv_xen_grant_dir(const struct hv_xen_grant *g, struct hv_xen_grant *dir,
		     void **dir_va);
/*
 * The same, and when the pages' last mapping goes away (our process exits)
 * the kernel clears the byte at clear_off (< 0: none).  No event goes with
 * it (see set_unmap_notify() in hv_xen_grant.c).
 */
int hv_xen_grant_map_notify(struct hv_xen_grant *g, void **va,
			    uint32_t npages, bool copy, bool writable,
			    int clear_off);

#endif /* XENIB_HV_XEN_H */
