/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private glue between the source files of libibverbs.  Nothing here is
 * part of any ABI: the version script keeps every symbol declared here
 * local to the library.
 */
#ifndef XENIB_LIBIBVERBS_IBVERBS_H
#define XENIB_LIBIBVERBS_IBVERBS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>
#include <infiniband/verbs.h>

#include "driver.h"

/*
 * struct verbs_ex_private is only declared by verbs.h; this is ours.  It
 * hangs off verbs_context.priv of every context we hand out.
 */
struct verbs_ex_private {
	const struct verbs_context_ops *ops;	/* never NULL */
	void *alloc_base;			/* block to free if no free_context */
	struct verbs_device *vdev;		/* holds a reference */
};

/* Sizes of structures an old ABI passes, not named by verbs.h. */
#define IBV_COMPAT_PORT_ATTR_SIZE \
	offsetof(struct ibv_port_attr, port_cap_flags2)

/* Values ibv_query_gid_type() reports (upstream's sysfs GID type names). */
enum ibv_gid_type_sysfs {
	IBV_GID_TYPE_SYSFS_IB_ROCE_V1,
	IBV_GID_TYPE_SYSFS_ROCE_V2,
};

/*
 * Exported functions (IBVERBS_1.0 and IBVERBS_PRIVATE_34) that neither verbs.h
 * nor driver.h declares.  Upstream declares them in its own driver.h.
 */
extern bool verbs_allow_disassociate_destroy;
struct ibv_context *verbs_open_device(struct ibv_device *device,
				      void *private_data);
void verbs_init_cq(struct ibv_cq *cq, struct ibv_context *context,
		   struct ibv_comp_channel *channel, void *cq_context);
int ibv_query_gid_type(struct ibv_context *context, uint8_t port_num,
		       unsigned int index, enum ibv_gid_type_sysfs *type);
const char *ibv_get_sysfs_path(void);
int ibv_read_sysfs_file(const char *dir, const char *file, char *buf,
			size_t size);
int ibv_read_ibdev_sysfs_file(char *buf, size_t size,
			      struct ibv_device *device, const char *fnfmt, ...)
	__attribute__((format(printf, 4, 5)));

struct ib_uverbs_ah_attr;
struct ib_uverbs_qp_attr;
struct ib_user_path_rec;
struct ibv_sa_path_rec;
void ibv_copy_ah_attr_from_kern(struct ibv_ah_attr *dst,
				struct ib_uverbs_ah_attr *src);
void ibv_copy_qp_attr_from_kern(struct ibv_qp_attr *dst,
				struct ib_uverbs_qp_attr *src);
void ibv_copy_path_rec_from_kern(struct ibv_sa_path_rec *dst,
				 struct ib_user_path_rec *src);
void ibv_copy_path_rec_to_kern(struct ib_user_path_rec *dst,
			       struct ibv_sa_path_rec *src);

/* context.c */
struct verbs_ex_private *ibverbs_priv(struct ibv_context *ctx);
const struct verbs_context_ops *ibverbs_ops(struct ibv_context *ctx);
void ibverbs_finish_context(struct verbs_context *vctx);

/* device_list.c */
void ibverbs_device_get(struct verbs_device *vdev);
void ibverbs_device_put(struct verbs_device *vdev);
bool ibverbs_is_discovery_ops(const struct verbs_device_ops *ops);

/* init.c */
void ibverbs_init_once(void);
const struct verbs_device_ops *ibverbs_driver(unsigned int i);

/* library wrappers installed in verbs_context over the provider's slots */
int ibverbs_query_port(struct ibv_context *ctx, uint8_t port_num,
		       struct ibv_port_attr *attr, size_t attr_len);
struct ibv_cq_ex *ibverbs_create_cq_ex(struct ibv_context *ctx,
				       struct ibv_cq_init_attr_ex *attr);
struct ibv_qp *ibverbs_create_qp_ex(struct ibv_context *ctx,
				    struct ibv_qp_init_attr_ex *attr);
/* verbs_context.alloc_parent_domain: the provider's, context filled. */
struct ibv_pd *ibverbs_alloc_parent_domain(struct ibv_context *ctx,
				struct ibv_parent_domain_init_attr *attr);
struct ibv_srq *ibverbs_create_srq_ex(struct ibv_context *ctx,
				      struct ibv_srq_init_attr_ex *attr);

/* cq.c, qp.c, srq.c: fill the common fields the provider left unset */
void ibverbs_init_qp(struct ibv_qp *qp, struct ibv_context *ctx,
		     const struct ibv_qp_init_attr_ex *attr);
void ibverbs_init_srq(struct ibv_srq *srq, struct ibv_context *ctx,
		      struct ibv_pd *pd, void *srq_context);

/* log.c */
void ibverbs_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* fork.c (also exported) */
int ibv_dontfork_range(void *base, size_t size);
int ibv_dofork_range(void *base, size_t size);

/* Set errno and return NULL: the failure path of pointer-returning verbs. */
static inline void *ibverbs_fail_ptr(int err)
{
	errno = err;
	return NULL;
}

/* Set errno and return err: failure path of verbs returning an errno. */
static inline int ibverbs_fail(int err)
{
	errno = err;
	return err;
}

#endif /* XENIB_LIBIBVERBS_IBVERBS_H */
