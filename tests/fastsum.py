#!/usr/bin/env python3
# fastsum.py - what tests/treesum.sh reads, in one python process: type, mode,
# owner, size (not of folders: the file system's business), mtime (ns),
# content hash, symlink target, hardlink groups, sparse files, every xattr
# (ACLs included).
#
#   fastsum.py sum DIR [--no-root]          one line per path
#   fastsum.py cmp CACHE [--no-root] REF DIR [REF DIR]...
#                                           exit 1 (a diff on stderr) when a
#                                           DIR differs from its REF; REF's
#                                           sum is cached under CACHE
import difflib, hashlib, os, stat, sys
def fsum(top, noroot):
    root = os.fsencode(top)
    out, links = [], {}
    def q(b):
        return repr(b)[2:-1]
    def walk(rel):
        p = root + b"/" + rel
        st = os.lstat(p)
        m = st.st_mode
        t = ("f" if stat.S_ISREG(m) else "d" if stat.S_ISDIR(m) else "l" if stat.S_ISLNK(m) else
             "p" if stat.S_ISFIFO(m) else "s" if stat.S_ISSOCK(m) else "c" if stat.S_ISCHR(m) else
             "b" if stat.S_ISBLK(m) else "?")
        extra, size = "-", st.st_size
        if t == "f":
            h = hashlib.blake2b(digest_size=16)
            with open(p, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
            extra = h.hexdigest()
            if st.st_nlink > 1:
                links.setdefault((st.st_dev, st.st_ino), []).append(rel)
            if size and st.st_blocks * 512 < 0.9 * size:
                extra += " sparse"
        elif t == "l":
            extra = "-> " + q(os.readlink(p))
        elif t == "d":
            size = "-"
        elif t in "cb":
            extra = "%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        try:
            names = sorted(os.listxattr(p, follow_symlinks=False))
        except OSError:
            names = []
        xs = ["%s=%s" % (n, os.getxattr(p, n, follow_symlinks=False).hex()) for n in names]
        if not (noroot and rel == b"."):
            out.append("%s %o %d %d %s %d.%09d %s %s %s" % (t, m & 0o7777, st.st_uid, st.st_gid, size,
                       st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9, q(rel), extra, " ".join(xs)))
        if t == "d":
            for n in sorted(os.listdir(p)):
                walk(n if rel == b"." else rel + b"/" + n)
    walk(b".")
    for g in sorted(sorted(v) for v in links.values()):
        out.append("hardlink " + " ".join(q(x) for x in g))
    return [l + "\n" for l in out]
args = sys.argv[1:]
noroot = "--no-root" in args
args = [a for a in args if a != "--no-root"]
if args[0] == "sum":
    sys.stdout.writelines(fsum(args[1], noroot))
    sys.exit(0)
cache, rc = args[1], 0
for ref, live in zip(args[2::2], args[3::2]):
    key = os.path.join(cache, ".fsum-ref" + os.path.realpath(ref).replace("/", "_") + ("-noroot" if noroot else ""))
    try:
        a = open(key).readlines()
    except OSError:
        a = fsum(ref, noroot)
        open(key, "w").writelines(a)
    b = fsum(live, noroot)
    if a != b:
        sys.stderr.write("same_tree: %r (-) and %r (+) differ:\n" % (ref, live))
        d = list(difflib.unified_diff(a, b, ref, live, n=0))
        sys.stderr.writelines("    " + l for l in d[2:42])
        rc = 1
sys.exit(rc)
