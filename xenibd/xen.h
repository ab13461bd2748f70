/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenibd on real Xen (xen.c, xen_mem.c): domains attached by name through
 * xenstore, per-context control mailboxes in granted pages, guest memory
 * mapped through gntdev, notifications through event channels.  The
 * layout and handshake are specified in <rdma/xenib-abi.h>, "Real Xen
 * transport".  Everything above (ctrl.c, the device model, the engine) is
 * the code the emulation runs.
 */
#ifndef XENIBD_XEN_H
#define XENIBD_XEN_H

#include "util/hv_xen_backend.h"
#include "xenibd/xenibd.h"

#define XD_NO_DOMID	UINT32_MAX
/* Event-channel ports (FIFO ABI: 2^17); a guest port beyond is refused. */
#define XD_XEN_MAX_PORT	(1u << 17)

/*
 * What xenibd needs from the hypervisor for guest memory and event
 * channels.  Real Xen by default (util/hv_xen_backend.c); unit tests put a
 * fake in xd_hv to drive the Xen-mode control paths without Xen.
 */
struct xd_hv_ops {
	int (*map)(uint32_t domid, const uint32_t *refs, uint32_t n, void *at,
		   bool writable, struct hvx_gmap *gm);
	void (*unmap)(struct hvx_gmap *gm, bool keep_reserved);
	int (*unmap_notify)(const struct hvx_gmap *gm, uint32_t off,
			    uint32_t port);
	int (*unmap_notify_disarm)(const struct hvx_gmap *gm, uint32_t off);
	int (*bind)(uint32_t domid, uint32_t remote_port); /* local or -errno */
	int (*notify)(uint32_t local_port);
	void (*unbind)(uint32_t local_port);
};

extern const struct xd_hv_ops xd_hv_real;
extern const struct xd_hv_ops *xd_hv;

/* A domain name xenibd serves (-x, "domains", xenibctl attach). */
struct xd_xdom {
	char name[64];
	bool wanted;		/* still configured (else freed once detached) */
	uint32_t domid;		/* attached domain, or XD_NO_DOMID */
	uint32_t rename_domid;	/* "NAME--incoming" whose name we watch */
	unsigned int nctx;	/* contexts of the attached domain */
	bool scan;		/* ctx/ changed: rescan (xen.c) */
	bool frozen;		/* the attached domain suspended: ctxs frozen */
	char fe[64];		/* /local/domain/D/device/xenib/0 */
	char be[96];		/* /local/domain/B/backend/xenib/D/0 */
	struct list_node link;
};

/* The Xen end of a context's control channel. */
struct xd_xen_ctx {
	struct xd_ctx *ctx;
	struct xd_xdom *dom;	/* NULL for in-process tests */
	uint32_t domid;
	uint32_t k;		/* ctx/K */
	uint32_t id;		/* token: context id ... */
	uint64_t secret;	/* ... and secret */
	struct hvx_gmap mbox;	/* 3 pages: header, request, response */
	uint32_t ctrl_port;	/* local port of the control channel */
	bool front_seen;	/* frontend_alive seen set */
	uint32_t cur_seq;	/* mailbox seq of the request being handled */
	bool cur_relay;		/* ... and it has hdr.flags bit 0 (not stored) */
	/*
	 * RESUME: frozen (ctx->frozen) since frozen_ns; orphan while no
	 * mailbox (waiting for a take-over by token), then resumed (RESUME_*
	 * allowed) until RESUME_DONE unfreezes it.
	 */
	bool orphan;
	bool resumed;
	uint64_t frozen_ns;
	bool have_last;
	uint32_t last_seq, last_len;
	unsigned char last[XENIB_CTRL_MAX_MSG];	/* last response */
};

/* xen.c */
/* Xen mode: open the hypervisor, watch xenstore, attach configured names. */
int xd_xen_init(void);
void xd_xen_fini(void);
/* Add a name to serve (configuration, before xd_xen_init). 0 or errno. */
int xd_xen_want(const char *name);
/* xenibctl attach / detach NAME: 0 or errno. */
int xd_xen_attach(const char *name);
int xd_xen_detach(const char *name);
int xd_xen_fmt_domains(char *buf, size_t len);
void xd_xen_evtchn_readable(void);
void xd_xen_xs_readable(void);
/*
 * Create a context on a mailbox (3 grant refs) and the guest's unbound
 * control port; no xenstore.  0 or errno.
 */
int xd_xen_ctx_new(struct xd_xdom *dom, uint32_t domid, uint32_t k,
		   const uint32_t refs[3], uint32_t port, struct xd_ctx **out);
/* Serve the mailbox after an event on its port. */
void xd_xen_mbox_event(struct xd_ctx *ctx);
int xd_xen_reply(struct xd_ctx *ctx, const void *resp, size_t len);
/* From xd_ctx_destroy: end the mailbox, its port and its xenstore nodes. */
void xd_xen_ctx_release(struct xd_ctx *ctx);
/*
 * RESUME (xenib-abi.h).  Freeze: end every grant mapping of the context
 * (placeholders keep the addresses), unbind its ports, stop its rings.
 * Take-over: a new mailbox and control port for a frozen orphan (after
 * the token matched); no xenstore.  0 or errno.
 */
void xd_xen_ctx_freeze(struct xd_ctx *ctx);
int xd_xen_ctx_takeover(struct xd_ctx *ctx, uint32_t domid, uint32_t k,
			const uint32_t refs[3], uint32_t port);
/* RESUME_DONE: the context runs again (resume.c). */
void xd_xen_ctx_thaw(struct xd_ctx *ctx);
/*
 * Destroy frozen contexts past resume_timeout and, every 250 ms, connected
 * contexts whose process is gone (frontend_alive cleared); *next_ns: the
 * next deadline.
 */
void xd_xen_tick(uint64_t *next_ns);
/* The token "%08x%016llx" of a context into buf (>= 25 bytes). */
void xd_xen_token(const struct xd_ctx *ctx, char *buf, size_t len);

/* resume.c: the RESUME_* requests (ctrl.c). 0 or errno. */
int xd_resume_region(struct xd_ctx *ctx,
		     const struct xenib_resume_region_req *req);
int xd_resume_notify(struct xd_ctx *ctx,
		     const struct xenib_resume_notify_req *req);
int xd_resume_done(struct xd_ctx *ctx);

/* Local ports the loop dispatches: doorbells wake it, nothing more. */
int xd_xen_port_doorbell(uint32_t port, struct xd_notify *n);
void xd_xen_port_clear(uint32_t port);

/* xen_mem.c */
/*
 * Copy the npages grant refs of a region out of the guest's directory page
 * dir_ref and its list pages (format in xenib-abi.h).  *refs is malloc'd.
 */
int xd_xen_read_refs(uint32_t domid, uint32_t dir_ref, uint32_t npages,
		     uint32_t **refs);

#endif /* XENIBD_XEN_H */
