"""Customer calls at a site: joining, the IVR, queueing and offers, call control, ending,
the routing records in etcd and the CDRs. Wired in :mod:`site_node.runtime.service`."""
