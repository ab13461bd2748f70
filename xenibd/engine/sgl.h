/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Scatter/gather lists translated to backend addresses (sgl.c): what the
 * engine moves bytes between.  Counts are bounded by XENIB_MAX_SGE, and
 * every function that fills an SGL checks its count against that itself.
 */
#ifndef XENIBD_ENGINE_SGL_H
#define XENIBD_ENGINE_SGL_H

#include <stdbool.h>
#include <stdint.h>
#include <rdma/xenib-abi.h>

struct xd_pd;

struct xd_sgl {
	uint32_t n;
	uint64_t total;
	struct {
		char *va;
		uint32_t len;
	} e[XENIB_MAX_SGE];
};

/*
 * Translate n guest SGEs through pd's MRs with access; false if n is past
 * XENIB_MAX_SGE or any SGE is not a valid local buffer.  Zero-length SGEs
 * are left out.
 */
bool xd_sgl_translate(struct xd_sgl *sgl, const struct xenib_sge *sge,
		      uint32_t n, const struct xd_pd *pd, uint32_t access);
/* One buffer (inline data, a GRH, an atomic's result). */
void xd_sgl_one(struct xd_sgl *sgl, void *va, uint32_t len);
/* The bytes [off, off + len) of sgl (off + len <= total) as an SGL. */
void xd_sgl_sub(struct xd_sgl *out, const struct xd_sgl *sgl, uint64_t off,
		uint64_t len);
/* Copy min(dst->total, src->total) bytes of src into dst. */
void xd_sgl_copy(struct xd_sgl *dst, const struct xd_sgl *src);
/* Copy between an SGL and one contiguous buffer. */
void xd_sgl_to_buf(char *dst, const struct xd_sgl *src);
void xd_sgl_from_buf(struct xd_sgl *dst, const char *src);

#endif /* XENIBD_ENGINE_SGL_H */
