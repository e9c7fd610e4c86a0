"""Attachment bytes on disk, named by their SHA-256 (one copy however often attached);
the metadata lives in the database (``wo_attachments``)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from pathlib import Path

from central.workorders.errors import NotFound

_SHA = re.compile(r"^[0-9a-f]{64}$")


class AttachmentFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, sha256: str) -> Path:
        if not _SHA.match(sha256):
            raise NotFound(f"no attachment {sha256!r}")
        return self.directory / sha256[:2] / sha256

    async def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, digest, data)
        return digest

    def _write(self, digest: str, data: bytes) -> None:
        target = self.path(digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        os.replace(partial, target)  # readers never see half a file

    async def get(self, sha256: str) -> bytes:
        path = self.path(sha256)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise NotFound(f"no attachment {sha256!r}") from None
