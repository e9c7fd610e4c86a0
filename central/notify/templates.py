"""Message templates per language (``en``, ``zh``); an unknown language falls back to English.

Templates name only what a customer may read on a phone's lock screen: the order's reference
and subject, never a PIN, password or account number.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from central.notify.errors import NotifyError, UnknownTemplate

DEFAULT_LANGUAGE = "en"
TEMPLATES: Mapping[str, Mapping[str, tuple[str, str]]] = {
    "workorder_created": {
        "en": (
            "We received your request $order_id",
            "Dear customer, we registered your request $order_id ($subject). We will keep you informed.",
        ),
        "zh": (
            "我们已收到您的工单 $order_id",
            "尊敬的客户，您的工单 $order_id（$subject）已登记，我们会及时告知您进展。",
        ),
    },
    "workorder_resolved": {
        "en": (
            "Your request $order_id is resolved",
            "Dear customer, your request $order_id ($subject) has been resolved. "
            "If anything is still wrong, call us and quote $order_id.",
        ),
        "zh": (
            "您的工单 $order_id 已处理完毕",
            "尊敬的客户，您的工单 $order_id（$subject）已处理完毕。如仍有问题，请致电我们并提供工单号 $order_id。",
        ),
    },
}


@dataclass(frozen=True)
class Rendered:
    language: str
    subject: str
    body: str


def render(template: str, language: str, params: Mapping[str, str]) -> Rendered:
    by_language = TEMPLATES.get(template)
    if by_language is None:
        raise UnknownTemplate(f"no template {template!r}; one of {sorted(TEMPLATES)}", template=template)
    used = language if language in by_language else DEFAULT_LANGUAGE
    subject, body = by_language[used]
    try:
        return Rendered(used, string.Template(subject).substitute(params), string.Template(body).substitute(params))
    except KeyError as exc:
        raise NotifyError(f"template {template!r} needs {exc.args[0]!r}", error_id="notify.missing_param") from None
