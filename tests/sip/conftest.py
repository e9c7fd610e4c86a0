"""SIP tests: a real local cluster with Kamailio and a SIP edge; SIPp as the carrier.

(:func:`~loadtests.sip.dev_entry_points.sip_entry_points`: the ``sip-edge`` command for an
editable install older than it.)"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from cluster.launcher import LocalCluster
from loadtests.sip.dev_entry_points import sip_entry_points
from tests.e2e.conftest import pytest_runtest_makereport  # noqa: F401  (logs of a failed test)
from tests.e2e.helpers import running_cluster

needs_sip = pytest.mark.skipif(
    shutil.which("kamailio") is None or shutil.which("sipp") is None, reason="kamailio and sipp (apt) are needed"
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    base = tmp_path_factory.mktemp("sipcluster")
    with running_cluster(base, sites=2, centrals=1, sip_edges=1, extra_env=sip_entry_points(base)) as c:
        yield c
