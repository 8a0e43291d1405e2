"""Fetch files into a cache, verified by SHA-256: a file is in the cache only if its checksum matched.

Cache directory: ``cache`` argument, else ``$TEXTLSTM_CACHE``, else ``$XDG_CACHE_HOME/textlstm``
(``~/.cache/textlstm``). Mirror (offline or air-gapped machines): ``mirror`` argument, else
``$TEXTLSTM_MIRROR``; either a base URL or a local directory holding the files under their original
names. Downloads go to a temporary file beside the target, are checked (size and SHA-256), then
renamed; a mismatch or an interrupted transfer leaves nothing in the cache.
"""

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path

from textlstm.errors import TextlstmError
from textlstm.files import apply_umask

CACHE_VARIABLE = "TEXTLSTM_CACHE"
MIRROR_VARIABLE = "TEXTLSTM_MIRROR"
_CHUNK = 1 << 20
_TIMEOUT_SECONDS = 60


class DownloadError(TextlstmError):
    """A file could not be fetched or did not match its checksum; nothing was kept."""


def cache_dir(cache=None):
    """The cache directory (not created)."""
    if cache:
        return Path(cache).expanduser()
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "textlstm"


def mirror_setting(mirror=None):
    """The mirror in force (argument, then environment variable), or None."""
    mirror = mirror or os.environ.get(MIRROR_VARIABLE) or None
    return str(mirror) if mirror else None


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(name, url, sha256, directory, size=None, mirror=None, progress=True):
    """The verified local copy of a file, downloading it into ``directory`` if it is not there.

    Args:
        name: the file's original name (also its name on a mirror and in the cache).
        url: where the publisher hosts it.
        sha256: its expected SHA-256, hex.
        directory: the cache folder for it.
        size: its expected size in bytes, or None.
        mirror: a base URL or a local directory to use instead of ``url``.
        progress: show a progress bar on stderr.

    Returns:
        Path of the cached file.

    Raises:
        DownloadError: unreachable source, interrupted transfer, size or checksum mismatch.
    """
    directory = Path(directory)
    target = directory / name
    if target.is_file() and sha256_of(target) == sha256:
        return target
    directory.mkdir(parents=True, exist_ok=True)
    source = _source(name, url, mirror_setting(mirror))
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            digest, received = _copy(source, out, size, progress)
        if size is not None and received != size:
            raise DownloadError(f"{source}: got {received:,} bytes, expected {size:,}; nothing was kept")
        if digest != sha256:
            raise DownloadError(
                f"{source}: SHA-256 mismatch (expected {sha256}, got {digest}); the file was not kept"
            )
        apply_umask(temporary)
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return target


def _source(name, url, mirror):
    if not mirror:
        return url
    if "://" in mirror:
        return mirror.rstrip("/") + "/" + name
    return str(Path(mirror).expanduser() / name)


def _copy(source, out, size, progress):
    """Stream ``source`` (URL or path) into ``out``; return (sha256 hex, bytes written)."""
    digest = hashlib.sha256()
    received = 0
    try:
        if "://" in source:
            stream = urllib.request.urlopen(source, timeout=_TIMEOUT_SECONDS)
            announced = int(stream.headers.get("Content-Length") or 0) or None
        else:
            stream = open(source, "rb")
            announced = os.path.getsize(source)
        total = size or announced
        with stream:
            bar = _Progress(source, total) if progress else None
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if bar:
                    bar.update(received)
            if bar:
                bar.close()
        if announced is not None and received < announced:
            # http.client returns short reads, not an error, when the server hangs up early.
            raise ConnectionError(f"connection closed at {received:,} of {announced:,} bytes")
    except FileNotFoundError:
        raise DownloadError(f"{source}: no such file on the mirror") from None
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{source}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error
        if not received:  # no network, an unknown host, a refused connection
            raise DownloadError(
                f"{source}: cannot download ({reason}); without a network, --mirror or $TEXTLSTM_MIRROR "
                "names a directory or URL holding the files"
            ) from None
        raise DownloadError(
            f"{source}: download interrupted after {received:,} bytes ({reason}); nothing was kept"
        ) from None
    return digest.hexdigest(), received


class _Progress:
    """A one-line progress display on stderr: ``name  45% 12.3/27.1 MB``."""

    def __init__(self, source, total):
        self.label = source.rsplit("/", 1)[-1]
        self.total = total
        self.shown = -1

    def update(self, received):
        percent = int(100 * received / self.total) if self.total else None
        if percent == self.shown and percent is not None:
            return
        self.shown = percent
        done = f"{received / 1e6:.1f}" + (f"/{self.total / 1e6:.1f} MB" if self.total else " MB")
        share = f"{percent:3d}% " if percent is not None else ""
        sys.stderr.write(f"\r{self.label}  {share}{done}")
        sys.stderr.flush()

    def close(self):
        sys.stderr.write("\n")
        sys.stderr.flush()

