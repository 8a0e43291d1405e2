"""Writing files so that a reader never sees half of one."""

import os
import tempfile
from pathlib import Path


def apply_umask(path, mode=0o666):
    """Give ``path`` the permissions a plain ``open`` would (``mkstemp`` and ``mkdtemp`` make it private)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def write_text_atomically(path, text):
    """Write ``text`` (UTF-8; a str, or an iterable of str written as it yields them) to a
    temporary file beside ``path``, then rename it over ``path``. Whatever the iterable raises
    leaves no file.

    Missing parent folders are created. Raises:
        OSError: whatever step the system refused, with ``path`` as its filename (not the
            temporary file's name, which the user never gave).
    """
    write_texts_atomically({path: text})


def write_texts_atomically(texts):
    """Write several files, {path: text}, all or none: each text (a str or an iterable of str) goes
    to a temporary file beside its path, and only once every one is written are they renamed over
    their paths.

    Raises:
        OSError: as ``write_text_atomically``, naming the path being written; no temporary file is left.
    """
    temporaries = {}
    current = None
    try:
        for current, text in texts.items():
            current = Path(current)
            temporaries[current] = _temporary(current)
            with open(temporaries[current], "w", encoding="utf-8", newline="") as file:
                if isinstance(text, str):
                    file.write(text)
                else:
                    file.writelines(text)
            apply_umask(temporaries[current])
        for current, temporary in temporaries.items():
            os.replace(temporary, current)
    except BaseException as error:
        for temporary in temporaries.values():
            Path(temporary).unlink(missing_ok=True)
        # The system names the temporary file (or no file); the user gave ``current``. An OSError
        # naming another file came from an iterable reading it.
        if isinstance(error, OSError) and (error.filename is None or error.filename in temporaries.values()):
            raise OSError(error.errno, error.strerror, str(current)) from None
        raise


def _temporary(path):
    """A new empty file beside ``path`` (its folders created), e.g. ``.train.csv.x1y2.tmp``: its name."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        ancestor = nearest_existing(path)
        reason = error.strerror if ancestor.is_dir() else f"cannot be created: {ancestor} is not a directory"
        raise OSError(error.errno, reason, str(path)) from None
    os.close(handle)
    return temporary


def nearest_existing(path):
    """``path`` itself or its closest ancestor that exists (a file, a folder, or the root)."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
