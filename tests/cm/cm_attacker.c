// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A malicious guest against xenibd's connection manager, speaking the CM
 * ABI directly (no library to keep it honest).  It has one QP of its own
 * (libibverbs, same guest identity) and tries:
 *   - spoofed QPNs: connecting with every QPN but its own,
 *   - foreign ids: destroying, migrating, accepting, binding handles it
 *     never got (every handle slot, several generations),
 *   - port theft: binding or listening on the victim's port,
 *   - a connection flood against the victim's listener (backlog 4) from
 *     as many ids as its quota allows, never reading its events.
 * None may succeed; the flood must leave exactly the backlog queued at the
 * victim and every other request rejected (28).
 * Usage: cm_attacker PORT FLOODED_FILE COUNTED_FILE
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <rdma/xenib-cm-abi.h>

#include "util/hv.h"
#include "tests/common/check.h"

#define MAX_IDS 4096u		/* xenibd/cm/cm.h CM_MAX_IDS */

static int sock, nfd;
static uint32_t seq;

static int req(void *msg, size_t len, int fd, void *resp, size_t rlen)
{
	struct xenib_ctrl_hdr *h = msg;
	union {
		struct xenib_ctrl_hdr hdr;
		char b[XENIB_CTRL_MAX_MSG];
	} r;
	ssize_t n;
	int rfd;

	h->length = len;
	h->seq = ++seq;
	if (hv_msg_send(sock, msg, len, fd))
		return EIO;
	n = hv_msg_recv(sock, r.b, sizeof(r.b), &rfd);
	if (n < (ssize_t)sizeof(r.hdr) || r.hdr.seq != seq) {
		printf("FATAL: lost the channel\n");
		exit(2);
	}
	if (!r.hdr.status && resp)
		memcpy(resp, r.b, (size_t)n < rlen ? (size_t)n : rlen);
	return r.hdr.status;
}

static int id_op(uint16_t op, uint32_t id)
{
	struct xenib_cm_id_req q = { .hdr.opcode = op, .id = id };

	return req(&q, sizeof(q), -1, NULL, 0);
}

static int create(uint32_t *id)
{
	struct xenib_cm_create_id_req q = { .hdr.opcode = XENIB_CM_CREATE_ID,
					    .ps = RDMA_PS_TCP,
					    .qp_type = IBV_QPT_RC };
	struct xenib_handle_resp r = { .handle = 0 };
	int err = req(&q, sizeof(q), -1, &r, sizeof(r));

	*id = r.handle;
	return err;
}

static struct xenib_cm_addr addr(const char *ip, uint16_t port)
{
	struct xenib_cm_addr a = { .family = AF_INET, .port = port };

	inet_pton(AF_INET, ip, a.addr);
	return a;
}

static int conn(uint32_t id, uint32_t qpn)
{
	struct xenib_cm_conn_req q = { .hdr.opcode = XENIB_CM_CONNECT,
				       .id = id };

	q.conn.qp_num = qpn;
	q.conn.retry_count = 7;
	return req(&q, sizeof(q), -1, NULL, 0);
}

static int route(uint32_t id, uint16_t port)
{
	struct xenib_cm_resolve_addr_req ra = {
		.hdr.opcode = XENIB_CM_RESOLVE_ADDR, .id = id,
		.dst = addr("127.0.0.1", port) };
	struct xenib_cm_resolve_route_req rr = {
		.hdr.opcode = XENIB_CM_RESOLVE_ROUTE, .id = id };
	int err = req(&ra, sizeof(ra), -1, NULL, 0);

	return err ? err : req(&rr, sizeof(rr), -1, NULL, 0);
}

static int event(struct xenib_cm_event_resp *e)
{
	struct xenib_ctrl_hdr q = { .opcode = XENIB_CM_GET_EVENT };

	return req(&q, sizeof(q), -1, e, sizeof(*e));
}

static void wait_file(const char *f)
{
	struct stat st;
	int i;

	for (i = 0; i < 1200 && stat(f, &st); i++)
		usleep(100000);
}

int main(int argc, char **argv)
{
	struct xenib_hello_req h = { .hdr.opcode = XENIB_CMD_HELLO,
				     .abi_version = XENIB_ABI_VERSION };
	struct xenib_cm_open_req o = { .hdr.opcode = XENIB_CM_OPEN,
				       .abi_version = XENIB_CM_ABI_VERSION };
	static uint32_t ids[MAX_IDS];
	struct xenib_hello_resp hr;
	struct ibv_qp_init_attr qa = { .qp_type = IBV_QPT_RC,
				       .cap = { 1, 1, 1, 1, 0 } };
	struct ibv_device **dl;
	struct ibv_context *vc;
	struct ibv_qp *qp;
	struct ibv_cq *cq;
	struct xenib_cm_event_resp e;
	uint32_t mine, n, nids, connects = 0, spoofs = 0, foreign = 0;
	unsigned int rej = 0, other = 0;
	uint16_t port;
	FILE *f;
	int bfd, err;

	if (argc != 4) {
		fprintf(stderr, "usage: cm_attacker PORT FLOODED COUNTED\n");
		return 2;
	}
	port = atoi(argv[1]);
	/* Its own QP, through libibverbs, as the same guest. */
	dl = ibv_get_device_list(NULL);
	vc = dl && dl[0] ? ibv_open_device(dl[0]) : NULL;
	cq = vc ? ibv_create_cq(vc, 4, NULL, NULL, 0) : NULL;
	qa.send_cq = qa.recv_cq = cq;
	qp = cq ? ibv_create_qp(ibv_alloc_pd(vc), &qa) : NULL;
	if (!qp) {
		printf("FATAL: no QP of our own\n");
		return 2;
	}
	sock = hv_emu_connect("xenib0");
	snprintf(h.guest_name, sizeof(h.guest_name), "%s",
		 getenv("XENIB_EMU_GUEST"));
	/* An event channel says so in HELLO, with no other flag. */
	h.flags = 0x80;
	CHECK(req(&h, sizeof(h), -1, &hr, sizeof(hr)) == EINVAL,
	      "HELLO with an unknown flag: EINVAL");
	h.flags = XENIB_HELLO_CM_CHANNEL;
	CHECK(!req(&h, sizeof(h), -1, &hr, sizeof(hr)), "HELLO");
	{
		struct xenib_alloc_pd_req pd = {
			.hdr.opcode = XENIB_CMD_ALLOC_PD };

		CHECK(req(&pd, sizeof(pd), -1, NULL, 0) == EPERM,
		      "a verbs request on an event channel: EPERM");
	}
	hv_notify_pair(&nfd, &bfd);
	CHECK(!req(&o, sizeof(o), bfd, NULL, 0), "CM_OPEN");
	CHECK(!create(&mine), "an id of our own");
	CHECK(!route(mine, port), "route to the victim");

	/* Spoofed QPNs: every QPN of the first 255 slots, 4 generations. */
	for (n = 1; n < 256 * 4; n++) {
		uint32_t qpn = (n / 4) << 8 | (n % 4);

		if (n < 4 || qpn == qp->qp_num)
			continue;
		if (conn(mine, qpn) == 0)
			spoofs++;
	}
	CHECK(!spoofs, "connects with a QPN not ours accepted: %u", spoofs);

	/* Foreign ids: no handle but our own is ours. */
	for (n = 0x100; n < 0x20000; n += 0x100) {
		uint32_t g;

		for (g = 0; g < 2; g++) {
			uint32_t hd = n + g;
			struct xenib_cm_bind_req b = {
				.hdr.opcode = XENIB_CM_BIND, .id = hd,
				.addr = addr("127.0.0.1", 0) };
			struct xenib_cm_conn_req a = {
				.hdr.opcode = XENIB_CM_ACCEPT, .id = hd };

			if (hd == mine)
				continue;
			a.conn.qp_num = qp->qp_num;
			foreign += id_op(XENIB_CM_DESTROY_ID, hd) != ENOENT;
			foreign += id_op(XENIB_CM_MIGRATE_ID, hd) != ENOENT;
			foreign += id_op(XENIB_CM_DISCONNECT, hd) != ENOENT;
			foreign += req(&a, sizeof(a), -1, NULL, 0) != ENOENT;
			foreign += req(&b, sizeof(b), -1, NULL, 0) != ENOENT;
		}
	}
	CHECK(!foreign, "requests on ids not ours not refused: %u", foreign);

	/* Port theft. */
	{
		struct xenib_cm_bind_req b = { .hdr.opcode = XENIB_CM_BIND };
		struct xenib_cm_set_option_req so = {
			.hdr.opcode = XENIB_CM_SET_OPTION,
			.optname = RDMA_OPTION_ID_REUSEADDR, .value = 1 };
		uint32_t t;

		create(&t);
		b.id = so.id = t;
		b.addr = addr("127.0.0.1", port);
		CHECK(req(&b, sizeof(b), -1, NULL, 0) == EADDRINUSE,
		      "binding the victim's address and port: EADDRINUSE");
		b.addr = addr("0.0.0.0", port);
		CHECK(req(&b, sizeof(b), -1, NULL, 0) == EADDRNOTAVAIL,
		      "binding the victim's port on the wildcard");
		CHECK(!req(&so, sizeof(so), -1, NULL, 0), "REUSEADDR");
		b.addr = addr("127.0.0.1", port);
		CHECK(req(&b, sizeof(b), -1, NULL, 0) == EADDRINUSE,
		      "REUSEADDR does not share a listener's port");
		id_op(XENIB_CM_DESTROY_ID, t);
	}

	/* The flood: ids up to the quota, connections up to the quota. */
	ids[0] = mine;
	for (nids = 1; nids < MAX_IDS; nids++)
		if (create(&ids[nids]))
			break;
	CHECK(nids == MAX_IDS, "%u ids (the quota)", nids);
	CHECK(create(&n) == EDQUOT, "one more id: EDQUOT");
	for (n = 1; n < nids; n++) {
		if (route(ids[n], port))
			break;
		err = conn(ids[n], qp->qp_num);
		if (err) {
			CHECK(err == EDQUOT, "connect %u: %s", n, strerror(err));
			break;
		}
		connects++;
	}
	/*
	 * All but the backlog are refused at once, which ends them: the
	 * quota of connections in flight (tests/unit/test_cm) never binds.
	 */
	CHECK(connects == nids - 1, "%u connects made, one per id", connects);
	f = fopen(argv[2], "w");
	if (f) {
		fprintf(f, "%u\n", connects);
		fclose(f);
	}
	/* The victim counts and rejects what reached it; then we look. */
	wait_file(argv[3]);
	sleep(1);
	while (!event(&e)) {
		if (e.event == RDMA_CM_EVENT_REJECTED && e.status == 28)
			rej++;
		else if (e.event != RDMA_CM_EVENT_ADDR_RESOLVED &&
			 e.event != RDMA_CM_EVENT_ROUTE_RESOLVED)
			other++;
	}
	CHECK(rej == connects, "every flooding connect rejected (28): %u of %u",
	      rej, connects);
	CHECK(!other, "no other connection event: %u", other);
	printf("cm_attacker: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
