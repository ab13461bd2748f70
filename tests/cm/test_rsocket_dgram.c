// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_rsocket, datagram rsockets: names, sendto/recvfrom with the
 * sender's address, a reply to it, connect/send/recv, MSG_PEEK and
 * MSG_TRUNC, EMSGSIZE and EDESTADDRREQ, sends to nobody (lost, like
 * UDP's), port conflicts, a burst, and a stranger's datagram that is no
 * datagram of ours (dropped).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdma/rdma_cma.h>
#include <rdma/rsocket.h>

#include "tests/common/check.h"
#include "tests/cm/rsocket_fixture.h"

/* A plain UD QP that finds the socket at `to' with SIDR, as ours do, and
 * sends it 100 bytes that are no datagram of ours. */
static void stranger(const struct sockaddr_in *to)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_UD, .sq_sig_all = 1,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 } };
	struct rdma_conn_param cp = { 0 };
	struct rdma_cm_event *ev = NULL;
	struct rdma_cm_id *id = NULL;
	struct ibv_send_wr wr = { 0 }, *bad;
	struct ibv_ah *ah = NULL;
	struct ibv_mr *mr = NULL;
	struct ibv_sge sge;
	struct ibv_wc wc;
	char *buf = aligned_alloc(4096, 4096);
	int ok = 0, i;

	memset(buf, 0x5a, 4096);
	if (!ch || rdma_create_id(ch, &id, NULL, RDMA_PS_UDP) ||
	    rdma_resolve_addr(id, NULL, (struct sockaddr *)to, 2000) ||
	    rdma_get_cm_event(ch, &ev) ||
	    ev->event != RDMA_CM_EVENT_ADDR_RESOLVED)
		goto out;
	rdma_ack_cm_event(ev);
	ev = NULL;
	if (rdma_resolve_route(id, 2000) || rdma_get_cm_event(ch, &ev) ||
	    ev->event != RDMA_CM_EVENT_ROUTE_RESOLVED)
		goto out;
	rdma_ack_cm_event(ev);
	ev = NULL;
	if (rdma_create_qp(id, NULL, &qa))
		goto out;
	mr = ibv_reg_mr(id->qp->pd, buf, 4096, IBV_ACCESS_LOCAL_WRITE);
	if (!mr || rdma_connect(id, &cp) || rdma_get_cm_event(ch, &ev) ||
	    ev->event != RDMA_CM_EVENT_ESTABLISHED)
		goto out;
	ah = ibv_create_ah(id->qp->pd, &ev->param.ud.ah_attr);
	if (!ah)
		goto out;
	sge.addr = (uintptr_t)buf;
	sge.length = 100;
	sge.lkey = mr->lkey;
	wr.opcode = IBV_WR_SEND;
	wr.sg_list = &sge;
	wr.num_sge = 1;
	wr.wr.ud.ah = ah;
	wr.wr.ud.remote_qpn = ev->param.ud.qp_num;
	wr.wr.ud.remote_qkey = ev->param.ud.qkey;
	if (ibv_post_send(id->qp, &wr, &bad))
		goto out;
	for (i = 0; i < 2000 && !ok; i++) {
		if (ibv_poll_cq(id->send_cq, 1, &wc) == 1)
			ok = wc.status == IBV_WC_SUCCESS;
		else
			usleep(1000);
	}
	usleep(100000);		/* let it land */
out:
	CHECK(ok, "a stranger sent a datagram to the socket's QP");
	if (ev)
		rdma_ack_cm_event(ev);
	if (ah)
		ibv_destroy_ah(ah);
	if (id && id->qp)
		rdma_destroy_qp(id);
	if (mr)
		ibv_dereg_mr(mr);
	if (id)
		rdma_destroy_id(id);
	if (ch)
		rdma_destroy_event_channel(ch);
	free(buf);
}

void test_dgram(void)
{
	struct sockaddr_in a = sin_of("127.0.0.1", port_next()), b, from;
	struct sockaddr_in nobody = sin_of("127.0.0.1", port_next());
	struct pollfd p;
	char buf[8192], big[5000];
	socklen_t len;
	int s, c, x, i, got;

	s = rsocket(AF_INET, SOCK_DGRAM, 0);
	c = rsocket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
	CHECK(s >= 0 && c >= 0, "two datagram rsockets");
	CHECK(opt_get(s, SOL_SOCKET, SO_TYPE) == SOCK_DGRAM,
	      "SO_TYPE SOCK_DGRAM");
	CHECK(!rbind(s, (struct sockaddr *)&a, sizeof(a)), "bind %d",
	      ntohs(a.sin_port));
	x = rsocket(AF_INET, SOCK_DGRAM, 0);
	CHECK(rbind(x, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	      errno == EADDRINUSE, "the same port again: EADDRINUSE (%s)",
	      strerror(errno));
	rclose(x);
	CHECK(rlisten(s, 1) < 0 && errno == EOPNOTSUPP, "listen: EOPNOTSUPP");
	CHECK(rsend(c, "x", 1, 0) < 0 && errno == EDESTADDRREQ,
	      "send without a destination: EDESTADDRREQ");
	CHECK(rsendto(c, "hello", 5, 0, (struct sockaddr *)&a, sizeof(a)) == 5,
	      "sendto");
	p.fd = s;
	p.events = POLLIN;
	CHECK(rpoll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "POLLIN");
	CHECK(rrecv(s, buf, 2, MSG_PEEK) == 2, "peek 2 of 5");
	len = sizeof(from);
	memset(buf, 0, sizeof(buf));
	CHECK(rrecvfrom(s, buf, 3, MSG_TRUNC, (struct sockaddr *)&from,
			&len) == 5 && !memcmp(buf, "hel", 3),
	      "recvfrom into 3 bytes: MSG_TRUNC says 5");
	len = sizeof(b);
	CHECK(!rgetsockname(c, (struct sockaddr *)&b, &len) &&
	      ntohs(b.sin_port) != 0, "the sender got a port (%d)",
	      ntohs(b.sin_port));
	CHECK(from.sin_family == AF_INET && from.sin_port == b.sin_port &&
	      from.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	      "recvfrom names the sender (127.0.0.1:%d)", ntohs(from.sin_port));
	CHECK(rsendto(s, "back", 4, 0, (struct sockaddr *)&from, len) == 4,
	      "reply to that address");
	p.fd = c;
	CHECK(rpoll(&p, 1, 5000) == 1, "the sender polls it in");
	CHECK(rrecv(c, buf, sizeof(buf), 0) == 4 && !memcmp(buf, "back", 4),
	      "and reads it");
	CHECK(rrecv(c, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN,
	      "then EAGAIN");
	CHECK(rsendto(c, big, sizeof(big), 0, (struct sockaddr *)&a,
		      sizeof(a)) < 0 && errno == EMSGSIZE, "5000 bytes: EMSGSIZE");
	CHECK(rsendto(c, "lost", 4, 0, (struct sockaddr *)&nobody,
		      sizeof(nobody)) == 4, "to nobody: sent (and lost)");
	CHECK(!rconnect(c, (struct sockaddr *)&a, sizeof(a)), "connect");
	len = sizeof(b);
	CHECK(!rgetpeername(c, (struct sockaddr *)&b, &len) &&
	      b.sin_port == a.sin_port, "getpeername");
	for (i = 0; i < 64; i++) {
		memset(buf, i, 4072);
		if (rsend(c, buf, 4072, 0) != 4072)
			break;
	}
	CHECK(i == 64, "64 datagrams of 4072 bytes (the largest)");
	got = 0;
	p.fd = s;
	while (rpoll(&p, 1, 500) == 1) {
		if (rrecv(s, buf, sizeof(buf), 0) != 4072 ||
		    (unsigned char)buf[4071] != (unsigned char)buf[0])
			break;
		got++;
	}
	CHECK(got >= 1 && got <= 64, "%d of them arrived, intact", got);
	stranger(&a);
	CHECK(rrecv(s, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN,
	      "a stranger's datagram without our header: dropped");
	CHECK(rsend(c, "still", 5, 0) == 5, "send");
	p.fd = s;
	CHECK(rpoll(&p, 1, 5000) == 1 && rrecv(s, buf, sizeof(buf), 0) == 5,
	      "and the socket still works");
	rclose(c);
	rclose(s);
}
