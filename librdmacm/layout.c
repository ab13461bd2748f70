// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The public structures are Debian's <rdma/rdma_cma.h> (librdmacm-dev
 * 44.0-2), which we compile against; these checks pin the layout
 * applications were built with (sizes from ../shared/reference/rdmacm-abi.md
 * and the offsets the inline helpers of <rdma/rdma_verbs.h> use).
 */
#include <stddef.h>
#include <rdma/rdma_cma.h>

#if defined(__x86_64__)
_Static_assert(sizeof(struct rdma_cm_id) == 416, "rdma_cm_id size");
_Static_assert(sizeof(struct rdma_event_channel) == 4, "channel size");
_Static_assert(sizeof(struct rdma_cm_event) == 80, "rdma_cm_event size");
_Static_assert(sizeof(struct rdma_conn_param) == 24, "conn_param size");
_Static_assert(sizeof(struct rdma_ud_param) == 56, "ud_param size");
_Static_assert(sizeof(struct rdma_addrinfo) == 96, "rdma_addrinfo size");
_Static_assert(offsetof(struct rdma_cm_id, verbs) == 0, "id.verbs");
_Static_assert(offsetof(struct rdma_cm_id, qp) == 24, "id.qp");
_Static_assert(offsetof(struct rdma_cm_id, route) == 32, "id.route");
_Static_assert(offsetof(struct rdma_cm_id, ps) == 344, "id.ps");
_Static_assert(offsetof(struct rdma_cm_id, event) == 352, "id.event");
_Static_assert(offsetof(struct rdma_cm_id, send_cq) == 368, "id.send_cq");
_Static_assert(offsetof(struct rdma_cm_id, recv_cq) == 384, "id.recv_cq");
_Static_assert(offsetof(struct rdma_cm_id, srq) == 392, "id.srq");
_Static_assert(offsetof(struct rdma_cm_id, pd) == 400, "id.pd");
_Static_assert(offsetof(struct rdma_cm_id, qp_type) == 408, "id.qp_type");
_Static_assert(offsetof(struct rdma_cm_event, param) == 24, "event.param");
_Static_assert(offsetof(struct rdma_conn_param, qp_num) == 16, "qp_num");
_Static_assert(offsetof(struct rdma_ud_param, qp_num) == 48, "ud.qp_num");
_Static_assert(offsetof(struct rdma_addrinfo, ai_next) == 88, "ai_next");
#endif
