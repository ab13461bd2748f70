// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A raw wire-ABI guest for hostile tests (wire_guest.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "util/xenib_ring.h"
#include "tests/common/wire_guest.h"

ssize_t wg_exchange(int sock, const void *msg, size_t len, int fd,
		    void *resp, size_t rlen, int ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	ssize_t n;
	int err, r, rfd;

	err = hv_msg_send(sock, msg, len, fd);
	if (err)
		return -err;
	do {
		r = poll(&p, 1, ms);
	} while (r < 0 && errno == EINTR);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	n = hv_msg_recv(sock, resp, rlen, &rfd);
	if (rfd >= 0)
		close(rfd);
	return n == 0 ? -ECONNRESET : n;
}

int wg_cmd(struct wg *g, void *req, size_t len, int fd, void *resp,
	   size_t rlen)
{
	union {
		struct xenib_ctrl_hdr hdr;
		char b[XENIB_CTRL_MAX_MSG];
	} r;
	struct xenib_ctrl_hdr *h = req;
	ssize_t n;

	h->length = len;
	h->seq = ++g->seq;
	n = wg_exchange(g->sock, req, len, fd, r.b, sizeof(r.b), 5000);
	if (n < (ssize_t)sizeof(r.hdr) || r.hdr.seq != h->seq)
		return g->status = -1;
	if (resp)
		memcpy(resp, r.b, (size_t)n < rlen ? (size_t)n : rlen);
	g->requests++;
	g->refused += !!r.hdr.status;
	return g->status = r.hdr.status;
}

uint32_t wg_cmd_handle(struct wg *g, void *req, size_t len, int fd)
{
	struct xenib_handle_resp resp = { .handle = XENIB_INVALID_HANDLE };

	if (wg_cmd(g, req, len, fd, &resp, sizeof(resp)))
		return XENIB_INVALID_HANDLE;
	return resp.handle;
}

int wg_handle_cmd(struct wg *g, uint16_t op, uint32_t handle)
{
	struct xenib_handle_req r = { .hdr.opcode = op, .handle = handle };

	return wg_cmd(g, &r, sizeof(r), -1, NULL, 0);
}

uint32_t wg_map_region(struct wg *g, struct hv_shm *m, uint32_t flags)
{
	struct xenib_map_region_req r = {
		.hdr.opcode = XENIB_CMD_MAP_REGION,
		.npages = m->len / XENIB_PAGE_SIZE, .flags = flags,
	};

	return wg_cmd_handle(g, &r, sizeof(r), m->fd);
}

uint32_t wg_bind(struct wg *g, uint32_t kind, int *guest_end)
{
	struct xenib_bind_notify_req r = {
		.hdr.opcode = XENIB_CMD_BIND_NOTIFY, .kind = kind,
	};
	int b;

	if (hv_notify_pair(guest_end, &b))
		return XENIB_INVALID_HANDLE;
	return wg_cmd_handle(g, &r, sizeof(r), b);
}

int wg_connect(struct wg *g)
{
	memset(g, 0, sizeof(*g));
	g->db_guest = g->async_guest = -1;
	g->page.fd = -1;
	g->sock = hv_emu_connect("xenib0");
	return g->sock < 0 ? g->sock : 0;
}

int wg_hello(struct wg *g, const char *name, struct xenib_hello_resp *hr)
{
	struct xenib_hello_req h = { .hdr.opcode = XENIB_CMD_HELLO,
				     .abi_version = XENIB_ABI_VERSION };
	struct xenib_hello_resp r = { 0 };
	int st;

	strncpy(h.guest_name, name, sizeof(h.guest_name) - 1);
	st = wg_cmd(g, &h, sizeof(h), -1, &r, sizeof(r));
	if (!st)
		g->lid = r.port.lid;
	if (hr)
		*hr = r;
	return st;
}

int wg_open(struct wg *g, const char *name)
{
	if (wg_connect(g) || wg_hello(g, name, NULL))
		return -1;
	if (hv_shm_alloc(&g->page, XENIB_PAGE_SIZE, "xenib-ring"))
		return -1;
	g->page_h = wg_map_region(g, &g->page, XENIB_REGION_CTX_PAGE);
	g->db = wg_bind(g, XENIB_NOTIFY_DOORBELL, &g->db_guest);
	g->async = wg_bind(g, XENIB_NOTIFY_ASYNC, &g->async_guest);
	return g->page_h == XENIB_INVALID_HANDLE ||
	       g->db == XENIB_INVALID_HANDLE ||
	       g->async == XENIB_INVALID_HANDLE ? -1 : 0;
}

void wg_close(struct wg *g)
{
	close(g->sock);
	close(g->db_guest);
	close(g->async_guest);
	hv_shm_release(&g->page, 1);
}

uint32_t wg_alloc_pd(struct wg *g)
{
	struct xenib_ctrl_hdr pd = { .opcode = XENIB_CMD_ALLOC_PD };

	return wg_cmd_handle(g, &pd, sizeof(pd), -1);
}

uint32_t wg_create_cq(struct wg *g, uint32_t region, uint32_t entries,
		      uint64_t offset)
{
	struct xenib_create_cq_req cq = { .hdr.opcode = XENIB_CMD_CREATE_CQ };

	cq.ring = (struct xenib_ring_desc){ region, entries, offset,
					    sizeof(struct xenib_cqe), 0 };
	cq.notify = XENIB_INVALID_HANDLE;
	return wg_cmd_handle(g, &cq, sizeof(cq), -1);
}

uint32_t wg_reg_mr(struct wg *g, uint32_t pd, uint32_t region, uint64_t iova,
		   uint64_t len, uint32_t access)
{
	union {
		struct xenib_reg_mr_req r;
		char b[sizeof(struct xenib_reg_mr_req) +
		       sizeof(struct xenib_mr_seg)];
	} mr = { 0 };
	struct xenib_reg_mr_resp resp;

	mr.r.hdr.opcode = XENIB_CMD_REG_MR;
	mr.r.pd = pd;
	mr.r.access = access;
	mr.r.iova = iova;
	mr.r.length = len;
	mr.r.nsegs = 1;
	mr.r.segs[0] = (struct xenib_mr_seg){ region, 0, 0, len };
	if (wg_cmd(g, &mr, sizeof(mr.b), -1, &resp, sizeof(resp)))
		return XENIB_INVALID_HANDLE;
	return resp.lkey;
}

int wg_modify(struct wg *g, uint32_t qpn, uint32_t mask,
	      const struct xenib_qp_attr *a)
{
	struct xenib_modify_qp_req r = {
		.hdr.opcode = XENIB_CMD_MODIFY_QP, .qpn = qpn,
		.attr_mask = mask, .attr = *a,
	};

	return wg_cmd(g, &r, sizeof(r), -1, NULL, 0);
}

int wg_qp_state(struct wg *g, uint32_t qpn)
{
	struct xenib_handle_req r = { .hdr.opcode = XENIB_CMD_QUERY_QP,
				      .handle = qpn };
	struct xenib_query_qp_resp resp;

	if (wg_cmd(g, &r, sizeof(r), -1, &resp, sizeof(resp)))
		return -1;
	return resp.attr.qp_state;
}

int wg_connect_qp(struct wg *g, uint32_t qpn, uint32_t type, uint32_t dest,
		  uint16_t dlid)
{
	bool send = type != IBV_QPT_XRC_RECV;
	bool reads = type == IBV_QPT_RC || type == IBV_QPT_XRC_SEND;
	struct xenib_qp_attr a = { .qp_state = IBV_QPS_RESET };
	uint32_t rtr = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
	uint32_t rts = IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		       IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC;
	int err;

	/* Responder attributes go with RTR on RC and XRC_RECV only. */
	if (type == IBV_QPT_RC || type == IBV_QPT_XRC_RECV)
		rtr |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	wg_modify(g, qpn, IBV_QP_STATE, &a);
	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	err = wg_modify(g, qpn, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			IBV_QP_PORT | IBV_QP_ACCESS_FLAGS, &a);
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_4096;
	a.dest_qp_num = dest;
	a.max_dest_rd_atomic = 1;
	a.ah.dlid = dlid;
	a.ah.port_num = 1;
	err |= wg_modify(g, qpn, rtr, &a);
	if (!send)
		return err;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 1;		/* fail fast */
	a.max_rd_atomic = reads;
	err |= wg_modify(g, qpn, rts, &a);
	return err;
}

void wg_publish(struct wg *g, struct xenib_ring_hdr *h, uint32_t prod)
{
	/* We produce the ring; xenibd consumes. */
	xr_store_release(&h->prod, prod);
	/* The backend sees the producer index before our kick. */
	xr_full_fence();
	hv_notify_signal(g->db_guest);
}
