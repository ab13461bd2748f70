// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The etcd client's trust boundary without an etcd: every unary reply goes
 * through etcd_reply_decode() and every watch message through
 * etcd_watch_decode(), so feeding them garbage, truncations, wrong types and
 * oversize data must give a clear errno and never a crash (run it under
 * ASan too).  Valid replies are the ones etcd 3.4.23 sent us.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xenibd/fabric/dir_int.h"
#include "xenibd/fabric/etcd_int.h"
#include "tests/common/check.h"

static const char hdr[] = "\"header\":{\"cluster_id\":\"2961762449054095690\","
	"\"member_id\":\"11201878611396189134\",\"revision\":\"3\","
	"\"raft_term\":\"2\"}";

static int decode(const struct etcd_expect *x, long http, const char *body,
		  struct etcd_res *res, struct etcd_arena *a)
{
	static char msg[256];	/* res->msg points here */
	int err;

	etcd_arena_free(a);
	err = etcd_reply_decode(x, http, body, strlen(body), res, a, msg,
				sizeof(msg));
	if (err)
		CHECK(res->msg && *res->msg, "no message for error %d", err);
	return err;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	static char buf[8][4096];
	static int i;
	va_list ap;

	i = (i + 1) % 8;
	va_start(ap, f);
	vsnprintf(buf[i], sizeof(buf[i]), f, ap);
	va_end(ap);
	return buf[i];
}

static void test_b64(void)
{
	const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==",
			      "Zm9vYmE=", "Zm9vYmFy" };
	char enc[64], dec[64];
	unsigned int i;

	for (i = 0; i < 7; i++) {
		long n;

		etcd_b64_encode(in[i], strlen(in[i]), enc, sizeof(enc));
		CHECK(!strcmp(enc, out[i]), "encode %s: %s", in[i], enc);
		n = etcd_b64_decode(out[i], strlen(out[i]), dec, sizeof(dec));
		CHECK(n == (long)strlen(in[i]) && !memcmp(dec, in[i], n),
		      "decode %s", out[i]);
	}
	CHECK(etcd_b64_decode("Zm9", 3, dec, sizeof(dec)) < 0, "length 3");
	CHECK(etcd_b64_decode("Zm9*", 4, dec, sizeof(dec)) < 0, "bad char");
	CHECK(etcd_b64_decode("Z===", 4, dec, sizeof(dec)) < 0, "3 pads");
	CHECK(etcd_b64_decode("Zg==Zg==", 8, dec, sizeof(dec)) < 0,
	      "pad inside");
	CHECK(etcd_b64_decode("Zm9vYmFy", 8, dec, 5) < 0, "output bound");
	CHECK(etcd_b64_encode("foobar", 6, enc, 8) < 0, "encode bound");
}

static void test_range(void)
{
	struct etcd_expect x = { .kind = ETCD_K_RANGE, .limit = 10 };
	struct etcd_arena a = { 0 };
	struct etcd_res res;
	char *big, *p;
	size_t i;

	/* good */
	CHECK(!decode(&x, 200, fmt("{%s,\"kvs\":[{\"key\":\"L2EvYg==\","
		"\"create_revision\":\"2\",\"mod_revision\":\"3\",\"version\":"
		"\"2\",\"value\":\"aGVsbG8=\",\"lease\":\"7\"}],\"count\":\"1\"}",
		hdr), &res, &a), "good range: %s", res.msg);
	CHECK(res.revision == 3 && res.range.nkvs == 1 &&
	      res.range.count == 1 && !strcmp(res.range.kvs[0].key, "/a/b") &&
	      res.range.kvs[0].value_len == 5 &&
	      !strcmp(res.range.kvs[0].value, "hello") &&
	      res.range.kvs[0].create_rev == 2 &&
	      res.range.kvs[0].mod_rev == 3 && res.range.kvs[0].lease == 7,
	      "range fields");
	/* empty: etcd leaves kvs and count out */
	CHECK(!decode(&x, 200, fmt("{%s}", hdr), &res, &a) &&
	      !res.range.nkvs && !res.range.count, "empty range");
	/* garbage */
	CHECK(decode(&x, 200, "", &res, &a) == EBADMSG, "empty body");
	CHECK(decode(&x, 200, "not json", &res, &a) == EBADMSG, "not json");
	CHECK(decode(&x, 200, "[1,2]", &res, &a) == EBADMSG, "array root");
	CHECK(decode(&x, 200, "\"str\"", &res, &a) == EBADMSG, "string root");
	CHECK(decode(&x, 200, fmt("{%s} {}", hdr), &res, &a) == EBADMSG,
	      "trailing object");
	CHECK(decode(&x, 200, fmt("{%s,}", hdr), &res, &a) == EBADMSG,
	      "trailing comma (json-c's lax mode)");
	CHECK(decode(&x, 200, "{}", &res, &a) == EBADMSG, "no header");
	CHECK(decode(&x, 200, "{\"header\":{}}", &res, &a) == EBADMSG,
	      "header without revision");
	CHECK(decode(&x, 200, "{\"header\":{\"revision\":3}}", &res, &a) ==
	      EBADMSG, "revision as a number");
	CHECK(decode(&x, 200, "{\"header\":{\"revision\":\"-3\"}}", &res, &a)
	      == EBADMSG, "negative revision");
	CHECK(decode(&x, 200, "{\"header\":{\"revision\":\"3x\"}}", &res, &a)
	      == EBADMSG, "revision with junk");
	CHECK(decode(&x, 200, "{\"header\":{\"revision\":"
		     "\"99999999999999999999\"}}", &res, &a) == EBADMSG,
	      "revision overflow");
	CHECK(decode(&x, 200, "{\"header\":\"x\"}", &res, &a) == EBADMSG,
	      "header a string");
	CHECK(decode(&x, 200, fmt("{%s,\"kvs\":{}}", hdr), &res, &a) ==
	      EBADMSG, "kvs an object");
	CHECK(decode(&x, 200, fmt("{%s,\"kvs\":[1],\"count\":\"1\"}", hdr),
		     &res, &a) == EBADMSG, "kv a number");
	CHECK(decode(&x, 200, fmt("{%s,\"kvs\":[{}],\"count\":\"1\"}", hdr),
		     &res, &a) == EBADMSG, "kv without key");
	CHECK(decode(&x, 200, fmt("{%s,\"kvs\":[{\"key\":5}],\"count\":\"1\"}",
		     hdr), &res, &a) == EBADMSG, "key a number");
	CHECK(decode(&x, 200, fmt("{%s,\"kvs\":[{\"key\":\"@@@@\"}],"
		     "\"count\":\"1\"}", hdr), &res, &a) == EBADMSG,
	      "bad base64 key");
	CHECK(decode(&x, 200, fmt("{%s,\"kvs\":[{\"key\":\"YQ==\","
		     "\"value\":\"YQ=\"}],\"count\":\"1\"}", hdr), &res, &a) ==
	      EBADMSG, "bad base64 value");
	CHECK(decode(&x, 200, fmt("{%s,\"kvs\":[{\"key\":\"YQ==\","
		     "\"mod_revision\":\"1\",\"create_revision\":\"2\"}],"
		     "\"count\":\"1\"}", hdr), &res, &a) == EBADMSG,
	      "created after modified");
	CHECK(decode(&x, 200, fmt("{%s,\"kvs\":[{\"key\":\"YQ==\","
		     "\"lease\":true}],\"count\":\"1\"}", hdr), &res, &a) ==
	      EBADMSG, "lease a bool");
	CHECK(decode(&x, 200, fmt("{%s,\"kvs\":[{\"key\":\"YQ==\"}]}", hdr),
		     &res, &a) == EBADMSG, "more kvs than count");
	CHECK(decode(&x, 200, fmt("{%s,\"more\":\"yes\"}", hdr), &res, &a) ==
	      EBADMSG, "more a string");
	/* more kvs than the limit asked */
	p = big = malloc(1 << 20);
	p += sprintf(p, "{%s,\"count\":\"11\",\"kvs\":[", hdr);
	for (i = 0; i < 11; i++)
		p += sprintf(p, "%s{\"key\":\"YQ==\"}", i ? "," : "");
	sprintf(p, "]}");
	CHECK(decode(&x, 200, big, &res, &a) == EMSGSIZE, "over the limit");
	/* a value over ETCD_MAX_VALUE */
	p = big;
	p += sprintf(p, "{%s,\"count\":\"1\",\"kvs\":[{\"key\":\"YQ==\","
		     "\"value\":\"", hdr);
	for (i = 0; i < (ETCD_MAX_VALUE + 3) / 3 + 1; i++)
		p += sprintf(p, "QUFB");
	sprintf(p, "\"}]}");
	CHECK(decode(&x, 200, big, &res, &a) == EMSGSIZE, "oversize value");
	/* a key over ETCD_MAX_KEY */
	p = big;
	p += sprintf(p, "{%s,\"count\":\"1\",\"kvs\":[{\"key\":\"", hdr);
	for (i = 0; i < ETCD_MAX_KEY / 3 + 2; i++)
		p += sprintf(p, "QUFB");
	sprintf(p, "\"}]}");
	CHECK(decode(&x, 200, big, &res, &a) == EMSGSIZE, "oversize key");
	/* nesting past ETCD_JSON_DEPTH */
	p = big;
	for (i = 0; i < 100; i++)
		p += sprintf(p, "{\"a\":");
	p += sprintf(p, "1");
	for (i = 0; i < 100; i++)
		p += sprintf(p, "}");
	CHECK(decode(&x, 200, big, &res, &a) == EBADMSG, "deep nesting");
	/* NUL inside */
	{
		char nul[] = "{\"header\":{\"revision\":\"3\"}}\0xx";
		char msg[128];

		CHECK(etcd_reply_decode(&x, 200, nul, sizeof(nul) - 1, &res,
					&a, msg, sizeof(msg)) == EBADMSG,
		      "NUL byte");
	}
	/* invalid UTF-8 */
	CHECK(decode(&x, 200, "{\"header\":{\"revision\":\"3\"},\"x\":\"\xff\"}",
		     &res, &a) == EBADMSG, "bad UTF-8");
	/* every truncation of a good reply */
	sprintf(big, "{%s,\"kvs\":[{\"key\":\"L2EvYg==\",\"create_revision\":"
		"\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":"
		"\"aGVsbG8=\"}],\"count\":\"1\"}", hdr);
	for (i = 0; i < strlen(big); i++) {
		char msg[128], save = big[i];
		int err;

		big[i] = 0;
		err = etcd_reply_decode(&x, 200, big, i, &res, &a, msg,
					sizeof(msg));
		big[i] = save;
		CHECK(err == EBADMSG, "truncated at %zu: %d", i, err);
		etcd_arena_free(&a);
	}
	/* random bytes */
	srand(1);
	for (i = 0; i < 2000; i++) {
		size_t n = (size_t)rand() % 200, k;
		char msg[128];

		for (k = 0; k < n; k++)
			big[k] = (char)(rand() % 256);
		if (!n || rand() % 2)
			big[0] = '{';
		CHECK(etcd_reply_decode(&x, 200, big, n, &res, &a, msg,
					sizeof(msg)) != 0, "random bytes ok?");
		etcd_arena_free(&a);
	}
	/* oversize body */
	CHECK(etcd_reply_decode(&x, 200, big, ETCD_MAX_REPLY + 1, &res, &a,
				(char[64]){ 0 }, 64) == EMSGSIZE, "huge body");
	free(big);
	etcd_arena_free(&a);
}

static void test_errors(void)
{
	struct etcd_expect x = { .kind = ETCD_K_PUT };
	struct etcd_arena a = { 0 };
	struct etcd_res res;

	CHECK(decode(&x, 404, "{\"error\":\"etcdserver: requested lease not "
		     "found\",\"message\":\"etcdserver: requested lease not "
		     "found\",\"code\":5}", &res, &a) == ENOENT &&
	      strstr(res.msg, "lease not found"), "lease not found");
	CHECK(decode(&x, 400, "{\"error\":\"x\",\"code\":11}", &res, &a) ==
	      ERANGE, "compacted");
	CHECK(decode(&x, 503, "{\"error\":\"x\",\"code\":14}", &res, &a) ==
	      EAGAIN, "unavailable");
	CHECK(decode(&x, 400, "{\"error\":\"x\",\"code\":\"3\"}", &res, &a) ==
	      EIO, "code a string");
	CHECK(decode(&x, 502, "<html>bad gateway</html>", &res, &a) == EIO &&
	      strstr(res.msg, "502"), "HTML error page");
	CHECK(decode(&x, 500, "", &res, &a) == EIO, "empty error body");
	CHECK(decode(&x, 200, fmt("{%s}", hdr), &res, &a) == 0, "good put");
	etcd_arena_free(&a);
}

static void test_txn(void)
{
	struct etcd_expect x = { .kind = ETCD_K_TXN, .nsuccess = 1,
				 .nfailure = 2,
				 .success = { ETCD_OP_PUT },
				 .failure = { ETCD_OP_RANGE, ETCD_OP_DELETE } };
	struct etcd_arena a = { 0 };
	struct etcd_res res;

	CHECK(!decode(&x, 200, fmt("{%s,\"succeeded\":true,\"responses\":"
		"[{\"response_put\":{\"header\":{\"revision\":\"3\"}}}]}", hdr),
		&res, &a) && res.succeeded && res.nops == 1, "txn ok");
	CHECK(!decode(&x, 200, fmt("{%s,\"responses\":[{\"response_range\":"
		"{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"L3gvMQ==\","
		"\"create_revision\":\"3\",\"mod_revision\":\"3\",\"version\":"
		"\"1\",\"value\":\"djE=\"}],\"count\":\"1\"}},"
		"{\"response_delete_range\":{\"deleted\":\"2\"}}]}", hdr),
		&res, &a) && !res.succeeded && res.nops == 2 &&
	      res.ops[0].range.nkvs == 1 && res.ops[1].deleted == 2,
	      "txn failure branch");
	CHECK(decode(&x, 200, fmt("{%s,\"succeeded\":true}", hdr), &res, &a) ==
	      EBADMSG, "txn: responses missing");
	CHECK(decode(&x, 200, fmt("{%s,\"succeeded\":true,\"responses\":"
		"[{\"response_range\":{}}]}", hdr), &res, &a) == EBADMSG,
	      "txn: wrong op type");
	CHECK(decode(&x, 200, fmt("{%s,\"succeeded\":true,\"responses\":"
		"[{\"response_put\":{}},{\"response_put\":{}}]}", hdr), &res,
		&a) == EBADMSG, "txn: too many responses");
	CHECK(decode(&x, 200, fmt("{%s,\"succeeded\":1,\"responses\":"
		"[{\"response_put\":{}}]}", hdr), &res, &a) == EBADMSG,
	      "txn: succeeded a number");
	CHECK(decode(&x, 200, fmt("{%s,\"succeeded\":true,\"responses\":"
		"[{\"response_put\":{},\"response_range\":{}}]}", hdr), &res,
		&a) == EBADMSG, "txn: two bodies in one response");
	CHECK(decode(&x, 200, fmt("{%s,\"succeeded\":true,\"responses\":"
		"[\"response_put\"]}", hdr), &res, &a) == EBADMSG,
	      "txn: response a string");
	CHECK(decode(&x, 200, fmt("{%s,\"responses\":[{\"response_range\":"
		"{\"kvs\":[{\"key\":\"YQ==\"}],\"count\":\"1\"}},"
		"{\"response_delete_range\":{\"deleted\":\"-1\"}}]}", hdr),
		&res, &a) == EBADMSG, "txn: negative deleted");
	etcd_arena_free(&a);
}

static void test_lease(void)
{
	struct etcd_expect g = { .kind = ETCD_K_LEASE_GRANT };
	struct etcd_expect k = { .kind = ETCD_K_LEASE_KEEPALIVE };
	struct etcd_arena a = { 0 };
	struct etcd_res res;

	CHECK(!decode(&g, 200, fmt("{%s,\"ID\":\"6615403244469331208\","
		"\"TTL\":\"5\"}", hdr), &res, &a) &&
	      res.lease_id == 6615403244469331208ll && res.lease_ttl == 5,
	      "grant");
	CHECK(decode(&g, 200, fmt("{%s,\"ID\":\"1\"}", hdr), &res, &a) ==
	      EBADMSG, "grant without TTL");
	CHECK(decode(&g, 200, fmt("{%s,\"TTL\":\"5\"}", hdr), &res, &a) ==
	      EBADMSG, "grant without ID");
	CHECK(decode(&g, 200, fmt("{%s,\"ID\":\"1\",\"TTL\":\"5\",\"error\":"
		"\"lease exists\"}", hdr), &res, &a) != 0, "grant error");
	CHECK(!decode(&k, 200, fmt("{\"result\":{%s,\"ID\":\"12\",\"TTL\":"
		"\"5\"}}", hdr), &res, &a) && res.lease_ttl == 5, "keepalive");
	CHECK(!decode(&k, 200, fmt("{\"result\":{%s,\"ID\":\"12\"}}", hdr),
		&res, &a) && res.lease_ttl == 0, "keepalive: expired");
	CHECK(decode(&k, 200, fmt("{%s,\"ID\":\"12\",\"TTL\":\"5\"}", hdr),
		     &res, &a) == EBADMSG, "keepalive without result");
	CHECK(decode(&k, 200, "{\"error\":{\"grpc_code\":5,\"message\":"
		     "\"lease not found\"}}", &res, &a) == ENOENT,
	      "keepalive stream error");
	CHECK(decode(&k, 200, fmt("{\"result\":{%s,\"ID\":\"12\",\"TTL\":"
		"\"-5\"}}", hdr), &res, &a) == EBADMSG, "negative TTL");
	etcd_arena_free(&a);
}

static int wdecode(const char *line, struct etcd_watch_msg *m,
		   struct etcd_arena *a)
{
	char msg[256];

	etcd_arena_free(a);
	return etcd_watch_decode(line, strlen(line), m, a, msg, sizeof(msg));
}

static void test_watch(void)
{
	struct etcd_arena a = { 0 };
	struct etcd_watch_msg m;

	CHECK(!wdecode(fmt("{\"result\":{%s,\"created\":true}}", hdr), &m, &a)
	      && m.kind == ETCD_WATCH_CREATED && m.revision == 3, "created");
	CHECK(!wdecode(fmt("{\"result\":{%s,\"events\":[{\"kv\":{\"key\":"
		"\"L3cvYQ==\",\"create_revision\":\"5\",\"mod_revision\":\"5\","
		"\"version\":\"1\",\"value\":\"MQ==\"}},{\"type\":\"DELETE\","
		"\"kv\":{\"key\":\"L3cvYQ==\",\"mod_revision\":\"6\"}}]}}", hdr),
		&m, &a) && m.kind == ETCD_WATCH_EVENTS && m.nevents == 2 &&
	      m.events[0].type == ETCD_EV_PUT &&
	      m.events[1].type == ETCD_EV_DELETE &&
	      m.events[1].kv.mod_rev == 6 && !strcmp(m.events[0].kv.key,
						     "/w/a"), "events");
	CHECK(!wdecode("{\"result\":{\"header\":{\"raft_term\":\"2\"},"
		       "\"canceled\":true,\"compact_revision\":\"6\"}}", &m, &a)
	      && m.kind == ETCD_WATCH_COMPACTED && m.compact_revision == 6,
	      "compacted");
	CHECK(wdecode("{\"result\":{\"canceled\":true,\"cancel_reason\":"
		      "\"permission denied\"}}", &m, &a) == ECANCELED,
	      "canceled");
	CHECK(wdecode("{\"error\":{\"grpc_code\":14,\"http_code\":503,"
		      "\"message\":\"no leader\"}}", &m, &a) == EAGAIN,
	      "stream error");
	CHECK(wdecode("{\"result\":5}", &m, &a) == EBADMSG, "result a number");
	CHECK(wdecode("{}", &m, &a) == EBADMSG, "no result");
	CHECK(wdecode(fmt("{\"result\":{%s,\"events\":[{\"type\":\"GET\","
		"\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"5\"}}]}}", hdr),
		&m, &a) == EBADMSG, "unknown event type");
	CHECK(wdecode(fmt("{\"result\":{%s,\"events\":[{\"type\":\"PUT\"}]}}",
		hdr), &m, &a) == EBADMSG, "event without kv");
	CHECK(wdecode(fmt("{\"result\":{%s,\"events\":[{\"kv\":{\"key\":"
		"\"YQ==\"}}]}}", hdr), &m, &a) == EBADMSG,
	      "event without revision");
	CHECK(wdecode(fmt("{\"result\":{%s,\"events\":[{\"kv\":{\"key\":"
		"\"YQ==\",\"mod_revision\":\"7\"}},{\"kv\":{\"key\":\"YQ==\","
		"\"mod_revision\":\"6\"}}]}}", hdr), &m, &a) == EBADMSG,
	      "events out of order");
	CHECK(wdecode(fmt("{\"result\":{%s,\"events\":\"x\"}}", hdr), &m, &a)
	      == EBADMSG, "events a string");
	CHECK(wdecode(fmt("{\"result\":{%s,\"compact_revision\":6}}", hdr), &m,
		      &a) == EBADMSG, "compact_revision a number");
	CHECK(wdecode("{\"result\":{\"created\":true}", &m, &a) == EBADMSG,
	      "truncated");
	etcd_arena_free(&a);
}

#define DEC(fn, v, ...) fn(v, strlen(v), __VA_ARGS__)

/* The directory's values: written by anyone who can write to etcd. */
static void test_dir_values(void)
{
	char addr[XDIR_ADDR_MAX + 1], host[XDIR_HOST_ID_MAX + 1], nonce[17];
	char uuid[XDIR_UUID_LEN + 1], buf[DIR_VALUE_MAX + 2];
	struct xdir_ident id;
	uint64_t n;

	CHECK(!DEC(dir_host_decode, "{\"addr\":\"10.0.0.1:7000\",\"epoch\":3}",
		   addr, &n) && n == 3 && !strcmp(addr, "10.0.0.1:7000"),
	      "good host");
	CHECK(!DEC(dir_host_decode, "{\"addr\":\"[fe80::1]:7000\",\"epoch\":1}",
		   addr, &n), "IPv6 host");
	CHECK(DEC(dir_host_decode, "{\"addr\":\"10.0.0.1\",\"epoch\":3}",
		  addr, &n), "no port");
	CHECK(DEC(dir_host_decode, "{\"addr\":\"10.0.0.1:0\",\"epoch\":3}",
		  addr, &n), "port 0");
	CHECK(DEC(dir_host_decode, "{\"addr\":\"10.0.0.1:70000\",\"epoch\":3}",
		  addr, &n), "port too big");
	CHECK(DEC(dir_host_decode, "{\"addr\":\"evil.example:1\",\"epoch\":3}",
		  addr, &n), "a name, not an address");
	CHECK(DEC(dir_host_decode, "{\"addr\":\"10.0.0.1:1\",\"epoch\":0}",
		  addr, &n), "epoch 0");
	CHECK(DEC(dir_host_decode, "{\"addr\":\"10.0.0.1:1\",\"epoch\":\"3\"}",
		  addr, &n), "epoch a string");
	CHECK(DEC(dir_host_decode, "{\"addr\":\"10.0.0.1:1\",\"epoch\":1e3}",
		  addr, &n), "epoch a float");
	CHECK(DEC(dir_host_decode, "{\"addr\":\"10.0.0.1:1\",\"epoch\":"
		  "99999999999999999999}", addr, &n), "epoch overflow");
	CHECK(DEC(dir_host_decode, "{\"addr\":5,\"epoch\":1}", addr, &n),
	      "addr a number");
	CHECK(DEC(dir_host_decode, "{\"addr\":\"1.2.3.4:5\\u0000x\",\"epoch\":1}",
		  addr, &n), "NUL in addr");
	memset(buf, 'x', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = 0;
	CHECK(DEC(dir_host_decode, buf, addr, &n) == EMSGSIZE, "oversize");

	CHECK(!DEC(dir_guest_decode, "{\"lid\":17,\"guid\":\"0x00163efffe000011\"}",
		   &id) && id.lid == 17 && id.guid == (XDIR_GUID_PREFIX | 17) &&
	      id.gid[0] == 0xfe && id.gid[15] == 0x11, "good guest");
	CHECK(DEC(dir_guest_decode, "{\"lid\":17,\"guid\":\"0x00163efffe000012\"}",
		  &id), "GUID of another LID");
	CHECK(DEC(dir_guest_decode, "{\"lid\":0,\"guid\":\"0x00163efffe000000\"}",
		  &id), "LID 0");
	CHECK(DEC(dir_guest_decode, "{\"lid\":49152,\"guid\":\"0x00163efffe00c000\"}",
		  &id), "multicast LID");
	CHECK(DEC(dir_guest_decode, "{\"lid\":-1,\"guid\":\"0x00163efffe00ffff\"}",
		  &id), "negative LID");
	CHECK(DEC(dir_guest_decode, "{\"lid\":17}", &id), "no GUID");
	CHECK(DEC(dir_guest_decode, "{\"lid\":17,\"guid\":\"00163efffe000011\"}",
		  &id), "GUID without 0x");
	CHECK(DEC(dir_guest_decode, "[17]", &id), "array");

	CHECK(!DEC(dir_loc_decode, "{\"host\":\"h-1.a\",\"gen\":2}", host, &n) &&
	      n == 2 && !strcmp(host, "h-1.a"), "good loc");
	CHECK(DEC(dir_loc_decode, "{\"host\":\"a/b\",\"gen\":2}", host, &n),
	      "slash in host");
	CHECK(DEC(dir_loc_decode, "{\"host\":\"\",\"gen\":2}", host, &n),
	      "empty host");
	CHECK(DEC(dir_loc_decode, "{\"host\":\"h\",\"gen\":0}", host, &n),
	      "gen 0");
	CHECK(DEC(dir_loc_decode, "{\"host\":\"0123456789012345678901234567"
		  "890123456789012345678901234567890123\",\"gen\":1}", host,
		  &n), "host id too long");
	CHECK(DEC(dir_loc_decode, "{\"host\":\"h\",\"gen\":1", host, &n),
	      "truncated");

	CHECK(!DEC(dir_epoch_decode, "{\"epoch\":4,\"nonce\":\"0011223344556677\"}",
		   &n, nonce) && n == 4, "good epoch");
	CHECK(DEC(dir_epoch_decode, "{\"epoch\":4,\"nonce\":\"00112233445566778\"}",
		  &n, nonce), "long nonce");

	CHECK(dir_lid_of_key("/p/loc/00ff", 11, "/p/loc/") == 0xff, "LID key");
	CHECK(!dir_lid_of_key("/p/loc/00FF", 11, "/p/loc/"), "uppercase");
	CHECK(!dir_lid_of_key("/p/loc/c000", 11, "/p/loc/"), "LID too big");
	CHECK(!dir_lid_of_key("/p/loc/0000", 11, "/p/loc/"), "LID 0 key");
	CHECK(!dir_lid_of_key("/p/loc/00f", 10, "/p/loc/"), "short key");
	CHECK(!dir_lid_of_key("/p/loc/000ff", 12, "/p/loc/"), "long key");
	CHECK(dir_uuid_norm("0A1B2C3D-0000-4000-8000-00000000000F", uuid) &&
	      !strcmp(uuid, "0a1b2c3d-0000-4000-8000-00000000000f"),
	      "uuid lowercased");
	CHECK(!dir_uuid_norm("0a1b2c3d00000-4000-8000-00000000000f", uuid),
	      "uuid without dash");
	CHECK(!dir_uuid_norm("0a1b2c3d-0000-4000-8000-00000000000g", uuid),
	      "uuid non-hex");
	CHECK(!dir_host_id_ok(".hidden", 7) && !dir_host_id_ok("a b", 3) &&
	      dir_host_id_ok("node-7.rack_2", 13), "host ids");
}

int main(void)
{
	test_b64();
	test_range();
	test_errors();
	test_txn();
	test_lease();
	test_watch();
	test_dir_values();
	return check_summary();
}
