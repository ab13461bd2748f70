/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside the directory: dir_core.c (join, lease, state), dir_cache.c (read,
 * watch, resolve), dir_ident.c (guest identities), dir_loc.c (locations),
 * dir_json.c (keys and values, validated).
 */
#ifndef XENIB_FABRIC_DIR_INT_H
#define XENIB_FABRIC_DIR_INT_H

#include "xenibd/fabric/directory.h"
#include "xenibd/fabric/etcd.h"

#define DIR_NLID		(XDIR_LID_MAX + 1)
#define DIR_KEY_MAX		(XDIR_PREFIX_MAX + 64)
#define DIR_VALUE_MAX		256	/* our values are small JSON */
#define DIR_RETRY_MS		500	/* after a failed step of the join */

struct dir_host {
	char id[XDIR_HOST_ID_MAX + 1];
	char addr[XDIR_ADDR_MAX + 1];
	uint64_t epoch;
	int64_t mod_rev;
	uint32_t seen;			/* sync generation */
	bool used;
};

struct dir_loc {
	char host[XDIR_HOST_ID_MAX + 1];
	uint64_t gen;
	int64_t mod_rev;
	uint32_t seen;
};

/* A loc/ key this host holds: what it re-puts after a lost lease. */
struct dir_mine {
	uint16_t lid;
	uint64_t gen;
	int64_t mod_rev;
};

enum dir_sec { DIR_SEC_HOSTS, DIR_SEC_LOC, DIR_NSEC };

/* One watched part of the tree: read it, then watch from there. */
struct dir_section {
	struct xdir *d;
	enum dir_sec which;
	char prefix[DIR_KEY_MAX];
	struct etcd_watch *w;
	bool reading;			/* a paginated read in flight */
	bool synced;			/* read done and watch created */
	bool suspended;			/* xdir_debug_suspend_watches */
	bool failing;			/* logged a failed read */
	int64_t read_rev;		/* revision the read is pinned at */
	int64_t resume_rev;		/* watch from here after a suspend */
	uint32_t gen;			/* of the read in progress */
	struct etcd_timer retry;
};

/* A multi-step operation (identity, release, lookup, claim...). */
struct dir_op {
	struct dir_op *next, *prev;
	struct xdir *d;
	uint64_t deadline_ns;
	unsigned int attempts;
	struct etcd_timer later;	/* deferred callback / retry */
	char uuid[XDIR_UUID_LEN + 1];
	uint16_t lid, start_lid;
	bool wrapped;
	int64_t rev;
	int64_t lease;			/* a claim's put names this lease */
	uint64_t gen;
	int err;
	char msg[256];
	void (*step)(struct dir_op *op);	/* for later */
	union {
		xdir_ident_cb ident;
		xdir_done_cb done;
		xdir_loc_cb loc;
		xdir_route_cb route;
	} cb;
	void *arg;
};

struct xdir {
	struct etcd *e;
	struct xdir_config cfg;
	char prefix[XDIR_PREFIX_MAX + 1];
	char host_id[XDIR_HOST_ID_MAX + 1];
	char host_addr[XDIR_ADDR_MAX + 1];
	enum xdir_state state;
	bool ever_up;

	/* membership */
	struct etcd_lease *lease;
	int64_t old_lease;		/* lost: revoke once re-put */
	bool joined;			/* hosts/<id> under the current lease */
	uint64_t epoch;
	int64_t epoch_rev;		/* mod_revision of epoch/<id> */
	uint64_t try_epoch;		/* first join: the epoch we try */
	int64_t try_rev;		/* ... if epoch/<id> is still at this */
	bool leaving;
	char nonce[17];			/* this process's, in epoch/<id> */
	unsigned int reputs;		/* loc re-puts in flight */
	bool failing;			/* logged an outage */
	struct etcd_timer join_retry;
	struct dir_op *leave;

	/* cache */
	struct dir_section sec[DIR_NSEC];
	struct dir_host hosts[XDIR_MAX_HOSTS];
	struct dir_loc *loc[DIR_NLID];

	struct dir_mine mine[XDIR_MAX_SERVED];
	unsigned int nmine;

	struct dir_op ops;		/* list head */
	unsigned int nops;
};

/* dir_core.c */
void dir_log(struct xdir *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void dir_update_state(struct xdir *d);
struct dir_op *dir_op_new(struct xdir *d);
void dir_op_free(struct dir_op *op);
/* Run op->step from the loop after ms (0: next round). */
void dir_op_later(struct dir_op *op, uint64_t ms);
bool dir_op_expired(const struct dir_op *op);
/* The error to report for a failed etcd step, logged once per op. */
void dir_op_etcd_error(struct dir_op *op, const char *what,
		       const struct etcd_res *res);

/* dir_cache.c */
void dir_cache_start(struct xdir *d);
void dir_cache_free(struct xdir *d);
struct dir_host *dir_host_find(struct xdir *d, const char *id);

/* dir_loc.c */
void dir_loc_reput(struct xdir *d);	/* after a new lease */
struct dir_mine *dir_mine_find(struct xdir *d, uint16_t lid);
void dir_mine_del(struct xdir *d, uint16_t lid);
/* A loc/ change seen by the watch: drop what another host took. */
void dir_loc_seen(struct xdir *d, uint16_t lid, const char *host);

/* dir_json.c: keys */
void dir_key(const struct xdir *d, char *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool dir_host_id_ok(const char *id, size_t len);
bool dir_addr_ok(const char *addr, size_t len);
/* Lowercased copy of a valid uuid into out, or false. */
bool dir_uuid_norm(const char *uuid, char out[XDIR_UUID_LEN + 1]);
/* "loc/0001" style suffix after a section prefix -> LID, or 0. */
uint16_t dir_lid_of_key(const char *key, size_t len, const char *prefix);

/* dir_json.c: values, each validated; 0 or a positive errno. */
int dir_host_encode(char *out, size_t n, const char *addr, uint64_t epoch);
int dir_host_decode(const char *v, size_t len, char *addr, uint64_t *epoch);
int dir_epoch_encode(char *out, size_t n, uint64_t epoch, const char *nonce);
int dir_epoch_decode(const char *v, size_t len, uint64_t *epoch,
		     char nonce[17]);
int dir_guest_encode(char *out, size_t n, uint16_t lid);
int dir_guest_decode(const char *v, size_t len, struct xdir_ident *id);
int dir_loc_encode(char *out, size_t n, const char *host, uint64_t gen);
int dir_loc_decode(const char *v, size_t len, char *host, uint64_t *gen);

#endif
