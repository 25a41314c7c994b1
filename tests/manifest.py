#!/usr/bin/env python3
"""manifest.py - read a zdt manifest (common/manifest.h, zdt-manifest(5)) in tests.

  manifest.py paths MANIFEST             every entry's path, unescaped, NUL-terminated
  manifest.py header MANIFEST KEY        the values of a header key, one a line
  manifest.py hashes MANIFEST ROOT       each f/h entry's xxh128 against `xxhsum -H2`
                                         of ROOT/path; lists mismatches, exit 1 if any
  manifest.py checksum MANIFEST          the checksum line against `xxhsum -H2` of
                                         every byte before it; exit 1 on mismatch
  manifest.py resum MANIFEST             rewrites the checksum line to match (to make a
                                         self-consistent manifest that lies)
  manifest.py remeta MANIFEST            sets manifest_checksum in the meta file next to
                                         MANIFEST to its checksum line (the rest of the lie:
                                         verify and rollback compare the two)
  manifest.py pick MANIFEST [MINSIZE]    "OFFSET SIZE PATH" of the first regular file
                                         of at least MINSIZE bytes with an offset
  manifest.py field MANIFEST KIND        the byte offset in the manifest file of the
                                         first f entry's hash (KIND=hash) or path
                                         (KIND=path), and the path
The manifest's fields are space separated:
  type mode uid gid size mtime xxh128 offset xattrs path [-> target]
and paths escape bytes <= 0x20, 0x7f and '\\' as \\ooo octal ('\\' also as \\\\).
"""
import os
import re
import subprocess
import sys

ENTRY_TYPES = b"fdlhpcb"


def unescape(tok):
    out = bytearray()
    i = 0
    while i < len(tok):
        c = tok[i]
        if c == 0x5C:  # backslash
            if tok[i + 1:i + 2] == b"\\":
                out.append(0x5C)
                i += 2
                continue
            m = re.match(rb"[0-7]{3}", tok[i + 1:i + 4])
            if not m:
                raise ValueError("bad escape in %r" % tok)
            out.append(int(tok[i + 1:i + 4], 8))
            i += 4
            continue
        out.append(c)
        i += 1
    return bytes(out)


def lines(path):
    data = open(path, "rb").read()
    pos = 0
    for line in data.split(b"\n"):
        yield pos, line
        pos += len(line) + 1


def entries(path):
    """(line offset, fields, unescaped path) for each entry line"""
    for pos, line in lines(path):
        if len(line) > 2 and line[1:2] == b" " and line[0] in ENTRY_TYPES:
            f = line.split(b" ")
            if len(f) < 10:
                raise ValueError("short entry line: %r" % line)
            yield pos, f, unescape(f[9])


def xxh128(data=None, path=None):
    if path is not None:
        with open(path, "rb") as fh:
            r = subprocess.run(["xxhsum", "-H2", "-"], stdin=fh, stdout=subprocess.PIPE, check=True)
    else:
        r = subprocess.run(["xxhsum", "-H2", "-"], input=data, stdout=subprocess.PIPE, check=True)
    return r.stdout.split()[0].decode()


def main(argv):
    cmd, man = argv[1], argv[2]
    out = sys.stdout.buffer
    if cmd == "paths":
        for _, _, p in entries(man):
            out.write(p + b"\0")
        return 0
    if cmd == "header":
        key = argv[3].encode()
        for _, line in lines(man):
            if line.startswith(key + b" "):
                out.write(line[len(key) + 1:] + b"\n")
            if line.startswith(b"# type"):
                break
        return 0
    if cmd == "hashes":
        root = os.fsencode(argv[3])
        bad = n = 0
        for _, f, p in entries(man):
            if f[0] not in b"fh":
                continue
            n += 1
            want = f[6].decode()
            got = xxh128(path=os.path.join(root, p))
            if want != got:
                bad += 1
                out.write(b"hash mismatch: %s: manifest %s, file %s\n" % (p, want.encode(), got.encode()))
        if n == 0:
            out.write(b"no file entries\n")
            return 1
        return 1 if bad else 0
    if cmd == "checksum":
        data = open(man, "rb").read()
        i = data.rstrip(b"\n").rfind(b"\n") + 1
        last = data[i:].split()
        if len(last) != 3 or last[0] != b"checksum" or last[1] != b"xxh3-128":
            out.write(b"no checksum line: %r\n" % data[i:])
            return 1
        got = xxh128(data=data[:i])
        if got != last[2].decode():
            out.write(b"checksum line %s, xxhsum of the bytes before it %s\n" % (last[2], got.encode()))
            return 1
        return 0
    if cmd == "resum":
        data = open(man, "rb").read()
        i = data.rstrip(b"\n").rfind(b"\n") + 1
        assert data[i:].startswith(b"checksum xxh3-128 "), data[i:]
        open(man, "wb").write(data[:i] + b"checksum xxh3-128 " + xxh128(data=data[:i]).encode() + b"\n")
        return 0
    if cmd == "remeta":
        data = open(man, "rb").read()
        last = data.rstrip(b"\n").split(b"\n")[-1].split()
        assert last[:2] == [b"checksum", b"xxh3-128"], last
        meta = os.path.join(os.path.dirname(man) or ".", "meta")
        ml = open(meta, "rb").read().split(b"\n")
        ml = [b"manifest_checksum=" + last[2] if l.startswith(b"manifest_checksum=") else l for l in ml]
        open(meta, "wb").write(b"\n".join(ml))
        return 0
    if cmd == "pick":
        minsize = int(argv[3]) if len(argv) > 3 else 1
        for _, f, p in entries(man):
            if f[0] == b"f" and int(f[4]) >= minsize and f[7] != b"-":
                out.write(b"%s %s %s\n" % (f[7], f[4], f[9]))
                return 0
        return 1
    if cmd == "field":
        kind = argv[3]
        for pos, f, p in entries(man):
            if f[0] == b"f" and f[6] != b"-":
                k = 6 if kind == "hash" else 9
                off = pos + sum(len(x) + 1 for x in f[:k])
                out.write(b"%d %s\n" % (off, f[9]))
                return 0
        return 1
    sys.exit("manifest.py: unknown command %s" % cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
