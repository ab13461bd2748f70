// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Guest identities.  guests/<uuid> and alloc/lid/<llll> are created in one
 * transaction that compares both create_revisions with 0: two backends
 * never get one LID, and one guest never gets two identities.  The loser of
 * a race reads the winner's outcome in the failure branch: the guest's
 * identity if that is what was created, else it tries the next free LID.
 *
 * A free LID is found from a random start (so concurrent allocators rarely
 * collide) by scanning alloc/lid/ keys-only from there for the first gap,
 * wrapping once at XDIR_LID_MAX.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "xenibd/fabric/dir_int.h"

#define SCAN_PAGE	64

static void ident_finish(struct dir_op *op, int err, const char *msg,
			 const struct xdir_ident *id)
{
	op->cb.ident(op->d, err, msg, err ? NULL : id, op->arg);
	dir_op_free(op);
}

static void ident_fail(struct dir_op *op, const char *what,
		       const struct etcd_res *res)
{
	dir_op_etcd_error(op, what, res);
	ident_finish(op, op->err, op->msg, NULL);
}

/* An identity read from etcd: checked, or EBADMSG. */
static void ident_found(struct dir_op *op, const struct etcd_kv *kv)
{
	struct xdir_ident id;

	if (dir_guest_decode(kv->value, kv->value_len, &id)) {
		dir_log(op->d, "directory: guests/%s holds a value that is "
			"not ours", op->uuid);
		ident_finish(op, EBADMSG, "guest identity in etcd is garbage",
			     NULL);
		return;
	}
	ident_finish(op, 0, "ok", &id);
}

static void scan(struct dir_op *op);

static void txn_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_op *op = arg;
	struct xdir_ident id;

	if (res->err) {
		ident_fail(op, "allocating an identity", res);
		return;
	}
	if (res->succeeded) {
		memset(&id, 0, sizeof(id));
		id.lid = op->lid;
		id.guid = xdir_guid_of_lid(op->lid);
		xdir_gid_of_guid(id.guid, id.gid);
		ident_finish(op, 0, "allocated", &id);
		return;
	}
	if (res->nops == 2 && res->ops[0].range.nkvs) {
		/* another backend made it first (or this is our replay) */
		ident_found(op, &res->ops[0].range.kvs[0]);
		return;
	}
	if (++op->attempts >= XDIR_ALLOC_ATTEMPTS || dir_op_expired(op)) {
		ident_finish(op, EAGAIN, "lost the LID race too often", NULL);
		return;
	}
	op->lid = op->lid == XDIR_LID_MAX ? XDIR_LID_MIN : op->lid + 1;
	scan(op);
}

static void try_lid(struct dir_op *op)
{
	struct xdir *d = op->d;
	char gkey[DIR_KEY_MAX], akey[DIR_KEY_MAX], gv[DIR_VALUE_MAX];
	struct etcd_cmp cmp[2] = {
		{ .key = gkey, .target = ETCD_CMP_CREATE },
		{ .key = akey, .target = ETCD_CMP_CREATE },
	};
	struct etcd_op put[2], get[2] = {
		{ .type = ETCD_OP_RANGE, .key = gkey },
		{ .type = ETCD_OP_RANGE, .key = akey },
	};
	int err;

	dir_key(d, gkey, "guests/%s", op->uuid);
	dir_key(d, akey, "alloc/lid/%04x", op->lid);
	dir_guest_encode(gv, sizeof(gv), op->lid);
	put[0] = (struct etcd_op){ .type = ETCD_OP_PUT, .key = gkey,
				   .value = gv, .value_len = strlen(gv) };
	put[1] = (struct etcd_op){ .type = ETCD_OP_PUT, .key = akey,
				   .value = op->uuid,
				   .value_len = XDIR_UUID_LEN };
	/* replay-safe: the failure branch shows what a replay had made */
	err = etcd_txn(d->e, &(struct etcd_txn){ .cmp = cmp, .ncmp = 2,
			.success = put, .nsuccess = 2,
			.failure = get, .nfailure = 2 }, ETCD_F_RETRY,
			txn_done, op);
	if (err)
		ident_finish(op, -err, "cannot send the allocation", NULL);
}

static void scan_done(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_op *op = arg;
	char prefix[DIR_KEY_MAX];
	unsigned int cand = op->lid;
	uint32_t i;

	if (res->err) {
		ident_fail(op, "looking for a free LID", res);
		return;
	}
	dir_key(op->d, prefix, "alloc/lid/");
	for (i = 0; i < res->range.nkvs; i++) {
		const struct etcd_kv *kv = &res->range.kvs[i];
		uint16_t lid = dir_lid_of_key(kv->key, kv->key_len, prefix);

		if (!lid || lid < cand)
			continue;	/* not a LID key: it blocks nothing */
		if (lid > cand)
			break;
		cand++;
	}
	if (op->wrapped && cand >= op->start_lid) {
		ident_finish(op, ENOSPC, "no free LID", NULL);
		return;
	}
	if (cand > XDIR_LID_MAX) {
		if (op->wrapped) {
			ident_finish(op, ENOSPC, "no free LID", NULL);
			return;
		}
		op->wrapped = true;
		op->lid = XDIR_LID_MIN;
		scan(op);
		return;
	}
	op->lid = (uint16_t)cand;
	if (i == res->range.nkvs && res->range.more) {
		scan(op);		/* the gap is past this page */
		return;
	}
	try_lid(op);
}

/* alloc/lid/ from op->lid on, keys only. */
static void scan(struct dir_op *op)
{
	char key[DIR_KEY_MAX], prefix[DIR_KEY_MAX];
	int err;

	if (dir_op_expired(op)) {
		ident_finish(op, ETIMEDOUT, "allocation took too long", NULL);
		return;
	}
	dir_key(op->d, prefix, "alloc/lid/");
	/* strictly after LID - 1: keys are fixed width, so from LID on */
	dir_key(op->d, key, "alloc/lid/%04x", op->lid - 1);
	err = etcd_get(op->d->e, key, &(struct etcd_get_opts){
			.after = true, .prefix = prefix, .keys_only = true,
			.limit = SCAN_PAGE }, scan_done, op);
	if (err)
		ident_finish(op, -err, "cannot look for a free LID", NULL);
}

static void guest_read(struct etcd *e, const struct etcd_res *res, void *arg)
{
	struct dir_op *op = arg;
	uint16_t r;

	if (res->err) {
		ident_fail(op, "reading a guest identity", res);
		return;
	}
	if (res->range.nkvs) {
		ident_found(op, &res->range.kvs[0]);
		return;
	}
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint16_t)etcd_now_ns();
	op->start_lid = op->lid = XDIR_LID_MIN + r % XDIR_LID_MAX;
	scan(op);
}

/* Read guests/<op->uuid>; fn gets the answer.  0 or errno. */
static int guest_get(struct dir_op *op, etcd_cb fn)
{
	char key[DIR_KEY_MAX];

	dir_key(op->d, key, "guests/%s", op->uuid);
	return etcd_get(op->d->e, key, NULL, fn, op);
}

/* A new op on guest uuid's identity, or NULL with *err (negative) set. */
static struct dir_op *guest_op_new(struct xdir *d, const char *uuid,
				   void *arg, int *err)
{
	struct dir_op *op = dir_op_new(d);

	*err = -ENOBUFS;
	if (!op)
		return NULL;
	if (!dir_uuid_norm(uuid, op->uuid)) {
		dir_op_free(op);
		*err = -EINVAL;
		return NULL;
	}
	op->arg = arg;
	return op;
}

int xdir_guest_identity(struct xdir *d, const char *uuid, xdir_ident_cb cb,
			void *arg)
{
	int err;
	struct dir_op *op = guest_op_new(d, uuid, arg, &err);

	if (!op)
		return err;
	op->cb.ident = cb;
	err = guest_get(op, guest_read);
	if (err)
		dir_op_free(op);
	return err;
}

/* Release. */

static void release_finish(struct dir_op *op, int err, const char *msg)
{
	op->cb.done(op->d, err, msg, op->arg);
	dir_op_free(op);
}

static void release_start(struct dir_op *op);

static void release_txn_done(struct etcd *e, const struct etcd_res *res,
			     void *arg)
{
	struct dir_op *op = arg;

	if (res->err) {
		dir_op_etcd_error(op, "releasing an identity", res);
		release_finish(op, op->err, op->msg);
		return;
	}
	if (res->succeeded || (res->nops == 1 && !res->ops[0].range.nkvs)) {
		dir_mine_del(op->d, op->lid);
		release_finish(op, 0, "released");
		return;
	}
	if (++op->attempts >= 8 || dir_op_expired(op)) {
		dir_log(op->d, "directory: cannot release %s: alloc/lid/%04x "
			"does not name it", op->uuid, op->lid);
		release_finish(op, EIO, "identity keys disagree");
		return;
	}
	release_start(op);		/* it changed under us: again */
}

static void release_read(struct etcd *e, const struct etcd_res *res,
			 void *arg)
{
	struct dir_op *op = arg;
	struct xdir *d = op->d;
	char gkey[DIR_KEY_MAX], akey[DIR_KEY_MAX], lkey[DIR_KEY_MAX];
	struct xdir_ident id;
	int err;

	if (res->err) {
		dir_op_etcd_error(op, "reading a guest identity", res);
		release_finish(op, op->err, op->msg);
		return;
	}
	if (!res->range.nkvs) {
		release_finish(op, ENOENT, "no such guest");
		return;
	}
	if (dir_guest_decode(res->range.kvs[0].value,
			     res->range.kvs[0].value_len, &id)) {
		release_finish(op, EBADMSG, "guest identity in etcd is garbage");
		return;
	}
	op->lid = id.lid;
	dir_key(d, gkey, "guests/%s", op->uuid);
	dir_key(d, akey, "alloc/lid/%04x", id.lid);
	dir_key(d, lkey, "loc/%04x", id.lid);
	err = etcd_txn(d->e, &(struct etcd_txn){
		.cmp = (struct etcd_cmp[]){
			{ .key = gkey, .target = ETCD_CMP_MOD,
			  .rev = res->range.kvs[0].mod_rev },
			{ .key = akey, .target = ETCD_CMP_VALUE,
			  .value = op->uuid, .value_len = XDIR_UUID_LEN } },
		.ncmp = 2,
		.success = (struct etcd_op[]){
			{ .type = ETCD_OP_DELETE, .key = gkey },
			{ .type = ETCD_OP_DELETE, .key = akey },
			{ .type = ETCD_OP_DELETE, .key = lkey } },
		.nsuccess = 3,
		.failure = (struct etcd_op[]){
			{ .type = ETCD_OP_RANGE, .key = gkey } },
		.nfailure = 1 }, ETCD_F_RETRY, release_txn_done, op);
	if (err)
		release_finish(op, -err, "cannot send the release");
}

static void release_start(struct dir_op *op)
{
	int err = guest_get(op, release_read);

	if (err)
		release_finish(op, -err, "cannot read the identity");
}

int xdir_guest_release(struct xdir *d, const char *uuid, xdir_done_cb cb,
		       void *arg)
{
	int err;
	struct dir_op *op = guest_op_new(d, uuid, arg, &err);

	if (!op)
		return err;
	op->cb.done = cb;
	err = guest_get(op, release_read);
	if (err)
		dir_op_free(op);
	return err;
}
