/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rsockets (rsocket(7)): stream sockets over an RC QP connected with our
 * rdma_cm.  The protocol on the wire is our own, spoken only between our
 * rsockets (both ends of a connection on xenib run this library):
 *
 * - Each side posts W = nbuf + RS_RESERVE receive buffers of bufsz bytes
 *   and tells the peer nbuf and bufsz in the connection's private data
 *   (struct rs_hello, in the REQ and in the REP).  Every message is a
 *   SEND_WITH_IMM into the peer's next receive buffer; the immediate
 *   carries the message type, a "running low" flag and the number of
 *   buffers the sender reposted since it last said so (credits returned).
 * - A sender holds one credit per receive buffer the peer has free.  Data
 *   needs more than RS_RESERVE credits, so that credit returns, FIN and
 *   io mappings can always go out.  A receiver returns credits with
 *   whatever it sends, or alone (CREDIT) once half its buffers came back
 *   or when the peer said it runs low.
 * - riowrite is an RDMA WRITE into a buffer the peer riomap'ed (offset,
 *   address, length and rkey came in an IOMAP message, which goes out
 *   before any later data, so the peer knows it when it sees that data).
 *
 * The socket's number is the fd of its own rdma_cm event channel: a real
 * fd nothing else uses, so librspreload can hand it to applications.  All
 * the fds under a socket are non-blocking; a blocking call waits in poll.
 */
#ifndef XENIB_RSOCKET_INT_H
#define XENIB_RSOCKET_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "cma.h"

#define RS_MAGIC	0x31535258u	/* "XRS1" */
#define RS_VERSION	1
#define RS_RESERVE	2u		/* credits kept for control messages */
#define RS_MAX_FD	(1 << 20)
#define RS_MAX_PENDING	64		/* requests a listener holds */

/* Bounds of what a peer may announce (its hello is hostile input). */
#define RS_MIN_BUFSZ	1024u
#define RS_MAX_BUFSZ	(1u << 20)
#define RS_MAX_NBUF	4096u
#define RS_MAX_IOMAP	1024u

enum rs_msg {
	RS_MSG_DATA	= 0,
	RS_MSG_CREDIT	= 1,
	RS_MSG_FIN	= 2,
	RS_MSG_IOMAP	= 3,
	RS_MSG_IOUNMAP	= 4,
};
#define RS_IMM(type, low, credits) \
	(((uint32_t)(type) << 28) | ((low) ? 1u << 27 : 0) | \
	 ((credits) > 0xffffu ? 0xffffu : (uint32_t)(credits)))
#define RS_IMM_TYPE(imm)	((imm) >> 28)
#define RS_IMM_LOW(imm)		(((imm) >> 27) & 1)
#define RS_IMM_CREDITS(imm)	((imm) & 0xffffu)

/* Connection private data (REQ and REP), little endian. */
struct rs_hello {
	uint32_t magic;
	uint16_t version;
	uint16_t reserved;
	uint32_t nbuf;		/* data buffers; RS_RESERVE more are posted */
	uint32_t bufsz;
	uint32_t iomap_size;	/* io mappings this side may announce */
};

/* IOMAP / IOUNMAP payload. */
struct rs_iomap_msg {
	uint64_t offset;
	uint64_t addr;
	uint64_t len;
	uint32_t rkey;
	uint32_t index;		/* slot in the sender's table */
};

enum rs_state {
	RS_NEW,
	RS_BOUND,
	RS_LISTEN,
	RS_ADDR_QUERY,
	RS_ROUTE_QUERY,
	RS_CONNECTING,
	RS_ACCEPTING,		/* passive: REP sent, waiting for the RTU */
	RS_CONNECTED,
	RS_ERROR,
	RS_CLOSED,		/* connection over (both directions done) */
};

struct rs_lmap {		/* ours, riomap */
	bool used, announced;
	void *buf;
	uint64_t offset, len;
	struct ibv_mr *mr;
	bool unmap_pending;	/* IOUNMAP still to send */
};

struct rs_rmap {		/* the peer's */
	bool used;
	uint64_t offset, addr, len;
	uint32_t rkey;
};

struct rs_rx {
	uint32_t idx, len, off;
};

struct rs_req {			/* a listener's pending request */
	struct rdma_cm_id *id;
	struct rs_hello hello;
	bool dead;
};

struct rs_dgram;

struct rsock {
	int fd;				/* ch->fd: the socket's number */
	int domain, type;
	struct rs_dgram *dg;		/* SOCK_DGRAM (rsocket_dgram.h) */
	enum rs_state state;
	int err;			/* SO_ERROR */
	bool established;		/* was connected once */
	int fd_flags;			/* O_NONBLOCK ... (rfcntl) */
	pthread_mutex_t mut;
	pthread_cond_t cond;
	bool polling;			/* a thread waits in poll for all */
	struct rdma_event_channel *ch;
	struct rdma_cm_id *id;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	bool cq_armed;
	struct rs_req pending[RS_MAX_PENDING];
	unsigned int npending;

	/* options */
	int sndbuf, rcvbuf, inline_req, iomap_size, sqsize, rqsize;
	int reuseaddr, nodelay, keepalive, keepidle, keepintvl, keepcnt;
	int oobinline, v6only;
	struct linger linger;

	/* receive side */
	uint32_t nbuf, bufsz, nrwqe;
	char *rbuf;
	struct ibv_mr *rmr;
	struct rs_rx *rxq;		/* nrwqe entries, a ring */
	uint32_t rx_head, rx_cnt;
	uint32_t *repost;		/* buffers to post again, batched */
	uint32_t nrepost;
	uint32_t unreported;		/* reposted, not yet told the peer */
	bool peer_low, fin_rcvd, peer_gone, rd_shut;

	/* send side */
	uint32_t sq_depth, inline_sz;
	uint32_t peer_nbuf, peer_bufsz, peer_iomap;
	uint32_t nsbuf, sbufsz;
	char *sbuf;
	struct ibv_mr *smr;
	uint32_t s_next, s_busy;	/* slots (a ring): next to use, in use */
	uint32_t wr_busy;		/* send WRs in flight */
	uint32_t credits;
	bool fin_pending, fin_sent, wr_shut, disconnected;

	struct rs_lmap *lmaps;		/* iomap_size */
	struct rs_rmap *rmaps;		/* peer_iomap */
	uint32_t nlmaps, nrmaps;
	bool iomap_pending;		/* an IOMAP/IOUNMAP waits for credit */
};

/* Page-aligned memory to register (aligned_alloc wants whole pages). */
static inline void *rs_page_alloc(size_t n)
{
	return aligned_alloc(4096, (n + 4095) & ~(size_t)4095);
}

/* rsocket.c: the table of sockets, a socket's life */
struct rsock *rs_get(int fd);
int rs_insert(struct rsock *rs);
void rs_remove(struct rsock *rs);
/* A socket with a channel of its own, options from `from' if given. */
struct rsock *rs_alloc(const struct rsock *from);
void rs_destroy(struct rsock *rs);
/* A call that must not sleep: O_NONBLOCK (rfcntl) or MSG_DONTWAIT. */
bool rs_nonblock(const struct rsock *rs, int flags);
/* O_NONBLOCK on fd; 0 or an errno. */
int rs_set_nonblock(int fd);
/* The connection failed: RS_ERROR, SO_ERROR err (the first one kept). */
int rs_ctl_fail(struct rsock *rs, int err);

/* rsocket_conn.c: connection setup */
/* Events wait on the socket's CM channel. */
bool rs_cm_pending(const struct rsock *rs);
/* Take the socket's CM events without blocking and act on them. */
void rs_cm_progress(struct rsock *rs);

/* rsocket_opt.c: names and options */
/* An AF_INET or AF_INET6 address of its full size: 0, EINVAL, or
 * EAFNOSUPPORT. */
int rs_check_addr(const struct sockaddr *addr, socklen_t len);
/* The size of an AF_INET or AF_INET6 address. */
socklen_t rs_addr_len(const struct sockaddr *a);
/* As getsockname gives it: at most *len bytes, *len the full size. */
void rs_copy_addr(struct sockaddr *dst, socklen_t *len,
		  const struct sockaddr *src);

/* rsocket_ring.c: the connection's ring of buffers and credits */
int rs_resources(struct rsock *rs);
int rs_peer(struct rsock *rs, const struct rs_hello *peer);
void rs_free_resources(struct rsock *rs);
/* Drain the CQ, the CM channel and pending control messages. */
void rs_progress(struct rsock *rs);
/* Take the completions there are; how many. */
int rs_poll_cq(struct rsock *rs);
/* Room in the send queue (and a send slot, unless len goes inline). */
bool rs_wr_room(const struct rsock *rs, uint32_t len);
bool rs_can_send(const struct rsock *rs);
/* Why nothing more can be sent (EPIPE: shut down, ECONNRESET), or 0. */
int rs_send_err(const struct rsock *rs);
bool rs_sends_done(const struct rsock *rs);
int rs_post(struct rsock *rs, enum ibv_wr_opcode op, uint32_t imm,
	    const struct iovec *iov, int iovcnt, size_t skip, uint32_t len,
	    bool force_inline, uint64_t raddr, uint32_t rkey);
int rs_send_msg(struct rsock *rs, enum rs_msg type,
		const struct iovec *iov, int iovcnt, size_t skip,
		uint32_t len, bool force_inline);
/* A control message may go now (a credit and a send WR free). */
bool rs_ctl_ok(const struct rsock *rs);
void rs_send_fin(struct rsock *rs);
void rs_flush_ctrl(struct rsock *rs);
/* A receive buffer emptied: to post again, and to tell the peer. */
void rs_repost(struct rsock *rs, uint32_t idx);
void rs_flush_reposts(struct rsock *rs);

/* rsocket_stream.c: the send and receive calls */
/* Wait out a connection being made; 0 once connected, else an errno. */
int rs_ready(struct rsock *rs, int flags);

/* rsocket_iomap.c: io mappings */
/* Send the IOMAP/IOUNMAP messages credit allows; -1 if a send failed. */
int rs_iomap_flush(struct rsock *rs);
/* An IOMAP or IOUNMAP message from the peer. */
void rs_on_iomap(struct rsock *rs, uint32_t type, const char *p,
		 uint32_t len);

/* rsocket_dgram*.c (called with rs->mut held) */
int rs_dg_init(struct rsock *rs);
void rs_dg_free(struct rsock *rs);
/* Before closing: the service thread lets go of it (no rs->mut held). */
void rs_dg_unregister(struct rsock *rs);
void rs_dg_progress(struct rsock *rs);
int rs_dg_poll_cq(struct rsock *rs);
short rs_dg_revents(struct rsock *rs);
int rs_dg_bind(struct rsock *rs, const struct sockaddr *addr);
int rs_dg_connect(struct rsock *rs, const struct sockaddr *addr,
		  socklen_t len);
ssize_t rs_dg_sendv(struct rsock *rs, const struct iovec *iov, int iovcnt,
		    size_t total, int flags, const struct sockaddr *to,
		    socklen_t tolen);
ssize_t rs_dg_recvv(struct rsock *rs, const struct iovec *iov, int iovcnt,
		    int flags, struct sockaddr *from, socklen_t *fromlen);
int rs_dg_peername(struct rsock *rs, struct sockaddr *addr, socklen_t *len);

/* rsocket_cq.c: the socket's CQ and completion channel */
/* The channel (non-blocking) and a CQ of cqe entries on it. */
int rs_cq_open(struct rsock *rs, struct ibv_context *verbs, uint32_t cqe);
void rs_cq_close(struct rsock *rs);
/* QP attributes on the socket's CQ, one SGE, every send signalled. */
void rs_qp_attr(struct ibv_qp_init_attr *a, struct ibv_cq *cq,
		enum ibv_qp_type type, uint32_t nsend, uint32_t nrecv);
/* Arm the CQ for its next completion; 0 or EIO. */
int rs_cq_notify(struct rsock *rs);
/* Hand each completion there is to one(); how many there were. */
int rs_cq_poll(struct rsock *rs,
	       void (*one)(struct rsock *rs, const struct ibv_wc *wc));
/* Arm the CQ; true if something is already there (do not sleep). */
bool rs_arm(struct rsock *rs);

/* rsocket_poll.c: waiting */
/* Wait (mutex held, released meanwhile) for something to happen on rs;
 * timeout in ms, -1 forever.  0, or ETIMEDOUT. */
int rs_wait(struct rsock *rs, int timeout_ms);
/* CLOCK_MONOTONIC in ms, for deadlines. */
long rs_now_ms(void);

#endif /* XENIB_RSOCKET_INT_H */
