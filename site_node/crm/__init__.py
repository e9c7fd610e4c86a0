"""The site's view of central's customers (issue 17): only through central's HTTP API.

:class:`~site_node.crm.client.CentralCrm` tries each central replica in turn, keeps a bounded
LRU read cache (a call in progress keeps its screen pop while central is briefly unreachable)
and appends each call to the customer's contact history at central;
:class:`~site_node.crm.directory.CentralCustomers` is what the IVR and the screen pop ask.
"""

from site_node.crm.client import CentralCrm, CrmUnavailable, EtcdCentrals
from site_node.crm.directory import CentralCustomers, CustomerCard, Customers

__all__ = ["CentralCrm", "CentralCustomers", "CrmUnavailable", "CustomerCard", "Customers", "EtcdCentrals"]
