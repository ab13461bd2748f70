/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * An asynchronous etcd 3.4 client over etcd's JSON gateway (/v3/...), for a
 * single-threaded epoll loop.  libcurl's multi interface does the HTTP, json-c
 * the JSON.
 *
 * Event loop.  The client owns an epoll fd (its sockets and one timerfd):
 * the caller's loop watches etcd_fd() for EPOLLIN and calls etcd_process()
 * when it is readable, or when etcd_timeout_ms() has passed.  etcd_process()
 * never blocks.  Every callback runs from etcd_process(), never from inside
 * the call that started the operation, so a callback may start new
 * operations, cancel watches and release leases.
 *
 * Results.  Each operation's callback runs exactly once with a struct
 * etcd_res, whose memory belongs to the client and is valid only during the
 * callback.  res->err is 0 or a positive errno:
 *   ECONNREFUSED  no endpoint could be reached (the last attempt's error)
 *   ETIMEDOUT     the request's deadline passed (config.request_timeout_ms,
 *                 all retries and endpoints included)
 *   EBADMSG       the reply is not what etcd sends (bad JSON, missing or
 *                 mistyped fields, bad base64)
 *   EMSGSIZE      the reply, a key, a value or a count is over the bounds
 *                 below
 *   ENOENT        etcd's NOT_FOUND (lease not found)
 *   ERANGE        etcd's OUT_OF_RANGE (revision compacted or in the future)
 *   EINVAL        etcd's INVALID_ARGUMENT
 *   ECONNRESET    the connection broke after a non-idempotent request was
 *                 sent: it may or may not have been applied
 *   EIO           any other etcd or HTTP error (res->msg says which)
 * and res->msg is a human-readable reason (never NULL).
 *
 * Failover.  config.endpoints is a comma-separated list of http://host:port
 * URLs.  A request goes to the current endpoint; when it cannot connect, or
 * etcd answers UNAVAILABLE (a member without a leader), the client moves to
 * the next endpoint and tries again, with a short backoff after a full round,
 * until the deadline.  A connection that breaks after the request was sent is
 * retried only for idempotent requests (range, put, delete, lease calls) and
 * for transactions flagged ETCD_F_RETRY (the caller's transaction reads back
 * its outcome in its failure branch, so a replay is harmless).
 *
 * etcd is trusted less than our own memory: every reply is parsed with
 * bounds (ETCD_MAX_*), and anything unexpected is an error, never a crash.
 */
#ifndef XENIB_FABRIC_ETCD_H
#define XENIB_FABRIC_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on what we send and accept. */
#define ETCD_MAX_ENDPOINTS	16
#define ETCD_MAX_URL		256		/* one endpoint URL */
#define ETCD_MAX_KEY		1024		/* bytes, decoded */
#define ETCD_MAX_VALUE		(64 * 1024)	/* bytes, decoded */
#define ETCD_MAX_KVS		4096		/* kvs in one range reply */
#define ETCD_MAX_TXN_OPS	64		/* compares, and ops per branch */
#define ETCD_MAX_EVENTS		4096		/* events in one watch message */
#define ETCD_MAX_REPLY		(8 * 1024 * 1024) /* one reply or watch message */
#define ETCD_JSON_DEPTH		16		/* nesting in a reply */

#define ETCD_DEFAULT_REQUEST_TIMEOUT_MS	5000
#define ETCD_DEFAULT_CONNECT_TIMEOUT_MS	1000

struct etcd;
struct etcd_watch;
struct etcd_lease;

typedef void (*etcd_log_fn)(void *arg, const char *msg);

struct etcd_config {
	const char *endpoints;		/* "http://127.0.0.1:23790,http://..." */
	unsigned int request_timeout_ms; /* 0: ETCD_DEFAULT_REQUEST_TIMEOUT_MS */
	unsigned int connect_timeout_ms; /* 0: ETCD_DEFAULT_CONNECT_TIMEOUT_MS */
	etcd_log_fn log;		/* NULL: no log lines */
	void *log_arg;
};

/* NULL and *err set (EINVAL for a bad endpoint list, ENOMEM...) on failure. */
struct etcd *etcd_new(const struct etcd_config *cfg, int *err);
/*
 * Frees everything at once; no callback runs, pending operations are lost.
 * Not from inside a callback of this client.
 */
void etcd_destroy(struct etcd *e);

int etcd_fd(struct etcd *e);
void etcd_process(struct etcd *e);
/* Milliseconds until etcd_process() has timed work, 0 if due, -1 if none. */
int64_t etcd_timeout_ms(struct etcd *e);

/*
 * For tests and tools only: run the client until *done is true or timeout_ms
 * passes (0: ETIMEDOUT).  This blocks, so the daemon never uses it.
 */
int etcd_run_until(struct etcd *e, const bool *done, int timeout_ms);

/* The endpoint requests go to now (for logs). */
const char *etcd_endpoint(struct etcd *e);

/* One key-value pair of a reply; key and value are NUL-terminated copies. */
struct etcd_kv {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
	int64_t create_rev;
	int64_t mod_rev;
	int64_t version;
	int64_t lease;
};

struct etcd_range {
	struct etcd_kv *kvs;
	uint32_t nkvs;
	int64_t count;		/* keys in the range (may exceed nkvs) */
	bool more;		/* a limit cut the reply */
};

enum etcd_op_type { ETCD_OP_RANGE, ETCD_OP_PUT, ETCD_OP_DELETE };

/* One op's reply inside a transaction's reply. */
struct etcd_op_res {
	enum etcd_op_type type;
	struct etcd_range range;	/* ETCD_OP_RANGE */
	int64_t deleted;		/* ETCD_OP_DELETE */
};

struct etcd_res {
	int err;
	const char *msg;
	int64_t revision;		/* store revision in the reply's header */
	struct etcd_range range;	/* etcd_get */
	int64_t deleted;		/* etcd_delete */
	bool succeeded;			/* etcd_txn: the compares held */
	const struct etcd_op_res *ops;	/* etcd_txn: the branch taken */
	uint32_t nops;
	int64_t lease_id;		/* lease grant / keepalive */
	int64_t lease_ttl;
};

typedef void (*etcd_cb)(struct etcd *e, const struct etcd_res *res, void *arg);

/* Flags of keys and requests. */
#define ETCD_F_PREFIX	0x1	/* the key is a prefix: every key under it */
#define ETCD_F_RETRY	0x2	/* etcd_txn: safe to replay after a broken
				 * connection (see Failover above) */

/*
 * Operations.  Keys are NUL-terminated text (what we store); values are
 * bytes with a length.  They return 0 and later call cb exactly once, or
 * return a negative errno at once (EINVAL: bad arguments or over the
 * bounds, ENOMEM) and never call cb.
 */
struct etcd_get_opts {
	unsigned int flags;	/* ETCD_F_PREFIX */
	int64_t revision;	/* read at this revision; 0: latest */
	uint32_t limit;		/* at most this many kvs; 0 and max ETCD_MAX_KVS */
	bool keys_only;
	/*
	 * Start strictly after key (key + "\0"), keeping the prefix's end: the
	 * next page of a prefix read.  Then prefix names the range's prefix.
	 */
	bool after;
	const char *prefix;
};
int etcd_get(struct etcd *e, const char *key, const struct etcd_get_opts *o,
	     etcd_cb cb, void *arg);

int etcd_put(struct etcd *e, const char *key, const void *value, size_t len,
	     int64_t lease, etcd_cb cb, void *arg);

/* flags: ETCD_F_PREFIX.  res->deleted counts the keys removed. */
int etcd_delete(struct etcd *e, const char *key, unsigned int flags,
		etcd_cb cb, void *arg);

/* Compact the history up to rev (tests and tools; physical). */
int etcd_compact(struct etcd *e, int64_t rev, etcd_cb cb, void *arg);

enum etcd_cmp_target { ETCD_CMP_CREATE, ETCD_CMP_MOD, ETCD_CMP_VERSION,
		       ETCD_CMP_VALUE };
enum etcd_cmp_result { ETCD_CMP_EQUAL, ETCD_CMP_NOT_EQUAL, ETCD_CMP_LESS,
		       ETCD_CMP_GREATER };

/* A missing key compares as create = mod = version = 0. */
struct etcd_cmp {
	const char *key;
	enum etcd_cmp_target target;
	enum etcd_cmp_result result;
	int64_t rev;			/* CREATE, MOD, VERSION */
	const void *value;		/* VALUE */
	size_t value_len;
};

struct etcd_op {
	enum etcd_op_type type;
	const char *key;
	unsigned int flags;		/* ETCD_F_PREFIX: RANGE and DELETE */
	const void *value;		/* PUT */
	size_t value_len;
	int64_t lease;			/* PUT: 0 for none */
};

struct etcd_txn {
	const struct etcd_cmp *cmp;
	unsigned int ncmp;
	const struct etcd_op *success;
	unsigned int nsuccess;
	const struct etcd_op *failure;
	unsigned int nfailure;
};

/* flags: ETCD_F_RETRY.  Each of ncmp, nsuccess, nfailure <= ETCD_MAX_TXN_OPS. */
int etcd_txn(struct etcd *e, const struct etcd_txn *t, unsigned int flags,
	     etcd_cb cb, void *arg);

/*
 * Transactions we use often.  Each reads the key(s) back in its failure
 * branch, so res->succeeded false comes with res->ops[i].range holding the
 * current kv of key i (nkvs 0 if absent), and each is ETCD_F_RETRY: after
 * a connection broke, a replay of a transaction that had in fact been
 * applied comes back as a failure whose read-back shows the caller's own
 * value (and lease), which the caller then takes as success.
 */
/* Put key if it does not exist (create_revision == 0). */
int etcd_create(struct etcd *e, const char *key, const void *value,
		size_t len, int64_t lease, etcd_cb cb, void *arg);
/* Put key if its mod_revision is still mod_rev (0: if it does not exist). */
int etcd_cas(struct etcd *e, const char *key, int64_t mod_rev,
	     const void *value, size_t len, int64_t lease,
	     etcd_cb cb, void *arg);
/* Create all n keys together, or none if any exists. */
struct etcd_kv_in {
	const char *key;
	const void *value;
	size_t len;
	int64_t lease;
};
int etcd_create_all(struct etcd *e, const struct etcd_kv_in *kv, unsigned int n,
		    etcd_cb cb, void *arg);

/*
 * Leases.  etcd_lease_grant() asks for a lease of ttl_s seconds and then
 * keeps it alive by itself (a keepalive every ttl/3).  cb tells:
 *   ETCD_LEASE_ALIVE  granted (etcd_lease_id() is valid from now on)
 *   ETCD_LEASE_LOST   err ENOENT: etcd says the lease expired;
 *                     err ETIMEDOUT/ECONNREFUSED...: no keepalive succeeded
 *                     within the TTL, so etcd must be taken to have expired
 *                     it (and every key under it);
 *                     or the grant itself failed (err says why).
 * After LOST the lease is inert: release it with etcd_lease_release().
 * etcd_lease_release() may be called at any time (also from cb): with
 * revoke, the client sends a revoke and forgets the lease whatever happens
 * to it (etcd drops the keys under the lease now); without, the lease
 * expires by itself after its TTL.
 */
enum etcd_lease_state { ETCD_LEASE_GRANTING, ETCD_LEASE_ALIVE,
			ETCD_LEASE_LOST };
typedef void (*etcd_lease_cb)(struct etcd *e, struct etcd_lease *l,
			      enum etcd_lease_state st, int err,
			      const char *msg, void *arg);
#define ETCD_LEASE_TTL_MIN	2
#define ETCD_LEASE_TTL_MAX	3600
struct etcd_lease *etcd_lease_grant(struct etcd *e, unsigned int ttl_s,
				    etcd_lease_cb cb, void *arg);
/* The ID etcd granted (0 before); it stays after LOST, for a revoke. */
int64_t etcd_lease_id(const struct etcd_lease *l);
enum etcd_lease_state etcd_lease_state(const struct etcd_lease *l);
void etcd_lease_release(struct etcd_lease *l, bool revoke);
/* Revoke a lease by ID (another client's, a stale one); ENOENT if gone. */
int etcd_lease_revoke_id(struct etcd *e, int64_t id, etcd_cb cb, void *arg);

/*
 * Watches.  etcd_watch() streams the changes of key (or of every key under
 * it with ETCD_F_PREFIX) from start_rev on.  cb gets:
 *   ETCD_WATCH_CREATED    the stream is up (again); revision: etcd's now
 *   ETCD_WATCH_EVENTS     events[nevents], in revision order
 *   ETCD_WATCH_DOWN       the stream broke (err, msg); the client reconnects
 *                         by itself and resumes after the last event seen,
 *                         so no event is lost or repeated
 *   ETCD_WATCH_COMPACTED  the history from the watch's next revision was
 *                         compacted (compact_revision): events were lost, the
 *                         caller must read the keys again and watch anew.
 *                         The watch is stopped.
 * etcd_watch_cancel() stops and frees it (at any time, also from cb).
 */
enum etcd_watch_kind { ETCD_WATCH_CREATED, ETCD_WATCH_EVENTS,
		       ETCD_WATCH_DOWN, ETCD_WATCH_COMPACTED };
enum etcd_event_type { ETCD_EV_PUT, ETCD_EV_DELETE };

struct etcd_event {
	enum etcd_event_type type;
	struct etcd_kv kv;	/* DELETE: key and mod_rev (the deletion's) */
};

struct etcd_watch_msg {
	enum etcd_watch_kind kind;
	int err;
	const char *msg;
	int64_t revision;
	int64_t compact_revision;
	const struct etcd_event *events;
	uint32_t nevents;
};

typedef void (*etcd_watch_cb)(struct etcd *e, struct etcd_watch *w,
			      const struct etcd_watch_msg *m, void *arg);
struct etcd_watch *etcd_watch(struct etcd *e, const char *key,
			      unsigned int flags, int64_t start_rev,
			      etcd_watch_cb cb, void *arg);
void etcd_watch_cancel(struct etcd_watch *w);
/* The revision the watch resumes from (after the last event it delivered). */
int64_t etcd_watch_next_rev(const struct etcd_watch *w);

/*
 * Timers that run from etcd_process(), for modules built on the client
 * (so they need no fd of their own).  The struct is the caller's; init it
 * once, arm and disarm freely, disarm before freeing it.
 */
struct etcd_timer {
	struct etcd_timer *next, *prev;	/* the client's, like the rest */
	uint64_t due_ns;
	uint64_t gen;
	bool armed;
	void (*fn)(struct etcd_timer *t);
};
void etcd_timer_init(struct etcd_timer *t, void (*fn)(struct etcd_timer *));
void etcd_timer_arm(struct etcd *e, struct etcd_timer *t, uint64_t delay_ms);
void etcd_timer_disarm(struct etcd *e, struct etcd_timer *t);
uint64_t etcd_now_ns(void);

/* Log through config.log, printf-style. */
void etcd_logf(struct etcd *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
