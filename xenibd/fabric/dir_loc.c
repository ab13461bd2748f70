// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Locations: loc/<llll> = {"host", "gen"} under the serving host's lease.
 * A claim compares the key's mod_revision with the one the claimer read
 * (0: absent), so of two hosts that read the same state only one commits;
 * a migration's destination commits with the revision it read before the
 * move.  This host remembers the keys it holds (mine) and puts them again
 * under its new lease after losing one, unless another host took a key
 * meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xenibd/fabric/dir_int.h"

struct dir_mine *dir_mine_find(struct xdir *d, uint16_t lid)
{
	unsigned int i;

	for (i = 0; i < d->nmine; i++)
		if (d->mine[i].lid == lid)
			return &d->mine[i];
	return NULL;
}

void dir_mine_del(struct xdir *d, uint16_t lid)
{
	struct dir_mine *m = dir_mine_find(d, lid);

	if (m)
		*m = d->mine[--d->nmine];
}

static int mine_set(struct xdir *d, uint16_t lid, uint64_t gen, int64_t rev)
{
	struct dir_mine *m = dir_mine_find(d, lid);

	if (!m) {
		if (d->nmine == XDIR_MAX_SERVED)
			return -ENOSPC;
		m = &d->mine[d->nmine++];
	}
	m->lid = lid;
	m->gen = gen;
	m->mod_rev = rev;
	return 0;
}

void dir_loc_seen(struct xdir *d, uint16_t lid, const char *host)
{
	if (strcmp(host, d->host_id) && dir_mine_find(d, lid)) {
		/* migrated away: the destination holds it now */
		dir_mine_del(d, lid);
	}
}

static int64_t lease_now(struct xdir *d)
{
	return d->joined ? xdir_lease_id(d) : 0;
}

/* Read. */

static void loc_finish(struct dir_op *op, int err, const char *msg,
		       const struct xdir_loc *l)
{
	op->cb.loc(op->d, err, msg, err ? NULL : l, op->arg);
	dir_op_free(op);
}

/* The current location from a reply's kv (NULL: absent); 0 or EBADMSG. */
static int loc_of(struct dir_op *op, const struct etcd_kv *kv,
		  struct xdir_loc *l, char *host)
{
	memset(l, 0, sizeof(*l));
	l->lid = op->lid;
	if (!kv)
		return 0;
	if (dir_loc_decode(kv->value, kv->value_len, host, &l->gen))
		return EBADMSG;
	l->host = host;
	l->mod_rev = kv->mod_rev;
	return 0;
}

static void read_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_op *op = arg;
	char host[XDIR_HOST_ID_MAX + 1];
	struct xdir_loc l;

	if (res->err) {
		dir_op_etcd_error(op, "reading a location", res);
		loc_finish(op, op->err, op->msg, NULL);
		return;
	}
	if (!res->range.nkvs) {
		op->cb.loc(op->d, 0, "absent", NULL, op->arg);
		dir_op_free(op);
		return;
	}
	if (loc_of(op, &res->range.kvs[0], &l, host))
		loc_finish(op, EBADMSG, "location value is not ours", NULL);
	else
		loc_finish(op, 0, "ok", &l);
}

static struct dir_op *loc_op(struct xdir *d, uint16_t lid, void *cb,
			     void *arg, int *err)
{
	struct dir_op *op;

	*err = -EINVAL;
	if (lid < XDIR_LID_MIN || lid > XDIR_LID_MAX)
		return NULL;
	*err = -ENOBUFS;
	op = dir_op_new(d);
	if (!op)
		return NULL;
	op->lid = lid;
	op->cb.loc = cb;
	op->arg = arg;
	return op;
}

int xdir_loc_read(struct xdir *d, uint16_t lid, xdir_loc_cb cb, void *arg)
{
	char key[DIR_KEY_MAX];
	struct dir_op *op;
	int err;

	op = loc_op(d, lid, cb, arg, &err);
	if (!op)
		return err;
	dir_key(d, key, "loc/%04x", lid);
	err = etcd_get(d->e, key, NULL, read_done, op);
	if (err)
		dir_op_free(op);
	return err;
}

/* Claim: compare mod_revision, put under our lease. */

static int put_txn(struct dir_op *op, int64_t expect, uint64_t gen,
		   bool need_alloc, etcd_cb done)
{
	struct xdir *d = op->d;
	char lkey[DIR_KEY_MAX], akey[DIR_KEY_MAX], v[DIR_VALUE_MAX];
	struct etcd_cmp cmp[2] = {
		{ .key = lkey, .target = ETCD_CMP_MOD, .rev = expect },
		/* only an allocated LID can be served */
		{ .key = akey, .target = ETCD_CMP_CREATE,
		  .result = ETCD_CMP_GREATER },
	};
	struct etcd_op put = { .type = ETCD_OP_PUT, .key = lkey };
	struct etcd_op get[2] = {
		{ .type = ETCD_OP_RANGE, .key = lkey },
		{ .type = ETCD_OP_RANGE, .key = akey },
	};
	int64_t lease = lease_now(d);

	if (!lease)
		return -ENOTCONN;
	dir_key(d, lkey, "loc/%04x", op->lid);
	dir_key(d, akey, "alloc/lid/%04x", op->lid);
	dir_loc_encode(v, sizeof(v), d->host_id, gen);
	put.value = v;
	put.value_len = strlen(v);
	put.lease = lease;
	op->gen = gen;
	op->lease = lease;
	return etcd_txn(d->e, &(struct etcd_txn){ .cmp = cmp,
			.ncmp = need_alloc ? 2 : 1, .success = &put,
			.nsuccess = 1, .failure = get, .nfailure = 2 },
			ETCD_F_RETRY, done, op);
}

/* Did the failure branch find our own write (a replay)? */
static bool is_ours(struct dir_op *op, const struct etcd_res *res,
		    struct xdir_loc *l, char *host)
{
	const struct etcd_kv *kv = res->ops[0].range.nkvs ?
				   &res->ops[0].range.kvs[0] : NULL;

	return kv && !loc_of(op, kv, l, host) && l->host &&
	       !strcmp(host, op->d->host_id) && l->gen == op->gen &&
	       kv->lease == op->lease;
}

static void claim_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_op *op = arg;
	char host[XDIR_HOST_ID_MAX + 1];
	struct xdir_loc l;

	if (res->err) {
		dir_op_etcd_error(op, "claiming a location", res);
		loc_finish(op, op->err, op->msg, NULL);
		return;
	}
	if (res->succeeded || is_ours(op, res, &l, host)) {
		int64_t rev = res->succeeded ? res->revision : l.mod_rev;

		if (mine_set(op->d, op->lid, op->gen, rev))
			dir_log(op->d, "directory: serving more than %d LIDs: "
				"%04x will not be re-put", XDIR_MAX_SERVED,
				op->lid);
		loc_finish(op, 0, "claimed", &(struct xdir_loc){
			.lid = op->lid, .host = op->d->host_id,
			.gen = op->gen, .mod_rev = rev });
		return;
	}
	if (!res->ops[1].range.nkvs) {
		loc_finish(op, ENOENT, "LID not allocated", NULL);
		return;
	}
	if (loc_of(op, res->ops[0].range.nkvs ? &res->ops[0].range.kvs[0] :
		   NULL, &l, host)) {
		loc_finish(op, EBADMSG, "location value is not ours", NULL);
		return;
	}
	/* someone moved it since the caller read it: here is what is now */
	op->cb.loc(op->d, ESTALE, "location changed since it was read",
		   &l, op->arg);
	dir_op_free(op);
}

int xdir_loc_claim(struct xdir *d, uint16_t lid, int64_t expect_rev,
		   uint64_t prev_gen, xdir_loc_cb cb, void *arg)
{
	struct dir_op *op;
	int err;

	if (expect_rev < 0)
		return -EINVAL;
	op = loc_op(d, lid, cb, arg, &err);
	if (!op)
		return err;
	err = put_txn(op, expect_rev, prev_gen + 1, true, claim_done);
	if (err)
		dir_op_free(op);
	return err;
}

/* Drop. */

static void drop_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_op *op = arg;

	if (res->err) {
		dir_op_etcd_error(op, "dropping a location", res);
		op->cb.done(op->d, op->err, op->msg, op->arg);
	} else {
		/* gone, or not ours any more: either way not ours */
		dir_mine_del(op->d, op->lid);
		op->cb.done(op->d, 0, res->succeeded ? "dropped" : "not ours",
			    op->arg);
	}
	dir_op_free(op);
}

int xdir_loc_drop(struct xdir *d, uint16_t lid, xdir_done_cb cb, void *arg)
{
	struct dir_mine *m = dir_mine_find(d, lid);
	char key[DIR_KEY_MAX];
	struct dir_op *op;
	int err;

	if (!m)
		return -ENOENT;
	op = loc_op(d, lid, NULL, arg, &err);
	if (!op)
		return err;
	op->cb.done = cb;
	dir_key(d, key, "loc/%04x", lid);
	err = etcd_txn(d->e, &(struct etcd_txn){
		.cmp = &(struct etcd_cmp){ .key = key, .target = ETCD_CMP_MOD,
					   .rev = m->mod_rev }, .ncmp = 1,
		.success = &(struct etcd_op){ .type = ETCD_OP_DELETE,
					      .key = key }, .nsuccess = 1 },
		ETCD_F_RETRY, drop_done, op);
	if (err)
		dir_op_free(op);
	return err;
}

/* Re-put after a new lease. */

static void reput_one(struct xdir *d, const struct dir_mine *m, int64_t rev);

static void revoke_done(struct etcd *e, const struct etcd_res *res,
			void *arg)
{
	/* best effort: unrevoked, it expires after its TTL */
}

static void reput_end(struct xdir *d)
{
	if (--d->reputs)
		return;
	if (d->old_lease && d->old_lease != xdir_lease_id(d)) {
		/* everything moved to the new lease: the old one may go */
		etcd_lease_revoke_id(d->e, d->old_lease, revoke_done, NULL);
		d->old_lease = 0;
	}
	dir_update_state(d);
}

static void reput_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_op *op = arg;
	struct xdir *d = op->d;
	char host[XDIR_HOST_ID_MAX + 1];
	struct dir_mine *m = dir_mine_find(d, op->lid);
	struct xdir_loc l;

	if (!m || !d->joined) {
		/* dropped meanwhile, or the new lease is lost already */
	} else if (res->err) {
		/* the next lease loss retries it; the key lives meanwhile
		 * on the old lease, or is gone and the watch shows it */
		dir_log(d, "directory: re-put of loc/%04x failed: %s",
			op->lid, res->msg);
	} else if (res->succeeded || is_ours(op, res, &l, host)) {
		m->mod_rev = res->succeeded ? res->revision : l.mod_rev;
	} else if (!res->ops[0].range.nkvs && !op->attempts) {
		/* expired with the old lease: create it again */
		reput_one(d, m, 0);
	} else {
		dir_log(d, "directory: loc/%04x was taken while we were "
			"away; not serving it any more", op->lid);
		dir_mine_del(d, op->lid);
	}
	dir_op_free(op);
	reput_end(d);
}

static void reput_one(struct xdir *d, const struct dir_mine *m, int64_t rev)
{
	struct dir_op *op = dir_op_new(d);

	d->reputs++;
	if (op) {
		op->lid = m->lid;
		op->attempts = rev ? 0 : 1;
	}
	if (!op || put_txn(op, rev, m->gen, false, reput_done)) {
		if (op)
			dir_op_free(op);
		dir_log(d, "directory: cannot re-put loc/%04x", m->lid);
		reput_end(d);
	}
}

void dir_loc_reput(struct xdir *d)
{
	unsigned int i;

	/* held while they go out, so UP waits for the last */
	d->reputs++;
	for (i = 0; i < d->nmine; i++)
		reput_one(d, &d->mine[i], d->mine[i].mod_rev);
	reput_end(d);
}
