"""Audio at rest (recordings, voicemail): sealed with AES-256-GCM as it is written.

No plaintext audio ever reaches the disk: the recorder hands 16-bit PCM to a
:class:`SealedWriter`, which buffers at most one chunk (64 KiB, about a second of stereo) in
memory and writes each chunk encrypted under its own nonce. Only :func:`read_sealed` (the
site's role-checked, audited playback endpoint) turns a file back into audio, as a WAV.

File layout (all integers big-endian)::

    header  magic "CCAUDIO1" | key id (8) | nonce prefix (8) | channels (1) | sample width (1) | rate (4)
    chunk   ciphertext length (4) | final flag (1) | AES-GCM(ciphertext + 16-byte tag)

A chunk's nonce is the file's random prefix and the chunk's index; its associated data is the
header, the index and the final flag. Changing, reordering, dropping or appending chunks, or
cutting the file short (no final chunk), fails authentication: :class:`AudioTampered`.

Keys: ``site.recording_key`` (required, no default; ``callcenter demo`` makes one per run),
stretched with HKDF-SHA256 to the AES key; ``site.previous_recording_keys`` still open files
sealed before a rotation (the header's key id picks the key).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cluster.config import required_secret
from cluster.errors import CallCenterError
from site_node.config import SiteConfig

MAGIC = b"CCAUDIO1"
CHUNK_BYTES = 64 * 1024
_HEADER = struct.Struct(">8s8s8sBBI")
_CHUNK = struct.Struct(">IB")
_TAG_BYTES = 16
SUFFIX = ".sealed"


class AudioTampered(CallCenterError):
    """The file is not what was sealed: altered, truncated, extended, or not a sealed file."""

    error_id = "recording.tampered"
    status = 422


class AudioKeyUnknown(CallCenterError):
    """Sealed with a key this site no longer holds (add it to site.previous_recording_keys)."""

    error_id = "recording.unknown_key"
    status = 422


def _derive(secret: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"callcenter audio at rest v1").derive(
        secret.encode()
    )


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"callcenter-audio-kid:" + key).digest()[:8]


class AudioKeys:
    """Seals with the current key; opens with it or a previous one, chosen by the key id."""

    def __init__(self, current: str, previous: Sequence[str] = ()) -> None:
        derived = [_derive(secret) for secret in (current, *previous)]
        self.current_id = _key_id(derived[0])
        self._ciphers = {_key_id(key): AESGCM(key) for key in reversed(derived)}

    def cipher(self, key_id: bytes) -> AESGCM:
        try:
            return self._ciphers[key_id]
        except KeyError:
            raise AudioKeyUnknown("sealed with a key this site does not hold (see site.previous_recording_keys)",
                                  key_id=key_id.hex()) from None


def require_audio_keys(site: SiteConfig) -> AudioKeys:
    """The keys this site seals and opens its recordings and voicemail with."""
    key = required_secret(site.recording_key, "site.recording_key", "give the site the key its audio is sealed with")
    return AudioKeys(key, site.previous_recording_keys)


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">IB", index, final)


class SealedWriter:
    """Writes PCM to ``path`` sealed chunk by chunk; :meth:`close` seals the final chunk."""

    def __init__(self, path: Path, keys: AudioKeys, *, channels: int, rate: int, sample_width: int = 2) -> None:
        self._prefix = os.urandom(8)
        self._header = _HEADER.pack(MAGIC, keys.current_id, self._prefix, channels, sample_width, rate)
        self._cipher = keys.cipher(keys.current_id)
        self._file: BinaryIO | None = open(path, "wb")  # closed in close()
        self._file.write(self._header)
        self._buffer = bytearray()
        self._index = 0

    def write(self, pcm: bytes) -> None:
        self._buffer += pcm
        while len(self._buffer) >= CHUNK_BYTES:
            self._seal(bytes(self._buffer[:CHUNK_BYTES]), final=False)
            del self._buffer[:CHUNK_BYTES]

    def _seal(self, plain: bytes, *, final: bool) -> None:
        assert self._file is not None
        nonce = self._prefix + self._index.to_bytes(4, "big")
        sealed = self._cipher.encrypt(nonce, plain, _aad(self._header, self._index, final))
        self._file.write(_CHUNK.pack(len(sealed), final) + sealed)
        self._index += 1

    def close(self) -> None:
        if self._file is None:
            return
        self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()
        self._file.close()
        self._file = None


@dataclass(frozen=True, slots=True)
class SealedAudio:
    channels: int
    sample_width: int
    rate: int
    pcm: bytes

    def wav(self) -> bytes:
        out = io.BytesIO()
        with wave.open(out, "wb") as wav:
            wav.setnchannels(self.channels)
            wav.setsampwidth(self.sample_width)
            wav.setframerate(self.rate)
            wav.writeframes(self.pcm)
        return out.getvalue()


def read_sealed(path: Path, keys: AudioKeys) -> SealedAudio:
    """Open a sealed file, checking every chunk; :class:`AudioTampered` if anything is off."""
    data = path.read_bytes()
    if len(data) < _HEADER.size:
        raise AudioTampered("recording is not a sealed audio file (too short)")
    header = data[: _HEADER.size]
    magic, key_id, prefix, channels, sample_width, rate = _HEADER.unpack(header)
    if magic != MAGIC:
        raise AudioTampered("recording is not a sealed audio file")
    cipher = keys.cipher(key_id)
    pcm = bytearray()
    offset, index, final = _HEADER.size, 0, False
    while not final:
        if offset + _CHUNK.size > len(data):
            raise AudioTampered("recording is cut short (no final chunk)", chunk=index)
        length, flag = _CHUNK.unpack_from(data, offset)
        offset += _CHUNK.size
        final = bool(flag)
        sealed = data[offset : offset + length]
        if length < _TAG_BYTES or len(sealed) != length:
            raise AudioTampered("recording is cut short", chunk=index)
        try:
            pcm += cipher.decrypt(prefix + index.to_bytes(4, "big"), sealed, _aad(header, index, final))
        except InvalidTag:
            raise AudioTampered("recording was altered (authentication failed)", chunk=index) from None
        offset += length
        index += 1
    if offset != len(data):
        raise AudioTampered("recording has bytes after its final chunk")
    return SealedAudio(channels, sample_width, rate, bytes(pcm))
