"""What a caller can leave instead of waiting: a callback request or a voicemail message."""

from site_node.messages.service import Messages

__all__ = ["Messages"]
