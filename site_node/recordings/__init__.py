"""Recordings and voicemail at rest: sealed as written (:mod:`.sealed`), opened only by the
role-checked, audited playback endpoints (:mod:`.api`)."""
