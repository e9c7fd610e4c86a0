"""webrtc_client package."""
