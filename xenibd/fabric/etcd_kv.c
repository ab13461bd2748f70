// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Key-value calls: /v3/kv/range, put, deleterange, txn, compaction, and the
 * transactions built on txn (create-if-absent, compare-and-swap, create
 * several together).
 */
#include <errno.h>
#include <string.h>

#include "xenibd/fabric/etcd_int.h"

static bool key_ok(const char *key)
{
	size_t n = key ? strlen(key) : 0;

	/* room for the NUL a page's start gets */
	return n && n < ETCD_MAX_KEY;
}

static int submit(struct etcd *e, struct etcd_req *r)
{
	return r ? etcd_req_submit(r) : -ENOMEM;
}

/* key, and range_end when flags say prefix. */
static int put_key(json_object *o, const char *key, unsigned int flags)
{
	int r = etcd_json_put_bytes(o, "key", key, strlen(key), false);

	if (!r && (flags & ETCD_F_PREFIX))
		r = etcd_json_put_prefix_end(o, "range_end", key);
	return r;
}

static json_object *range_body(const char *key, const struct etcd_get_opts *o,
			       uint32_t limit)
{
	json_object *j = json_object_new_object();
	int r;

	if (!j)
		return NULL;
	if (o && o->after) {
		r = etcd_json_put_bytes(j, "key", key, strlen(key), true);
		if (!r)
			r = etcd_json_put_prefix_end(j, "range_end", o->prefix);
	} else {
		r = put_key(j, key, o ? o->flags : 0);
	}
	if (!r && o && o->revision)
		r = etcd_json_put_i64(j, "revision", o->revision);
	if (!r)
		r = etcd_json_put_i64(j, "limit", limit);
	if (!r && o && o->keys_only)
		r = json_object_object_add(j, "keys_only",
					   json_object_new_boolean(1));
	if (r) {
		json_object_put(j);
		return NULL;
	}
	return j;
}

int etcd_get(struct etcd *e, const char *key, const struct etcd_get_opts *o,
	     etcd_cb cb, void *arg)
{
	uint32_t limit = o && o->limit && o->limit < ETCD_MAX_KVS ? o->limit :
			 ETCD_MAX_KVS;
	struct etcd_req *r;

	if (!key_ok(key) || (o && o->revision < 0) ||
	    (o && o->after && !key_ok(o->prefix)))
		return -EINVAL;
	r = etcd_req_new(e, ETCD_K_RANGE, "/v3/kv/range",
			 etcd_json_finish(range_body(key, o, limit)), cb, arg);
	if (r)
		r->expect.limit = limit;
	return submit(e, r);
}

static json_object *put_body(const char *key, const void *value, size_t len,
			     int64_t lease)
{
	json_object *j = json_object_new_object();
	int r;

	if (!j)
		return NULL;
	r = put_key(j, key, 0);
	if (!r && len)
		r = etcd_json_put_bytes(j, "value", value, len, false);
	if (!r && lease)
		r = etcd_json_put_i64(j, "lease", lease);
	if (r) {
		json_object_put(j);
		return NULL;
	}
	return j;
}

int etcd_put(struct etcd *e, const char *key, const void *value, size_t len,
	     int64_t lease, etcd_cb cb, void *arg)
{
	if (!key_ok(key) || len > ETCD_MAX_VALUE || lease < 0)
		return -EINVAL;
	return submit(e, etcd_req_new(e, ETCD_K_PUT, "/v3/kv/put",
			etcd_json_finish(put_body(key, value, len, lease)),
			cb, arg));
}

static json_object *delete_body(const char *key, unsigned int flags)
{
	json_object *j = json_object_new_object();

	if (j && put_key(j, key, flags)) {
		json_object_put(j);
		return NULL;
	}
	return j;
}

int etcd_delete(struct etcd *e, const char *key, unsigned int flags,
		etcd_cb cb, void *arg)
{
	if (!key_ok(key))
		return -EINVAL;
	return submit(e, etcd_req_new(e, ETCD_K_DELETE, "/v3/kv/deleterange",
			etcd_json_finish(delete_body(key, flags)), cb, arg));
}

int etcd_compact(struct etcd *e, int64_t rev, etcd_cb cb, void *arg)
{
	json_object *j;

	if (rev <= 0)
		return -EINVAL;
	j = json_object_new_object();
	if (j && (etcd_json_put_i64(j, "revision", rev) ||
		  json_object_object_add(j, "physical",
					 json_object_new_boolean(1)))) {
		json_object_put(j);
		j = NULL;
	}
	return submit(e, etcd_req_new(e, ETCD_K_COMPACT, "/v3/kv/compaction",
				      etcd_json_finish(j), cb, arg));
}

/* Transactions. */

static const char *const cmp_target[] = {
	[ETCD_CMP_CREATE] = "CREATE", [ETCD_CMP_MOD] = "MOD",
	[ETCD_CMP_VERSION] = "VERSION", [ETCD_CMP_VALUE] = "VALUE",
};
static const char *const cmp_field[] = {
	[ETCD_CMP_CREATE] = "create_revision", [ETCD_CMP_MOD] = "mod_revision",
	[ETCD_CMP_VERSION] = "version", [ETCD_CMP_VALUE] = "value",
};
static const char *const cmp_result[] = {
	[ETCD_CMP_EQUAL] = "EQUAL", [ETCD_CMP_NOT_EQUAL] = "NOT_EQUAL",
	[ETCD_CMP_LESS] = "LESS", [ETCD_CMP_GREATER] = "GREATER",
};

static json_object *cmp_json(const struct etcd_cmp *c)
{
	json_object *j;
	int r;

	if (!key_ok(c->key) || (unsigned int)c->target > ETCD_CMP_VALUE ||
	    (unsigned int)c->result > ETCD_CMP_GREATER || c->rev < 0 ||
	    c->value_len > ETCD_MAX_VALUE)
		return NULL;
	j = json_object_new_object();
	if (!j)
		return NULL;
	r = json_object_object_add(j, "result",
			json_object_new_string(cmp_result[c->result])) ||
	    json_object_object_add(j, "target",
			json_object_new_string(cmp_target[c->target])) ||
	    put_key(j, c->key, 0);
	if (!r && c->target == ETCD_CMP_VALUE)
		r = etcd_json_put_bytes(j, "value", c->value, c->value_len,
					false);
	else if (!r)
		r = etcd_json_put_i64(j, cmp_field[c->target], c->rev);
	if (r) {
		json_object_put(j);
		return NULL;
	}
	return j;
}

static json_object *op_json(const struct etcd_op *op)
{
	json_object *j = NULL, *w;
	const char *name = NULL;

	if (!key_ok(op->key))
		return NULL;
	switch (op->type) {
	case ETCD_OP_RANGE:
		j = range_body(op->key, &(struct etcd_get_opts){
				.flags = op->flags }, ETCD_MAX_KVS);
		name = "request_range";
		break;
	case ETCD_OP_PUT:
		if (op->value_len > ETCD_MAX_VALUE || op->lease < 0)
			return NULL;
		j = put_body(op->key, op->value, op->value_len, op->lease);
		name = "request_put";
		break;
	case ETCD_OP_DELETE:
		j = delete_body(op->key, op->flags);
		name = "request_delete_range";
		break;
	}
	if (!j)
		return NULL;
	w = json_object_new_object();
	if (!w || json_object_object_add(w, name, j)) {
		json_object_put(w);
		json_object_put(j);
		return NULL;
	}
	return w;
}

static int add_array(json_object *o, const char *name, json_object *a)
{
	if (!a || json_object_object_add(o, name, a)) {
		json_object_put(a);
		return -EINVAL;
	}
	return 0;
}

static json_object *ops_json(const struct etcd_op *ops, unsigned int n,
			     uint8_t *types)
{
	json_object *a = json_object_new_array();
	unsigned int i;

	for (i = 0; a && i < n; i++) {
		json_object *j = op_json(&ops[i]);

		if (!j || json_object_array_add(a, j)) {
			json_object_put(j);
			json_object_put(a);
			return NULL;
		}
		types[i] = (uint8_t)ops[i].type;
	}
	return a;
}

int etcd_txn(struct etcd *e, const struct etcd_txn *t, unsigned int flags,
	     etcd_cb cb, void *arg)
{
	json_object *j, *cmps;
	struct etcd_req *r;
	struct etcd_expect x = { .kind = ETCD_K_TXN };
	unsigned int i;

	if (t->ncmp > ETCD_MAX_TXN_OPS || t->nsuccess > ETCD_MAX_TXN_OPS ||
	    t->nfailure > ETCD_MAX_TXN_OPS)
		return -EINVAL;
	j = json_object_new_object();
	cmps = json_object_new_array();
	for (i = 0; cmps && i < t->ncmp; i++) {
		json_object *c = cmp_json(&t->cmp[i]);

		if (!c || json_object_array_add(cmps, c)) {
			json_object_put(c);
			json_object_put(cmps);
			cmps = NULL;
		}
	}
	if (!j || add_array(j, "compare", cmps) ||
	    add_array(j, "success", ops_json(t->success, t->nsuccess,
					     x.success)) ||
	    add_array(j, "failure", ops_json(t->failure, t->nfailure,
					     x.failure))) {
		json_object_put(j);
		return -EINVAL;
	}
	x.nsuccess = (uint8_t)t->nsuccess;
	x.nfailure = (uint8_t)t->nfailure;
	r = etcd_req_new(e, ETCD_K_TXN, "/v3/kv/txn", etcd_json_finish(j),
			 cb, arg);
	if (!r)
		return -ENOMEM;
	r->expect = x;
	r->idempotent = flags & ETCD_F_RETRY;
	return etcd_req_submit(r);
}

int etcd_create_all(struct etcd *e, const struct etcd_kv_in *kv, unsigned int n,
		    etcd_cb cb, void *arg)
{
	struct etcd_cmp cmp[ETCD_MAX_TXN_OPS];
	struct etcd_op put[ETCD_MAX_TXN_OPS], get[ETCD_MAX_TXN_OPS];
	unsigned int i;

	if (!n || n > ETCD_MAX_TXN_OPS)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		cmp[i] = (struct etcd_cmp){ .key = kv[i].key,
			.target = ETCD_CMP_CREATE, .result = ETCD_CMP_EQUAL };
		put[i] = (struct etcd_op){ .type = ETCD_OP_PUT,
			.key = kv[i].key, .value = kv[i].value,
			.value_len = kv[i].len, .lease = kv[i].lease };
		get[i] = (struct etcd_op){ .type = ETCD_OP_RANGE,
			.key = kv[i].key };
	}
	return etcd_txn(e, &(struct etcd_txn){ .cmp = cmp, .ncmp = n,
			.success = put, .nsuccess = n,
			.failure = get, .nfailure = n }, ETCD_F_RETRY, cb, arg);
}

int etcd_create(struct etcd *e, const char *key, const void *value,
		size_t len, int64_t lease, etcd_cb cb, void *arg)
{
	return etcd_create_all(e, &(struct etcd_kv_in){ .key = key,
			.value = value, .len = len, .lease = lease }, 1,
			cb, arg);
}

int etcd_cas(struct etcd *e, const char *key, int64_t mod_rev,
	     const void *value, size_t len, int64_t lease,
	     etcd_cb cb, void *arg)
{
	struct etcd_cmp cmp = { .key = key, .target = ETCD_CMP_MOD,
				.result = ETCD_CMP_EQUAL, .rev = mod_rev };
	struct etcd_op put = { .type = ETCD_OP_PUT, .key = key,
			       .value = value, .value_len = len,
			       .lease = lease };
	struct etcd_op get = { .type = ETCD_OP_RANGE, .key = key };

	return etcd_txn(e, &(struct etcd_txn){ .cmp = &cmp, .ncmp = 1,
			.success = &put, .nsuccess = 1,
			.failure = &get, .nfailure = 1 }, ETCD_F_RETRY, cb, arg);
}
