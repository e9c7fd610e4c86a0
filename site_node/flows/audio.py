"""Recorded prompts of a flow, checked when it is published: every file exists and decodes."""

from __future__ import annotations

from pathlib import Path

from site_node.ivr import Flow, InvalidFlow
from site_node.media.errors import PromptError
from site_node.media.recorded import decode_file, resolve


def check_flow_audio(flow: Flow, prompts_dir: Path) -> None:
    """Every audio file the flow names exists in ``prompts_dir`` and decodes (InvalidFlow if not)."""
    for node in flow.nodes.values():
        for value in node.spec.values():
            audio = getattr(value, "audio", None)
            for language, name in (audio or {}).items():
                try:
                    decode_file(resolve(prompts_dir, name))
                except PromptError as exc:
                    raise InvalidFlow(flow.id, node.id, f"audio ({language}) {exc}") from exc
