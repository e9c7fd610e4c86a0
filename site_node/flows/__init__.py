"""IVR flows as cluster-wide configuration: the publishing API and the sync through etcd."""
