"""Administration (issue 19, point 4): agents' skills, queues and the not-ready / wrap-up codes,
changed by an administrator at central and published to every site through etcd."""

from central.admin.api import AdminApi

__all__ = ["AdminApi"]
