/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Our librdmacm.so.1 (ABI of Debian 12's librdmacm1 44.0): internals.
 *
 * Upstream's library talks to the kernel's rdma_ucm through
 * /dev/infiniband/rdma_cm; ours talks to xenibd, the connection manager of
 * xenib0 (kernel-headers/rdma/xenib-cm-abi.h).  What the library itself does
 * is upstream's behaviour: synchronous and asynchronous ids, the QP moved
 * through INIT/RTR/RTS with rdma_init_qp_attr, CONNECT_RESPONSE turned into
 * ESTABLISHED when the id has a QP, events counted so destroy waits for
 * their acks.  Verbs objects go through the public libibverbs API only.
 */
#ifndef XENIB_RDMACM_H
#define XENIB_RDMACM_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <rdma/xenib-cm-abi.h>

#define EXPORT __attribute__((visibility("default")))

#ifndef container_of
#define container_of(p, t, m) ((t *)((char *)(p) - offsetof(t, m)))
#endif

/* Upstream's convention: set errno, return -1. */
static inline int cma_err(int e)
{
	errno = e;
	return -1;
}

extern int cma_debug;
#define cma_dbg(fmt, ...)						\
	do {								\
		if (cma_debug)						\
			fprintf(stderr, "librdmacm: " fmt "\n", ##__VA_ARGS__); \
	} while (0)

/* An RDMA device as the library keeps it (upstream's cma_device). */
struct cma_device {
	struct ibv_device *dev;
	struct ibv_context *verbs;
	struct ibv_pd *pd;		/* default PD of the ids bound here */
	struct ibv_xrcd *xrcd;		/* XRC ids' domain, made on demand */
	__be64 guid;
	int refcnt;
	int max_qpsize;
	uint8_t max_initiator_depth;
	uint8_t max_responder_resources;
	struct cma_device *next;
};

/* An event channel: rdma_event_channel first (its fd is the notifier). */
struct cma_channel {
	struct rdma_event_channel ch;
	int sock;			/* control channel to xenibd */
	int self_fd;			/* backend end: re-signals ourselves */
	uint32_t seq;
	bool dead;
	pthread_mutex_t lock;		/* one request at a time */
	/*
	 * Threads inside rdma_get_cm_event(), and whether the channel was
	 * destroyed under them (event.c): then it is never freed.
	 */
	atomic_uint waiters;
	atomic_bool destroyed;
};

struct cma_multicast {
	struct cma_multicast *next;
	struct cma_id_private *id_priv;
	void *context;
	uint32_t handle;		/* the backend's, for leaving */
	uint32_t uid;			/* ours, named by its events */
	uint16_t join_flags;
	uint16_t mlid;
	union ibv_gid mgid;
	int events_reported, events_completed;
	struct sockaddr_storage addr;
};

struct cma_id_private {
	struct rdma_cm_id id;
	struct cma_device *cma_dev;
	uint32_t handle;
	int sync;			/* created with a NULL channel */
	int connect_error;		/* CONNECT_RESPONSE failed: drop REJ/DISC */
	void *connect;			/* rdma_create_ep's ai_connect */
	size_t connect_len;
	uint8_t initiator_depth;
	uint8_t responder_resources;
	struct ibv_qp_init_attr *qp_init_attr;	/* rdma_create_ep, passive */
	struct ibv_ece local_ece, remote_ece;
	pthread_mutex_t mut;
	pthread_cond_t cond;
	int events_reported, events_completed;
	struct cma_multicast *mc_list;
	uint32_t mc_uid;
	struct cma_id_private *hnext;	/* handle table */
};

struct cma_event {
	struct rdma_cm_event event;
	uint8_t private_data[XENIB_CM_MAX_PDATA];
	struct cma_id_private *id_priv;	/* whose event this is for acks */
	struct cma_multicast *mc;
};

/* chan.c */
int cma_init(void);
struct cma_channel *cma_chan(struct rdma_event_channel *ch);
/* One request, one response (status errno, or EIO if the channel broke). */
int cma_cmd(struct rdma_event_channel *ch, uint16_t op, void *req,
	    size_t req_len, void *resp, size_t resp_len);
int cma_id_cmd(struct rdma_cm_id *id, uint16_t op);
const char *cma_devname(void);

/* device.c */
int cma_devices_init(void);
/* Bind id to the device of node guid (network order); 0 or -1/errno. */
int cma_get_device(struct cma_id_private *p, __be64 guid);
void cma_put_device(struct cma_device *d);
struct ibv_xrcd *cma_get_xrcd(struct cma_device *d);

/* id.c */
void cma_id_insert(struct cma_id_private *p);
void cma_id_remove(struct cma_id_private *p);
struct cma_id_private *cma_id_lookup(uint32_t handle);
struct cma_id_private *cma_alloc_id(struct rdma_event_channel *ch,
				    void *context, enum rdma_port_space ps,
				    enum ibv_qp_type qp_type);
void cma_free_id(struct cma_id_private *p);
int cma_create_id2(struct rdma_event_channel *ch, struct rdma_cm_id **id,
		   void *context, enum rdma_port_space ps,
		   enum ibv_qp_type qp_type);
/* Apply a route from the backend to id (addresses, GIDs, path, device). */
int cma_set_route(struct cma_id_private *p, const struct xenib_cm_route *r);
int cma_addr_to_abi(const struct sockaddr *sa, struct xenib_cm_addr *a);
socklen_t cma_addr_from_abi(const struct xenib_cm_addr *a,
			    struct sockaddr_storage *ss);
int cma_addrlen(const struct sockaddr *sa);
int cma_complete(struct rdma_cm_id *id);

/* conn.c */
int cma_modify_qp_rtr(struct rdma_cm_id *id, uint8_t resp_res);
int cma_modify_qp_rts(struct rdma_cm_id *id, uint8_t init_depth);
int cma_modify_qp_err(struct rdma_cm_id *id);
int cma_init_conn_qp(struct cma_id_private *p, struct ibv_qp *qp);
int cma_init_ud_qp(struct cma_id_private *p, struct ibv_qp *qp);
int cma_process_conn_resp(struct cma_id_private *p);

/* event.c */
void cma_complete_event(struct cma_id_private *p);
void cma_ah_from_abi(struct ibv_ah_attr *dst, const struct xenib_ah_attr *a);

#endif /* XENIB_RDMACM_H */
