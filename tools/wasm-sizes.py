#!/usr/bin/env python3
"""Where a wasm binary's bytes go: code size per crate (and the largest functions),
read from the code and name sections. Run it on wasm-bindgen's output, before wasm-opt
strips the names:  python3 tools/wasm-sizes.py file.wasm [--top N] [--grep TEXT]

Only the standard library: it parses the binary format itself."""
import re
import sys
from collections import Counter


def leb(data, pos):
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def sections(data):
    pos = 8
    while pos < len(data):
        kind = data[pos]
        size, pos = leb(data, pos + 1)
        yield kind, data[pos:pos + size]
        pos += size


def imported_functions(body):
    count, pos = leb(body, 0)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module, field
            length, pos = leb(body, pos)
            pos += length
        kind = body[pos]
        pos += 1
        if kind == 0:
            functions += 1
            _, pos = leb(body, pos)
        elif kind == 1:  # table: reftype, limits
            pos += 1
            flags, pos = leb(body, pos + 0)
            _, pos = leb(body, pos)
            if flags & 1:
                _, pos = leb(body, pos)
        elif kind == 2:  # memory: limits
            flags, pos = leb(body, pos)
            _, pos = leb(body, pos)
            if flags & 1:
                _, pos = leb(body, pos)
        elif kind == 3:  # global: valtype, mutability
            pos += 2
        else:  # tag
            pos += 1
            _, pos = leb(body, pos)
    return functions


def function_names(body):
    length, pos = leb(body, 0)
    if body[pos:pos + length] != b"name":
        return None
    pos += length
    names = {}
    while pos < len(body):
        sub = body[pos]
        size, pos = leb(body, pos + 1)
        end = pos + size
        if sub == 1:
            count, p = leb(body, pos)
            for _ in range(count):
                index, p = leb(body, p)
                length, p = leb(body, p)
                names[index] = body[p:p + length].decode("utf-8", "replace")
                p += length
        pos = end
    return names


def crate_of(name):
    name = re.sub(r"^<", "", name)
    name = re.sub(r"^(impl|&|mut |dyn )+\s*", "", name)
    head = re.split(r"::|<| |\[|\(", name, maxsplit=1)[0]
    return head or "?"


def main():
    args = sys.argv[1:]
    top = int(args[args.index("--top") + 1]) if "--top" in args else 25
    grep = args[args.index("--grep") + 1] if "--grep" in args else None
    data = open(args[0], "rb").read()
    imports, bodies, names, totals = 0, [], {}, Counter()
    for kind, body in sections(data):
        totals[kind] += len(body)
        if kind == 2:
            imports = imported_functions(body)
        elif kind == 10:
            count, pos = leb(body, 0)
            for _ in range(count):
                size, pos = leb(body, pos)
                bodies.append(size)
                pos += size
        elif kind == 0:
            names = function_names(body) or names
    labels = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
              6: "global", 7: "export", 9: "elem", 10: "code", 11: "data", 12: "datacount"}
    print(f"{len(data):>9} bytes in all")
    for kind, size in totals.most_common():
        print(f"{size:>9}  section {labels.get(kind, kind)}")
    functions = [(size, names.get(imports + i, f"#{imports + i}")) for i, size in enumerate(bodies)]
    if grep:
        functions = [f for f in functions if grep in f[1]]
    crates = Counter()
    for size, name in functions:
        crates[crate_of(name)] += size
    print("\ncode by crate")
    for crate, size in crates.most_common(top):
        print(f"{size:>9}  {crate}")
    print(f"\nlargest {top} functions")
    for size, name in sorted(functions, reverse=True)[:top]:
        print(f"{size:>9}  {name[:160]}")


if __name__ == "__main__":
    main()
