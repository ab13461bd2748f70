// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * RDMA devices, through libibverbs' public API: the list is read once,
 * devices are opened when an id is bound to them (or rdma_get_devices asks)
 * and stay open while the library is loaded, as upstream's do.  An id bound
 * to a device shares its default PD (and XRC domain) with the other ids
 * there.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "cma.h"

void cma_set_devname(const char *name);

static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cma_device *devices;
static int ndevices;

static bool xenib_before(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la != lb ? la < lb : strcmp(a, b) < 0;	/* xenib2 < xenib10 */
}

int cma_devices_init(void)
{
	struct ibv_device **list;
	const char *cm_dev = NULL;
	int n, i;

	list = ibv_get_device_list(&n);
	if (!list)
		return errno ? errno : ENODEV;
	for (i = n - 1; i >= 0; i--) {
		struct cma_device *d = calloc(1, sizeof(*d));

		if (!d) {
			ibv_free_device_list(list);
			return ENOMEM;
		}
		d->dev = list[i];
		d->guid = ibv_get_device_guid(list[i]);
		d->next = devices;
		devices = d;
		ndevices++;
		if (!strncmp(list[i]->name, "xenib", 5) &&
		    (!cm_dev || xenib_before(list[i]->name, cm_dev)))
			cm_dev = list[i]->name;
	}
	/* The list itself stays allocated: the ibv_device pointers live on. */
	if (!cm_dev) {
		cma_dbg("no xenib device: no connection manager");
		return ENODEV;
	}
	cma_set_devname(cm_dev);
	return 0;
}

static int open_device(struct cma_device *d)
{
	struct ibv_device_attr attr;
	int err;

	if (d->verbs)
		return 0;
	d->verbs = ibv_open_device(d->dev);
	if (!d->verbs)
		return errno ? errno : ENODEV;
	err = ibv_query_device(d->verbs, &attr);
	if (err) {
		ibv_close_device(d->verbs);
		d->verbs = NULL;
		return err;
	}
	d->max_qpsize = attr.max_qp_wr;
	d->max_initiator_depth = (uint8_t)attr.max_qp_init_rd_atom;
	d->max_responder_resources = (uint8_t)attr.max_qp_rd_atom;
	return 0;
}

EXPORT struct ibv_context **rdma_get_devices(int *num_devices)
{
	struct ibv_context **out = NULL;
	struct cma_device *d;
	int i = 0;

	if (num_devices)
		*num_devices = 0;
	if (cma_init())
		return NULL;
	pthread_mutex_lock(&dev_lock);
	for (d = devices; d; d = d->next)
		if (open_device(d))
			goto out;
	out = malloc(sizeof(*out) * (ndevices + 1));
	if (!out)
		goto out;
	for (d = devices; d; d = d->next)
		out[i++] = d->verbs;
	out[i] = NULL;
	if (num_devices)
		*num_devices = i;
out:
	pthread_mutex_unlock(&dev_lock);
	return out;
}

/* The devices stay open while the library is loaded (as upstream's). */
EXPORT void rdma_free_devices(struct ibv_context **list)
{
	free(list);
}

int cma_get_device(struct cma_id_private *p, __be64 guid)
{
	struct cma_device *d;
	int err = ENODEV;

	pthread_mutex_lock(&dev_lock);
	for (d = devices; d; d = d->next)
		if (d->guid == guid)
			break;
	if (!d)
		goto out;
	err = open_device(d);
	if (err)
		goto out;
	if (!d->pd)
		d->pd = ibv_alloc_pd(d->verbs);
	if (!d->pd) {
		err = errno ? errno : ENOMEM;
		goto out;
	}
	d->refcnt++;
	p->cma_dev = d;
	p->id.verbs = d->verbs;
	p->id.pd = d->pd;
	err = 0;
out:
	pthread_mutex_unlock(&dev_lock);
	return err ? cma_err(err) : 0;
}

void cma_put_device(struct cma_device *d)
{
	pthread_mutex_lock(&dev_lock);
	if (d->refcnt && !--d->refcnt) {
		if (d->pd)
			ibv_dealloc_pd(d->pd);
		if (d->xrcd)
			ibv_close_xrcd(d->xrcd);
		d->pd = NULL;
		d->xrcd = NULL;
	}
	pthread_mutex_unlock(&dev_lock);
}

struct ibv_xrcd *cma_get_xrcd(struct cma_device *d)
{
	struct ibv_xrcd_init_attr attr;

	pthread_mutex_lock(&dev_lock);
	if (!d->xrcd) {
		memset(&attr, 0, sizeof(attr));
		attr.comp_mask = IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS;
		attr.fd = -1;
		attr.oflags = O_CREAT;
		d->xrcd = ibv_open_xrcd(d->verbs, &attr);
	}
	pthread_mutex_unlock(&dev_lock);
	return d->xrcd;
}
