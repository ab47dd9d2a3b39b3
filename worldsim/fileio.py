"""Atomic writes of output files that get the permissions the user's umask asks for.

    with atomic_path(out / "clip.mp4", ".mp4") as tmp:
        write_something_to(tmp)         # on a clean exit tmp replaces out/clip.mp4

Why not `tempfile.mkstemp`: it creates its file with mode 0600 whatever the umask, and a
rename keeps that mode, so every clip, image and config written through it came out private
(0600 where `open()` gives 0644 under the usual umask 022). Here the temporary file is created
the way `open(path, "w")` creates one (0666 less the umask, applied by the kernel), so no
umask has to be read or changed. It sits beside the target (same filesystem), so the final
`os.replace` is atomic: a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a new empty file beside `path` to write; on a clean exit it replaces `path`.

    suffix: the temporary file's ending, for writers that pick a format by it (".mp4").
    The parent folder is created. On an exception the temporary file is removed and `path`
    is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # mode: 0666 & ~umask
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
