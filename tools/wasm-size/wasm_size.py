#!/usr/bin/env python3
"""Where a wasm component's bytes go: code size per crate (from the name section of an
unstripped build) and the data segments. Usage: wasm_size.py COMPONENT.wasm [TOP_N]

Build one with names kept:
  CARGO_PROFILE_GUEST_STRIP=false cargo build -p aiclearance --target wasm32-wasip2 \
      --profile guest --target-dir target/size-build
"""
import re
import sys
from collections import defaultdict


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def sections(b, start, end):
    i = start
    while i < end:
        sid = b[i]
        size, j = leb(b, i + 1)
        yield sid, j, j + size
        i = j + size


def core_modules(b):
    # Component: section id 1 is a nested core module.
    for sid, s, e in sections(b, 8, len(b)):
        if sid == 1:
            yield s, e


def analyse(b, s, e):
    funcs_imported = 0
    bodies = []
    names = {}
    data = 0
    for sid, a, z in sections(b, s + 8, e):
        if sid == 2:  # imports
            n, i = leb(b, a)
            for _ in range(n):
                for _ in range(2):
                    ln, i = leb(b, i)
                    i += ln
                kind = b[i]
                i += 1
                if kind == 0:
                    _, i = leb(b, i)
                    funcs_imported += 1
                elif kind == 1:
                    i += 1
                    fl, i = leb(b, i + 0)
                    _, i = leb(b, i)
                    if fl & 1:
                        _, i = leb(b, i)
                elif kind == 2:
                    fl, i = leb(b, i)
                    _, i = leb(b, i)
                    if fl & 1:
                        _, i = leb(b, i)
                elif kind == 3:
                    i += 2
        elif sid == 10:  # code
            n, i = leb(b, a)
            for _ in range(n):
                size, j = leb(b, i)
                bodies.append(size + (j - i))
                i = j + size
        elif sid == 11:
            data += z - a
        elif sid == 0:
            ln, i = leb(b, a)
            name = b[i:i + ln].decode()
            i += ln
            if name == "name":
                while i < z:
                    sub = b[i]
                    size, j = leb(b, i + 1)
                    if sub == 1:
                        n, k = leb(b, j)
                        for _ in range(n):
                            idx, k = leb(b, k)
                            ln2, k = leb(b, k)
                            names[idx] = b[k:k + ln2].decode("utf-8", "replace")
                            k += ln2
                    i = j + size
    return funcs_imported, bodies, names, data


def crate_of(name):
    m = re.match(r"_ZN(\d+)", name)
    if m:
        n = int(m.group(1))
        seg = name[len(m.group(0)):len(m.group(0)) + n]
        if seg.startswith("_$LT$"):
            inner = re.search(r"_\$LT\$(?:\$RF\$)?(?:mut\$u20\$)?([a-z_0-9]+)\.\.", seg)
            return "<" + (inner.group(1) if inner else "?") + ">"
        return seg
    return name.split("::")[0] if "::" in name else "(other)"


def main():
    b = open(sys.argv[1], "rb").read()
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    total_code = 0
    per = defaultdict(int)
    data = 0
    nfun = 0
    for s, e in core_modules(b):
        imp, bodies, names, d = analyse(b, s, e)
        data += d
        nfun += len(bodies)
        for k, size in enumerate(bodies):
            total_code += size
            per[crate_of(names.get(imp + k, "?"))] += size
    print(f"component {len(b):,} bytes; code {total_code:,} in {nfun:,} functions; data {data:,}")
    for c, n in sorted(per.items(), key=lambda x: -x[1])[:top]:
        print(f"  {n:>10,}  {100 * n / total_code:5.1f} %  {c}")


if __name__ == "__main__":
    main()
