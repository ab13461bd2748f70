// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Scatter/gather lists (sgl.h). */
#include <string.h>

#include "xenibd/dev/dev.h"
#include "xenibd/engine/sgl.h"

bool xd_sgl_translate(struct xd_sgl *sgl, const struct xenib_sge *sge,
		      uint32_t n, const struct xd_pd *pd, uint32_t access)
{
	uint32_t i;

	sgl->n = 0;
	sgl->total = 0;
	if (n > XENIB_MAX_SGE)	/* sgl->e has room for no more */
		return false;
	for (i = 0; i < n; i++) {
		char *va;

		if (!sge[i].length)
			continue;
		va = xd_mr_translate(sge[i].lkey, pd, sge[i].addr,
				     sge[i].length, access);
		if (!va)
			return false;
		sgl->e[sgl->n].va = va;
		sgl->e[sgl->n].len = sge[i].length;
		sgl->n++;
		sgl->total += sge[i].length;
	}
	return true;
}

void xd_sgl_one(struct xd_sgl *sgl, void *va, uint32_t len)
{
	sgl->n = len ? 1 : 0;
	sgl->total = len;
	sgl->e[0].va = va;
	sgl->e[0].len = len;
}

void xd_sgl_sub(struct xd_sgl *out, const struct xd_sgl *sgl, uint64_t off,
		uint64_t len)
{
	uint32_t i;

	out->n = 0;
	out->total = 0;
	for (i = 0; i < sgl->n && len; i++) {
		uint64_t n;

		if (off >= sgl->e[i].len) {
			off -= sgl->e[i].len;
			continue;
		}
		n = sgl->e[i].len - off;
		if (n > len)
			n = len;
		out->e[out->n].va = sgl->e[i].va + off;
		out->e[out->n].len = n;
		out->n++;
		out->total += n;
		len -= n;
		off = 0;
	}
}

void xd_sgl_copy(struct xd_sgl *dst, const struct xd_sgl *src)
{
	uint32_t si = 0, di = 0, soff = 0, doff = 0;

	while (si < src->n && di < dst->n) {
		uint32_t n = src->e[si].len - soff;

		if (n > dst->e[di].len - doff)
			n = dst->e[di].len - doff;
		memcpy(dst->e[di].va + doff, src->e[si].va + soff, n);
		soff += n;
		doff += n;
		if (soff == src->e[si].len) {
			si++;
			soff = 0;
		}
		if (doff == dst->e[di].len) {
			di++;
			doff = 0;
		}
	}
}

void xd_sgl_to_buf(char *dst, const struct xd_sgl *src)
{
	uint32_t i;

	for (i = 0; i < src->n; i++) {
		memcpy(dst, src->e[i].va, src->e[i].len);
		dst += src->e[i].len;
	}
}

void xd_sgl_from_buf(struct xd_sgl *dst, const char *src)
{
	uint32_t i;

	for (i = 0; i < dst->n; i++) {
		memcpy(dst->e[i].va, src, dst->e[i].len);
		src += dst->e[i].len;
	}
}
