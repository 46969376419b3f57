"""Safe output files: refuse to overwrite by accident, never leave a half-written file."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from pianotx.errors import OutputError


def check_output(path: Path, *, overwrite: bool, suffixes: tuple[str, ...] = (),
                 inputs: tuple[Path, ...] = ()) -> None:
    """Raise :class:`OutputError` unless ``path`` can be created or replaced.

    Parameters
    ----------
    path : Path
        The file to be written.
    overwrite : bool
        Whether an existing file may be replaced.
    suffixes : tuple of str
        The file name endings the output may have (lower case; any when empty).
    inputs : tuple of Path
        Files the command reads, which the output must not be.
    """
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise OutputError(f"output {path} must end in {' or '.join(suffixes)}; "
                          f"name it {path.stem or path.name}{suffixes[0]}")
    if path.is_dir():
        raise OutputError(f"output {path} is a folder; give a file name")
    if path.exists() and not path.is_file():
        raise OutputError(f"output {path} is not a regular file; choose another -o")
    if path.exists() and any(_same_file(path, source) for source in inputs):
        raise OutputError(f"output {path} is an input of this command; choose another -o")
    if path.exists() and not overwrite:
        raise OutputError(f"output {path} already exists; pass --overwrite to replace it")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"output folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {parent} is not writable; choose another -o")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@contextlib.contextmanager
def atomic_path(path: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    On any exception the temporary file is removed and ``path`` is left as it was; an
    :class:`OSError` while writing (a full disk) becomes an :class:`OutputError` naming ``path``.
    """
    path = Path(path)
    check_output(path, overwrite=overwrite)
    tmp = _temporary_beside(path)
    try:
        try:
            yield tmp
        except OSError as exc:
            raise _write_error(path, exc) from None
        _commit(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes_atomic(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`write_files_atomic`)."""
    write_files_atomic({Path(path): data}, overwrite=overwrite)


def write_files_atomic(payloads: dict[Path, bytes], *, overwrite: bool) -> None:
    """Write every file of ``payloads`` or none: each is checked (:func:`check_output`) and
    written to a temporary file beside it; only when all are written are they renamed into
    place. On any failure the temporary files are removed and no target is touched."""
    payloads = {Path(path): data for path, data in payloads.items()}
    for path in payloads:
        check_output(path, overwrite=overwrite)
    parts: dict[Path, Path] = {}
    try:
        for path, data in payloads.items():
            parts[path] = _temporary_beside(path)
            try:
                parts[path].write_bytes(data)
            except OSError as exc:
                raise _write_error(path, exc) from None
        for path, tmp in parts.items():
            _commit(tmp, path)
    finally:
        for tmp in parts.values():
            if tmp.exists():
                tmp.unlink()


def _temporary_beside(path: Path) -> Path:
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    except OSError as exc:
        raise OutputError(f"cannot write in {path.parent}: {exc.strerror}; choose another -o") from None
    os.close(fd)
    return Path(tmp_name)


def _commit(tmp: Path, path: Path) -> None:
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual new-file mode
        os.replace(tmp, path)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _write_error(path: Path, exc: OSError) -> OutputError:
    reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
    fix = "free some space or choose another -o" if exc.errno == errno.ENOSPC else "choose another -o"
    return OutputError(f"cannot write {path}: {reason}; {fix}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
