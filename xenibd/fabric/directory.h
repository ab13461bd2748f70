/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The cluster directory (DESIGN.md 8.4) on etcd: which hosts are up and
 * where (hosts/), the identity each guest keeps for its life (guests/,
 * alloc/lid/), and which host serves each LID now (loc/).  docs/directory.md
 * describes the keys, the transaction rules and what happens when etcd is
 * down.
 *
 * Keys, under cfg.prefix (XDIR_PREFIX):
 *   hosts/<id>       {"addr":"ip:port","epoch":N}    under the host's lease
 *   epoch/<id>       {"epoch":N,"nonce":"..."}       no lease: the counter
 *                                                    survives the host key
 *   guests/<uuid>    {"lid":L,"guid":"0x..."}        no lease
 *   alloc/lid/<llll> "<uuid>"                        no lease
 *   loc/<llll>       {"host":"<id>","gen":G}         under the serving
 *                                                    host's lease
 * <llll> is the LID as 4 lowercase hex digits, so keys sort as LIDs do.
 *
 * Event loop: as the etcd client (etcd.h): watch xdir_fd(), call
 * xdir_process() when readable or after xdir_timeout_ms().  Nothing blocks;
 * every callback runs from xdir_process(), never inside the call that
 * started the operation.  Errors are positive errnos with a message:
 *   ETIMEDOUT / ECONNREFUSED  etcd unreachable for cfg.op_timeout_ms
 *   ENOTCONN   the host is not joined (no live lease) right now
 *   ENOENT     no such guest / LID not located / LID not allocated
 *   EHOSTUNREACH  the LID's host has no hosts/ entry (gone, not joined)
 *   ESTALE     a compare failed: the location changed since it was read
 *   ENOSPC     no free LID; EAGAIN  lost the allocation race too often
 *   EBADMSG / EMSGSIZE  etcd holds a value that is not ours (logged)
 */
#ifndef XENIB_FABRIC_DIRECTORY_H
#define XENIB_FABRIC_DIRECTORY_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define XDIR_PREFIX		"/xenib/v1/"
#define XDIR_PREFIX_MAX		64
#define XDIR_LID_MIN		0x0001		/* unicast LIDs */
#define XDIR_LID_MAX		0xbfff
/*
 * Port GUID = XDIR_GUID_PREFIX | LID: an EUI-64 under Xen's OUI 00:16:3e
 * (00:16:3e:ff:fe:00:LL:LL), the same for the whole cluster, so a GUID
 * names a LID and back.  GID = fe80::/64 + GUID.
 */
#define XDIR_GUID_PREFIX	0x00163efffe000000ull
#define XDIR_HOST_ID_MAX	63		/* [A-Za-z0-9._-] */
#define XDIR_ADDR_MAX		63		/* "a.b.c.d:port", "[v6]:port" */
#define XDIR_UUID_LEN		36		/* 8-4-4-4-12 hex */
#define XDIR_MAX_HOSTS		1024		/* in the cache */
#define XDIR_MAX_SERVED		4096		/* loc/ keys this host holds */
#define XDIR_MAX_PENDING	4096		/* operations in flight */
#define XDIR_ALLOC_ATTEMPTS	32		/* LID races lost per guest */
#define XDIR_DEFAULT_TTL_S	10
#define XDIR_DEFAULT_OP_TIMEOUT_MS 5000

struct xdir;

enum xdir_state {
	XDIR_JOINING,	/* not up yet (etcd may be unreachable) */
	XDIR_UP,	/* lease, hosts/ key, loc/ keys, watches all live */
	XDIR_DEGRADED,	/* was up; lease or watch lost: the cache serves
			 * what it had, the client re-establishes */
	XDIR_FAILED,	/* another process took our host id (epoch moved) */
};

struct xdir_host {
	const char *id;
	const char *addr;
	uint64_t epoch;
};

struct xdir_loc {
	uint16_t lid;
	const char *host;
	uint64_t gen;
	int64_t mod_rev;	/* what a migration's compare names */
};

struct xdir_route {
	char host[XDIR_HOST_ID_MAX + 1];
	char addr[XDIR_ADDR_MAX + 1];
	uint64_t epoch;		/* of the host */
	uint64_t gen;		/* of the location */
	int64_t loc_rev;
};

struct xdir_ident {
	uint16_t lid;
	uint64_t guid;		/* host order */
	uint8_t gid[16];	/* fe80::/64 + GUID, network order */
};

typedef void (*xdir_log_fn)(void *arg, const char *msg);

struct xdir_config {
	const char *endpoints;		/* etcd: "http://h:p,http://h:p" */
	const char *host_id;
	const char *host_addr;		/* where peers reach this backend */
	unsigned int lease_ttl_s;	/* 0: XDIR_DEFAULT_TTL_S */
	unsigned int op_timeout_ms;	/* 0: XDIR_DEFAULT_OP_TIMEOUT_MS */
	const char *prefix;		/* NULL: XDIR_PREFIX; ends with '/' */
	xdir_log_fn log;		/* NULL: stderr */
	/* Changes seen in etcd (also our own), from xdir_process(). */
	void (*on_state)(struct xdir *d, enum xdir_state st, void *arg);
	void (*on_host)(struct xdir *d, const char *id,
			const struct xdir_host *h, void *arg);	/* NULL: gone */
	void (*on_loc)(struct xdir *d, uint16_t lid,
		       const struct xdir_loc *l, void *arg);	/* NULL: gone */
	void *arg;
};

/* Starts joining at once (lease, epoch, hosts/ key, cache).  NULL, *err. */
struct xdir *xdir_new(const struct xdir_config *cfg, int *err);
/*
 * Frees everything; no callback.  Our keys expire with the lease (TTL).
 * Not from inside a callback of this directory.
 */
void xdir_destroy(struct xdir *d);
/* Revoke the lease: hosts/<id> and our loc/ keys go now; cb when done. */
typedef void (*xdir_done_cb)(struct xdir *d, int err, const char *msg,
			     void *arg);
int xdir_leave(struct xdir *d, xdir_done_cb cb, void *arg);

int xdir_fd(struct xdir *d);
void xdir_process(struct xdir *d);
int64_t xdir_timeout_ms(struct xdir *d);
/* Tests and tools only (blocks): run until *done or timeout_ms. */
int xdir_run_until(struct xdir *d, const bool *done, int timeout_ms);

enum xdir_state xdir_state(const struct xdir *d);
uint64_t xdir_epoch(const struct xdir *d);	/* 0 until joined */
int64_t xdir_lease_id(const struct xdir *d);	/* 0 when none */

/*
 * A guest's identity: the one etcd holds for uuid, or a new one, allocated
 * with the LID in one transaction.  Always the same for one uuid until
 * xdir_guest_release().  uuid: 8-4-4-4-12 hex, any case (kept lowercase).
 */
typedef void (*xdir_ident_cb)(struct xdir *d, int err, const char *msg,
			      const struct xdir_ident *id, void *arg);
int xdir_guest_identity(struct xdir *d, const char *uuid, xdir_ident_cb cb,
			void *arg);
/* The guest is destroyed: its identity, LID and location go. */
int xdir_guest_release(struct xdir *d, const char *uuid, xdir_done_cb cb,
		       void *arg);

/*
 * Locations.  xdir_loc_read() reads loc/<lid> from etcd (l NULL: absent).
 * xdir_loc_claim() makes this host serve lid: it puts loc/<lid> =
 * {host: us, gen: prev_gen + 1} under our lease if the key's mod_revision
 * is still expect_rev (0: if absent) and the LID is allocated; else ESTALE
 * with the current value.  A migration's destination commits with what it
 * read before the move.  xdir_loc_drop() deletes it if it is still ours.
 * This host re-puts the locations it holds after a lost lease.
 */
typedef void (*xdir_loc_cb)(struct xdir *d, int err, const char *msg,
			    const struct xdir_loc *l, void *arg);
int xdir_loc_read(struct xdir *d, uint16_t lid, xdir_loc_cb cb, void *arg);
int xdir_loc_claim(struct xdir *d, uint16_t lid, int64_t expect_rev,
		   uint64_t prev_gen, xdir_loc_cb cb, void *arg);
int xdir_loc_drop(struct xdir *d, uint16_t lid, xdir_done_cb cb, void *arg);

/*
 * Where a LID is served.  xdir_resolve_cached() answers from the cache at
 * once (0, -ENOENT not located, -EHOSTUNREACH host unknown); it keeps
 * working while etcd is down.  xdir_resolve() answers from the cache, or
 * asks etcd for a LID the cache does not know.
 */
int xdir_resolve_cached(struct xdir *d, uint16_t lid, struct xdir_route *r);
typedef void (*xdir_route_cb)(struct xdir *d, int err, const char *msg,
			      const struct xdir_route *r, void *arg);
int xdir_resolve(struct xdir *d, uint16_t lid, xdir_route_cb cb, void *arg);

/* The lowest LID the cache locates on host (0, or -ENOENT: none). */
int xdir_host_lid(struct xdir *d, const char *host, uint16_t *lid);

/* A LID's port GUID and GID (see XDIR_GUID_PREFIX): the same everywhere,
 * without asking the directory. */
static inline uint64_t xdir_guid_of_lid(uint16_t lid)
{
	return XDIR_GUID_PREFIX | lid;
}

static inline void xdir_gid_of_guid(uint64_t guid, uint8_t gid[16])
{
	uint64_t be = htobe64(guid);

	memset(gid, 0, 16);
	gid[0] = 0xfe;
	gid[1] = 0x80;
	memcpy(gid + 8, &be, 8);
}

/* Tests only: close the watches (as a partition would) and reopen them
 * from where they were; what changed meanwhile arrives then. */
void xdir_debug_suspend_watches(struct xdir *d, bool suspend);

#endif
