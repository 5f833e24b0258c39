//! The top-level modules of `llmbench/src` form no import cycle: each knows
//! only the layers below it (docs/architecture.md draws them). The same
//! analysis as `scripts/modgraph.py`, which prints the graph and explains a
//! failure (`python3 scripts/modgraph.py --why`): every `crate::X…`,
//! `use crate::{X, …}` and `super::…` path outside comments, string
//! literals, `#[cfg(test)]` items and test files (`tests.rs`, `*_tests.rs`)
//! is an edge to the top-level module `X` it reaches. Test code may reach
//! across layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Cycles known to remain, each as its sorted modules. The list may only
/// shrink: a new cycle fails, and so does one listed here that is gone.
const KNOWN_CYCLES: &[&[&str]] = &[];

type Graph = BTreeMap<String, BTreeSet<String>>;

#[test]
fn top_level_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    assert!(graph.len() > 20 && graph.contains_key("engine"), "found only {:?} in {}", graph.keys(), src.display());
    let found: Vec<Vec<String>> = cycles(&graph);
    let known: Vec<Vec<String>> = KNOWN_CYCLES.iter().map(|c| c.iter().map(|m| (*m).to_owned()).collect()).collect();
    let new: Vec<String> = found
        .iter()
        .filter(|c| !known.contains(c))
        .map(|c| format!("cycle ({} modules): {}\n  e.g. {}", c.len(), c.join(" "), describe(c, &graph)))
        .collect();
    assert!(
        new.is_empty(),
        "import cycles between top-level modules (move the item to the layer that owns it; \
         `python3 scripts/modgraph.py --why` shows where each edge is):\n{}",
        new.join("\n")
    );
    let gone: Vec<_> = known.iter().filter(|c| !found.contains(c)).collect();
    assert!(gone.is_empty(), "cycles no longer there, remove them from KNOWN_CYCLES: {gone:?}");
}

#[test]
fn the_analysis_sees_paths_and_skips_tests() {
    let text = strip_and_drop_tests(
        "use crate::{a::B, c};\n// crate::commented\nlet s = \"crate::quoted\";\n\
         #[cfg(test)]\nfn f() -> [u8; 4] { crate::tested::x() }\nfn g() { super::super::d::e() }\n\
         #[cfg(all(feature = \"x\", test))] use crate::tested2;\n#[cfg(any(test, unix))] use crate::f;",
    );
    let heads: Vec<String> = refs(&text, &["m".into(), "n".into()]);
    assert_eq!(heads, ["a", "c", "d", "f"]);
    assert_eq!(refs("use super::{x, y::z};", &["m".into(), "n".into()]), ["m", "m"]);
    assert_eq!(refs("use super::y;", &["m".into()]), ["y"]);
    let mut g = Graph::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")] {
        g.entry(a.into()).or_default().insert(b.into());
    }
    assert_eq!(cycles(&g), [vec!["a", "b", "c"]]);
    assert_eq!(describe(&cycles(&g)[0], &g), "a -> b -> c -> a");
}

/// Module -> the modules it uses (crate-root re-exports resolved).
fn graph(src: &Path) -> Graph {
    let exports = root_exports(&std::fs::read_to_string(src.join("lib.rs")).expect("read lib.rs"));
    let mut files = Vec::new();
    collect(src, &mut files);
    let mut graph = Graph::new();
    for path in files {
        let rel = path.strip_prefix(src).expect("under src").with_extension("");
        let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let name = parts.last().cloned().unwrap_or_default();
        if parts[0] == "bin" || name == "tests" || name.ends_with("_tests") || parts == ["lib"] {
            continue;
        }
        if name == "mod" {
            parts.pop();
        }
        let me = parts[0].clone();
        let text = strip_and_drop_tests(&std::fs::read_to_string(&path).expect("read a source file"));
        let uses = graph.entry(me.clone()).or_default();
        for head in refs(&text, &parts) {
            let head = exports.get(&head).cloned().unwrap_or(head);
            if head != me {
                uses.insert(head);
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for uses in graph.values_mut() {
        uses.retain(|m| modules.contains(m));
    }
    graph
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Names `lib.rs` re-exports at the crate root (`pub use m::{A, b::C}`,
/// `#[path = "f.rs"] mod g`) -> the module they come from.
fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let text = strip_and_drop_tests(lib);
    let mut names = BTreeMap::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + 8..];
        let stmt = &rest[..rest.find(';').unwrap_or(rest.len())];
        // `pub use crate::…` is a nested module's (the prelude's), not the root's.
        let Some((module, items)) = stmt.split_once("::").filter(|(m, _)| m.trim() != "crate") else { continue };
        let items = items.trim().trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            if let Some(last) = item.rsplit("::").next().map(str::trim).filter(|s| !s.is_empty()) {
                names.insert(last.to_owned(), module.trim().to_owned());
            }
        }
    }
    // Before stripping: the path is a string literal.
    let mut rest = lib;
    while let Some(at) = rest.find("#[path = \"") {
        rest = &rest[at + 10..];
        let file = &rest[..rest.find(".rs\"").unwrap_or(0)];
        if let Some(m) = rest.find("mod ") {
            let name: String = rest[m + 4..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            names.insert(name, file.to_owned());
        }
    }
    names
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `text` with comments and string and char literals blanked (newlines
/// kept), then the items under a test-only `#[cfg(…)]` blanked too.
fn strip_and_drop_tests(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            blank(&mut out, start, i);
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 1;
            i += 2;
            while i < b.len() && depth > 0 {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            blank(&mut out, start, i);
        } else if b[i] == b'r' && raw_string_hashes(b, i).is_some() {
            let hashes = raw_string_hashes(b, i).unwrap_or(0);
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            i += 2 + hashes;
            while i < b.len() && !b[i..].starts_with(&close) {
                i += 1;
            }
            i += close.len();
            blank(&mut out, start, i);
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            blank(&mut out, start, i);
        } else if b[i] == b'\'' {
            // A char literal ('a', '\n', '\u{..}', 'é') or a lifetime ('a).
            let end = if b.get(i + 1) == Some(&b'\\') {
                (i + 2..(i + 12).min(b.len())).find(|&k| b[k] == b'\'')
            } else {
                let len = match b.get(i + 1) {
                    Some(c) if *c >= 0xf0 => 4,
                    Some(c) if *c >= 0xe0 => 3,
                    Some(c) if *c >= 0xc0 => 2,
                    _ => 1,
                };
                Some(i + 1 + len).filter(|&k| b.get(k) == Some(&b'\''))
            };
            i = end.map_or(i + 1, |k| k + 1);
            if end.is_some() {
                blank(&mut out, start, i);
            }
        } else {
            i += 1;
        }
    }
    let mut text = String::from_utf8_lossy(&out).into_owned();
    let mut pos = 0;
    while let Some(at) = text[pos..].find("#[cfg(").map(|a| a + pos) {
        let open = at + 5;
        let close = match_close(text.as_bytes(), open, b'(', b')');
        pos = open;
        if !test_only(&text[open + 1..close - 1]) {
            continue;
        }
        let attr_end = text[close..].find(']').map_or(text.len(), |k| close + k + 1);
        let end = skip_item(text.as_bytes(), attr_end);
        let blanked: String = text[at..end].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
        text.replace_range(at..end, &blanked);
    }
    text
}

/// `Some(number of #)` when `b[i]` starts a raw string (`r"`, `r#"`, `br"`).
fn raw_string_hashes(b: &[u8], i: usize) -> Option<usize> {
    let ident_before = i > 0 && is_ident(b[i - 1]) && !(b[i - 1] == b'b' && (i < 2 || !is_ident(b[i - 2])));
    if ident_before {
        return None;
    }
    let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
    (b.get(i + 1 + hashes) == Some(&b'"')).then_some(hashes)
}

/// Whether a `#[cfg(…)]` predicate holds only in test builds: `test`, or
/// `all(…)` with `test` among its terms.
fn test_only(predicate: &str) -> bool {
    let p: String = predicate.chars().filter(|c| !c.is_whitespace()).collect();
    if p == "test" {
        return true;
    }
    let Some(inner) = p.strip_prefix("all(").and_then(|s| s.strip_suffix(')')) else { return false };
    let (mut depth, mut start, mut terms) = (0, 0, Vec::new());
    for (k, c) in inner.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&inner[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    terms.push(&inner[start..]);
    terms.contains(&"test")
}

/// The index after the bracket that closes the one at `i`.
fn match_close(b: &[u8], i: usize, open: u8, close: u8) -> usize {
    let mut depth = 0;
    for (k, c) in b.iter().enumerate().skip(i) {
        if *c == open {
            depth += 1;
        } else if *c == close {
            depth -= 1;
            if depth == 0 {
                return k + 1;
            }
        }
    }
    b.len()
}

/// The index after the item that starts at `i` (attributes first): its
/// `;` or its `{…}` block, outside any `(…)`/`[…]` of its signature.
fn skip_item(b: &[u8], mut i: usize) -> usize {
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"#[") {
            i = match_close(b, i + 1, b'[', b']');
        } else {
            break;
        }
    }
    let mut depth = 0i32;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b';' if depth == 0 => return i + 1,
            b'{' if depth == 0 => return match_close(b, i, b'{', b'}'),
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// The top-level module each path into the crate reaches, from the file of
/// module `modpath` (`["cost", "compute"]`).
fn refs(text: &str, modpath: &[String]) -> Vec<String> {
    let b = text.as_bytes();
    // Inline `mod name {…}` blocks shift what `super` means inside them.
    let mut inline = Vec::new();
    for (at, _) in text.match_indices("mod ") {
        if at > 0 && is_ident(b[at - 1]) {
            continue;
        }
        let name: String = text[at + 4..].chars().take_while(|c| is_ident(*c as u8)).collect();
        let after = text[at + 4 + name.len()..].trim_start();
        if !name.is_empty() && after.starts_with('{') {
            let open = text.len() - after.len();
            inline.push((at, match_close(b, open, b'{', b'}'), name));
        }
    }
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = (i == 0 || !(is_ident(b[i - 1]) || b[i - 1] == b':'))
            && (b[i..].starts_with(b"crate") || b[i..].starts_with(b"super"));
        if !starts || b.get(i + 5).is_some_and(|c| is_ident(*c)) {
            i += 1;
            continue;
        }
        let at = i;
        let from_crate = b[i..].starts_with(b"crate");
        let (mut j, mut ups, mut path) = (i, 0, false);
        loop {
            let word_super = b[j..].starts_with(b"super") && !b.get(j + 5).is_some_and(|c| is_ident(*c));
            let word_crate = j == at && from_crate;
            let k = skip_ws(b, j + 5);
            if !(word_super || word_crate) || !b[k.min(b.len())..].starts_with(b"::") {
                break;
            }
            j = skip_ws(b, k + 2);
            path = true;
            if word_crate {
                break;
            }
            ups += 1;
        }
        i = j.max(at + 5);
        if !path {
            continue;
        }
        let here: Vec<String> = modpath
            .iter()
            .cloned()
            .chain(inline.iter().filter(|(s, e, _)| *s < at && at < *e).map(|x| x.2.clone()))
            .collect();
        let base: Vec<String> =
            if from_crate || ups > here.len() { Vec::new() } else { here[..here.len() - ups].to_vec() };
        let heads: Vec<String> = if b.get(j) == Some(&b'{') {
            let end = match_close(b, j, b'{', b'}');
            split_top(&text[j + 1..end - 1]).iter().map(|s| first_ident(s)).collect()
        } else {
            vec![first_ident(&text[j..])]
        };
        for head in heads.into_iter().filter(|h| !h.is_empty()) {
            if let Some(first) = base.first() {
                found.push(first.clone());
            } else if head != "self" {
                found.push(head);
            }
        }
    }
    found
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn first_ident(s: &str) -> String {
    s.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect()
}

/// The comma-separated parts of a `{…}` group's body, nested groups whole.
fn split_top(body: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
    for (k, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
}

/// The strongly connected components of more than one module (Tarjan),
/// each sorted, in order.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    comp.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                comp.sort();
                self.out.push(comp);
            }
        }
    }
    let mut t = Tarjan { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), out: Vec::new() };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    let mut out: Vec<_> = t.out.into_iter().filter(|c| c.len() > 1).collect();
    out.sort();
    out
}

/// One shortest cycle through the component's first module: `a -> b -> a`.
fn describe(comp: &[String], graph: &Graph) -> String {
    let start = &comp[0];
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut frontier = vec![start.as_str()];
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for v in frontier {
            for w in graph.get(v).into_iter().flatten() {
                if w == start {
                    let mut path = vec![v];
                    while let Some(p) = prev.get(path[path.len() - 1]) {
                        path.push(p);
                    }
                    path.reverse();
                    path.push(start);
                    return path.join(" -> ");
                }
                if comp.contains(w) && !prev.contains_key(w.as_str()) && w != start {
                    prev.insert(w, v);
                    next.push(w.as_str());
                }
            }
        }
        frontier = next;
    }
    comp.join(" ")
}
