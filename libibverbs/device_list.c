// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Device discovery and the device list.
 *
 * Every ibv_get_device_list() asks each discovery provider for the devices
 * present now.  A device keeps its struct verbs_device for the life of the
 * process, keyed by (provider, dev_id), so ibv_device pointers stay stable
 * across lists; devices no longer reported are just left out of the list.
 * Device objects are never freed: a list or an open context may still point
 * at them, and a device that comes back must get its old pointer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ibverbs.h"
#include "util/list.h"

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
/* struct verbs_device.link, in creation order */
static struct list_node all_devices = LIST_INIT(all_devices);
static int next_index;

struct discovery {
	const struct verbs_device_ops *ops;
};

void ibverbs_device_get(struct verbs_device *vdev)
{
	__atomic_add_fetch(&vdev->refcount, 1, __ATOMIC_RELAXED);
}

void ibverbs_device_put(struct verbs_device *vdev)
{
	__atomic_sub_fetch(&vdev->refcount, 1, __ATOMIC_RELAXED);
}

static struct verbs_device *find_device(const struct verbs_device_ops *ops,
					const char *dev_id)
{
	struct list_node *pos;

	list_for_each(pos, &all_devices) {
		struct verbs_device *vdev =
			list_entry(pos, struct verbs_device, link);

		if (vdev->ops == ops && !strcmp(vdev->dev_id, dev_id))
			return vdev;
	}
	return NULL;
}

/*
 * dev_name is the device's node under /dev/infiniband, as a uverbs
 * device's is ("uverbs0"); dev_path the class path named after it.
 */
static void set_paths(struct ibv_device *dev, const char *name,
		      const char *dev_name)
{
	if (!*dev_name)
		dev_name = name;
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	snprintf(dev->dev_name, sizeof(dev->dev_name), "%s", dev_name);
	snprintf(dev->dev_path, sizeof(dev->dev_path),
		 "/sys/class/infiniband_verbs/%s", dev_name);
	snprintf(dev->ibdev_path, sizeof(dev->ibdev_path),
		 "/sys/class/infiniband/%s", name);
}

static struct verbs_device *new_device(const struct verbs_device_ops *ops,
				       const struct verbs_discovered_device *d,
				       const char *dev_id)
{
	struct verbs_device *vdev;

	vdev = calloc(1, sizeof(*vdev));
	if (!vdev)
		return NULL;
	vdev->device.node_type = d->node_type;
	vdev->device.transport_type = d->transport_type;
	vdev->ops = ops;
	snprintf(vdev->dev_id, sizeof(vdev->dev_id), "%s", dev_id);
	vdev->index = next_index++;

	list_add_tail(&all_devices, &vdev->link);
	return vdev;
}

/* The add() callback handed to a provider's discover(). */
static int add_device(void *cookie, const struct verbs_discovered_device *d)
{
	struct discovery *disc = cookie;
	char dev_id[sizeof(d->dev_id)], name[sizeof(d->name)];
	char node[sizeof(d->dev_name)];
	struct verbs_device *vdev;

	if (!d)
		return EINVAL;
	snprintf(dev_id, sizeof(dev_id), "%.*s", (int)sizeof(d->dev_id) - 1,
		 d->dev_id);
	snprintf(name, sizeof(name), "%.*s", (int)sizeof(d->name) - 1,
		 d->name);
	if (!*dev_id || !*name)
		return EINVAL;

	vdev = find_device(disc->ops, dev_id);
	if (!vdev) {
		vdev = new_device(disc->ops, d, dev_id);
		if (!vdev)
			return ENOMEM;
		ibverbs_dbg("new device %s (%s) index %d\n", name, dev_id,
			    vdev->index);
	}
	/* Its node may differ from the last discovery's (a new xenibd). */
	snprintf(node, sizeof(node), "%.*s", (int)sizeof(d->dev_name) - 1,
		 d->dev_name);
	set_paths(&vdev->device, name, node);
	vdev->node_guid = d->node_guid;
	vdev->provider_data = d->provider_data;
	vdev->present = true;
	return 0;
}

static void discover_all(void)
{
	const struct verbs_device_ops *ops;
	struct discovery disc;
	struct list_node *pos;
	unsigned int i;
	int ret;

	list_for_each(pos, &all_devices)
		list_entry(pos, struct verbs_device, link)->present = false;

	for (i = 0; (ops = ibverbs_driver(i)); i++) {
		if (!ops->discover)
			continue;
		disc.ops = ops;
		ret = ops->discover(add_device, &disc);
		if (ret)
			ibverbs_dbg("provider %s: discovery failed: %s\n",
				    ops->name ? ops->name : "?", strerror(ret));
	}
}

static struct ibv_device **build_list(int *num)
{
	struct ibv_device **list;
	struct verbs_device *vdev;
	struct list_node *pos;
	int n = 0;

	list_for_each(pos, &all_devices)
		n += list_entry(pos, struct verbs_device, link)->present;

	list = calloc(n + 1, sizeof(*list));
	if (!list)
		return ibverbs_fail_ptr(ENOMEM);

	n = 0;
	list_for_each(pos, &all_devices) {
		vdev = list_entry(pos, struct verbs_device, link);
		if (!vdev->present)
			continue;
		ibverbs_device_get(vdev);
		list[n++] = &vdev->device;
	}
	if (num)
		*num = n;
	return list;
}

struct ibv_device **ibv_get_device_list(int *num_devices)
{
	struct ibv_device **list;

	if (num_devices)
		*num_devices = 0;
	ibverbs_init_once();

	pthread_mutex_lock(&list_lock);
	discover_all();
	list = build_list(num_devices);
	pthread_mutex_unlock(&list_lock);
	return list;
}

void ibv_free_device_list(struct ibv_device **list)
{
	struct ibv_device **p;

	if (!list)
		return;
	for (p = list; *p; p++)
		ibverbs_device_put(verbs_get_device(*p));
	free(list);
}

int ibv_get_device_index(struct ibv_device *device)
{
	return device ? verbs_get_device(device)->index : -1;
}

const char *ibv_get_device_name(struct ibv_device *device)
{
	return device ? device->name : NULL;
}

__be64 ibv_get_device_guid(struct ibv_device *device)
{
	return device ? verbs_get_device(device)->node_guid : 0;
}
