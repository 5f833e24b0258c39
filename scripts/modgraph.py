#!/usr/bin/env python3
"""The dependency graph of llmbench's top-level modules, and its cycles.

Reads every `llmbench/src/**.rs` (not `src/bin/`, which are separate crates
that use `llmbench::`), drops comments, string literals, `#[cfg(test)]` items
and the test-only files (`tests.rs`, `*_tests.rs`), then resolves each
`crate::X…`, `use crate::{X, …}` and `super::…` path to the top-level module
`X` it reaches. `crate::Name` for a name `lib.rs` re-exports counts as a
reference to the module it comes from. The crate root (`lib.rs`) wires the
modules together and is not a node.

Prints one line per module with the modules it uses, then the strongly
connected components of more than one module (the cycles), and exits 1 if
there are any. `llmbench/src/layers_tests.rs` runs the same analysis as a test;
docs/architecture.md draws the graph.

Usage: python3 scripts/modgraph.py [--why | --dot] [SRC_DIR]

--why lists, under each module, the places (file:line) that use each module.
"""

import os
import re
import sys

ROOT = "lib"


def blank(s):
    """`s` as spaces, newlines kept, so offsets and line numbers stay."""
    return re.sub(r"[^\n]", " ", s)


def ident_before(text, i):
    """Whether `text[i]` continues an identifier (`br"…"` is a raw string)."""
    def ident(k):
        return k >= 0 and (text[k].isalnum() or text[k] == "_")

    return ident(i - 1) and not (text[i - 1] == "b" and not ident(i - 2))


def strip(text):
    """`text` with comments, string and char literals blanked out."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        start = i
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            out.append(blank(text[start:i]))
        elif text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(blank(text[start:i]))
        elif c == "r" and re.match(r'r#*"', text[i : i + 300]) and not ident_before(text, i):
            m = re.match(r'r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + len(m.group(0)))
            i = n if j < 0 else j + len(end)
            out.append(blank(text[start:i]))
        elif c == '"':
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            out.append(blank(text[start:i]))
        elif c == "'":
            # A char literal ('a', '\n', '\u{..}') or a lifetime ('a).
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i : i + 12])
            if m:
                i += len(m.group(0))
                out.append(blank(text[start:i]))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_item(text, i):
    """The index after the item that starts at `i` (attributes first): its
    `;` or its `{…}` block, outside any `(…)`/`[…]` of its signature."""
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if text.startswith("#[", i):
            i = match_close(text, i + 1, "[", "]")
        else:
            break
    depth = 0
    while i < n:
        c = text[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == ";" and depth == 0:
            return i + 1
        elif c == "{" and depth == 0:
            return match_close(text, i, "{", "}")
        i += 1
    return n


def match_close(text, i, open_, close):
    depth = 0
    while i < len(text):
        if text[i] == open_:
            depth += 1
        elif text[i] == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def test_only(predicate):
    """Whether a `#[cfg(…)]` predicate holds only in test builds: `test`, or
    `all(…)` with `test` among its terms."""
    p = re.sub(r"\s+", "", predicate)
    if p == "test":
        return True
    if p.startswith("all(") and p.endswith(")"):
        depth, start, terms = 0, 4, []
        for k in range(4, len(p)):
            if p[k] == "(":
                depth += 1
            elif p[k] == ")" and depth:
                depth -= 1
            elif p[k] in ",)" and depth == 0:
                terms.append(p[start:k])
                start = k + 1
        return "test" in terms
    return False


def drop_test_items(text):
    """`text` without the items under a test-only `#[cfg(…)]`."""
    pos = 0
    while True:
        m = re.compile(r"#\[\s*cfg\s*\(").search(text, pos)
        if not m:
            return text
        close = match_close(text, m.end() - 1, "(", ")")
        pos = m.end()
        if not test_only(text[m.end() : close - 1]):
            continue
        attr_end = text.find("]", close) + 1
        end = skip_item(text, attr_end)
        text = text[: m.start()] + blank(text[m.start() : end]) + text[end:]


def group_heads(text, i):
    """The first segment of each path in the `{…}` group that starts at `i`."""
    end = match_close(text, i, "{", "}")
    body, heads, depth, start = text[i + 1 : end - 1], [], 0, 0
    for k, ch in enumerate(body + ","):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            m = re.match(r"\s*([A-Za-z_]\w*)", body[start:k])
            if m:
                heads.append(m.group(1))
            start = k + 1
    return heads


def module_of(path, src):
    rel = os.path.relpath(path, src).replace(os.sep, "/")
    parts = rel[:-3].split("/")
    if parts[-1] == "mod":
        parts.pop()
    if parts == ["lib"]:
        return []
    return parts


def refs(text, modpath):
    """(top-level module name, offset) for each path into the crate."""
    found = []
    # Inline `mod name {` blocks shift what `super` means inside them.
    inline = []  # (end offset, name)
    for m in re.finditer(r"\bmod\s+(\w+)\s*\{", text):
        inline.append((m.start(), match_close(text, m.end() - 1, "{", "}"), m.group(1)))

    def depth_at(off):
        return modpath + [name for (s, e, name) in inline if s < off < e]

    for m in re.finditer(r"(?<![\w:])(\$?crate|super(?:\s*::\s*super)*)\s*::\s*", text):
        lead = m.group(1)
        if lead.endswith("crate"):
            base = []
        else:
            ups = lead.count("super")
            here = depth_at(m.start())
            base = here[: max(0, len(here) - ups)] if ups <= len(here) else []
        j = m.end()
        if j < len(text) and text[j] == "{":
            heads = group_heads(text, j)
        else:
            h = re.match(r"([A-Za-z_]\w*)", text[j:])
            heads = [h.group(1)] if h else []
        for head in heads:
            if head == "self" and not base:
                continue
            found.append((base[0] if base else head, m.start()))
    return found


def root_exports(src):
    """Names `lib.rs` re-exports at the crate root -> the module they come from."""
    raw = open(os.path.join(src, "lib.rs"), encoding="utf-8").read()
    text = drop_test_items(strip(raw))
    names = {}
    # `pub use crate::…` is a nested module's (the prelude's), not the root's.
    for m in re.finditer(r"\bpub\s+use\s+(?!crate::)(\w+)::([^;]*);", text):
        for item in m.group(2).strip().lstrip("{").rstrip("}").split(","):
            last = item.split("::")[-1].strip()
            if last:
                names[last] = m.group(1)
    # Before stripping: the path is a string literal.
    for m in re.finditer(r'#\[path\s*=\s*"(\w+)\.rs"\][^;]*?\bmod\s+(\w+)', raw):
        names[m.group(2)] = m.group(1)
    return names


def graph(src):
    modules = set()
    edges = {}
    why = {}  # (from, to) -> ["path:line", ...]
    exports = root_exports(src)
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        if os.path.relpath(dirpath, src).split(os.sep)[0] == "bin":
            continue
        for f in sorted(filenames):
            if not f.endswith(".rs") or f == "tests.rs" or f.endswith("_tests.rs"):
                continue
            path = os.path.join(dirpath, f)
            modpath = module_of(path, src)
            if not modpath:
                continue
            me = modpath[0]
            modules.add(me)
            text = drop_test_items(strip(open(path, encoding="utf-8").read()))
            for head, off in refs(text, modpath):
                head = exports.get(head, head)
                if head != me:
                    edges.setdefault(me, set()).add(head)
                    line = text.count("\n", 0, off) + 1
                    rel = os.path.relpath(path, src).replace(os.sep, "/")
                    why.setdefault((me, head), []).append(f"{rel}:{line}")
    # Keep only edges to modules (not to crate-root items or external crates).
    for k in edges:
        edges[k] = {v for v in edges[k] if v in modules}
    return modules, edges, why


def sccs(nodes, edges):
    """Tarjan's strongly connected components, each sorted; list sorted."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return sorted(out)


def cycle_in(comp, edges):
    """One shortest cycle through the component's first module, for the report."""
    start = comp[0]
    members = set(comp)
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges.get(v, ())):
                if w == start:
                    path = [v]
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return list(reversed(path)) + [start]
                if w in members and w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return comp


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    here = os.path.dirname(os.path.abspath(__file__))
    src = args[0] if args else os.path.join(here, "..", "llmbench", "src")
    modules, edges, why = graph(src)
    if "--dot" in sys.argv:
        print("digraph llmbench {")
        for m in sorted(modules):
            for d in sorted(edges.get(m, ())):
                print(f"  {m} -> {d};")
        print("}")
        return 0
    for m in sorted(modules):
        print(f"{m} -> {', '.join(sorted(edges.get(m, ()))) or '(nothing)'}")
        if "--why" in sys.argv:
            for d in sorted(edges.get(m, ())):
                print(f"    {d}: {' '.join(sorted(set(why[(m, d)])))}")
    cycles = [c for c in sccs(modules, edges) if len(c) > 1]
    print()
    if not cycles:
        print("no cycles")
        return 0
    for c in cycles:
        print(f"cycle ({len(c)} modules): {' '.join(c)}")
        print(f"  e.g. {' -> '.join(cycle_in(c, edges))}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
