/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rsockets, datagrams (SOCK_DGRAM, rsocket(7)): each socket is a UD QP
 * plus an rdma_cm UDP id bound to the socket's address and listening, so
 * that SIDR requests for that address and port are answered with the QP's
 * number (that is how a sender learns where to send).  A destination is
 * resolved once (address, route, SIDR on a short-lived id) and kept: its
 * address handle, QPN and Q_Key.
 *
 * Every datagram carries a header with the sender's address (the source
 * address its resolution chose, the sender's bound port), so rrecvfrom can
 * name it and a reply can go back.  Our own format, between our rsockets
 * only; like UDP, datagrams may be lost (no receive buffer posted) and a
 * header can claim any address.  Payloads up to RS_DG_MAXMSG bytes (one
 * IB MTU less the header); larger sends fail with EMSGSIZE.
 *
 * rsocket_dgram.c is the socket (its QP, buffers and calls),
 * rsocket_dgram_sidr.c how sockets find each other (resolving a
 * destination, answering SIDR requests, the service thread that answers
 * them while the program does something else).
 */
#ifndef XENIB_RSOCKET_DGRAM_H
#define XENIB_RSOCKET_DGRAM_H

#include "rsocket.h"

#define RS_DG_MAGIC	0x31445258u	/* "XRD1" */
#define RS_DG_GRH	40u
#define RS_DG_MTU	4096u
#define RS_DG_HDR	((uint32_t)sizeof(struct rs_dg_hdr))
#define RS_DG_MAXMSG	(RS_DG_MTU - RS_DG_HDR)
#define RS_DG_RBUF	(RS_DG_GRH + RS_DG_MTU)
#define DG_SEND		(1ull << 32)	/* wr_id of sends; receives: index */

struct rs_dg_hdr {
	uint32_t magic;
	uint16_t family;	/* AF_INET, AF_INET6 */
	uint16_t port;		/* network order */
	uint8_t addr[16];
};

struct rs_dest {
	struct sockaddr_storage addr;	/* the destination */
	struct rs_dg_hdr src;		/* how we name ourselves to it */
	struct ibv_ah *ah;
	uint32_t qpn, qkey;
	struct rs_dest *next;
};

struct rs_dgram {
	struct ibv_context *verbs;
	struct ibv_pd *pd;
	struct ibv_qp *qp;
	uint32_t nr, ns;
	char *rbuf, *sbuf;
	struct ibv_mr *rmr, *smr;
	struct rs_rx *rxq;
	uint32_t rx_head, rx_cnt;
	uint32_t s_next, s_busy;
	struct rs_dest *dests;
	unsigned int ndests;
	struct sockaddr_storage conn;	/* rconnect's address */
	bool connected;
	bool ready;
};

/* rsocket_dgram_sidr.c (rs->mut held) */
/* Answer the SIDR requests waiting on the socket's channel. */
void rs_dg_cm(struct rsock *rs);
/* Let the service thread answer for rs too. */
int rs_dg_svc_add(struct rsock *rs);
/* The destination at `to', resolved now if it is new; NULL with *err. */
struct rs_dest *rs_dg_resolve(struct rsock *rs, const struct sockaddr *to,
			      int *err);

#endif /* XENIB_RSOCKET_DGRAM_H */
