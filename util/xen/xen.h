/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Real Xen, guest side: what the files of util/xen/ share.  Nothing here is
 * seen by the provider.
 *
 * Threads: the provider's threads call the connection, region and notifier
 * functions; one relay thread per process (relay.c) owns the event-channel
 * handle's upcalls, the relay ends of the control sockets and the resume
 * procedure (resume.c).  xg.lock guards the connection lists and every
 * mailbox.  Lock order: provider locks (taken by the quiesce hook) before
 * xg.lock.
 *
 * Files: xenstore.c (xenstore reads, discovery), mailbox.c (the control
 * mailbox and event-channel ports), handshake.c (the per-context xenstore
 * handshake), relay.c (the relay thread), resume.c (reconnection after a
 * save/restore or migration), conn.c (connections), notify.c (notifiers
 * and the doorbell), shm.c (shared memory and regions over grants),
 * grant.c (gntalloc).
 */
#ifndef XENIB_UTIL_XEN_H
#define XENIB_UTIL_XEN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <xenevtchn.h>
#include <xenstore.h>

#include <rdma/xenib-abi.h>

#include "util/hv_guest.h"
#include "util/list.h"

#define XG_HANDSHAKE_MS		30000
#define XG_RESUME_WAIT_MS	180000	/* for xenibd to attach the new domain */
#define XG_CALL_MS		30000
#define XG_RESUME_FLAG		1u	/* hdr.flags of relay-made requests */

#define xg_log(...)                                                        \
	do {                                                               \
		fprintf(stderr, "xenib: " __VA_ARGS__);                    \
		fputc('\n', stderr);                                       \
	} while (0)

struct xnotify {
	struct list_node link;
	uint32_t kind;
	uint32_t port;
	unsigned int gen;	/* xg.gen when port was bound */
	uint32_t handle;	/* XENIB_INVALID_HANDLE until bound */
	int self_fd;		/* relay's copy of the provider's self end */
};

/*
 * Memory granted to the backend (grant.c): a gntalloc grant of npages
 * mapped at va.  As a region (shm.c) it is tracked on its connection so it
 * is re-granted and re-announced after a resume.
 */
struct xg_grant {
	void *va;		/* where the pages are mapped */
	uint64_t index;		/* gntalloc offset of the current grant */
	uint32_t npages;
	uint32_t *refs;		/* npages grant refs */
	void *dir_va;		/* MAP_REGION directory while published */
	uint32_t dir_npages;
	struct xg_conn *conn;	/* tracked for resume, or NULL */
	uint64_t *vma_off;	/* adopted: its hv_shm's, kept = index */
	uint32_t handle;	/* backend region handle while tracked */
	struct list_node link;	/* in conn->regions */
};

struct xg_conn {
	struct hv_conn hv;		/* hv_xen_guest_ops */
	struct list_node link;		/* xg.conns */
	unsigned int devidx;
	int relay_fd;		/* our end of the control socket, -1 closed */
	struct xg_grant mbox_g;
	struct xenib_xen_mbox *mbox;	/* page 0; request, response follow */
	uint32_t ctrl_port;
	unsigned int ctrl_gen;	/* xg.gen when ctrl_port was bound */
	uint32_t doorbell_port;	/* atomic: read by xg_kick() */
	unsigned int ctx_id;
	char token[32];
	struct list_node regions;	/* struct xg_grant.link */
	struct list_node notifies;	/* struct xnotify.link */
	/* The provider's request in flight (re-sent after a resume). */
	uint8_t pend[XENIB_CTRL_MAX_MSG];
	uint32_t pend_len, pend_seq;
	bool pending;
	bool dead;		/* transport gone; provider saw a hang-up */
	bool resuming;
	bool resume_me;		/* existed when the resume began */
	bool free_me;		/* provider let go during a resume */
	uint32_t relay_seq;
	void (*quiesce)(void *arg, bool on);
	void *qarg;
};

/* The process's Xen state (relay.c). */
struct xg_state {
	pthread_mutex_t lock;
	pthread_once_t once;
	int init_err;
	struct xs_handle *xs;		/* relay's watch handle */
	xenevtchn_handle *xce;		/* current handle (atomic pointer) */
	unsigned int gen;		/* resumes so far: which handle a port is on */
	int *poisoned;			/* fds of pre-resume handles */
	int npoisoned;
	int keeper_fd;			/* pidfd of the process holding them */
	uint32_t backend_domid;
	char domid[16];
	int wake[2];
	struct list_node conns;		/* struct xg_conn.link */
};
extern struct xg_state xg;

static inline struct xg_conn *to_xg(struct hv_conn *c)
{
	return container_of(c, struct xg_conn, hv);
}

/* xenstore.c: reads that return NULL / ENOENT when the node is missing. */
char *xg_xs_get(struct xs_handle *h, const char *path);
int xg_xs_uint(struct xs_handle *h, const char *path, unsigned int *v);
/*
 * Wait (watching path) until check() says done (> 0) or failed (< 0), at
 * most ms.  Returns 0, the negative check result's errno, or ETIMEDOUT.
 */
int xg_xs_wait(struct xs_handle *h, const char *path, int ms,
	       int (*check)(struct xs_handle *h, void *arg), void *arg);
/* hv_ops: a domU?  The device/xenib/N nodes; where a device lives. */
bool xg_present(void);
int xg_discover(hv_found_fn found, void *arg);
bool xg_node(const char *devname, char *buf, size_t len);
void xg_where(const char *devname, char *buf, size_t len);

/* mailbox.c */
xenevtchn_handle *xg_xce_open(void);
static inline xenevtchn_handle *xg_xce_now(void)
{
	return __atomic_load_n(&xg.xce, __ATOMIC_ACQUIRE);
}
/*
 * xg.lock held.  Ports are numbers on one handle.  A port bound before a
 * resume is dead, and its number may since have been given to another
 * binding of ours: never unbind it or take its events for it.
 */
int xg_port_bind(uint32_t *port, unsigned int *gen);
static inline bool xg_port_is(uint32_t port, unsigned int gen,
			      uint32_t pending)
{
	return port == pending && gen == xg.gen;
}
void xg_port_unbind(uint32_t port, unsigned int gen);
/* Mailbox pages and control port for c (new, or anew after a resume). */
int xg_conn_transport(struct xg_conn *c, bool regrant);
/* xg.lock held.  Put a request in the mailbox and ring. */
void xg_mbox_post(struct xg_conn *c, const void *msg, uint32_t len,
		  uint32_t seq);
/* xg.lock held; relay thread: a request of the relay's own, answered. */
int xg_mbox_call(struct xg_conn *c, void *req, uint32_t len,
		 uint16_t opcode);
void xg_conn_dead(struct xg_conn *c, const char *why);
/* xg.lock held.  Dispatch every pending port of the current handle. */
void xg_drain_ports(void);
void xg_dispatch_port(uint32_t port);

/* handshake.c: announce c under its device, wait for the backend. */
int xg_handshake(struct xg_conn *c, const char *token, int wait_ms);

/* relay.c */
void xg_init(void);
void xg_wake_relay(void);

/* resume.c: xg.lock held; relay thread. */
void xg_resume_all(const char *new_domid);

/* conn.c: xg.lock held. */
void xg_free_conn(struct xg_conn *c);

/* notify.c: the hv_ops notifier calls. */
int xg_notify_new(struct hv_conn *conn, uint32_t kind, struct hv_notifier *n);
void xg_notify_bound(struct hv_conn *conn, struct hv_notifier *n,
		     uint32_t handle);
void xg_notify_forget(struct hv_conn *conn, uint32_t handle);
void xg_kick(struct hv_conn *conn);

/* shm.c: the hv_ops shared memory and region calls. */
int xg_shm_alloc(struct hv_shm *shm, size_t len, const char *name);
int xg_shm_adopt(struct hv_shm *shm, void *addr, size_t len);
void xg_shm_release(struct hv_shm *shm, int unmap);
int xg_region_publish(struct hv_conn *conn, struct hv_shm *shm,
		      uint64_t *ref, int *pass_fd);
void xg_region_done(struct hv_conn *conn, struct hv_shm *shm,
		    uint32_t handle);

/* grant.c */
/* Open gntalloc (once) for grants to the backend domain.  0 or errno. */
int xg_grant_init(uint32_t backend_domid);
/*
 * Grant npages fresh pages and map them at *va (MAP_FIXED), or anywhere
 * when *va is NULL, first copying what is at *va when copy is set.  Used
 * for new memory, for adoption of application memory and for re-granting
 * the same memory after a resume.  Fills g (refs allocated here).  0 or
 * errno.
 */
int xg_grant_map(struct xg_grant *g, void **va, uint32_t npages, bool copy,
		 bool writable);
/*
 * The same, and when the pages' last mapping goes away (our process exits)
 * the kernel clears the byte at clear_off (< 0: none).  No event goes with
 * it (see set_unmap_notify() in grant.c).
 */
int xg_grant_map_notify(struct xg_grant *g, void **va, uint32_t npages,
			bool copy, bool writable, int clear_off);
void xg_grant_free(struct xg_grant *g);
/* Grant a read-only directory of g's refs for MAP_REGION (xenib-abi.h). */
int xg_grant_dir(const struct xg_grant *g, struct xg_grant *dir,
		 void **dir_va);

#endif /* XENIB_UTIL_XEN_H */
