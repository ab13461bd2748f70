/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Provider interface of the xenib fork of libibverbs (provider ABI 34).
 *
 * This header is private to the tree: it is the contract between our
 * libibverbs.so.1 and the providers it loads (today providers/xenib).  The
 * exported names are the ones rdma-core 44 uses for the same jobs
 * (verbs_register_driver_34, _verbs_init_and_alloc_context, verbs_set_ops,
 * verbs_uninit_context), but the structures behind them are ours.
 *
 * The fork's one modification over upstream's design: a provider does not
 * have to match kernel uverbs devices from sysfs.  A "discovery provider"
 * enumerates its devices itself (a paravirtual device has no kernel driver
 * in the guest) and answers everything upstream would read from sysfs or
 * from the kernel: GUID, GIDs, P_Keys, completion channels, async events.
 *
 * Foreign providers (Debian's libmlx5.so.1, libefa.so.1, ...) also call
 * verbs_register_driver_34() from their constructors with their own,
 * differently shaped ops.  They are recognised by not carrying
 * VERBS_DISCOVERY_ABI in match_min_abi_version and are never called.
 */
#ifndef XENIB_LIBIBVERBS_DRIVER_H
#define XENIB_LIBIBVERBS_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <infiniband/verbs.h>

#include "util/list.h"

/* Marks a discovery provider.  Kernel uverbs ABI versions are small (<= 6). */
#define VERBS_DISCOVERY_ABI 0x58454e31u /* "XEN1" */

/* Provider ABI version, part of the registration symbol name. */
#define VERBS_PROVIDER_ABI 34

struct verbs_device;

/*
 * One device as a provider reports it during discovery.  dev_id is the stable
 * identity: a device reported again with the same (provider, dev_id) keeps the
 * same struct ibv_device pointer for the life of the process.
 */
struct verbs_discovered_device {
	char name[IBV_SYSFS_NAME_MAX];		/* "xenib0" */
	char dev_id[64];			/* provider-unique key */
	enum ibv_node_type node_type;
	enum ibv_transport_type transport_type;
	__be64 node_guid;			/* as ibv_get_device_guid() returns it */
	uint64_t provider_data;			/* opaque, kept in verbs_device */
	char dev_name[IBV_SYSFS_NAME_MAX];	/* its /dev/infiniband node; "": name */
};

typedef int (*verbs_discover_add_fn)(void *cookie,
				     const struct verbs_discovered_device *dev);

/*
 * Provider descriptor passed to verbs_register_driver_34().  The first three
 * fields are laid out like upstream's so a foreign descriptor can be told
 * apart safely by reading only them.
 */
struct verbs_device_ops {
	const char *name;
	uint32_t match_min_abi_version;		/* VERBS_DISCOVERY_ABI */
	uint32_t match_max_abi_version;		/* VERBS_DISCOVERY_ABI */

	/*
	 * Called on every ibv_get_device_list().  Calls add() once per device
	 * currently present.  Returns 0 or a positive errno; a provider with no
	 * device (e.g. no backend reachable) returns 0 having added nothing.
	 */
	int (*discover)(verbs_discover_add_fn add, void *cookie);

	/*
	 * Open a context on a device.  The provider allocates its context with
	 * verbs_init_and_alloc_context(), installs its verbs_context_ops with
	 * verbs_set_ops() (which also fills ibv_context.ops and the
	 * verbs_context extension slots from it), and sets context.async_fd to
	 * a real pollable fd.  On failure returns NULL with errno set.
	 */
	struct verbs_context *(*alloc_context)(struct verbs_device *dev);

	/*
	 * ibv_import_device(3): a context of dev sharing the objects of the
	 * context whose cmd_fd this is (a copy of it).  NULL with errno set;
	 * ENODEV: cmd_fd is not one of dev's.  On success the context owns
	 * cmd_fd (it may close it at once).  NULL entry: no import.
	 */
	struct verbs_context *(*import_context)(struct verbs_device *dev,
						int cmd_fd);
};

/*
 * A provider's per-context operations, installed with verbs_set_ops().
 *
 * The first block has upstream's members (rdma-core 44's struct
 * verbs_context_ops), in upstream's alphabetical order, as far as this
 * library implements the verbs behind them.  As upstream, verbs_set_ops()
 * also copies the fast-path ops (poll_cq, req_notify_cq, post_send,
 * post_recv, post_srq_recv, alloc_mw, bind_mw, dealloc_mw) into
 * ibv_context.ops and the extension ops into the verbs_context slots that
 * verbs.h inline code calls (query_device_ex, open_xrcd, close_xrcd,
 * get_srq_num, alloc_parent_domain; create_cq_ex, create_qp_ex, create_srq_ex and query_port
 * through library wrappers), so a provider assigns nothing by hand.
 * Signatures are upstream's except that MRs are plain struct ibv_mr (this
 * library has no struct verbs_mr) and reg_mr's access is unsigned.
 *
 * The second block is this fork's: what upstream's generic code answers
 * from sysfs or the kernel (GIDs, P_Keys, completion channels, async
 * events), which a discovery provider must answer itself.
 *
 * Any entry may be NULL: the verb then fails with EOPNOTSUPP (a NULL
 * fast-path op leaves its ibv_context.ops slot NULL).  int-returning
 * entries return 0 or a positive errno.
 *
 * Common object fields: after create_cq and create_cq_ex the library always
 * runs verbs_init_cq(): context, channel, cq_context, event counters,
 * mutex, cond and the completion channel reference; a provider must not
 * take that reference itself.  After create_srq / create_qp (and
 * create_srq_ex / create_qp_ex) the library fills context, pd, user
 * context, the attr-given fields, event counters, mutex and cond only if
 * the provider left the object's context pointer NULL.
 */
struct verbs_context_ops {
	/* ---- upstream's members ------------------------------------ */
	struct ibv_mw *(*alloc_mw)(struct ibv_pd *pd, enum ibv_mw_type type);
	struct ibv_pd *(*alloc_parent_domain)(struct ibv_context *ctx,
				struct ibv_parent_domain_init_attr *attr);
	struct ibv_pd *(*alloc_pd)(struct ibv_context *ctx);
	int (*attach_mcast)(struct ibv_qp *qp, const union ibv_gid *gid,
			    uint16_t lid);
	int (*bind_mw)(struct ibv_qp *qp, struct ibv_mw *mw,
		       struct ibv_mw_bind *mw_bind);
	int (*close_xrcd)(struct ibv_xrcd *xrcd);
	struct ibv_ah *(*create_ah)(struct ibv_pd *pd, struct ibv_ah_attr *attr);
	struct ibv_cq *(*create_cq)(struct ibv_context *ctx, int cqe,
				    struct ibv_comp_channel *channel,
				    int comp_vector);
	struct ibv_cq_ex *(*create_cq_ex)(struct ibv_context *ctx,
					  struct ibv_cq_init_attr_ex *attr);
	struct ibv_qp *(*create_qp)(struct ibv_pd *pd,
				    struct ibv_qp_init_attr *attr);
	struct ibv_qp *(*create_qp_ex)(struct ibv_context *ctx,
				       struct ibv_qp_init_attr_ex *attr);
	struct ibv_srq *(*create_srq)(struct ibv_pd *pd,
				      struct ibv_srq_init_attr *attr);
	struct ibv_srq *(*create_srq_ex)(struct ibv_context *ctx,
					 struct ibv_srq_init_attr_ex *attr);
	int (*dealloc_mw)(struct ibv_mw *mw);
	int (*dealloc_pd)(struct ibv_pd *pd);
	int (*dereg_mr)(struct ibv_mr *mr);
	int (*destroy_ah)(struct ibv_ah *ah);
	int (*destroy_cq)(struct ibv_cq *cq);
	int (*destroy_qp)(struct ibv_qp *qp);
	int (*destroy_srq)(struct ibv_srq *srq);
	int (*detach_mcast)(struct ibv_qp *qp, const union ibv_gid *gid,
			    uint16_t lid);
	void (*free_context)(struct ibv_context *ctx);
	int (*get_srq_num)(struct ibv_srq *srq, uint32_t *srq_num);
	struct ibv_mr *(*import_mr)(struct ibv_pd *pd, uint32_t mr_handle);
	struct ibv_pd *(*import_pd)(struct ibv_context *ctx,
				    uint32_t pd_handle);
	int (*modify_qp)(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			 int attr_mask);
	int (*modify_srq)(struct ibv_srq *srq, struct ibv_srq_attr *attr,
			  int attr_mask);
	struct ibv_xrcd *(*open_xrcd)(struct ibv_context *ctx,
				      struct ibv_xrcd_init_attr *attr);
	int (*poll_cq)(struct ibv_cq *cq, int num_entries, struct ibv_wc *wc);
	int (*post_recv)(struct ibv_qp *qp, struct ibv_recv_wr *wr,
			 struct ibv_recv_wr **bad_wr);
	int (*post_send)(struct ibv_qp *qp, struct ibv_send_wr *wr,
			 struct ibv_send_wr **bad_wr);
	int (*post_srq_recv)(struct ibv_srq *srq, struct ibv_recv_wr *wr,
			     struct ibv_recv_wr **bad_wr);
	int (*query_device_ex)(struct ibv_context *ctx,
			       const struct ibv_query_device_ex_input *input,
			       struct ibv_device_attr_ex *attr, size_t attr_size);
	/* Fills a whole struct ibv_port_attr; the library copes with
	 * callers' shorter ones. */
	int (*query_port)(struct ibv_context *ctx, uint8_t port_num,
			  struct ibv_port_attr *attr);
	int (*query_qp)(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			int attr_mask, struct ibv_qp_init_attr *init_attr);
	int (*query_srq)(struct ibv_srq *srq, struct ibv_srq_attr *attr);
	struct ibv_mr *(*reg_mr)(struct ibv_pd *pd, void *addr, size_t length,
				 uint64_t hca_va, unsigned int access);
	int (*req_notify_cq)(struct ibv_cq *cq, int solicited_only);
	int (*rereg_mr)(struct ibv_mr *mr, int flags, struct ibv_pd *pd,
			void *addr, size_t length, unsigned int access);
	int (*resize_cq)(struct ibv_cq *cq, int cqe);
	void (*unimport_mr)(struct ibv_mr *mr);
	void (*unimport_pd)(struct ibv_pd *pd);

	/* ---- this fork's: answered by a discovery provider ---------- */
	/* ENODATA for an empty entry, EINVAL for a bad port or index */
	int (*query_gid_ex)(struct ibv_context *ctx, uint32_t port_num,
			    uint32_t gid_index, struct ibv_gid_entry *entry);
	int (*query_pkey)(struct ibv_context *ctx, uint8_t port_num,
			  int index, __be16 *pkey);
	/* number of GID / P_Key table entries of a port */
	int (*query_table_sizes)(struct ibv_context *ctx, uint8_t port_num,
				 int *gid_tbl_len, int *pkey_tbl_len);
	/*
	 * Completion channels.  create_comp_channel sets channel->fd to a real
	 * fd that polls readable while an event is pending and honours
	 * O_NONBLOCK (EAGAIN when empty).  get_cq_event blocks (unless the fd
	 * is non-blocking) and returns the CQ of one event.
	 */
	int (*create_comp_channel)(struct ibv_context *ctx,
				   struct ibv_comp_channel *channel);
	int (*destroy_comp_channel)(struct ibv_comp_channel *channel);
	int (*get_cq_event)(struct ibv_comp_channel *channel,
			    struct ibv_cq **cq);
	/* Async events: ctx->async_fd semantics as for the channel fd. */
	int (*get_async_event)(struct ibv_context *ctx,
			       struct ibv_async_event *event);
	/*
	 * The ibv_qp_ex a QP is embedded in if it was created with
	 * IBV_QP_INIT_ATTR_SEND_OPS_FLAGS, else NULL.  NULL entry:
	 * ibv_qp_to_qp_ex() fails with EOPNOTSUPP.
	 */
	struct ibv_qp_ex *(*qp_to_qp_ex)(struct ibv_qp *qp);
};

/*
 * Our view of a device.  struct ibv_device must stay first and the ops
 * pointer must sit right after it (offset 664): Debian's libmlx5/libefa read
 * that slot to recognise their own devices.
 */
struct verbs_device {
	struct ibv_device device;
	const struct verbs_device_ops *ops;
	uint64_t provider_data;			/* from discovery */
	char dev_id[64];
	__be64 node_guid;
	int index;				/* ibv_get_device_index() */
	bool present;				/* seen by the last discovery */
	/* private to libibverbs below */
	unsigned int refcount;			/* device lists + open contexts */
	struct list_node link;			/* all devices (device_list.c) */
};

static inline struct verbs_device *verbs_get_device(const struct ibv_device *dev)
{
	return (struct verbs_device *)dev;
}

/* Exported by libibverbs (IBVERBS_PRIVATE_34) for providers. */
void verbs_register_driver_34(const struct verbs_device_ops *ops);

/*
 * Allocate alloc_size zeroed bytes holding a struct verbs_context at
 * context_offset, initialise it for device (abi_compat, sz, mutex, device
 * pointer, cmd_fd = -1, async_fd = -1).  Returns the start of the block or
 * NULL with errno set.  driver_id is ignored (kept for upstream's signature).
 */
void *_verbs_init_and_alloc_context(struct ibv_device *device, int cmd_fd,
				    size_t alloc_size,
				    struct verbs_context *context_offset,
				    uint32_t driver_id);

#define verbs_init_and_alloc_context(ibdev, cmd_fd, drv_ctx_ptr, ctx_memb)     \
	((__typeof__(drv_ctx_ptr))_verbs_init_and_alloc_context(               \
		ibdev, cmd_fd, sizeof(*drv_ctx_ptr),                            \
		&((__typeof__(drv_ctx_ptr))NULL)->ctx_memb, 0))

/*
 * Install the provider's ops (the table must outlive the context) and, as
 * upstream, copy its fast-path and extension ops into the context's
 * ibv_context.ops and verbs_context slots (see struct verbs_context_ops).
 */
void verbs_set_ops(struct verbs_context *vctx,
		   const struct verbs_context_ops *ops);

/*
 * Undo verbs_init_and_alloc_context() except for freeing the memory.  It does
 * not close cmd_fd or async_fd: the provider opened them and closes them.
 */
void verbs_uninit_context(struct verbs_context *vctx);

/*
 * The ops installed on a context (never NULL for an open context).
 * Library-internal: not exported, so that the export list stays exactly
 * Debian's; a provider knows its own ops table.
 */
const struct verbs_context_ops *verbs_context_ops_of(struct ibv_context *ctx);

/* Provider log helper: prints "libibverbs: <provider>: msg" to stderr when
 * IBV_DEBUG/VERBS_LOG_LEVEL asks for it; errors are always printed. */
enum { VERBS_LOG_ERR = 0, VERBS_LOG_WARN = 1, VERBS_LOG_INFO = 2, VERBS_LOG_DEBUG = 3 };
void __verbs_log(struct verbs_context *ctx, uint32_t level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* XENIB_LIBIBVERBS_DRIVER_H */
