/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* xenibd's configuration (xenibd.conf(5), command line). */
#ifndef XENIBD_DAEMON_CONFIG_H
#define XENIBD_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/* Per-guest limits (xenibd.conf "limit.*"); enforced by the control path. */
struct xd_limits {
	unsigned int qps, cqs, srqs, pds, mrs, regions, notifiers, xrcds, ahs;
	unsigned int fds;	/* emulation: memfds and notifier sockets */
	uint64_t mr_bytes;
	uint64_t region_bytes;	/* guest memory mapped by the backend */
	unsigned int mappings;	/* regions + MR segments (VMAs) */
	uint64_t map_pages;	/* their pages (Xen: maptrack entries) */
};

enum xd_hv_mode {
	XD_HV_AUTO,		/* Xen if this is a Xen dom0, else emulated */
	XD_HV_EMULATED,
	XD_HV_XEN,
};

/* The emulated device's character node ("node.*", transport/emu_node.c). */
struct xd_node_config {
	const char *dir;	/* "/dev/infiniband"; "none": no node */
	const char *group;	/* name or number; NULL: xenibd's group */
	unsigned int mode;	/* 0666, like rdma-core's uverbs nodes */
	unsigned int major;	/* 120: devices.txt's local/experimental */
};

/* The cluster ("fabric.*"); fabric.etcd unset: this host alone. */
struct xd_fabric_config {
	const char *etcd;	/* etcd endpoints, "http://h:p,..." */
	const char *host;	/* this host's id in the directory */
	const char *listen;	/* "ip:port" other hosts reach us at */
	const char *transports;	/* UCX transports (default: tcp) */
	const char *net_devices;	/* UCX devices (default: listen's) */
	unsigned int keepalive_ms;
	unsigned int lease_ttl;	/* seconds */
};

struct xd_config {
	enum xd_hv_mode hv_mode;	/* "hypervisor" */
	const char *domains;	/* "domains": names to attach, blank separated */
	unsigned int max_ctx;	/* contexts per guest ("limit.contexts") */
	unsigned int max_cm_chans; /* rdma_cm event channels ("limit.cm_channels") */
	unsigned int resume_timeout;	/* seconds a frozen guest is kept */
	const char *dir;
	const char *devname;
	bool verbose;
	unsigned int spin_us;
	bool spin_adaptive;	/* stop spinning while descheduled */
	unsigned int max_guests;
	struct xd_limits limits;
	/*
	 * Backend-wide, over all guests ("limit.total_*"; 0: unlimited).
	 * total_mappings 0 in the file: derived from vm.max_map_count at
	 * start (xd_config_derive).
	 */
	unsigned int total_mappings;
	uint64_t total_map_pages;
	struct xd_fabric_config fabric;
	struct xd_node_config node;
};

/* config.c */
void xd_config_defaults(struct xd_config *c);
/* Overlay a configuration file; 0, or errno (each bad line is logged). */
int xd_config_load(struct xd_config *c, const char *path);
/* At start, after the file: fill in what depends on the host. */
/* Defaults that depend on the machine and the hypervisor (xen). */
void xd_config_derive(struct xd_config *c, bool xen);
/* A limit whose default xd_config_derive decides. */
#define XD_LIMIT_AUTO	UINT64_MAX

#endif /* XENIBD_DAEMON_CONFIG_H */
