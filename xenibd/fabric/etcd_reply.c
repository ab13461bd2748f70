// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The shapes of etcd's gateway replies (etcd 3.4, grpc-gateway's proto3
 * JSON with the proto field names): int64 fields are decimal strings, zero
 * and empty fields are left out, keys and values are base64.  A unary error
 * is a non-200 status with {"error": s, "message": s, "code": grpc_code};
 * a streaming call (watch, keepalive) wraps each message in {"result": ...}
 * or {"error": {"grpc_code": n, "message": s, ...}}.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xenibd/fabric/etcd_int.h"

static int fail(char *msg, size_t msgsz, int err, const char *why)
{
	snprintf(msg, msgsz, "%s", why);
	return err;
}

/* An error object's code and message (either shape above). */
static int decode_error(json_object *err, json_object *root, char *msg,
			size_t msgsz)
{
	json_object *f, *o = root;
	int64_t code = 2;	/* UNKNOWN */
	const char *text = NULL;

	if (json_object_is_type(err, json_type_object))
		o = err;
	else if (json_object_is_type(err, json_type_string))
		text = json_object_get_string(err);
	if ((json_object_object_get_ex(o, "code", &f) ||
	     json_object_object_get_ex(o, "grpc_code", &f)) &&
	    json_object_is_type(f, json_type_int))
		code = json_object_get_int64(f);
	if (json_object_object_get_ex(o, "message", &f) &&
	    json_object_is_type(f, json_type_string))
		text = json_object_get_string(f);
	/* %.160s: etcd's text is bounded in what we keep */
	snprintf(msg, msgsz, "etcd: %.160s (grpc code %lld)",
		 text ? text : "error without a message", (long long)code);
	return etcd_grpc_errno(code);
}

static int decode_header(json_object *o, int64_t *rev, bool need,
			 char *msg, size_t msgsz)
{
	json_object *h;

	*rev = 0;
	if (!json_object_object_get_ex(o, "header", &h) ||
	    !json_object_is_type(h, json_type_object))
		return need ? fail(msg, msgsz, EBADMSG, "reply without header")
			    : 0;
	if (etcd_json_i64(h, "revision", rev) || *rev < 0 ||
	    (need && *rev == 0))
		return fail(msg, msgsz, EBADMSG, "bad revision in header");
	return 0;
}

static const char *const op_field[] = {
	[ETCD_OP_RANGE] = "response_range",
	[ETCD_OP_PUT] = "response_put",
	[ETCD_OP_DELETE] = "response_delete_range",
};

static int decode_txn(const struct etcd_expect *x, json_object *root,
		      struct etcd_res *res, struct etcd_arena *a,
		      char *msg, size_t msgsz)
{
	const uint8_t *types;
	struct etcd_op_res *ops;
	json_object *rs = NULL;
	const char *why = NULL;
	size_t i, n = 0, want;

	if (etcd_json_bool(root, "succeeded", &res->succeeded))
		return fail(msg, msgsz, EBADMSG, "succeeded is not a bool");
	types = res->succeeded ? x->success : x->failure;
	want = res->succeeded ? x->nsuccess : x->nfailure;
	if (json_object_object_get_ex(root, "responses", &rs)) {
		if (!json_object_is_type(rs, json_type_array))
			return fail(msg, msgsz, EBADMSG,
				    "responses is not an array");
		n = json_object_array_length(rs);
	}
	if (n != want)
		return fail(msg, msgsz, EBADMSG,
			    "txn reply has the wrong number of responses");
	if (!n)
		return 0;
	ops = etcd_arena_alloc(a, n * sizeof(*ops));
	if (!ops)
		return fail(msg, msgsz, ENOMEM, "out of memory");
	memset(ops, 0, n * sizeof(*ops));
	for (i = 0; i < n; i++) {
		json_object *r = json_object_array_get_idx(rs, i), *body;
		int err;

		ops[i].type = types[i];
		if (!json_object_is_type(r, json_type_object) ||
		    !json_object_object_get_ex(r, op_field[types[i]], &body) ||
		    !json_object_is_type(body, json_type_object) ||
		    json_object_object_length(r) != 1)
			return fail(msg, msgsz, EBADMSG,
				    "txn response of the wrong type");
		if (types[i] == ETCD_OP_RANGE) {
			err = etcd_json_range(body, ETCD_MAX_KVS,
					      &ops[i].range, a, &why);
			if (err)
				return fail(msg, msgsz, err, why);
		} else if (types[i] == ETCD_OP_DELETE) {
			if (etcd_json_i64(body, "deleted", &ops[i].deleted) ||
			    ops[i].deleted < 0)
				return fail(msg, msgsz, EBADMSG,
					    "bad deleted count");
		}
	}
	res->ops = ops;
	res->nops = (uint32_t)n;
	return 0;
}

static int decode_body(const struct etcd_expect *x, json_object *root,
		       struct etcd_res *res, struct etcd_arena *a,
		       char *msg, size_t msgsz)
{
	const char *why = NULL;
	json_object *f;
	int err;

	if (x->kind == ETCD_K_LEASE_KEEPALIVE) {
		/* a one-message stream */
		if (json_object_object_get_ex(root, "error", &f))
			return decode_error(f, root, msg, msgsz);
		if (!json_object_object_get_ex(root, "result", &f) ||
		    !json_object_is_type(f, json_type_object))
			return fail(msg, msgsz, EBADMSG,
				    "keepalive reply without result");
		root = f;
	}
	err = decode_header(root, &res->revision, x->kind != ETCD_K_COMPACT,
			    msg, msgsz);
	if (err)
		return err;
	switch (x->kind) {
	case ETCD_K_RANGE:
		err = etcd_json_range(root, x->limit, &res->range, a, &why);
		return err ? fail(msg, msgsz, err, why) : 0;
	case ETCD_K_DELETE:
		if (etcd_json_i64(root, "deleted", &res->deleted) ||
		    res->deleted < 0)
			return fail(msg, msgsz, EBADMSG, "bad deleted count");
		return 0;
	case ETCD_K_TXN:
		return decode_txn(x, root, res, a, msg, msgsz);
	case ETCD_K_LEASE_GRANT:
		if (json_object_object_get_ex(root, "error", &f) &&
		    json_object_is_type(f, json_type_string) &&
		    json_object_get_string_len(f))
			return decode_error(f, root, msg, msgsz);
		/* fall through */
	case ETCD_K_LEASE_KEEPALIVE:
		if (etcd_json_i64(root, "ID", &res->lease_id) ||
		    etcd_json_i64(root, "TTL", &res->lease_ttl) ||
		    res->lease_id <= 0 || res->lease_ttl < 0 ||
		    res->lease_ttl > ETCD_LEASE_TTL_MAX * 10)
			return fail(msg, msgsz, EBADMSG, "bad lease ID or TTL");
		if (x->kind == ETCD_K_LEASE_GRANT && !res->lease_ttl)
			return fail(msg, msgsz, EBADMSG, "granted TTL is 0");
		return 0;
	default:
		return 0;
	}
}

int etcd_reply_decode(const struct etcd_expect *x, long http,
		      const char *body, size_t len, struct etcd_res *res,
		      struct etcd_arena *a, char *msg, size_t msgsz)
{
	json_object *root, *f;
	const char *why = NULL;
	int err;

	memset(res, 0, sizeof(*res));
	err = etcd_json_parse(body, len, &root, &why);
	if (http != 200) {
		if (err || !json_object_object_get_ex(root, "error", &f)) {
			snprintf(msg, msgsz, "HTTP status %ld", http);
			err = http == 404 ? ENOENT : EIO;
		} else {
			err = decode_error(f, root, msg, msgsz);
		}
	} else if (err) {
		snprintf(msg, msgsz, "%s", why);
	} else {
		err = decode_body(x, root, res, a, msg, msgsz);
	}
	json_object_put(root);
	res->err = err;
	res->msg = err ? msg : "ok";
	return err;
}

static int decode_events(json_object *evs, struct etcd_watch_msg *m,
			 struct etcd_arena *a, char *msg, size_t msgsz)
{
	struct etcd_event *ev;
	const char *why = NULL;
	size_t i, n;

	if (!json_object_is_type(evs, json_type_array))
		return fail(msg, msgsz, EBADMSG, "events is not an array");
	n = json_object_array_length(evs);
	if (n > ETCD_MAX_EVENTS)
		return fail(msg, msgsz, EMSGSIZE, "too many events");
	if (!n)
		return 0;
	ev = etcd_arena_alloc(a, n * sizeof(*ev));
	if (!ev)
		return fail(msg, msgsz, ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(evs, i), *f;
		int err;

		if (!json_object_is_type(e, json_type_object))
			return fail(msg, msgsz, EBADMSG,
				    "event is not an object");
		ev[i].type = ETCD_EV_PUT;	/* PUT is 0: left out */
		if (json_object_object_get_ex(e, "type", &f)) {
			const char *t = json_object_is_type(f,
				json_type_string) ? json_object_get_string(f)
						  : "";

			if (!strcmp(t, "DELETE"))
				ev[i].type = ETCD_EV_DELETE;
			else if (strcmp(t, "PUT"))
				return fail(msg, msgsz, EBADMSG,
					    "unknown event type");
		}
		if (!json_object_object_get_ex(e, "kv", &f))
			return fail(msg, msgsz, EBADMSG, "event without kv");
		err = etcd_json_kv(f, &ev[i].kv, a, true, &why);
		if (err)
			return fail(msg, msgsz, err, why);
		if (ev[i].kv.mod_rev <= 0 ||
		    (i && ev[i].kv.mod_rev < ev[i - 1].kv.mod_rev))
			return fail(msg, msgsz, EBADMSG,
				    "event revisions out of order");
	}
	m->events = ev;
	m->nevents = (uint32_t)n;
	return 0;
}

int etcd_watch_decode(const char *line, size_t len, struct etcd_watch_msg *m,
		      struct etcd_arena *a, char *msg, size_t msgsz)
{
	json_object *root, *r, *f;
	const char *why = NULL;
	bool created, canceled;
	int err;

	memset(m, 0, sizeof(*m));
	err = etcd_json_parse(line, len, &root, &why);
	if (err)
		return fail(msg, msgsz, err, why);
	if (json_object_object_get_ex(root, "error", &f)) {
		err = decode_error(f, root, msg, msgsz);
		goto out;
	}
	if (!json_object_object_get_ex(root, "result", &r) ||
	    !json_object_is_type(r, json_type_object)) {
		err = fail(msg, msgsz, EBADMSG, "watch message without result");
		goto out;
	}
	err = decode_header(r, &m->revision, false, msg, msgsz);
	if (err)
		goto out;
	if (etcd_json_bool(r, "created", &created) ||
	    etcd_json_bool(r, "canceled", &canceled) ||
	    etcd_json_i64(r, "compact_revision", &m->compact_revision) ||
	    m->compact_revision < 0) {
		err = fail(msg, msgsz, EBADMSG, "bad watch message fields");
		goto out;
	}
	if (canceled) {
		if (m->compact_revision) {
			m->kind = ETCD_WATCH_COMPACTED;
			goto out;
		}
		f = NULL;
		json_object_object_get_ex(r, "cancel_reason", &f);
		snprintf(msg, msgsz, "etcd canceled the watch: %.160s",
			 f && json_object_is_type(f, json_type_string) ?
			 json_object_get_string(f) : "no reason given");
		err = ECANCELED;
		goto out;
	}
	if (created) {
		m->kind = ETCD_WATCH_CREATED;
		goto out;
	}
	m->kind = ETCD_WATCH_EVENTS;
	if (json_object_object_get_ex(r, "events", &f))
		err = decode_events(f, m, a, msg, msgsz);
out:
	json_object_put(root);
	m->err = err;
	m->msg = err ? msg : "ok";
	return err;
}
