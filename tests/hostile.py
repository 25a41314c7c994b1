#!/usr/bin/env python3
"""hostile.py - crafted snapshots for t9600-hostile-torture.sh.

  hostile.py list                      the case names, one a line: "NAME EXPECT WHAT"
                                       (EXPECT: ok or refuse; WHAT: a fixed string
                                       that the refusal must name)
  hostile.py build NAME SNAPDIR OUT    replaces SNAPDIR's archive.tar, manifest and
                                       meta with the case's own: a pax archive written
                                       by tarfile and a manifest that describes it, its
                                       end, archive and checksum lines right (checksum
                                       by tests/manifest.py resum) and meta's counts
                                       right, so that the snapshot passes the integrity
                                       checks and reaches the checks of its entries.
                                       OUT: an absolute folder outside the install dir
                                       that hostile entries point at.
  hostile.py tree NAME DIR             the base tree of every case (what the control
                                       case restores), written into DIR

Every case starts from the same small base tree: conf/ar.cfg, lib/a.so,
lib/link -> a.so, bin/ (SNAPDIR must be a snapshot with compress none; its
header lines are kept).  A case adds entries to the manifest, the archive or
both, or makes them disagree.
"""
import io
import os
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
MT = 1600000000


def xxh(data):
    out = subprocess.run(["xxhsum", "-H2", "-"], input=data, stdout=subprocess.PIPE, check=True).stdout
    return out.split()[0].decode()


def esc(b):
    """a path as the manifest writes it (bytes >= 0x80 as they are)"""
    out = []
    for c in b:
        if c <= 0x20 or c == 0x7F:
            out.append("\\%03o" % c)
        elif c == 0x5C:
            out.append("\\\\")
        else:
            out.append(bytes([c]).decode("utf-8", "surrogateescape"))
    return "".join(out)


class E:
    """one entry: in the manifest (man), in the archive (arc), or both"""

    def __init__(self, t, path, data=b"", target=b"", mode=None, rdev=(0, 0), man=True, arc=True, **kw):
        self.t, self.path, self.data, self.target = t, path, data, target
        self.mode = mode if mode is not None else {"d": 0o755, "l": 0o777}.get(t, 0o644)
        self.rdev, self.man, self.arc = rdev, man, arc
        # what the archive says instead, where it lies or differs
        self.arc_path = kw.get("arc_path", path)
        self.arc_t = kw.get("arc_t", t)
        self.arc_mode = kw.get("arc_mode", self.mode)
        self.arc_target = kw.get("arc_target", target)
        self.arc_data = kw.get("arc_data", data)
        self.man_size = kw.get("man_size")
        self.man_hash = kw.get("man_hash")


def base():
    return [
        E("d", b"."),
        E("d", b"bin"),
        E("d", b"conf"),
        E("f", b"conf/ar.cfg", b"Server-Name: arserver01\nTCD-Specific-Port: 46262\n", mode=0o600),
        E("d", b"lib"),
        E("f", b"lib/a.so", bytes(range(256)) * 12),
        E("l", b"lib/link", target=b"a.so"),
    ]


def key(p):
    return (p != b".", p.replace(b"/", b"\x00"))


def cases(out):
    o = os.fsencode(out)
    deep = b"/".join(b"d%02d" % i + b"x" * 200 for i in range(22))  # > 4096 bytes
    deep_dirs = [b"/".join(deep.split(b"/")[: i + 1]) for i in range(22)]
    c = {}

    def case(name, expect, what, entries, sort=True):
        c[name] = (expect, what, entries, sort)

    case("control", "ok", "-", [])
    case("control-odd-names", "ok", "-", [
        E("f", b"conf/new\nline.cfg", b"nl\n"),
        E("f", b"conf/bad\xff\xfeutf8", b"latin\n"),
        E("f", b"conf/back\\slash", b"bs\n")])
    case("dotdot", "refuse", "escape", [E("f", b"../escape", b"x\n")])
    case("dotdot-inner", "refuse", "escape", [E("f", b"lib/../../escape", b"x\n")])
    case("absolute", "refuse", "abs-escape", [E("f", o + b"/abs-escape", b"x\n")])
    case("below-symlink", "refuse", "lib/link/x", [E("f", b"lib/link/x", b"x\n")])
    case("below-symlink-outside", "refuse", "out/x", [
        E("l", b"out", target=o), E("f", b"out/x", b"x\n")])
    case("symlink-then-file", "refuse", "lib/x", [
        E("l", b"lib/x", target=o + b"/target"), E("f", b"lib/x", b"x\n")], sort=False)
    case("symlink-then-file-archive-only", "refuse", "lib/x", [
        E("l", b"lib/x", target=o + b"/target"), E("f", b"lib/x", b"x\n", man=False)], sort=False)
    case("hardlink-dotdot", "refuse", "escape", [E("h", b"lib/h", target=b"../escape")])
    case("hardlink-absolute", "refuse", "/etc/passwd", [E("h", b"lib/h", target=b"/etc/passwd")])
    case("hardlink-to-symlink", "refuse", "lib/h", [
        E("l", b"lib/g", target=o + b"/target"), E("h", b"lib/h", target=b"lib/g")])
    case("hardlink-archive-only", "refuse", "lib/h", [
        E("h", b"lib/h", target=b"/etc/passwd", man=False)])
    # a device node that manifest and archive agree on is what a backup of
    # a tree with one holds: restored (zdt keeps c and b entries)
    case("device-chr", "ok", "-", [E("d", b"dev"), E("c", b"dev/null0", mode=0o666, rdev=(1, 3))])
    case("device-blk-archive-only", "refuse", "dev/sda0", [
        E("d", b"dev"), E("b", b"dev/sda0", mode=0o660, rdev=(8, 0), man=False)])
    case("device-disagrees", "refuse", "dev/fifo", [
        E("d", b"dev"), E("p", b"dev/fifo", mode=0o660, arc_t="b", rdev=(8, 0))])
    case("setuid-not-in-manifest", "refuse", "bin/su", [E("f", b"bin/su", b"#!/bin/sh\n", mode=0o4755, man=False)])
    case("setuid-mode-lies", "refuse", "bin/tool", [E("f", b"bin/tool", b"#!/bin/sh\n", mode=0o755, arc_mode=0o4755)])
    case("duplicate", "refuse", "conf/ar.cfg", [E("f", b"conf/ar.cfg", b"again\n")], sort=False)
    case("missing-from-archive", "refuse", "lib/b.so", [E("f", b"lib/b.so", b"b\n", arc=False)])
    case("size-lies", "refuse", "lib/c.so", [E("f", b"lib/c.so", b"c" * 3000, man_size=10)])
    case("size-and-hash-lie", "refuse", "lib/c.so", [
        E("f", b"lib/c.so", b"c" * 10, arc_data=b"c" * 3000)])
    case("newline-dotdot", "refuse", "escape", [E("f", b"conf/a\n/../../../escape", b"x\n")])
    case("invalid-utf8-dotdot", "refuse", "escape", [E("f", b"conf/\xff\xfe/../../../escape", b"x\n")])
    # a path longer than PATH_MAX inside the install dir: restored there
    # (zdt walks with openat), nothing outside
    case("path-over-path-max", "ok", "-", [E("d", d) for d in deep_dirs] + [E("f", deep + b"/f", b"deep\n")])
    case("disagrees-content", "refuse", "conf/ar.cfg", [
        E("f", b"conf/ar.cfg", b"Server-Name: arserver01\n", arc_data=b"Server-Name: evil\n")])
    case("disagrees-type", "refuse", "lib/t", [
        E("f", b"lib/t", b"x\n", arc_t="l", arc_target=o + b"/target")])
    case("disagrees-target", "refuse", "lib/s", [
        E("l", b"lib/s", target=b"a.so", arc_target=o + b"/target")])
    case("archive-extra-dotdot", "refuse", "escape", [E("f", b"../escape", b"x\n", man=False)])
    case("archive-extra-below-symlink", "refuse", "lib/link/x", [E("f", b"lib/link/x", b"x\n", man=False)])
    case("archive-renamed", "refuse", "conf/ar.cfg", [
        E("f", b"conf/ar.cfg", b"Server-Name: arserver01\n", arc_path=b"../ar.cfg")])
    return c


def merge(extra, sort):
    ents = base()
    over = {e.path for e in extra} if sort else set()
    ents = [e for e in ents if e.path not in over or e.t == "d"]
    ents += extra
    if sort:
        ents.sort(key=lambda e: key(e.path))
    else:
        # keep the extra entries right after their base namesake or in
        # order, without removing duplicates
        ents = sorted(base(), key=lambda e: key(e.path))
        for e in extra:
            i = 0
            while i < len(ents) and key(ents[i].path) <= key(e.path):
                i += 1
            ents.insert(i, e)
    return ents


def write_archive(path, ents):
    offsets = {}
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape") as tf:
        for e in ents:
            if not e.arc:
                continue
            name = os.fsdecode(e.arc_path)
            ti = tarfile.TarInfo(name)
            ti.mtime, ti.uid, ti.gid, ti.mode = MT, 0, 0, e.arc_mode
            ti.uname = ti.gname = ""
            data = None
            t = e.arc_t
            if t == "d":
                ti.type = tarfile.DIRTYPE
            elif t == "f":
                ti.type, ti.size, data = tarfile.REGTYPE, len(e.arc_data), e.arc_data
            elif t == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, os.fsdecode(e.arc_target)
            elif t == "h":
                ti.type, ti.linkname = tarfile.LNKTYPE, os.fsdecode(e.arc_target)
            elif t in "cb":
                ti.type = tarfile.CHRTYPE if t == "c" else tarfile.BLKTYPE
                ti.devmajor, ti.devminor = e.rdev
            elif t == "p":
                ti.type = tarfile.FIFOTYPE
            hdr = len(ti.tobuf(tf.format, tf.encoding, tf.errors))
            offsets[id(e)] = tf.offset + hdr
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return offsets


def manifest_lines(ents, offsets):
    lines, n, files, nbytes = [], 0, 0, 0
    for e in ents:
        if not e.man:
            continue
        size, h, off = 0, "-", "-"
        if e.t == "f":
            size = e.man_size if e.man_size is not None else len(e.data)
            h = e.man_hash or xxh(e.data)
            off = str(offsets.get(id(e), 0))
            files += 1
            nbytes += size
        elif e.t == "h":
            # the size and hash of the file it names, when the snapshot has it
            tgt = [x for x in ents if x.path == e.target and x.t == "f"]
            size = len(tgt[0].data) if tgt else 0
            h = xxh(tgt[0].data) if tgt else xxh(b"")
            files += 1
        elif e.t == "l":
            size = len(e.target)
        elif e.t in "cb":
            h = "%d,%d" % e.rdev
        line = "%s %04o 0 0 %d %d.000000000 %s %s - %s" % (e.t, e.mode, size, MT, h, off, esc(e.path))
        if e.t in "lh":
            line += " -> " + esc(e.target)
        lines.append(line)
        n += 1
    return lines, n, files, nbytes


def build(name, snap, out):
    expect, what, extra, sort = cases(out)[name]
    ents = merge(extra, sort)
    arc = os.path.join(snap, "archive.tar")
    man = os.path.join(snap, "manifest")
    offsets = write_archive(arc, ents)
    raw = open(arc, "rb").read()
    head = []
    for l in open(man, "rb").read().decode("utf-8", "surrogateescape").split("\n"):
        head.append(l)
        if l.startswith("# "):
            break
    assert head[0] == "zdt-manifest 1" and head[-1].startswith("# "), head
    body, n, files, nbytes = manifest_lines(ents, offsets)
    text = "\n".join(head + body) + "\n"
    text += "end entries=%d files=%d bytes=%d\n" % (n, files, nbytes)
    text += "archive xxh3-128 %s %d\n" % (xxh(raw), len(raw))
    text += "checksum xxh3-128 %s\n" % ("0" * 32)
    open(man, "wb").write(text.encode("utf-8", "surrogateescape"))
    subprocess.run([sys.executable, os.path.join(HERE, "manifest.py"), "resum", man], check=True)
    csum = open(man, "rb").read().rstrip(b"\n").split(b"\n")[-1].split()[-1].decode()
    meta = os.path.join(snap, "meta")
    ml = open(meta).read().split("\n")
    vals = {"entries": n, "files": files, "bytes": nbytes, "archive_bytes": len(raw), "manifest_checksum": csum}
    for i, l in enumerate(ml):
        k = l.split("=", 1)[0]
        if k in vals:
            ml[i] = "%s=%s" % (k, vals[k])
    open(meta, "w").write("\n".join(ml))


def tree(dest):
    for e in sorted(base(), key=lambda e: key(e.path)):
        p = os.path.join(os.fsencode(dest), e.path)
        if e.t == "d":
            os.makedirs(p, exist_ok=True)
        elif e.t == "f":
            with open(p, "wb") as f:
                f.write(e.data)
        elif e.t == "l":
            os.symlink(e.target, p)
    for e in sorted(base(), key=lambda e: key(e.path), reverse=True):
        p = os.path.join(os.fsencode(dest), e.path)
        if e.t != "l":
            os.chmod(p, e.mode)
        os.utime(p, (MT, MT), follow_symlinks=False)


def main(argv):
    if argv[1] == "list":
        for name, (expect, what, _, _) in cases("/OUT").items():
            print(name, expect, what)
        return 0
    if argv[1] == "build":
        build(argv[2], argv[3], argv[4])
        return 0
    if argv[1] == "tree":
        tree(argv[3])
        return 0
    sys.exit("usage: hostile.py list | build NAME SNAPDIR OUT | tree NAME DIR")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
