"""What a file's first bytes say it is: a compressed stream, a binary journal, or plain text.

Kept apart from ``reader`` so that the CLI can look at a file's head (and start the finder,
``hits.prestart``) before the rest of oomlens is imported.
"""

from __future__ import annotations

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
JOURNAL_MAGIC = b"LPKSHHRH"
HEAD_BYTES = 8  # enough of a file's head for every test here


def codec_of(head: bytes) -> str | None:
    """The compression a file starting with ``head`` is in, or None."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(ZSTD_MAGIC) or (head[1:4] == b"\x2a\x4d\x18" and head[0] >> 4 == 5):
        return "zstd"  # a zstd frame, or a skippable frame (pzstd starts with one)
    return None


def is_plain_head(head: bytes) -> bool:
    """Do these first bytes of a file start neither a compressed file nor a binary journal?"""
    return codec_of(head) is None and not head.startswith(JOURNAL_MAGIC)
