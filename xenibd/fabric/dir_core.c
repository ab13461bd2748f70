// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The directory's membership: a lease, the epoch, hosts/<id>, and getting
 * all of it back after etcd was away.
 *
 * Joining is one transaction on epoch/<id> (no lease, so the counter
 * outlives the host key) and hosts/<id> (under the lease): the first join
 * of a process bumps the epoch with a compare on the counter's revision, so
 * two processes with one host id never get the same epoch and peers can
 * tell a restarted backend.  After a lost lease the same process joins
 * again with the same epoch (it is the same incarnation: its connections
 * and state live on), comparing the counter's revision with the one it
 * wrote; if another process bumped it meanwhile, our id was taken over and
 * the directory fails rather than fight over it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "xenibd/fabric/dir_int.h"

void dir_log(struct xdir *d, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (d->cfg.log)
		d->cfg.log(d->cfg.arg, line);
	else
		fprintf(stderr, "xenibd: %s\n", line);
}

static void etcd_log(void *arg, const char *msg)
{
	dir_log(arg, "%s", msg);
}

void dir_update_state(struct xdir *d)
{
	enum xdir_state st;
	bool live = d->joined && !d->reputs &&
		    d->sec[DIR_SEC_HOSTS].synced && d->sec[DIR_SEC_LOC].synced;

	if (d->state == XDIR_FAILED || d->leaving)
		return;
	st = live ? XDIR_UP : d->ever_up ? XDIR_DEGRADED : XDIR_JOINING;
	if (st == d->state)
		return;
	d->state = st;
	if (st == XDIR_UP) {
		d->ever_up = true;
		dir_log(d, "directory: up as %s epoch %llu (lease %llx)",
			d->host_id, (unsigned long long)d->epoch,
			(unsigned long long)xdir_lease_id(d));
	} else if (st == XDIR_DEGRADED) {
		bool watch = d->sec[DIR_SEC_HOSTS].synced &&
			     d->sec[DIR_SEC_LOC].synced;

		dir_log(d, "directory: degraded (%s%s%s): cached routes "
			"still serve, new allocations may fail",
			d->joined ? "" : "no lease",
			!d->joined && !watch ? ", " : "",
			watch ? "" : "watch down");
	}
	if (d->cfg.on_state)
		d->cfg.on_state(d, st, d->cfg.arg);
}

/* Operations in flight. */

static void op_timer(struct etcd_timer *t)
{
	struct dir_op *op = (void *)((char *)t - offsetof(struct dir_op,
							   later));

	op->step(op);
}

struct dir_op *dir_op_new(struct xdir *d)
{
	struct dir_op *op;

	if (d->nops >= XDIR_MAX_PENDING)
		return NULL;
	op = calloc(1, sizeof(*op));
	if (!op)
		return NULL;
	op->d = d;
	op->deadline_ns = etcd_now_ns() +
			  (uint64_t)d->cfg.op_timeout_ms * 1000000ull;
	etcd_timer_init(&op->later, op_timer);
	op->next = &d->ops;
	op->prev = d->ops.prev;
	d->ops.prev->next = op;
	d->ops.prev = op;
	d->nops++;
	return op;
}

void dir_op_free(struct dir_op *op)
{
	op->prev->next = op->next;
	op->next->prev = op->prev;
	etcd_timer_disarm(op->d->e, &op->later);
	op->d->nops--;
	free(op);
}

void dir_op_later(struct dir_op *op, uint64_t ms)
{
	etcd_timer_arm(op->d->e, &op->later, ms);
}

bool dir_op_expired(const struct dir_op *op)
{
	return etcd_now_ns() >= op->deadline_ns;
}

void dir_op_etcd_error(struct dir_op *op, const char *what,
		       const struct etcd_res *res)
{
	op->err = res->err;
	snprintf(op->msg, sizeof(op->msg), "%s: %s", what, res->msg);
	dir_log(op->d, "directory: %s", op->msg);
}

/* Membership. */

/* The lease keys can go under now, or 0. */
static int64_t live_lease(const struct xdir *d)
{
	return d->lease && etcd_lease_state(d->lease) == ETCD_LEASE_ALIVE ?
	       etcd_lease_id(d->lease) : 0;
}

int64_t xdir_lease_id(const struct xdir *d)
{
	return live_lease(d);
}

static void start_lease(struct xdir *d);

static void join_retry(struct etcd_timer *t)
{
	struct xdir *d = (void *)((char *)t - offsetof(struct xdir,
							join_retry));

	if (!d->joined)
		start_lease(d);
}

static void join_done(struct etcd *e, const struct etcd_res *res, void *arg);

static void join_txn(struct xdir *d)
{
	char ekey[DIR_KEY_MAX], hkey[DIR_KEY_MAX];
	char ev[DIR_VALUE_MAX], hv[DIR_VALUE_MAX];
	int64_t lease = live_lease(d);
	bool first = !d->epoch;
	uint64_t epoch = first ? d->try_epoch : d->epoch;
	struct etcd_cmp cmp = { .key = ekey, .result = ETCD_CMP_EQUAL };
	struct etcd_op ok[2], get = { .type = ETCD_OP_RANGE, .key = ekey };
	int err;

	dir_key(d, ekey, "epoch/%s", d->host_id);
	dir_key(d, hkey, "hosts/%s", d->host_id);
	if (first && !d->try_rev) {
		cmp.target = ETCD_CMP_CREATE;	/* never joined before */
	} else {
		cmp.target = ETCD_CMP_MOD;
		cmp.rev = first ? d->try_rev : d->epoch_rev;
	}
	if (dir_epoch_encode(ev, sizeof(ev), epoch, d->nonce) ||
	    dir_host_encode(hv, sizeof(hv), d->host_addr, epoch)) {
		etcd_timer_arm(d->e, &d->join_retry, DIR_RETRY_MS);
		return;
	}
	ok[0] = (struct etcd_op){ .type = ETCD_OP_PUT, .key = hkey,
		.value = hv, .value_len = strlen(hv), .lease = lease };
	ok[1] = (struct etcd_op){ .type = ETCD_OP_PUT, .key = ekey,
		.value = ev, .value_len = strlen(ev) };
	/* a re-join leaves the counter alone: the epoch is ours already */
	err = etcd_txn(d->e, &(struct etcd_txn){ .cmp = &cmp, .ncmp = 1,
			.success = ok, .nsuccess = first ? 2 : 1,
			.failure = &get, .nfailure = 1 }, ETCD_F_RETRY,
			join_done, d);
	if (err)
		etcd_timer_arm(d->e, &d->join_retry, DIR_RETRY_MS);
}

static void joined(struct xdir *d, uint64_t epoch, int64_t rev)
{
	d->joined = true;
	d->failing = false;
	if (!d->epoch || epoch != d->epoch)
		dir_log(d, "directory: %s joined with epoch %llu", d->host_id,
			(unsigned long long)epoch);
	d->epoch = epoch;
	d->epoch_rev = rev;
	dir_loc_reput(d);
	dir_update_state(d);
}

static void join_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct xdir *d = arg;
	const struct etcd_kv *kv;
	char nonce[17] = "";
	uint64_t epoch = 0;
	bool first = !d->epoch;

	if (!live_lease(d) || d->joined)
		return;			/* lost meanwhile: lease_cb retries */
	if (res->err) {
		if (!d->failing)
			dir_log(d, "directory: join of %s failed: %s",
				d->host_id, res->msg);
		d->failing = true;
		etcd_timer_arm(e, &d->join_retry, DIR_RETRY_MS);
		return;
	}
	if (res->succeeded) {
		/* epoch/<id> was written (first join) at this revision */
		joined(d, first ? d->try_epoch : d->epoch,
		       first ? res->revision : d->epoch_rev);
		return;
	}
	if (res->nops != 1 || res->ops[0].range.nkvs != 1) {
		/* the counter vanished: only an operator does that */
		d->try_epoch = d->epoch ? d->epoch : 1;
		d->try_rev = 0;
		d->epoch = 0;
		etcd_timer_arm(e, &d->join_retry, 0);
		return;
	}
	kv = &res->ops[0].range.kvs[0];
	if (dir_epoch_decode(kv->value, kv->value_len, &epoch, nonce)) {
		dir_log(d, "directory: epoch/%s holds garbage; not joining",
			d->host_id);
		d->state = XDIR_FAILED;
		if (d->cfg.on_state)
			d->cfg.on_state(d, XDIR_FAILED, d->cfg.arg);
		return;
	}
	if (!strcmp(nonce, d->nonce) && first && epoch == d->try_epoch) {
		/* our own first join, replayed after a broken connection */
		joined(d, epoch, kv->mod_rev);
		return;
	}
	if (!strcmp(nonce, d->nonce) && !first && epoch == d->epoch) {
		/* still ours, at another revision: compare with that one */
		d->epoch_rev = kv->mod_rev;
		join_txn(d);
		return;
	}
	if (first) {
		/* someone (our predecessor) joined before: one more */
		d->try_epoch = epoch + 1;
		d->try_rev = kv->mod_rev;
		join_txn(d);
		return;
	}
	dir_log(d, "directory: host id %s was taken by another process "
		"(epoch %llu, ours %llu): giving it up", d->host_id,
		(unsigned long long)epoch, (unsigned long long)d->epoch);
	d->joined = false;
	d->state = XDIR_FAILED;
	etcd_lease_release(d->lease, true);
	d->lease = NULL;
	if (d->cfg.on_state)
		d->cfg.on_state(d, XDIR_FAILED, d->cfg.arg);
}

static void lease_cb(struct etcd *e, struct etcd_lease *l,
		     enum etcd_lease_state st, int err, const char *msg,
		     void *arg)
{
	struct xdir *d = arg;

	if (l != d->lease)
		return;
	if (st == ETCD_LEASE_ALIVE) {
		join_txn(d);
		return;
	}
	if (st != ETCD_LEASE_LOST)
		return;
	/* keys may still hang on it: revoke it once they moved */
	if (etcd_lease_id(l))
		d->old_lease = etcd_lease_id(l);
	d->joined = false;
	etcd_lease_release(l, false);
	d->lease = NULL;
	if (!d->failing)
		dir_log(d, "directory: %s (%s): trying again",
			etcd_lease_id(l) ? "lease lost" : "cannot get a lease",
			msg);
	d->failing = true;
	dir_update_state(d);
	etcd_timer_arm(e, &d->join_retry, DIR_RETRY_MS);
}

static void start_lease(struct xdir *d)
{
	if (d->leaving || d->state == XDIR_FAILED)
		return;
	if (live_lease(d)) {
		join_txn(d);
		return;
	}
	if (d->lease)
		return;			/* a grant is in flight */
	d->lease = etcd_lease_grant(d->e, d->cfg.lease_ttl_s, lease_cb, d);
	if (!d->lease)
		etcd_timer_arm(d->e, &d->join_retry, DIR_RETRY_MS);
}

/* The whole of it. */

static bool prefix_ok(const char *p)
{
	size_t n = strlen(p), i;

	if (n < 2 || n > XDIR_PREFIX_MAX || p[0] != '/' || p[n - 1] != '/')
		return false;
	for (i = 0; i < n; i++)
		if (!dir_host_id_ok(&p[i], 1) && p[i] != '/' && p[i] != '.')
			return false;
	return true;
}

struct xdir *xdir_new(const struct xdir_config *cfg, int *err)
{
	const char *prefix = cfg->prefix ? cfg->prefix : XDIR_PREFIX;
	struct xdir *d;
	uint8_t rnd[8];
	int i;

	*err = EINVAL;
	if (!cfg->host_id || !dir_host_id_ok(cfg->host_id,
					     strlen(cfg->host_id)) ||
	    !cfg->host_addr || !dir_addr_ok(cfg->host_addr,
					    strlen(cfg->host_addr)) ||
	    !prefix_ok(prefix) ||
	    (cfg->lease_ttl_s && (cfg->lease_ttl_s < ETCD_LEASE_TTL_MIN ||
				  cfg->lease_ttl_s > ETCD_LEASE_TTL_MAX)))
		return NULL;
	*err = ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->cfg = *cfg;
	if (!d->cfg.lease_ttl_s)
		d->cfg.lease_ttl_s = XDIR_DEFAULT_TTL_S;
	if (!d->cfg.op_timeout_ms)
		d->cfg.op_timeout_ms = XDIR_DEFAULT_OP_TIMEOUT_MS;
	snprintf(d->prefix, sizeof(d->prefix), "%s", prefix);
	snprintf(d->host_id, sizeof(d->host_id), "%s", cfg->host_id);
	snprintf(d->host_addr, sizeof(d->host_addr), "%s", cfg->host_addr);
	d->ops.next = d->ops.prev = &d->ops;
	d->try_epoch = 1;
	/* tells our writes of epoch/<id> from another process's */
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		*err = EIO;
		free(d);
		return NULL;
	}
	for (i = 0; i < 8; i++)
		snprintf(d->nonce + 2 * i, 3, "%02x", rnd[i]);
	d->e = etcd_new(&(struct etcd_config){ .endpoints = cfg->endpoints,
			.request_timeout_ms = d->cfg.op_timeout_ms,
			.log = etcd_log, .log_arg = d }, err);
	if (!d->e) {
		free(d);
		return NULL;
	}
	etcd_timer_init(&d->join_retry, join_retry);
	dir_cache_start(d);
	start_lease(d);
	*err = 0;
	return d;
}

void xdir_destroy(struct xdir *d)
{
	if (!d)
		return;
	/* no callback runs from here on: requests go with the client */
	etcd_destroy(d->e);
	while (d->ops.next != &d->ops) {
		struct dir_op *op = d->ops.next;

		op->prev->next = op->next;
		op->next->prev = op->prev;
		free(op);
	}
	dir_cache_free(d);
	free(d);
}

static void leave_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_op *op = arg;
	int err = res->err == ENOENT ? 0 : res->err;

	op->cb.done(op->d, err, err ? res->msg : "left", op->arg);
	dir_op_free(op);
}

int xdir_leave(struct xdir *d, xdir_done_cb cb, void *arg)
{
	int64_t id = d->lease ? etcd_lease_id(d->lease) : 0;
	struct dir_op *op;
	int err;

	d->leaving = true;
	d->joined = false;
	etcd_timer_disarm(d->e, &d->join_retry);
	if (d->lease)
		etcd_lease_release(d->lease, false);
	d->lease = NULL;
	d->nmine = 0;
	dir_update_state(d);
	if (!id)
		return -ENOTCONN;
	op = dir_op_new(d);
	if (!op)
		return -ENOMEM;
	op->cb.done = cb;
	op->arg = arg;
	/* the revoke deletes hosts/<id> and our loc/ keys with it */
	err = etcd_lease_revoke_id(d->e, id, leave_done, op);
	if (err)
		dir_op_free(op);
	return err;
}

int xdir_fd(struct xdir *d)
{
	return etcd_fd(d->e);
}

void xdir_process(struct xdir *d)
{
	etcd_process(d->e);
}

int64_t xdir_timeout_ms(struct xdir *d)
{
	return etcd_timeout_ms(d->e);
}

int xdir_run_until(struct xdir *d, const bool *done, int timeout_ms)
{
	return etcd_run_until(d->e, done, timeout_ms);
}

enum xdir_state xdir_state(const struct xdir *d)
{
	return d->state;
}

uint64_t xdir_epoch(const struct xdir *d)
{
	return d->joined ? d->epoch : 0;
}
