/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenib transport ABI: how a device context reaches its backend, and
 * reaches it again after a save/restore, a migration or a move.
 *
 * The real Xen transport (util/xen/, xenibd/transport/xen/): the xenstore
 * layout, the mailbox pages of the control channel and the grant-ref
 * directories of regions.  RESUME, the emulation's MOVE and TAKEOVER:
 * a frozen context re-attached with all its handles.  Part of the wire
 * ABI of <rdma/xenib-abi.h>, which includes this header; the same rules
 * hold (fixed-size little-endian structures, every field validated by
 * the backend).
 */
#ifndef XENIB_TRANSPORT_ABI_H
#define XENIB_TRANSPORT_ABI_H

#include <linux/types.h>
#include <rdma/xenib-abi.h>

/*
 * Xenstore layout, for device N of guest domain D served by backend domain
 * B (xenibd, normally dom0).  xenibd writes both directories when it
 * attaches D; D owns the frontend directory (so it can add per-context
 * nodes) and may only read the backend directory.  No other domain can
 * read either.
 *
 *   /local/domain/D/device/xenib/N/          frontend (guest) directory
 *       backend        path of the backend directory
 *       backend-id     B
 *       ctx/K/         one per device context (ibv_open_device), K a
 *                      decimal number the guest picks (unused under ctx/)
 *           ctrl-ref       "H Q S": grant refs of the mailbox pages (header,
 *                          request, response), granted to B, writable
 *           event-channel  unbound port the guest allocated for B: the
 *                          control channel's event channel
 *           resume         optional: token of a context to take over after
 *                          a save/restore or migration (see RESUME below)
 *           state          XenbusState, written by the guest
 *
 *   /local/domain/B/backend/xenib/D/N/       backend directory
 *       frontend       path of the frontend directory
 *       frontend-id    D
 *       dev-name       "xenib<N>"
 *       state          XenbusState: Connected while xenibd serves the device
 *       ctx/K/state    XenbusState of the backend end of context K
 *       ctx/K/token    resume token of context K (hex, 24 digits)
 *       ctx/K/error    a one-line reason when the backend refused K
 *
 * Context handshake (split-driver conventions):
 *   guest:   writes ctrl-ref, event-channel, then state = Initialised
 *   backend: maps the mailbox, binds the port, writes token and
 *            ctx/K/state = Connected (or Closed + error)
 *   guest:   sees Connected, sets its state Connected, sends HELLO
 *   close:   guest sets Closing (or removes ctx/K, or its process dies and
 *            its kernel clears frontend_alive); the backend tears the
 *            context down, writes Closed and removes both ctx/K nodes.
 */
enum xenib_xenbus_state {
	XENIB_XS_INITIALISING	= 1,
	XENIB_XS_INITWAIT	= 2,
	XENIB_XS_INITIALISED	= 3,
	XENIB_XS_CONNECTED	= 4,
	XENIB_XS_CLOSING	= 5,
	XENIB_XS_CLOSED		= 6,
};

#define XENIB_XS_FRONT_DIR	"device/xenib"	/* relative to the guest's home */
/*
 * Device xenibN's character node, /dev/infiniband/xenibN: major 120 (the
 * kernel's LOCAL/EXPERIMENTAL range, devices.txt), minor N.  Made by
 * xenibd (emulation) or xenib-node (Xen guests); no driver opens it, its
 * mode says who may use the device (xenib(7), "DEVICE NODE").
 */
#define XENIB_NODE_DIR		"/dev/infiniband"
#define XENIB_NODE_MAJOR	120
#define XENIB_XS_BACK_DIR	"backend/xenib"	/* relative to the backend's home */
#define XENIB_XS_MAX_CTX	1000000u	/* K < this */

/*
 * Control mailbox: three granted pages.  Page 0 is this header, page 1 the
 * request, page 2 the response (each at most XENIB_CTRL_MAX_MSG bytes).
 * One request in flight: the guest writes the request page and req_len,
 * then publishes req_seq (release) and signals the control event channel.
 * The backend copies the request out before looking at it, answers into the
 * response page and resp_len, publishes resp_seq = req_seq (release) and
 * signals back.  The backend keeps its last response, so a request sent
 * again with the same seq after a resume gets the same answer.
 */
struct xenib_xen_mbox {
	__u32 req_seq;		/* guest produces */
	__u32 req_len;
	__u32 pad0[14];
	__u32 resp_seq;		/* backend produces */
	__u32 resp_len;
	__u32 pad1[14];
	/*
	 * Liveness bytes: set to 1 by their owner once mapped, cleared by the
	 * owner's kernel when the owner's mapping goes away (gntalloc and
	 * gntdev unmap notifications).  The backend's notification also
	 * signals the control event channel; the guest's does not (a port
	 * named there would not survive a save/restore), so the backend looks
	 * at frontend_alive on every control event and every 250 ms.  Only
	 * advisory: the backend trusts nothing it reads here.
	 */
	__u8 frontend_alive;	/* offset 128 */
	__u8 pad2[63];
	__u8 backend_alive;	/* offset 192 */
	__u8 pad3[63];
};

#define XENIB_MBOX_PAGES		3u
#define XENIB_MBOX_FRONT_ALIVE_OFF	128u
#define XENIB_MBOX_BACK_ALIVE_OFF	192u

/*
 * MAP_REGION over Xen: ref names a granted directory page holding
 * DIV_ROUND_UP(npages, 1024) grant refs (__u32) of list pages; list page i
 * holds the grant refs of the region's pages i * 1024 .. i * 1024 + 1023
 * (the last one only up to npages).  The backend copies the refs before it
 * answers; afterwards the guest may end the directory and list grants.
 * offset must be 0.  Region pages are granted writable to the backend.
 */
#define XENIB_REFS_PER_PAGE	(XENIB_PAGE_SIZE / 4)

/*
 * RESUME.  When the toolstack asks guest D to suspend (control/shutdown =
 * "suspend": xl save, xl migrate), xenibd freezes D's contexts: it stops
 * processing their rings, holds back peers' operations aimed at them
 * (without spending their retry budget), ends every mapping of D's grants
 * and unbinds D's event channels.  The objects and all virtual handles
 * (QPNs, keys, LID, GID) stay.  When a domain of the same name comes back
 * (xl restore, end of xl migrate) xenibd attaches it, and each guest
 * context reconnects by itself: fresh mailbox with ctx/K/resume = the old
 * context's token, then RESUME_REGION for every region (the same pages,
 * granted again, new directory ref), RESUME_NOTIFY for every notifier (a new
 * port), then RESUME_DONE, after which processing continues from the ring
 * indices in the guest's memory.  Frozen contexts that nobody resumes within
 * the backend's resume timeout are destroyed as if the guest had died.
 */
struct xenib_resume_region_req {
	struct xenib_ctrl_hdr hdr;
	__u32 handle;		/* region handle from MAP_REGION */
	__u32 npages;		/* must match */
	__u64 ref;		/* directory page, as for MAP_REGION */
};

struct xenib_resume_notify_req {
	struct xenib_ctrl_hdr hdr;
	__u32 handle;		/* notifier handle from BIND_NOTIFY */
	__u32 port;		/* new unbound port for the backend */
};
/* RESUME_DONE: bare header both ways; EBUSY while a region is unmapped. */

/*
 * MOVE (the embedded emulation; docs/migration.md).  The emulated
 * hypervisor moves a guest between hosts' backends as a toolstack moves a
 * Xen domain (xenibctl migrate GUEST HOST): the source backend freezes
 * the guest's contexts (it stops reading their control channels and rings;
 * peers are held), hands their state to the destination backend, and then
 * sends one struct xenib_emu_move datagram on each context's
 * XENIB_NOTIFY_HV notifier (bound, like the doorbell, once per context,
 * right after the context page) and closes the context's control socket.
 * The guest's context then reconnects by itself: a new connection to
 * `path`, XENIB_CMD_TAKEOVER with `token` as its first request (instead of
 * HELLO), then RESUME_REGION for every region (ref 0, the region's memfd
 * passed again with the message), RESUME_NOTIFY for every notifier but
 * the HV one (port 0, the backend's end of a new socketpair passed with
 * the message; the guest puts its new end where its old one was), a
 * RESUME_NOTIFY for the HV notifier last, then RESUME_DONE, as on Xen.  A
 * request the source had not answered when it froze was never executed:
 * the guest sends it again on the new connection after RESUME_DONE.  The
 * guest's rings, registered memory and every handle stay as they were.
 * Contexts nobody takes over within the destination's resume timeout are
 * destroyed as if the guest had died.
 */
#define XENIB_EMU_MOVE_MAGIC	0x584d4f56u	/* "XMOV" */
#define XENIB_TOKEN_LEN		32u		/* 24 hex digits + NUL, padded */

struct xenib_emu_move {
	__u32 magic;		/* XENIB_EMU_MOVE_MAGIC */
	__u32 reserved;
	char token[XENIB_TOKEN_LEN];	/* of the context at the destination */
	char path[108];		/* the destination's socket (sun_path) */
};

/* TAKEOVER: first request on a connection; a bare header answers it. */
struct xenib_takeover_req {
	struct xenib_ctrl_hdr hdr;
	__u32 abi_version;	/* XENIB_ABI_VERSION */
	__u32 reserved;
	char token[XENIB_TOKEN_LEN];	/* from the MOVE */
	char guest_name[64];	/* must be the context's guest */
};

#endif /* XENIB_TRANSPORT_ABI_H */
