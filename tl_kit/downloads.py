"""Downloading a file, and knowing when not to try: one place for the kit's downloads.

Every download (VGG16's ImageNet weights, the online data sets) goes through `download`, which is
`keras.utils.get_file` with a socket timeout and the mirror a classroom may set ($TL_KIT_MIRROR):
Keras removes a partial file when a transfer fails, so nothing half-written is left. Before
trying, `network_reachable` probes the server with a short timeout, so that no network means a
clear message within seconds, never a hang. The hashes that check what arrived are here too.
"""

from __future__ import annotations

import hashlib
import socket
import urllib.parse
from pathlib import Path

from . import config

#: The server Keras' files come from (VGG16's weights, the online data sets).
ORIGIN_HOST = "storage.googleapis.com"


def file_hash(path: Path, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in 1 MiB chunks (weights and archives are tens of MB)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def md5sum(path: Path) -> str:
    """MD5 of a file: what Keras pins for its weights files."""
    return file_hash(path, "md5")


def download_url(url: str) -> str:
    """`url`, or the same file on the mirror named by $TL_KIT_MIRROR (`MIRROR/<host>/<path>`)."""
    mirror = config.get("mirror")
    if not mirror:
        return url
    parts = urllib.parse.urlsplit(url)
    return f"{mirror.rstrip('/')}/{parts.netloc}{parts.path}"


def origin() -> str:
    """Where downloads come from, for messages: the mirror, else the original host."""
    return config.get("mirror") or ORIGIN_HOST


def network_reachable(host: str | None = None, port: int | None = None, timeout: float = 3.0) -> bool:
    """True when a TCP connection to host:port opens within `timeout` seconds (default: the
    download server, i.e. the mirror when one is set)."""
    if host is None:
        parts = urllib.parse.urlsplit(download_url(f"https://{ORIGIN_HOST}/"))
        host, port = parts.hostname, parts.port or (80 if parts.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port or 443), timeout=timeout):
            return True
    except OSError:
        return False


#: Seconds a download may wait for the server before it is given up (a dead network cannot hang it).
DOWNLOAD_TIMEOUT = 60.0


def download(url: str, fname: str, folder: Path, timeout: float | None = None) -> Path:
    """keras.utils.get_file of `url` (or its copy on $TL_KIT_MIRROR) into `folder`, with a socket
    timeout. Keras removes a partial file when the transfer fails (server error, cut short, timeout)."""
    import keras

    folder.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout or DOWNLOAD_TIMEOUT)
    try:
        return Path(keras.utils.get_file(fname, download_url(url), cache_dir=str(folder.parent),
                                         cache_subdir=folder.name))
    finally:
        socket.setdefaulttimeout(previous)
