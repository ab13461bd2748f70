// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Device and port queries: attributes, GIDs, P_Keys.  Upstream answers the
 * GID and P_Key queries from sysfs or kernel ioctls; we ask the provider.
 */
#include <stdlib.h>
#include <string.h>

#include "ibverbs.h"

#undef ibv_query_port

int ibv_query_device(struct ibv_context *context,
		     struct ibv_device_attr *device_attr)
{
	const struct verbs_context_ops *ops = ibverbs_ops(context);
	struct ibv_device_attr_ex attr = {};
	int ret;

	if (!ops->query_device_ex)
		return EOPNOTSUPP;
	ret = ops->query_device_ex(context, NULL, &attr, sizeof(attr));
	if (ret)
		return ret;
	*device_attr = attr.orig_attr;
	return 0;
}

/* verbs_context.query_port: attr_len may be shorter than our struct. */
int ibverbs_query_port(struct ibv_context *ctx, uint8_t port_num,
		       struct ibv_port_attr *attr, size_t attr_len)
{
	const struct verbs_context_ops *ops = ibverbs_ops(ctx);
	struct ibv_port_attr full = {};
	int ret;

	if (!ops->query_port)
		return EOPNOTSUPP;
	ret = ops->query_port(ctx, port_num, &full);
	if (ret)
		return ret;
	if (attr_len > sizeof(full)) {
		memset((char *)attr + sizeof(full), 0, attr_len - sizeof(full));
		attr_len = sizeof(full);
	}
	memcpy(attr, &full, attr_len);
	return 0;
}

/* The exported symbol takes the old, shorter struct. */
int ibv_query_port(struct ibv_context *context, uint8_t port_num,
		   struct _compat_ibv_port_attr *port_attr)
{
	return ibverbs_query_port(context, port_num,
				  (struct ibv_port_attr *)port_attr,
				  IBV_COMPAT_PORT_ATTR_SIZE);
}

static int query_gid_entry(struct ibv_context *ctx, uint32_t port_num,
			   uint32_t index, struct ibv_gid_entry *entry)
{
	const struct verbs_context_ops *ops = ibverbs_ops(ctx);

	memset(entry, 0, sizeof(*entry));
	if (!ops->query_gid_ex)
		return EOPNOTSUPP;
	return ops->query_gid_ex(ctx, port_num, index, entry);
}

int ibv_query_gid(struct ibv_context *context, uint8_t port_num, int index,
		  union ibv_gid *gid)
{
	struct ibv_gid_entry entry;
	int ret;

	if (index < 0) {
		errno = EINVAL;
		return -1;
	}
	ret = query_gid_entry(context, port_num, index, &entry);
	if (ret == ENODATA) {
		memset(gid, 0, sizeof(*gid));
		return 0;
	}
	if (ret) {
		errno = ret;
		return -1;
	}
	*gid = entry.gid;
	return 0;
}

int _ibv_query_gid_ex(struct ibv_context *context, uint32_t port_num,
		      uint32_t gid_index, struct ibv_gid_entry *entry,
		      uint32_t flags, size_t entry_size)
{
	struct ibv_gid_entry e;
	int ret;

	if (flags || entry_size < sizeof(e))
		return EINVAL;
	ret = query_gid_entry(context, port_num, gid_index, &e);
	if (ret)
		return ret;
	memcpy(entry, &e, sizeof(e));
	return 0;
}

int ibv_query_gid_type(struct ibv_context *context, uint8_t port_num,
		       unsigned int index, enum ibv_gid_type_sysfs *type)
{
	struct ibv_gid_entry e;
	int ret;

	ret = query_gid_entry(context, port_num, index, &e);
	if (ret == ENODATA) {
		*type = IBV_GID_TYPE_SYSFS_IB_ROCE_V1;
		return 0;
	}
	if (ret) {
		errno = ret;
		return -1;
	}
	*type = e.gid_type == IBV_GID_TYPE_ROCE_V2 ?
		IBV_GID_TYPE_SYSFS_ROCE_V2 : IBV_GID_TYPE_SYSFS_IB_ROCE_V1;
	return 0;
}

static int port_table_sizes(struct ibv_context *ctx, uint8_t port,
			    int *gid_len, int *pkey_len)
{
	const struct verbs_context_ops *ops = ibverbs_ops(ctx);
	struct ibv_port_attr attr;
	int ret;

	if (ops->query_table_sizes)
		return ops->query_table_sizes(ctx, port, gid_len, pkey_len);
	ret = ibverbs_query_port(ctx, port, &attr, sizeof(attr));
	if (ret)
		return ret;
	*gid_len = attr.gid_tbl_len;
	*pkey_len = attr.pkey_tbl_len;
	return 0;
}

/* Append the valid GIDs of one port; returns the new count or -errno. */
static ssize_t port_gid_table(struct ibv_context *ctx, uint8_t port,
			      char *entries, size_t max, size_t entry_size,
			      ssize_t n)
{
	struct ibv_gid_entry e;
	int gid_len, pkey_len, i, ret;

	ret = port_table_sizes(ctx, port, &gid_len, &pkey_len);
	if (ret)
		return -ret;
	for (i = 0; i < gid_len; i++) {
		ret = query_gid_entry(ctx, port, i, &e);
		if (ret == ENODATA)
			continue;
		if (ret)
			return -ret;
		if ((size_t)n >= max)
			return -EINVAL;
		memset(entries + n * entry_size, 0, entry_size);
		memcpy(entries + n * entry_size, &e, sizeof(e));
		n++;
	}
	return n;
}

ssize_t _ibv_query_gid_table(struct ibv_context *context,
			     struct ibv_gid_entry *entries, size_t max_entries,
			     uint32_t flags, size_t entry_size)
{
	struct ibv_device_attr attr;
	ssize_t n = 0;
	int ret, port;

	if (flags || entry_size < sizeof(*entries))
		return -EINVAL;
	ret = ibv_query_device(context, &attr);
	if (ret)
		return -ret;
	for (port = 1; port <= attr.phys_port_cnt && n >= 0; port++)
		n = port_gid_table(context, port, (char *)entries, max_entries,
				   entry_size, n);
	return n;
}

int ibv_query_pkey(struct ibv_context *context, uint8_t port_num, int index,
		   __be16 *pkey)
{
	const struct verbs_context_ops *ops = ibverbs_ops(context);
	int ret;

	ret = ops->query_pkey ? ops->query_pkey(context, port_num, index, pkey) :
				EOPNOTSUPP;
	if (ret) {
		errno = ret;
		return -1;
	}
	return 0;
}

int ibv_get_pkey_index(struct ibv_context *context, uint8_t port_num,
		       __be16 pkey)
{
	int gid_len, pkey_len, i;
	__be16 p;

	if (port_table_sizes(context, port_num, &gid_len, &pkey_len))
		pkey_len = 1 << 16;
	for (i = 0; i < pkey_len; i++) {
		if (ibv_query_pkey(context, port_num, i, &p))
			break;
		if (p == pkey)
			return i;
	}
	return -1;
}
