/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xenib frontend/backend wire ABI.
 *
 * Shared by the guest provider (providers/xenib) and the dom0 backend
 * (xenibd).  Everything here crosses a trust boundary: the backend validates
 * every field it reads.  Fixed-size little-endian structures, no pointers;
 * guest virtual addresses appear only as opaque 64-bit numbers that the
 * backend translates through memory regions it registered.
 *
 * Three channels per device context:
 *
 *  1. Control channel (slow path): one request, one response, in order.
 *     Emulated hypervisor: a SOCK_SEQPACKET unix socket; a request may carry
 *     one file descriptor (SCM_RIGHTS) for XENIB_CMD_MAP_REGION and
 *     XENIB_CMD_BIND_NOTIFY.  Real Xen: the same messages through a ring in a
 *     granted page, the fd replaced by grant references / event-channel ports.
 *
 *  2. Shared rings (fast path): SQ, RQ and CQ rings live in guest memory
 *     shared with the backend ("regions").  Producer and consumer indices are
 *     free-running 32-bit counters; slot = index & (entries - 1).
 *
 *  3. Notifications: a doorbell (guest -> backend, only while the backend
 *     says it sleeps), completion-event notifiers (backend -> guest, one per
 *     completion channel) and the async-event notifier (backend -> guest).
 */
#ifndef XENIB_ABI_H
#define XENIB_ABI_H

#include <linux/types.h>

#define XENIB_ABI_VERSION	1
#define XENIB_PAGE_SIZE		4096u

/* Limits the backend enforces (a guest asking for more gets EINVAL). */
#define XENIB_CTRL_MAX_MSG	4096u	/* bytes, header included */
#define XENIB_MAX_QP_WR		16384u	/* ring entries, power of two */
#define XENIB_MAX_CQE		65536u
#define XENIB_MAX_SGE		16u
#define XENIB_MAX_INLINE	512u
#define XENIB_MAX_MR_SEGS	128u	/* segments in one REG_MR message */
#define XENIB_MAX_MR_SIZE	(1ull << 40)
#define XENIB_MAX_MSG_SZ	(1u << 30)	/* bytes in one message, every opcode */
#define XENIB_ASYNC_RING	64u	/* async-event ring entries */
#define XENIB_INVALID_HANDLE	0xffffffffu
/*
 * Memory windows per guest, when device_cap_flags has
 * IBV_DEVICE_MEM_WINDOW (types 1 and 2B then, see ALLOC_MW).
 */
#define XENIB_MAX_MW		65535u

/* ------------------------------------------------------------------------- */
/* Control channel                                                           */

enum xenib_cmd {
	XENIB_CMD_HELLO		= 1,	/* first message on a channel */
	XENIB_CMD_MAP_REGION	= 2,	/* share guest memory with the backend */
	XENIB_CMD_UNMAP_REGION	= 3,
	XENIB_CMD_BIND_NOTIFY	= 4,	/* backend -> guest notifier */
	XENIB_CMD_UNBIND_NOTIFY	= 5,
	XENIB_CMD_QUERY_DEVICE	= 6,
	XENIB_CMD_QUERY_PORT	= 7,
	XENIB_CMD_ALLOC_PD	= 8,
	XENIB_CMD_DEALLOC_PD	= 9,
	XENIB_CMD_REG_MR	= 10,
	XENIB_CMD_DEREG_MR	= 11,
	XENIB_CMD_CREATE_CQ	= 12,
	XENIB_CMD_DESTROY_CQ	= 13,
	XENIB_CMD_CREATE_QP	= 14,
	XENIB_CMD_MODIFY_QP	= 15,
	XENIB_CMD_QUERY_QP	= 16,
	XENIB_CMD_DESTROY_QP	= 17,
	XENIB_CMD_CREATE_SRQ	= 18,	/* SRQ and XRC SRQ */
	XENIB_CMD_MODIFY_SRQ	= 19,
	XENIB_CMD_QUERY_SRQ	= 20,
	XENIB_CMD_DESTROY_SRQ	= 21,
	XENIB_CMD_CREATE_AH	= 22,
	XENIB_CMD_DESTROY_AH	= 23,
	XENIB_CMD_RESIZE_CQ	= 24,
	XENIB_CMD_OPEN_XRCD	= 25,
	XENIB_CMD_CLOSE_XRCD	= 26,
	XENIB_CMD_RESUME_REGION	= 27,	/* Xen: after save/restore, migration */
	XENIB_CMD_RESUME_NOTIFY	= 28,
	XENIB_CMD_RESUME_DONE	= 29,
	XENIB_CMD_ATTACH_MCAST	= 30,	/* ibv_attach_mcast */
	XENIB_CMD_DETACH_MCAST	= 31,
	XENIB_CMD_TAKEOVER	= 32,	/* emulation: after a move (MOVE below) */
	XENIB_CMD_REREG_MR	= 33,
	XENIB_CMD_ATTACH	= 34,	/* ibv_import_device: a second channel */
	XENIB_CMD_IMPORT	= 35,	/* ibv_import_pd / ibv_import_mr */
	XENIB_CMD_UNIMPORT	= 36,
	XENIB_CMD_ALLOC_MW	= 37,	/* memory windows, type 1 and 2 */
	XENIB_CMD_DEALLOC_MW	= 38,
	XENIB_CMD_MAX
};

struct xenib_ctrl_hdr {
	__u16 opcode;		/* enum xenib_cmd */
	__u16 flags;		/* 0 */
	__u32 length;		/* whole message, header included */
	__u32 seq;		/* echoed in the response */
	__u32 status;		/* response: 0 or a positive errno */
};

/*
 * HELLO: guest -> backend.  A backend that serves a cluster asks its
 * directory (etcd) for the identity of a guest it does not know yet and
 * answers when it has it, within the directory's operation timeout (5 s);
 * status EHOSTUNREACH: the directory gave none (unreachable or refusing),
 * a later HELLO may succeed.
 */
struct xenib_hello_req {
	struct xenib_ctrl_hdr hdr;
	__u32 abi_version;	/* XENIB_ABI_VERSION */
	__u32 flags;		/* XENIB_HELLO_* */
	char guest_name[64];	/* emulation: guest identity, NUL-terminated */
};

/*
 * The channel is an rdma_cm event channel (xenib-cm-abi.h): it counts
 * against the guest's limit.cm_channels, not limit.contexts, and takes
 * no verbs request (EPERM) after HELLO.
 */
#define XENIB_HELLO_CM_CHANNEL	1u

/* What the guest sees of its port; all values virtual. */
struct xenib_port_info {
	__u8  state;		/* enum ibv_port_state */
	__u8  phys_state;	/* 5 = LinkUp */
	__u8  link_layer;	/* IBV_LINK_LAYER_INFINIBAND */
	__u8  active_mtu;	/* enum ibv_mtu */
	__u8  max_mtu;
	__u8  active_width;
	__u8  active_speed;
	__u8  lmc;
	__u16 lid;		/* virtual LID, != 0 */
	__u16 sm_lid;
	__u8  sm_sl;
	__u8  max_vl_num;
	__u8  init_type_reply;
	__u8  reserved0;
	__u32 port_cap_flags;
	__u32 max_msg_sz;
	__u32 gid_tbl_len;
	__u32 pkey_tbl_len;
	__u64 port_guid;	/* network byte order */
	__u8  gid0[16];		/* fe80::/64 + port GUID */
};

struct xenib_device_info {
	__u64 node_guid;	/* network byte order */
	__u64 sys_image_guid;	/* network byte order */
	__u64 max_mr_size;
	__u64 page_size_cap;
	__u32 vendor_id;
	__u32 vendor_part_id;
	__u32 hw_ver;
	__u32 max_qp;
	__u32 max_qp_wr;
	__u32 max_sge;
	__u32 max_cq;
	__u32 max_cqe;
	__u32 max_mr;
	__u32 max_pd;
	__u32 max_qp_rd_atom;
	__u32 max_qp_init_rd_atom;
	__u32 max_srq;
	__u32 max_srq_wr;
	__u32 max_srq_sge;
	__u32 max_inline;
	__u32 device_cap_flags;
	__u32 phys_port_cnt;
	char fw_ver[64];
};

struct xenib_hello_resp {
	struct xenib_ctrl_hdr hdr;
	__u32 abi_version;
	__u32 guest_id;		/* backend's id for this guest */
	struct xenib_device_info dev;
	struct xenib_port_info port;
};

/*
 * MAP_REGION: make npages of guest memory reachable by the backend.
 * Emulation: the object travels with the message (SCM_RIGHTS: a sealed
 * memfd, or a shmem or hugetlbfs file) and the backend maps
 * [offset, offset + npages * 4096) of it; with no fd, ref is the id of a
 * SysV shared memory segment the guest may attach read-write, mapped the
 * same way.  Xen: ref is the grant reference of a page listing the
 * region's grant references.
 */
struct xenib_map_region_req {
	struct xenib_ctrl_hdr hdr;
	__u32 npages;
	__u32 flags;		/* 0 */
	__u64 offset;		/* bytes into the shared object, page aligned */
	__u64 ref;		/* Xen: directory; emulation: SysV shmid */
};

struct xenib_handle_resp {	/* responses that return one handle */
	struct xenib_ctrl_hdr hdr;
	__u32 handle;
	__u32 reserved;
};

/*
 * Requests that name one handle: UNMAP_REGION, UNBIND_NOTIFY, DEALLOC_PD,
 * DEREG_MR (handle = the lkey), DESTROY_CQ, DESTROY_QP, QUERY_QP,
 * QUERY_PORT (handle = port number), DESTROY_SRQ, QUERY_SRQ, DESTROY_AH,
 * CLOSE_XRCD.
 */
struct xenib_handle_req {
	struct xenib_ctrl_hdr hdr;
	__u32 handle;
	__u32 reserved;
};

enum xenib_notify_kind {
	XENIB_NOTIFY_DOORBELL	= 1,	/* guest -> backend kick (one per context) */
	XENIB_NOTIFY_COMP	= 2,	/* backend -> guest, a completion channel */
	XENIB_NOTIFY_ASYNC	= 3,	/* backend -> guest, async events (one per context) */
	XENIB_NOTIFY_HV		= 4,	/* emulation: backend -> guest, MOVE (below) */
};

/*
 * BIND_NOTIFY: emulation passes the backend end of a notifier pair
 * (util/hv.h); Xen passes an event-channel port.
 */
struct xenib_bind_notify_req {
	struct xenib_ctrl_hdr hdr;
	__u32 kind;		/* enum xenib_notify_kind */
	__u32 port;		/* Xen only */
};

/*
 * The context page: one page of guest memory, first region the guest maps,
 * named in HELLO's follow-up XENIB_CMD_MAP_REGION with flags
 * XENIB_REGION_CTX_PAGE.  Holds the sleep flag and the async-event ring.
 */
#define XENIB_REGION_CTX_PAGE	1u

/* xenib_ctx_page.backend_features */
enum {
	/* Receive posts kick only when their ring's post_kick is set. */
	XENIB_BACKEND_LAZY_RECV_KICK	= 1u << 0,
};

struct xenib_async_event {
	__u32 event_type;	/* enum ibv_event_type */
	__u32 handle;		/* virtual QPN / CQ handle / SRQ handle / port */
};

struct xenib_ctx_page {
	/*
	 * Set by the backend: non-zero while the backend is (about to be)
	 * asleep.  After publishing a producer index the guest issues a full
	 * fence and, if this is set, exchanges it with 0 and kicks the
	 * doorbell if the exchange returned non-zero (one kick per wake-up;
	 * see util/xenib_ring.h).  The backend never trusts its value.
	 */
	__u32 backend_sleeping;
	/*
	 * Written by the backend when it maps the page: what it does beyond
	 * ABI version 1 (XENIB_BACKEND_*).  0 from a backend that predates
	 * the field (it was padding): the guest then keeps the old rules.
	 */
	__u32 backend_features;
	/*
	 * Written by the guest right before it kicks the doorbell: its
	 * CLOCK_MONOTONIC in ns.  The backend uses it only for statistics
	 * (kick-to-wake-up latency) and only where guest and backend share
	 * a clock (the emulation); never for a decision about the guest.
	 */
	__u64 kick_ns;
	__u32 pad0[12];
	/* Async-event ring: backend produces, guest consumes. */
	__u32 async_prod;	/* written by the backend */
	__u32 pad1[15];
	__u32 async_cons;	/* written by the guest */
	__u32 pad2[15];
	struct xenib_async_event async_ev[XENIB_ASYNC_RING];
};

/* PD */
struct xenib_alloc_pd_req {
	struct xenib_ctrl_hdr hdr;
};

/*
 * REG_MR: the MR covers [iova, iova + length) of guest virtual addresses;
 * its pages are given as segments of regions, in address order.  The first
 * segment starts at (iova & ~4095) + 0; segments are page-aligned and
 * page-multiple and must add up to the page span of [iova, iova + length).
 */
struct xenib_mr_seg {
	__u32 region;		/* handle from MAP_REGION */
	__u32 reserved;
	__u64 offset;		/* byte offset into the region, page aligned */
	__u64 length;		/* bytes, page multiple */
};

struct xenib_reg_mr_req {
	struct xenib_ctrl_hdr hdr;
	__u32 pd;
	__u32 access;		/* IBV_ACCESS_* (LOCAL_WRITE, REMOTE_*) */
	__u64 iova;		/* address the guest uses in SGEs / remote ops */
	__u64 length;
	__u32 nsegs;		/* 1 .. XENIB_MAX_MR_SEGS */
	__u32 reserved;
	struct xenib_mr_seg segs[];
};

struct xenib_reg_mr_resp {
	struct xenib_ctrl_hdr hdr;
	__u32 lkey;		/* virtual keys */
	__u32 rkey;
};

/*
 * Rings.  A ring is a header page followed by entries, all inside one
 * region at a page-aligned offset.
 */
struct xenib_ring_hdr {
	__u32 prod;		/* written by the producer only */
	__u32 pad0[15];
	__u32 cons;		/* written by the consumer only */
	__u32 pad1[15];
	/*
	 * CQ only.  armed: written by the guest (XENIB_CQ_ARM_*), cleared by
	 * the backend when it raises an event.  events: incremented by the
	 * backend for every completion event it raises on this CQ.
	 */
	__u32 armed;
	__u32 pad2[15];
	__u32 events;
	__u32 pad3[15];
	/*
	 * Receive rings (RQ, SRQ) only, written by the backend.  With
	 * XENIB_BACKEND_LAZY_RECV_KICK the guest kicks a sleeping backend
	 * after posting receives only if post_kick has
	 * XENIB_POST_KICK_ALWAYS (a QP in ERR: its receives complete,
	 * flushed, as they are posted), or XENIB_POST_KICK_AT and its new
	 * producer index reached kick_idx (a sender was NAKed RNR and waits
	 * for that many receives).  Otherwise receives wait for the SENDs
	 * that consume them and need no wake-up.
	 */
	__u32 post_kick;
	__u32 kick_idx;
	__u32 pad4[14];
};

enum {
	XENIB_POST_KICK_ALWAYS	= 1u << 0,
	XENIB_POST_KICK_AT	= 1u << 1,
};

#define XENIB_RING_HDR_SIZE	XENIB_PAGE_SIZE	/* entries start one page in */

enum {
	XENIB_CQ_ARM_NONE	= 0,
	XENIB_CQ_ARM_NEXT	= 1,	/* any next completion */
	XENIB_CQ_ARM_SOLICITED	= 2,	/* next solicited or error completion */
};

struct xenib_ring_desc {
	__u32 region;
	__u32 entries;		/* power of two */
	__u64 offset;		/* of the ring header in the region, page aligned */
	__u32 stride;		/* bytes per entry, power of two, >= 64 */
	__u32 reserved;
};

struct xenib_create_cq_req {
	struct xenib_ctrl_hdr hdr;
	struct xenib_ring_desc ring;	/* stride == sizeof(struct xenib_cqe) */
	__u32 notify;		/* COMP notify handle, or XENIB_INVALID_HANDLE */
	__u32 reserved;
};

/* Completion queue entry: backend produces, guest consumes. */
struct xenib_cqe {
	__u64 wr_id;
	__u32 status;		/* enum ibv_wc_status */
	__u32 opcode;		/* enum ibv_wc_opcode */
	__u32 byte_len;
	__u32 imm_data;		/* network byte order, as in struct ibv_wc;
				 * IBV_WC_WITH_INV: the invalidated rkey */
	__u32 qp_num;		/* virtual QPN of the local QP */
	__u32 src_qp;
	__u32 wc_flags;		/* IBV_WC_GRH, IBV_WC_WITH_IMM */
	__u16 pkey_index;
	__u16 slid;
	__u8  sl;
	__u8  dlid_path_bits;
	__u16 reserved0;
	__u32 vendor_err;
	__u32 reserved1[2];
	/*
	 * Completion timestamp: the backend's CLOCK_MONOTONIC in ns when it
	 * produced the CQE (hca_core_clock 1 GHz, 64-bit mask).
	 */
	__u64 timestamp;
};

/*
 * CREATE_QP.  Per qp_type:
 *  RC, UC, UD: pd, send_cq, recv_cq, sq, and rq (or srq); xrcd 0.
 *  XRC_SEND: send-only: pd, send_cq, sq; recv_cq and srq
 *    XENIB_INVALID_HANDLE, rq all zero, max_recv_sge 0; xrcd 0.
 *  XRC_RECV: receive-only, no rings and no CQs of its own: xrcd names the
 *    XRC domain (OPEN_XRCD); pd, send_cq, recv_cq and srq are
 *    XENIB_INVALID_HANDLE, sq and rq all zero, every max_* and sq_sig_all 0.
 *    Its receives come from the XRC SRQ each incoming send names
 *    (send WQE remote_srqn), which must belong to the same XRC domain.
 */
struct xenib_create_qp_req {
	struct xenib_ctrl_hdr hdr;
	__u32 pd;
	__u32 qp_type;		/* enum ibv_qp_type: RC, UC, UD, XRC_SEND, XRC_RECV */
	__u32 send_cq;
	__u32 recv_cq;
	__u32 srq;		/* or XENIB_INVALID_HANDLE */
	__u32 sq_sig_all;
	__u32 max_send_sge;
	__u32 max_recv_sge;
	__u32 max_inline;
	__u32 xrcd;		/* XRC_RECV only (was reserved, 0) */
	struct xenib_ring_desc sq;	/* stride >= send WQE size for max_*  */
	struct xenib_ring_desc rq;
};

/* SGE inside a WQE. */
struct xenib_sge {
	__u64 addr;
	__u32 length;
	__u32 lkey;
};

/* Send-queue entry: guest produces, backend consumes. */
struct xenib_send_wqe {
	__u64 wr_id;
	__u32 opcode;		/* enum ibv_wr_opcode */
	__u32 send_flags;	/* IBV_SEND_SIGNALED / SOLICITED / INLINE / FENCE */
	union {
		__u32 imm_data;		/* network byte order */
		__u32 invalidate_rkey;	/* SEND_WITH_INV, LOCAL_INV */
	};
	__u32 num_sge;		/* SGEs following, or 0 with inline data */
	__u64 remote_addr;	/* BIND_MW: first byte of the window */
	__u32 rkey;		/* BIND_MW: the window's new rkey */
	__u32 inline_len;	/* bytes of inline data following (IBV_SEND_INLINE) */
	union {
		struct {		/* atomics (RC, XRC_SEND) */
			__u64 compare_add;
			__u64 swap;
		};
		struct {		/* UD: no atomics */
			__u32 remote_qkey;	/* high bit set: use the QP's qkey */
			__u32 ud_reserved[3];
		};
		struct {		/* BIND_MW (no SGEs, no payload) */
			__u64 bind_length;	/* 0: unbind (type 1 only) */
			__u32 bind_mw;		/* MW handle (ALLOC_MW) */
			__u32 bind_access;	/* IBV_ACCESS_REMOTE_* | ZERO_BASED */
		};
	};
	union {
		__u32 ah;		/* UD: address handle (CREATE_AH) */
		__u32 remote_srqn;	/* XRC_SEND: target SRQ number */
		__u32 bind_lkey;	/* BIND_MW: the MR's lkey */
	};
	__u32 remote_qpn;	/* UD: destination QPN */
	/* then num_sge struct xenib_sge, or inline_len bytes */
};

/* Receive-queue entry: guest produces, backend consumes. */
struct xenib_recv_wqe {
	__u64 wr_id;
	__u32 num_sge;
	__u32 reserved;
	/* then num_sge struct xenib_sge */
};

/* MODIFY_QP / QUERY_QP attributes (IB values, virtual handles). */
struct xenib_ah_attr {
	__u8  dgid[16];
	__u32 flow_label;
	__u8  sgid_index;
	__u8  hop_limit;
	__u8  traffic_class;
	__u8  is_global;
	__u16 dlid;
	__u8  sl;
	__u8  src_path_bits;
	__u8  static_rate;
	__u8  port_num;
	__u16 reserved;
};

struct xenib_qp_attr {
	__u32 qp_state;
	__u32 cur_qp_state;
	__u32 path_mtu;
	__u32 qkey;
	__u32 rq_psn;
	__u32 sq_psn;
	__u32 dest_qp_num;
	__u32 qp_access_flags;
	__u16 pkey_index;
	__u8  port_num;
	__u8  min_rnr_timer;
	__u8  timeout;
	__u8  retry_cnt;
	__u8  rnr_retry;
	__u8  max_rd_atomic;
	__u8  max_dest_rd_atomic;
	__u8  sq_draining;
	__u8  en_sqd_async_notify;
	__u8  reserved;
	struct xenib_ah_attr ah;
};

struct xenib_modify_qp_req {
	struct xenib_ctrl_hdr hdr;
	__u32 qpn;
	__u32 attr_mask;	/* IBV_QP_* */
	struct xenib_qp_attr attr;
};

struct xenib_query_qp_resp {
	struct xenib_ctrl_hdr hdr;
	struct xenib_qp_attr attr;
};

struct xenib_query_device_resp {
	struct xenib_ctrl_hdr hdr;
	struct xenib_device_info dev;
};

/* QUERY_PORT takes a struct xenib_handle_req whose handle is the port number. */
struct xenib_query_port_resp {
	struct xenib_ctrl_hdr hdr;
	struct xenib_port_info port;
};

/* ------------------------------------------------------------------------- */
/* SRQ, XRC (XENIB_CMD_CREATE_SRQ ... DESTROY_SRQ, OPEN/CLOSE_XRCD)          */

/*
 * CREATE_SRQ: a ring of receive WQEs (struct xenib_recv_wqe + max_sge SGEs
 * per entry) in a region, like a QP's RQ; the guest produces, the backend
 * consumes.  QPs created with this SRQ (CREATE_QP.srq) take their receives
 * from it and have no RQ of their own (their rq ring descriptor must be all
 * zero).  Response: struct xenib_handle_resp, handle = the SRQ handle, which
 * is also its SRQ number.  srq_type IBV_SRQT_XRC: xrcd (OPEN_XRCD) and cq
 * name the XRC domain and the CQ that receives its completions (qp_num =
 * the XRC_RECV QP that took the message); its number (the handle) is what
 * XRC senders put into remote_srqn.  IBV_SRQT_BASIC: xrcd and cq are
 * XENIB_INVALID_HANDLE.  Other types: EOPNOTSUPP.
 */
struct xenib_create_srq_req {
	struct xenib_ctrl_hdr hdr;
	__u32 pd;
	__u32 srq_type;		/* enum ibv_srq_type: BASIC or XRC */
	__u32 max_sge;		/* <= XENIB_MAX_SGE */
	__u32 srq_limit;	/* 0: not armed; else < ring.entries */
	__u32 xrcd;		/* XRC only, else XENIB_INVALID_HANDLE */
	__u32 cq;		/* XRC only, else XENIB_INVALID_HANDLE */
	struct xenib_ring_desc ring;	/* entries <= XENIB_MAX_QP_WR */
};

/*
 * OPEN_XRCD: open an XRC domain; the response (struct xenib_handle_resp)
 * is this context's handle for it.  Without XENIB_XRCD_KEYED: a new
 * private domain (ibv_open_xrcd(3) with fd -1; XENIB_XRCD_CREAT must be
 * set).  With it, (dev, ino) name the file the guest associated with the
 * domain (ibv_open_xrcd(3) fd): every context of the same guest opening
 * the same key gets the same domain (so an XRC_RECV QP of one process
 * reaches the XRC SRQs of another), as ibv_open_xrcd(3) shares it between
 * processes of one host.  Keys never reach another guest's domains.
 * XENIB_XRCD_CREAT: create the domain if the key has none (else ENOENT);
 * XENIB_XRCD_EXCL with CREAT: EEXIST if it has one.
 * CLOSE_XRCD takes a struct xenib_handle_req; EBUSY while an XRC SRQ or
 * XRC_RECV QP of this context uses the handle.  A domain lives until the
 * last context closes it.
 */
enum {
	XENIB_XRCD_KEYED	= 1,
	XENIB_XRCD_CREAT	= 2,	/* O_CREAT */
	XENIB_XRCD_EXCL		= 4,	/* O_EXCL */
};

struct xenib_open_xrcd_req {
	struct xenib_ctrl_hdr hdr;
	__u32 flags;		/* XENIB_XRCD_* */
	__u32 reserved;		/* 0 */
	__u64 dev;		/* KEYED: st_dev of the file, else 0 */
	__u64 ino;		/* KEYED: st_ino of the file, else 0 */
};

/*
 * MODIFY_SRQ: attr_mask IBV_SRQ_LIMIT arms the limit event (one
 * IBV_EVENT_SRQ_LIMIT_REACHED when fewer than srq_limit WQEs remain, then
 * disarmed).  IBV_SRQ_MAX_WR (resize) answers EOPNOTSUPP in ABI 1.
 */
struct xenib_modify_srq_req {
	struct xenib_ctrl_hdr hdr;
	__u32 handle;
	__u32 attr_mask;	/* enum ibv_srq_attr_mask */
	__u32 max_wr;
	__u32 srq_limit;
};

/* QUERY_SRQ takes a struct xenib_handle_req. srq_limit is 0 when disarmed. */
struct xenib_query_srq_resp {
	struct xenib_ctrl_hdr hdr;
	__u32 max_wr;
	__u32 max_sge;
	__u32 srq_limit;
	__u32 reserved;
};

/* ------------------------------------------------------------------------- */
/* Address handles, UD (XENIB_CMD_CREATE_AH, DESTROY_AH)                     */

/*
 * CREATE_AH: validated address vector (port 1, sl <= 15, dlid != 0 or a GRH
 * with sgid_index 0).  Response: struct xenib_handle_resp; the handle goes
 * into struct xenib_send_wqe.ah of UD sends.  The AH belongs to pd: a UD QP
 * of another PD cannot use it.
 */
struct xenib_create_ah_req {
	struct xenib_ctrl_hdr hdr;
	__u32 pd;
	__u32 reserved;
	struct xenib_ah_attr ah;
};

#define XENIB_UD_GRH_BYTES	40u	/* receive buffers of UD QPs start with a GRH */
#define XENIB_UD_MAX_MSG	4096u	/* path MTU of the virtual port */

/*
 * ATTACH_MCAST / DETACH_MCAST: a UD QP of this context joins or leaves the
 * multicast group (mgid, mlid): mgid ff00::/8, mlid 0xc000..0xfffe.  A UD
 * send whose AH names the group (dlid = mlid, or with a GRH dgid = mgid)
 * and whose remote QPN is 0xffffff reaches every attached QP (with a
 * receive posted and the send's Q_Key), the sender's own included.  At most
 * XENIB_MAX_QP_MCAST groups per QP (ENOMEM beyond); attaching twice is
 * harmless; detaching a group the QP is not in: EINVAL.  Bare responses.
 */
#define XENIB_MAX_QP_MCAST	16u
#define XENIB_MCAST_QPN		0xffffffu

struct xenib_mcast_req {
	struct xenib_ctrl_hdr hdr;
	__u32 qpn;
	__u16 mlid;
	__u16 reserved;
	__u8  mgid[16];
};

/* ------------------------------------------------------------------------- */
/* CQ resize (XENIB_CMD_RESIZE_CQ)                                           */

/*
 * RESIZE_CQ: move CQ handle to a new ring (a fresh, zeroed ring in a region
 * the guest mapped).  cons is the guest's consumer index on the old ring:
 * the backend checks it against its producer index (at most one ring of
 * entries behind), copies the unpolled CQEs [cons, prod) in order to slots
 * 0.. of the new ring, publishes the new producer index (= their number),
 * carries the event counter and the arm state over, and from then on
 * produces into the new ring only; the old ring's region reference is
 * dropped (the guest unmaps it).  The guest continues at consumer index 0.
 * More unpolled CQEs than new entries: EINVAL.  Response: bare header.
 */
struct xenib_resize_cq_req {
	struct xenib_ctrl_hdr hdr;
	__u32 handle;
	__u32 cons;
	struct xenib_ring_desc ring;	/* stride == sizeof(struct xenib_cqe) */
};

/* ------------------------------------------------------------------------- */
/* Memory windows (XENIB_CMD_ALLOC_MW, DEALLOC_MW), REREG_MR                 */

/*
 * ALLOC_MW: a window of type (IBV_MW_TYPE_1 or _2) in pd, unbound.  The
 * response gives its handle (DEALLOC_MW, a BIND_MW WQE's bind_mw) and its
 * first rkey.  A window's rkey has XENIB_MW_RKEY_BIT set, the window's
 * index in bits 8..30 and a tag in bits 0..7 that each bind sets (the
 * BIND_MW WQE's rkey, which must keep bits 8..31: ibv_inc_rkey(3)); an
 * MR's keys never have the bit.
 *
 * Binding (IBV_WR_BIND_MW WQE, also what ibv_bind_mw(3) posts for type
 * 1), LOCAL_INV and SEND_WITH_INV run in the send queue's order and
 * follow IB's rules (docs/ib-semantics.md, "Memory windows"): the MR must
 * have IBV_ACCESS_MW_BIND and be in the window's PD; a writable window
 * needs LOCAL_WRITE on the MR; the window lies inside the MR; type 1 has
 * no ZERO_BASED and is unbound by a bind of length 0, type 2 is bound
 * only while free, through a QP of its PD, and is reachable only through
 * that QP until LOCAL_INV, a remote SEND_WITH_INV or DEALLOC_MW frees it.
 * DEREG_MR and REREG_MR answer EBUSY while a window is bound to the MR.
 */
#define XENIB_MW_RKEY_BIT	0x80000000u

struct xenib_alloc_mw_req {
	struct xenib_ctrl_hdr hdr;
	__u32 pd;
	__u32 type;		/* enum ibv_mw_type */
};

struct xenib_alloc_mw_resp {
	struct xenib_ctrl_hdr hdr;
	__u32 handle;
	__u32 rkey;
};

/*
 * REREG_MR: change the MR named by key (its lkey) as ibv_rereg_mr(3)
 * does: flags IBV_REREG_MR_CHANGE_TRANSLATION (iova, length and segments
 * as for REG_MR), _CHANGE_PD (pd), _CHANGE_ACCESS (access); fields of
 * changes not asked for are 0.  All or nothing: on an error the MR is as
 * it was.  On success the MR gets new keys (same index, next generation,
 * as a deregistration and registration would): the response carries them,
 * and the old ones are refused from then on.
 */
struct xenib_rereg_mr_req {
	struct xenib_ctrl_hdr hdr;
	__u32 key;
	__u32 flags;		/* enum ibv_rereg_mr_flags */
	__u32 pd;
	__u32 access;
	__u64 iova;
	__u64 length;
	__u32 nsegs;		/* CHANGE_TRANSLATION: 1 .. XENIB_MAX_MR_SEGS */
	__u32 reserved;
	struct xenib_mr_seg segs[];
};
/* REREG_MR's response is a struct xenib_reg_mr_resp. */

/* ------------------------------------------------------------------------- */
/* Sharing a context (XENIB_CMD_ATTACH, IMPORT, UNIMPORT)                    */

/*
 * ATTACH: ibv_import_device(3).  A context's control channel is the
 * application's cmd_fd.  Another process holding a copy of it (dup(),
 * SCM_RIGHTS) sends ATTACH through it, with one end of a new channel as
 * the request's fd: that the request arrives on the context's channel is
 * the proof that the sender holds it.  The backend makes the new channel
 * a context of the same guest sharing the first one's objects (a share
 * group, as processes share one uverbs file), and answers on the NEW
 * channel only, never on the one the request came by (its owner is not
 * waiting for an answer), with a struct xenib_hello_resp (or an error);
 * HELLO is not sent on it.  dev_name must be the device the channel
 * serves, else ENODEV.  Without an fd there is no answer at all; where
 * the transport has no second channel (Xen), the answer is EOPNOTSUPP on
 * the channel it came by.
 *
 * In a share group PDs and MRs are reachable through any member's
 * channel by their handle (IMPORT checks and describes one); everything
 * else stays its own context's.  IMPORT takes a reference for the
 * importing context, UNIMPORT (ibv_unimport_*) drops it, as does the
 * importer's end.  Any member may destroy an object (DEALLOC_PD,
 * DEREG_MR).  When a member's channel closes, what it made goes, except
 * PDs and MRs another member still imports or builds on (QPs, MRs and
 * windows on a PD; windows bound to an MR) and the memory they need: those
 * live on until their last user is gone.
 */
struct xenib_attach_req {
	struct xenib_ctrl_hdr hdr;
	char dev_name[64];	/* "xenib0", NUL-terminated */
};

enum xenib_import_kind {
	XENIB_IMPORT_PD		= 1,
	XENIB_IMPORT_MR		= 2,
};

struct xenib_import_req {		/* IMPORT and UNIMPORT */
	struct xenib_ctrl_hdr hdr;
	__u32 kind;		/* enum xenib_import_kind */
	__u32 handle;		/* PD handle / MR lkey */
};

/* IMPORT's response (UNIMPORT: bare header). */
struct xenib_import_resp {
	struct xenib_ctrl_hdr hdr;
	__u32 handle;		/* the PD handle, or the MR's lkey */
	__u32 rkey;		/* MR */
	__u32 pd;		/* MR: its PD's handle */
	__u32 access;		/* MR: IBV_ACCESS_* */
	__u64 iova;		/* MR */
	__u64 length;		/* MR */
};

/* Responses with no body use a bare struct xenib_ctrl_hdr. */

/* How a context reaches its backend, and reaches it again after a move. */
#include <rdma/xenib-transport-abi.h>

#endif /* XENIB_ABI_H */
