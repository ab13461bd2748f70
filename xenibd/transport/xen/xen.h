/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenibd's transport on real Xen: domains attached by name through
 * xenstore (domains.c), per-context control mailboxes in granted pages
 * (mailbox.c), guest memory mapped through gntdev (mem.c), notifications
 * through event channels (evtchn.c), suspend and take-over (freeze.c) and
 * the RESUME_* requests (resume.c).  The layout and handshake are specified
 * in <rdma/xenib-abi.h>, "Real Xen transport".  Everything above (the
 * device model, the engine) is the code the emulation runs.
 *
 * Every call into Xen (grants, event channels, xenstore, domain info) goes
 * through xd_hv, so unit tests and fuzzers can put a fake hypervisor
 * underneath (tests/common/fake_xen.c).
 */
#ifndef XENIBD_XEN_H
#define XENIBD_XEN_H

#include "util/hv_xen_backend.h"
#include "xenibd/dev/dev.h"
#include "xenibd/transport/transport.h"

#define XD_NO_DOMID	UINT32_MAX
/* Event-channel ports (FIFO ABI: 2^17); a guest port beyond is refused. */
#define XD_XEN_MAX_PORT	(1u << 17)
#define XD_XS_VAL_MAX	64	/* longest value we accept from a guest */
/* ctx/K changes handled one by one per batch of watch events, at most */
#define XD_XEN_MAX_DIRTY	32
/* Refusal nodes (be/ctx/K/error, state) a domain may leave at once */
#define XD_XEN_MAX_REFUSED	16

/* What xenibd needs from the hypervisor; real Xen by default (mem.c). */
struct xd_hv_ops {
	/* grant tables (gntdev) */
	int (*map)(uint32_t domid, const uint32_t *refs, uint32_t n, void *at,
		   bool writable, struct hvx_gmap *gm);
	void (*unmap)(struct hvx_gmap *gm, bool keep_reserved);
	int (*unmap_notify)(const struct hvx_gmap *gm, uint32_t off,
			    uint32_t port);
	int (*unmap_notify_disarm)(const struct hvx_gmap *gm, uint32_t off);
	/* event channels */
	int (*bind)(uint32_t domid, uint32_t remote_port); /* local or -errno */
	int (*notify)(uint32_t local_port);
	void (*unbind)(uint32_t local_port);
	int (*pending)(void);			/* a pending port or -1 */
	void (*unmask)(uint32_t local_port);
	/* xenstore; t is a transaction or XBT_NULL */
	char *(*xs_read)(xs_transaction_t t, const char *path, size_t max);
	int (*xs_write)(xs_transaction_t t, const char *path, const char *val);
	int (*xs_rm)(xs_transaction_t t, const char *path);
	int (*xs_mkdir_perms)(xs_transaction_t t, const char *path,
			      uint32_t owner, uint32_t reader);
	/* The entries under path (malloc'd, *n of them), or NULL. */
	char **(*xs_directory)(xs_transaction_t t, const char *path,
			       unsigned int *n);
	xs_transaction_t (*xs_start)(void);	/* XBT_NULL + errno on failure */
	bool (*xs_end)(xs_transaction_t t, bool abort);	/* false + errno */
	bool (*xs_watch)(const char *path, const char *token);
	bool (*xs_unwatch)(const char *path, const char *token);
	/* The next fired watch (malloc'd, XS_WATCH_* indices) or NULL. */
	char **(*xs_check_watch)(void);
	/* domains */
	int (*domain_info)(uint32_t domid, struct hvx_dominfo *info);
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
	/* ctxs.c: what changed under ctx/, and our refusals there */
	bool full_scan;		/* look at all of ctx/ (not before ...) */
	uint64_t scan_after_ns;	/* ... this: at most one a second */
	unsigned int ndirty;
	uint32_t dirty[XD_XEN_MAX_DIRTY];	/* ctx/K named by events */
	unsigned int nrefused;
	uint32_t refused[XD_XEN_MAX_REFUSED];	/* K with be/ctx/K refused */
	struct xd_ratelimit refuse_rl;
	bool frozen;		/* the attached domain suspended: ctxs frozen */
	char fe[64];		/* /local/domain/D/device/xenib/0 */
	char be[96];		/* /local/domain/B/backend/xenib/D/0 */
	struct list_node link;
};

/* A context whose control channel is a mailbox in granted pages. */
struct xd_xen_ctx {
	struct xd_ctx ctx;
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
	 * RESUME: frozen (ctx.frozen) since frozen_ns; orphan while no
	 * mailbox (waiting for a take-over by token), then resumed (RESUME_*
	 * allowed) until RESUME_DONE unfreezes it.
	 */
	bool orphan;
	bool resumed;
	uint64_t frozen_ns;
	bool have_last;
	uint32_t last_seq, last_len;
	unsigned char last[XENIB_CTRL_MAX_MSG];	/* last response */
	struct list_node xlink;	/* on xd_xen_ctxs */
};

/* A region of granted pages. */
struct xd_xen_region {
	struct xd_region r;
	uint32_t *grefs;	/* the guest's grant refs, one per page */
	uint32_t domid;
	bool unmapped;		/* grants ended (frozen), VA kept reserved */
};

/* A notifier: an interdomain event channel. */
struct xd_xen_notify {
	struct xd_notify n;
	uint32_t port;		/* local port, 0 while unbound (frozen) */
};

static inline struct xd_xen_ctx *xd_xen_of(struct xd_ctx *ctx)
{
	return container_of(ctx, struct xd_xen_ctx, ctx);
}

static inline struct xd_xen_region *xd_xen_region_of(struct xd_region *r)
{
	return container_of(r, struct xd_xen_region, r);
}

static inline struct xd_xen_notify *xd_xen_notify_of(struct xd_notify *n)
{
	return container_of(n, struct xd_xen_notify, n);
}

extern const struct xd_transport xd_xen_transport;
/* Every context of this transport (struct xd_xen_ctx, by xlink). */
extern struct list_node xd_xen_ctxs;

/* domains.c */
/* Xen mode: open the hypervisor, watch xenstore, attach configured names. */
int xd_xen_init(void);
void xd_xen_fini(void);
/*
 * The xenstore part of xd_xen_init (through xd_hv, so tests can run it):
 * watch for domains, attach the wanted ones.  0 or errno.
 */
int xd_xen_start(uint32_t self_domid);
/* Fired xenstore watches are waiting (the xenstore fd is readable). */
void xd_xen_xs_ready(void);
/* Is the Xen transport serving domains? */
bool xd_xen_active(void);
/* Add a name to serve (configuration, before xd_xen_init). 0 or errno. */
int xd_xen_want(const char *name);
/* xenibctl attach / detach NAME: 0 or errno. */
int xd_xen_attach(const char *name);
int xd_xen_detach(const char *name);
int xd_xen_fmt_domains(char *buf, size_t len);
/* xenstore: read the path fmt names (NULL if too long or absent). */
char *xd_xen_xs_readf(size_t max, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Deferred work of the domains (full ctx/ scans); *next_ns: when next. */
void xd_xen_domains_tick(uint64_t *next_ns);
/* xenstore: write and remove the nodes of context k of dom. */
void xd_xen_be_ctx_write(struct xd_xdom *dom, uint32_t k, const char *leaf,
			 const char *val);
void xd_xen_ctx_nodes_rm(struct xd_xdom *dom, uint32_t k);

/* ctxs.c: the contexts' xenstore handshake */
/* A watch event at path, at or below dom's ctx/: note what to look at. */
void xd_xen_ctx_event(struct xd_xdom *dom, const char *path);
/* Look at what the events named (a full scan if due, else *next_ns). */
void xd_xen_ctxs_scan(struct xd_xdom *dom, uint64_t *next_ns);
/* dom was just attached: no refusals yet, a full scan at once. */
void xd_xen_ctxs_attached(struct xd_xdom *dom);

/* mailbox.c */
/*
 * Create a context on a mailbox (3 grant refs) and the guest's unbound
 * control port; no xenstore.  0 or errno.
 */
int xd_xen_ctx_new(struct xd_xdom *dom, uint32_t domid, uint32_t k,
		   const uint32_t refs[3], uint32_t port, struct xd_ctx **out);
/* Serve the mailbox after an event on its port. */
void xd_xen_mbox_event(struct xd_ctx *ctx);
/*
 * Has the guest's kernel cleared frontend_alive?  Then the context is
 * destroyed (true).
 */
bool xd_xen_front_gone(struct xd_ctx *ctx);
/* The token "%08x%016llx" of a context into buf (>= 25 bytes). */
void xd_xen_token(const struct xd_ctx *ctx, char *buf, size_t len);
void xd_xen_new_token(struct xd_xen_ctx *xc);
/* Connected contexts whose frontend_alive must be looked at. */
extern bool xd_xen_live;

/* freeze.c */
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
/* A context going away: forget it was frozen. */
void xd_xen_ctx_unfreeze_count(struct xd_ctx *ctx);
/* The frozen orphan of dom's guest whose token is tok, or NULL. */
struct xd_ctx *xd_xen_frozen_by_token(struct xd_xdom *dom, const char *tok);
/*
 * Destroy frozen contexts past resume_timeout and, every 250 ms, connected
 * contexts whose process is gone (frontend_alive cleared); *next_ns: the
 * next deadline.
 */
void xd_xen_tick(uint64_t *next_ns);

/* resume.c: the RESUME_* requests (the transport's own). 0 or errno. */
int xd_xen_request(struct xd_ctx *ctx, const struct xenib_ctrl_hdr *h,
		   size_t len, int *fd);

/* evtchn.c: local ports -> what they belong to. */
int xd_xen_port_ctrl(uint32_t port, struct xd_ctx *ctx);
int xd_xen_port_doorbell(uint32_t port, struct xd_notify *n);
void xd_xen_port_clear(uint32_t port);
/* The event-channel device is readable: dispatch pending ports. */
void xd_xen_evtchn_ready(void);
void xd_xen_ports_fini(void);

/* mem.c */
/*
 * Copy the npages grant refs of a region out of the guest's directory page
 * dir_ref and its list pages (format in xenib-abi.h).  *refs is malloc'd.
 */
int xd_xen_read_refs(uint32_t domid, uint32_t dir_ref, uint32_t npages,
		     uint32_t **refs);
int xd_xen_region_map(struct xd_ctx *ctx,
		      const struct xenib_map_region_req *req, int *fd,
		      struct xd_region **out);
void xd_xen_region_free(struct xd_region *r);
int xd_xen_segment_map(struct xd_region *r, uint64_t off, size_t len,
		       void *at);
void xd_xen_segment_unmap(struct xd_region *r, void *at, size_t len);
int xd_xen_notify_bind(struct xd_ctx *ctx,
		       const struct xenib_bind_notify_req *req, int *fd,
		       struct xd_notify **out);
void xd_xen_notify_signal(struct xd_notify *n);
void xd_xen_notify_free(struct xd_notify *n);
/* Unmap (keeping placeholders) r and every MR view segment over it. */
void xd_xen_region_unmap_keep(struct xd_region *r);

#endif /* XENIBD_XEN_H */
