"""The one wiring point of central's business features: the business database is opened (and
migrated) once per replica and its engine handed to the CRM, work orders, notifications,
campaigns, the knowledge base, QA and the SOP flows (whose service tasks resolve resources through
the :class:`~central.sop.resolver.Resolver` given); the
CRM lends the others its contact history, consent flags and customer check
(:class:`central.crm.hooks.CrmLinks`). Any replica serves them; the routing leader is not involved.
"""

from __future__ import annotations

from aiohttp import web

from central.business.config import BusinessConfig
from central.business.db import BusinessDb
from central.campaigns.api import CampaignsApi
from central.crm.api import CrmApi
from central.crm.hooks import CrmLinks
from central.crm.store import CrmStore
from central.knowledge.api import KnowledgeApi
from central.qa.api import QaApi
from central.sop.api import SopApi
from central.sop.resolver import Resolver
from central.workorders.api import Feature as WorkOrdersFeature
from central.workorders.api import install as install_workorders
from central.workorders.config import WorkOrdersConfig
from central.workorders.escalation import EscalationSink
from cluster.clock import LOOP_SCHEDULER, SYSTEM_CLOCK, Clock, Scheduler
from cluster.tokens import TokenSigner


class BusinessServices:
    def __init__(
        self,
        config: BusinessConfig,
        workorders: WorkOrdersConfig,
        signer: TokenSigner,
        *,
        replica: str,
        max_body_bytes: int,
        clock: Clock = SYSTEM_CLOCK,
        scheduler: Scheduler = LOOP_SCHEDULER,
        escalations: EscalationSink | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.config = config
        self._workorders_config = workorders
        self._signer = signer
        self._clock = clock
        self._scheduler = scheduler
        self._escalations = escalations
        self.db: BusinessDb | None = None
        self.crm = CrmApi(config, signer, replica=replica, max_body_bytes=max_body_bytes, clock=clock)
        self.campaigns = CampaignsApi(self, signer, max_body_bytes=max_body_bytes, clock=clock)
        self.knowledge = KnowledgeApi(self, signer, max_body_bytes=max_body_bytes, clock=clock)
        self.qa = QaApi(self, signer, max_body_bytes=max_body_bytes, clock=clock)
        self.workorders: WorkOrdersFeature | None = None
        self.sop = (SopApi(self, signer, resolver, max_body_bytes=max_body_bytes, clock=clock, scheduler=scheduler)
                    if resolver is not None else None)  # fmt: skip

    def install(self, app: web.Application) -> None:
        """Add every business route to ``app`` (they answer 503 until :meth:`start`)."""
        self.crm.install(app)
        self.campaigns.install(app)
        self.knowledge.install(app)
        if self.sop is not None:
            self.sop.install(app)
        self.qa.install(app)
        self.workorders = install_workorders(
            app,
            self._workorders_config,
            self._signer,
            data_dir=self.config.data_dir,
            clock=self._clock,
            scheduler=self._scheduler,
            escalations=self._escalations,
        )

    async def start(self) -> None:
        self.db = await BusinessDb.open(self.config)
        try:
            await self.crm.start(self.db)
            await self.campaigns.start()
            await self.knowledge.start()
            if self.sop is not None:
                await self.sop.start()
            await self.qa.start()
            if self.workorders is not None:
                await self.workorders.start(self.db.engine, CrmLinks(CrmStore(self.db.sessions, self.db.reads)))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self.workorders is not None:
            await self.workorders.stop()
        await self.qa.stop()
        if self.sop is not None:
            await self.sop.stop()
        await self.knowledge.stop()
        await self.campaigns.stop()
        await self.crm.stop()
        if self.db is not None:
            await self.db.close()
            self.db = None
