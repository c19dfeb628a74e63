"""The archive walker: real tar/zip archives built here, read member by member."""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import pytest
import zstandard

from oomlens.archives import (
    BadInput,
    Member,
    Walker,
    WalkOptions,
    archive_stem,
    hostname_from_bytes,
    open_member_raw,
    unsafe_name,
)

LOG = b"Mar  1 12:00:00 web1 kernel: [  100.000000] hello\n"


def add(archive: tarfile.TarFile, name: str, data: bytes, **fields: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1_709_294_400
    for key, value in fields.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data) if info.isreg() else None)


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            add(archive, name, data)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


COMPRESSORS = {
    "tar": lambda data: data,
    "tar.gz": gzip.compress,
    "tar.xz": lzma.compress,
    "tar.zst": lambda data: zstandard.ZstdCompressor().compress(data),
}

TREE = {
    "web1/var/log/messages": LOG,
    "web1/var/log/kern.log.2.gz": gzip.compress(LOG),
    "web1/var/log/audit/audit.log": b"type=SYSCALL\n",  # not a kernel log name
    "web1/etc/hostname": b"web1.example.com\n",
    "web1/var/log/journal/0123456789abcdef0123456789abcdef/system.journal": b"LPKSHHRH",
}


def walk(paths: list[str], **options: object) -> tuple[list[Member], list[BadInput], Walker]:
    walker = Walker(options=WalkOptions(**options))  # type: ignore[arg-type]
    members: list[Member] = []
    bad: list[BadInput] = []
    for item in walker.walk(paths):
        (members if isinstance(item, Member) else bad).append(item)  # type: ignore[arg-type]
    return members, bad, walker


@pytest.mark.parametrize("suffix", sorted(COMPRESSORS))
def test_tar_members_in_any_compression(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"fleet.{suffix}"
    path.write_bytes(COMPRESSORS[suffix](tar_bytes(TREE)))
    members, bad, walker = walk([str(path)])
    assert bad == []
    names = [m.display.split("!", 1)[1] for m in members]
    assert names == [
        "web1/var/log/messages",
        "web1/var/log/kern.log.2.gz",
        "web1/var/log/journal/0123456789abcdef0123456789abcdef/system.journal",
    ]
    assert all(m.display.startswith(f"{path}!") for m in members)
    assert members[0].data == LOG
    assert gzip.decompress(members[1].data or b"") == LOG  # stored as it is, decoded later
    assert members[0].mtime == 1_709_294_400
    assert members[0].digest is not None and len(members[0].digest) == 40
    assert [(h.container, h.directory, h.hostname) for h in walker.hostnames] == [
        (str(path), "web1", "web1.example.com")
    ]


def test_zip_and_nested_tar_in_zip(tmp_path: Path) -> None:
    inner = gzip.compress(tar_bytes({"var/log/syslog": LOG}))
    path = tmp_path / "outer.zip"
    path.write_bytes(zip_bytes({"host2/logs.tar.gz": inner, "host3/var/log/messages": LOG}))
    members, bad, _ = walk([str(path)])
    assert bad == []
    assert [m.display for m in members] == [
        f"{path}!host2/logs.tar.gz!var/log/syslog",
        f"{path}!host3/var/log/messages",
    ]
    nested = members[0]
    assert nested.scopes == (
        (f"{path}!host2/logs.tar.gz", "var/log/syslog"),
        (str(path), "host2/logs.tar.gz"),
    )
    assert nested.data == LOG


def test_zip_in_tar(tmp_path: Path) -> None:
    path = tmp_path / "outer.tar.gz"
    path.write_bytes(gzip.compress(tar_bytes({"a/inner.zip": zip_bytes({"syslog": LOG})})))
    members, bad, _ = walk([str(path)])
    assert bad == []
    assert [m.display for m in members] == [f"{path}!a/inner.zip!syslog"]


def test_large_members_are_read_again_by_locator(tmp_path: Path) -> None:
    inner = tar_bytes({"var/log/syslog": LOG * 10})
    path = tmp_path / "outer.zip"
    path.write_bytes(zip_bytes({"x/inner.tar": inner, "kern.log": LOG}))
    members, bad, _ = walk([str(path)], inline_bytes=0)
    assert bad == [] and len(members) == 2
    for member, expected in zip(members, [LOG * 10, LOG], strict=True):
        assert member.data is None
        with open_member_raw(member) as raw:
            assert raw.read() == expected


def test_glob_selects_member_paths(tmp_path: Path) -> None:
    path = tmp_path / "fleet.tar"
    path.write_bytes(tar_bytes(TREE))
    members, _, _ = walk([str(path)], globs=("*/audit/*",))
    assert [m.display.split("!", 1)[1] for m in members] == ["web1/var/log/audit/audit.log"]


def test_unsafe_members_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        add(archive, "../../etc/messages", LOG)
        add(archive, "/var/log/messages", LOG)
        add(archive, "var/log/syslog", b"", type=tarfile.SYMTYPE, linkname="/etc/shadow")
        add(archive, "var/log/kern.log", b"", type=tarfile.LNKTYPE, linkname="var/log/x")
        add(archive, "var/log/messages.1", b"", type=tarfile.CHRTYPE)
        add(archive, "var/log/messages", LOG)
    path = tmp_path / "evil.tar"
    path.write_bytes(buffer.getvalue())
    members, bad, _ = walk([str(path)])
    assert [m.display for m in members] == [f"{path}!var/log/messages"]
    reasons = {b.path.split("!", 1)[1]: b.message for b in bad}
    assert "escapes the archive" in reasons["../../etc/messages"]
    assert "absolute" in reasons["/var/log/messages"]
    assert "symbolic link" in reasons["var/log/syslog"]
    assert "hard link" in reasons["var/log/kern.log"]
    assert "device" in reasons["var/log/messages.1"]


def test_zip_traversal_and_symlink_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../messages", LOG)
        link = zipfile.ZipInfo("var/log/syslog")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/shadow")
        archive.writestr("var/log/messages", LOG)
    path = tmp_path / "evil.zip"
    path.write_bytes(buffer.getvalue())
    members, bad, _ = walk([str(path)])
    assert [m.display for m in members] == [f"{path}!var/log/messages"]
    assert sorted(b.message.split(":")[0] for b in bad) == ["refused", "skipped"]


def test_member_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.tar.gz"
    path.write_bytes(gzip.compress(tar_bytes({"messages": LOG * 100, "syslog": LOG})))
    members, bad, _ = walk([str(path)], max_member_bytes=len(LOG) * 10)
    assert [m.display for m in members] == [f"{path}!syslog"]
    assert len(bad) == 1 and "exceeds the limit" in bad[0].message


def test_truncated_archive_keeps_earlier_members(tmp_path: Path) -> None:
    data = tar_bytes({"a/messages": LOG, "b/messages": LOG * 2000})
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(gzip.compress(data)[: len(gzip.compress(data)) // 2])
    members, bad, _ = walk([str(path)])
    assert [m.display for m in members] == [f"{path}!a/messages"]
    assert len(bad) == 1 and bad[0].path.startswith(str(path))


def test_corrupt_zip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    members, bad, _ = walk([str(path)])
    assert members == []
    assert len(bad) == 1 and "zip" in bad[0].message


def test_nesting_depth_limit(tmp_path: Path) -> None:
    data = tar_bytes({"var/log/messages": LOG})
    for level in range(4):
        data = tar_bytes({f"level{level}.tar": data})
    path = tmp_path / "deep.tar"
    path.write_bytes(data)
    members, bad, _ = walk([str(path)])
    assert members == []
    assert len(bad) == 1 and "deeper than 3" in bad[0].message
    members, bad, _ = walk([str(path)], max_depth=6)
    assert len(members) == 1 and bad == []


def test_directory_tree(tmp_path: Path) -> None:
    for name, data in TREE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "web1" / "var" / "log" / "link.log").symlink_to("/etc/passwd")
    members, bad, walker = walk([str(tmp_path)])
    assert bad == []
    rels = [m.scopes[0][1] for m in members]
    assert rels == [
        "web1/var/log/kern.log.2.gz",
        "web1/var/log/messages",
        "web1/var/log/journal/0123456789abcdef0123456789abcdef/system.journal",
    ]
    assert all(m.data is None and m.locator.steps == () for m in members)
    assert [h.directory for h in walker.hostnames] == ["web1"]


def test_helpers() -> None:
    assert unsafe_name("a/../../b") is not None
    assert unsafe_name("C:\\x") is not None
    assert unsafe_name("var/log/messages..1") is None
    assert archive_stem("web1.tar.zst") == "web1"
    assert archive_stem("a/b/host.tgz") == "host"
    assert hostname_from_bytes(b"  db-2.example.org\n") == "db-2.example.org"
    assert hostname_from_bytes(b"<script>\n") is None
