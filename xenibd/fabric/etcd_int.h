/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Inside the etcd client: the core (etcd.c: loop, transfers, requests and
 * failover), the JSON layer (etcd_json.c), and the shapes of the replies
 * (etcd_reply.c), shared by etcd_kv.c, etcd_lease.c and etcd_watch.c.
 */
#ifndef XENIB_FABRIC_ETCD_INT_H
#define XENIB_FABRIC_ETCD_INT_H

#include <curl/curl.h>
#include <json-c/json.h>

#include "xenibd/fabric/etcd.h"

/* Allocations that live as long as one reply's callback. */
struct etcd_arena {
	struct etcd_chunk *chunks;
};
void *etcd_arena_alloc(struct etcd_arena *a, size_t n);
void etcd_arena_free(struct etcd_arena *a);

/* A growing byte buffer with a hard cap. */
struct etcd_buf {
	char *p;
	size_t len, cap;
};
/* 0, or -EMSGSIZE past ETCD_MAX_REPLY, or -ENOMEM. */
int etcd_buf_add(struct etcd_buf *b, const void *p, size_t n);
void etcd_buf_free(struct etcd_buf *b);

/* One HTTP transfer on the multi handle (a request or a watch stream). */
struct etcd_xfer {
	struct etcd *e;
	CURL *easy;
	struct curl_slist *hdrs;
	struct etcd_buf in;		/* what etcd sent */
	bool stream;			/* watch: data handed on as it comes */
	bool overflow;			/* in went past ETCD_MAX_REPLY */
	bool data_ready;		/* stream: unread data in in */
	struct etcd_xfer *next_ready;
	char errbuf[CURL_ERROR_SIZE];
	long os_errno;			/* of the last failure */
	/*
	 * The transfer ended: curl's code, the HTTP status, and whether any
	 * of the request went out (if not, it is safe to send it elsewhere).
	 */
	void (*done)(struct etcd_xfer *x, CURLcode rc, long http, bool sent);
	/* stream: new data in x->in, outside curl's callbacks. */
	void (*data)(struct etcd_xfer *x);
};

/* Start a POST of body to endpoint ep + path; 0 or -errno. */
int etcd_xfer_start(struct etcd *e, struct etcd_xfer *x, unsigned int ep,
		    const char *path, const char *body, size_t len,
		    unsigned int timeout_ms);
/* Stop it (no done call) and free its curl state. */
void etcd_xfer_stop(struct etcd *e, struct etcd_xfer *x);

/* The errno and text for a failed transfer. */
int etcd_xfer_errno(struct etcd_xfer *x, CURLcode rc, char *msg, size_t msgsz);

/* Request kinds: how the reply's body is decoded. */
enum etcd_kind {
	ETCD_K_RANGE, ETCD_K_PUT, ETCD_K_DELETE, ETCD_K_TXN, ETCD_K_COMPACT,
	ETCD_K_LEASE_GRANT, ETCD_K_LEASE_KEEPALIVE, ETCD_K_LEASE_REVOKE,
};

/* What the decoder must check a reply against. */
struct etcd_expect {
	enum etcd_kind kind;
	uint32_t limit;				/* RANGE: kvs at most */
	uint8_t nsuccess, nfailure;		/* TXN: ops per branch */
	uint8_t success[ETCD_MAX_TXN_OPS];	/* TXN: enum etcd_op_type */
	uint8_t failure[ETCD_MAX_TXN_OPS];
};

/*
 * Decode one reply (HTTP status and body) into res; allocations go to a.
 * Returns res->err.  This is the whole trust boundary of the unary calls,
 * and the malformed-reply test drives it directly.
 */
int etcd_reply_decode(const struct etcd_expect *x, long http,
		      const char *body, size_t len, struct etcd_res *res,
		      struct etcd_arena *a, char *msg, size_t msgsz);

/*
 * Decode one watch stream message.  A message is {"result": WatchResponse}
 * or {"error": ...}.  Returns 0 with m filled, or a positive errno with msg.
 */
int etcd_watch_decode(const char *line, size_t len, struct etcd_watch_msg *m,
		      struct etcd_arena *a, char *msg, size_t msgsz);

/* A unary request with deadline, retries and failover. */
struct etcd_req {
	struct etcd_req *next, *prev;
	struct etcd *e;
	struct etcd_xfer x;
	struct etcd_timer retry;
	const char *path;
	char *body;
	size_t body_len;
	bool idempotent;
	unsigned int timeout_ms;	/* whole request */
	uint64_t deadline_ns;
	unsigned int ep;		/* endpoint of this attempt */
	unsigned int tried;		/* endpoints tried in this round */
	unsigned int backoff_ms;
	int last_err;
	char last_msg[192];
	struct etcd_expect expect;
	etcd_cb cb;
	void *arg;
};

/* Allocate a request; body is taken over (freed with the request). */
struct etcd_req *etcd_req_new(struct etcd *e, enum etcd_kind kind,
			      const char *path, char *body, etcd_cb cb,
			      void *arg);
/* Send it (cb runs later, exactly once); on error it is freed, no cb. */
int etcd_req_submit(struct etcd_req *r);

/* The client. */
struct etcd {
	int epfd;
	int tfd;			/* timerfd: the earliest deadline */
	CURLM *multi;
	char ep[ETCD_MAX_ENDPOINTS][ETCD_MAX_URL];
	unsigned int nep;
	unsigned int cur;		/* endpoint in use */
	unsigned int request_timeout_ms;
	unsigned int connect_timeout_ms;
	etcd_log_fn log;
	void *log_arg;
	uint64_t curl_due_ns;		/* 0: curl wants no timeout */
	uint64_t armed_ns;		/* what tfd is armed for, 0: nothing */
	struct etcd_timer timers;	/* list head */
	uint64_t timer_gen;		/* arms so far */
	struct etcd_req reqs;		/* list head: every live request */
	struct etcd_xfer *ready;	/* streams with data to hand on */
	struct etcd_watch *watches;	/* every live watch */
	struct etcd_lease *leases;	/* every live lease */
	bool dead_objs;			/* some watch or lease waits to be freed */
};

/* etcd_watch.c, etcd_lease.c: free what was released. */
void etcd_watch_reap(struct etcd *e, bool all);
void etcd_lease_reap(struct etcd *e, bool all);

/* The next endpoint after a failure of endpoint ep. */
void etcd_endpoint_failed(struct etcd *e, unsigned int ep);

/* JSON helpers (etcd_json.c). */
int etcd_b64_encode(const void *in, size_t len, char *out, size_t outsz);
/* Decoded length, or -1 (not canonical base64, or over outsz). */
long etcd_b64_decode(const char *in, size_t len, void *out, size_t outsz);
/* key as JSON base64 string; with nul, key + "\0". */
int etcd_json_put_bytes(json_object *o, const char *field, const void *p,
			size_t n, bool nul);
/* The key right after every key that starts with prefix (range_end). */
int etcd_json_put_prefix_end(json_object *o, const char *field,
			     const char *prefix);
int etcd_json_put_i64(json_object *o, const char *field, int64_t v);
/* The body of a request, malloc'ed (takes o), or NULL. */
char *etcd_json_finish(json_object *o);
/* Parse one JSON object that fills buf exactly (whitespace around ok). */
int etcd_json_parse(const char *buf, size_t len, json_object **out,
		    const char **why);
/* int64 fields (proto3 JSON: a decimal string; a number is accepted). */
int etcd_json_i64(json_object *o, const char *field, int64_t *v);
int etcd_json_bool(json_object *o, const char *field, bool *v);
int etcd_json_kv(json_object *o, struct etcd_kv *kv, struct etcd_arena *a,
		 bool need_key, const char **why);
int etcd_json_range(json_object *o, uint32_t limit, struct etcd_range *r,
		    struct etcd_arena *a, const char **why);
/* grpc status code -> errno */
int etcd_grpc_errno(int64_t code);

#endif
