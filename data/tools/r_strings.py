#!/usr/bin/env python3
"""Extract a character vector from an R lazy-load DB (Rdata.rdb/.rdx) or an .rda file.
Minimal R serialization (XDR, version 2/3) reader; only what's needed for STRSXP objects.
Usage: r_strings.py DATA_DIR_OR_RDA NAME
"""
import sys, zlib, bz2, lzma, gzip, struct, os

class R:
    def __init__(self, b):
        self.b, self.p = b, 0
        assert b[:2] == b"X\n", b[:2]
        self.p = 2
        ver = self.i(); self.i(); self.i()
        if ver == 3:
            n = self.i(); self.p += n
        self.refs = []
    def i(self):
        v = struct.unpack(">i", self.b[self.p:self.p+4])[0]; self.p += 4; return v
    def d(self):
        v = struct.unpack(">d", self.b[self.p:self.p+8])[0]; self.p += 8; return v
    def item(self):
        flags = self.i()
        t = flags & 0xFF
        has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        if t == 254 or t == 242: return None            # NILVALUE / emptyenv
        if t == 255: return self.refs[(flags >> 8) - 1]   # REFSXP
        if t in (251, 253, 241, 252): return None        # global/base env etc.
        if t == 1:                                        # SYMSXP
            s = self.item(); self.refs.append(s); return s
        if t == 9:                                        # CHARSXP
            n = self.i()
            if n == -1: return None
            s = self.b[self.p:self.p+n].decode("utf-8", "replace"); self.p += n; return s
        if t in (2, 23):                                  # LISTSXP / pairlist-like
            if has_attr: self.item()
            tag = self.item() if has_tag else None
            car = self.item(); cdr = self.item()
            return [(tag, car)] + (cdr if isinstance(cdr, list) else [])
        if t == 16:                                       # STRSXP
            n = self.i(); v = [self.item() for _ in range(n)]
            if has_attr: self.item()
            return v
        if t in (13, 10):                                 # INTSXP / LGLSXP
            n = self.i(); v = [self.i() for _ in range(n)]
            if has_attr: self.item()
            return v
        if t == 14:
            n = self.i(); v = [self.d() for _ in range(n)]
            if has_attr: self.item()
            return v
        if t == 19:                                       # VECSXP (named list -> dict)
            n = self.i(); v = [self.item() for _ in range(n)]
            if has_attr:
                names = dict(self.item()).get("names")
                if names: return dict(zip(names, v))
            return v
        raise ValueError("unsupported SEXP type %d" % t)

def decomp(b):
    for f in (bz2.decompress, lzma.decompress, gzip.decompress, zlib.decompress):
        try: return f(b)
        except Exception: pass
    return b

def from_lazyload(d, name):
    rdx = R(decomp(open(os.path.join(d, "Rdata.rdx"), "rb").read())).item()
    # rdx: pairlist (variables=..., references=..., compressed=...)
    off, ln = rdx["variables"][name]
    raw = open(os.path.join(d, "Rdata.rdb"), "rb").read()[int(off):int(off)+int(ln)]
    # 4-byte length, then (for compress=2/3) a type byte: Z=zlib 2=bzip2 X=xz 0=none
    body = raw[4:]
    if body[:1] in (b"Z", b"2", b"X", b"0"):
        kind, body = body[:1], body[1:]
        body = {b"Z": zlib.decompress, b"2": bz2.decompress, b"X": lzma.decompress, b"0": lambda x: x}[kind](body)
    else:
        body = zlib.decompress(body)
    return R(body).item()

def from_rda(path, name):
    b = decomp(open(path, "rb").read())
    assert b[:5] == b"RDX2\n" or b[:5] == b"RDX3\n"
    return dict(R(b[5:]).item())[name]

src, name = sys.argv[1], sys.argv[2]
v = from_lazyload(src, name) if os.path.isdir(src) else from_rda(src, name)
for s in v: print(s)
