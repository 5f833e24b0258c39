//! A small SVG writer: elements appended to one string, every piece of
//! text escaped, numbers written with one decimal so files stay small.

use std::fmt::{self, Display, Write};

/// Escapes text for HTML/SVG content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A coordinate written with at most one decimal (`12.3`, `7`).
#[derive(Clone, Copy)]
pub(crate) struct N(pub f64);

impl Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = if self.0.is_finite() { (self.0 * 10.0).round() / 10.0 } else { 0.0 };
        if v == v.trunc() { write!(f, "{}", v as i64) } else { write!(f, "{v:.1}") }
    }
}

/// Horizontal anchoring of a text label.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn attr(self) -> &'static str {
        match self {
            Anchor::Start => "",
            Anchor::Middle => " text-anchor=\"middle\"",
            Anchor::End => " text-anchor=\"end\"",
        }
    }
}

/// One `<svg>` element being written. Class names (never user text) style
/// it from the page's CSS, so dark mode and the palette live in one place.
pub(crate) struct Svg {
    buf: String,
}

impl Svg {
    /// An SVG of `width` × `height` user units, labelled for screen readers.
    pub(crate) fn new(width: f64, height: f64, label: &str) -> Svg {
        let mut buf = String::with_capacity(8 * 1024);
        let _ = write!(
            buf,
            "<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">",
            N(width),
            N(height),
            escape(label)
        );
        Svg { buf }
    }

    /// A text label. `class` is a fixed CSS class name.
    pub(crate) fn text(&mut self, x: f64, y: f64, anchor: Anchor, class: &str, content: &str) {
        let _ = write!(self.buf, "<text x=\"{}\" y=\"{}\"{}", N(x), N(y), anchor.attr());
        self.class_attr(class);
        let _ = write!(self.buf, ">{}</text>", escape(content));
    }

    /// Text rotated a quarter turn anticlockwise about its anchor (y-axis titles).
    pub(crate) fn text_vertical(&mut self, x: f64, y: f64, class: &str, content: &str) {
        let _ = write!(self.buf, "<text transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\"", N(x), N(y));
        self.class_attr(class);
        let _ = write!(self.buf, ">{}</text>", escape(content));
    }

    /// A straight line.
    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, class: &str) {
        let _ = write!(self.buf, "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"", N(x1), N(y1), N(x2), N(y2));
        self.class_attr(class);
        self.buf.push_str("/>");
    }

    /// A rectangle.
    pub(crate) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, class: &str) {
        let _ = write!(
            self.buf,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
            N(x),
            N(y),
            N(w.max(0.0)),
            N(h.max(0.0))
        );
        self.class_attr(class);
        self.buf.push_str("/>");
    }

    /// A circle.
    pub(crate) fn circle(&mut self, cx: f64, cy: f64, r: f64, class: &str) {
        let _ = write!(self.buf, "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"", N(cx), N(cy), N(r));
        self.class_attr(class);
        self.buf.push_str("/>");
    }

    /// A path; `d` is built with [`PathData`], never from user text.
    pub(crate) fn path(&mut self, d: &PathData, class: &str) {
        if d.is_empty() {
            return;
        }
        let _ = write!(self.buf, "<path d=\"{}\"", d.0);
        self.class_attr(class);
        self.buf.push_str("/>");
    }

    /// A tooltip for the element group that follows (`<title>` inside `<g>`).
    pub(crate) fn open_group(&mut self, class: &str, tooltip: Option<&str>) {
        self.buf.push_str("<g");
        self.class_attr(class);
        self.buf.push('>');
        if let Some(t) = tooltip {
            let _ = write!(self.buf, "<title>{}</title>", escape(t));
        }
    }

    /// Ends the group opened last.
    pub(crate) fn close_group(&mut self) {
        self.buf.push_str("</g>");
    }

    /// The finished `<svg>` element.
    pub(crate) fn finish(mut self) -> String {
        self.buf.push_str("</svg>");
        self.buf
    }

    fn class_attr(&mut self, class: &str) {
        if !class.is_empty() {
            debug_assert!(class.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-' || b == b'_'));
            let _ = write!(self.buf, " class=\"{class}\"");
        }
    }
}

/// The `d` attribute of a path, built from numbers only.
#[derive(Default)]
pub(crate) struct PathData(String);

impl PathData {
    /// An empty path.
    pub(crate) fn new() -> Self {
        PathData(String::new())
    }

    /// Moves to a point.
    pub(crate) fn move_to(&mut self, x: f64, y: f64) -> &mut Self {
        let _ = write!(self.0, "M{} {}", N(x), N(y));
        self
    }

    /// A line to a point.
    pub(crate) fn line_to(&mut self, x: f64, y: f64) -> &mut Self {
        let _ = write!(self.0, "L{} {}", N(x), N(y));
        self
    }

    /// A horizontal line to `x`.
    pub(crate) fn h_to(&mut self, x: f64) -> &mut Self {
        let _ = write!(self.0, "H{}", N(x));
        self
    }

    /// A vertical line to `y`.
    pub(crate) fn v_to(&mut self, y: f64) -> &mut Self {
        let _ = write!(self.0, "V{}", N(y));
        self
    }

    /// A dot: a zero-length segment drawn with a round cap. Thousands of
    /// dots in one path are far smaller than as many `<circle>`s.
    pub(crate) fn dot(&mut self, x: f64, y: f64) -> &mut Self {
        let _ = write!(self.0, "M{} {}h0", N(x), N(y));
        self
    }

    /// A relative segment from the current point (for marker shapes).
    pub(crate) fn rel(&mut self, dx: f64, dy: f64) -> &mut Self {
        let _ = write!(self.0, "l{} {}", N(dx), N(dy));
        self
    }

    /// Closes the current subpath.
    pub(crate) fn close(&mut self) -> &mut Self {
        self.0.push('Z');
        self
    }

    /// Whether nothing was drawn.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_everywhere() {
        let mut svg = Svg::new(10.0, 10.0, "a \"label\" <b>");
        svg.text(1.0, 2.0, Anchor::Start, "lbl", "<script>alert(1)</script>");
        svg.open_group("g", Some("O'Reilly & co"));
        svg.close_group();
        let out = svg.finish();
        assert!(!out.contains("<script>"), "{out}");
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(out.contains("aria-label=\"a &quot;label&quot; &lt;b&gt;\""));
        assert!(out.contains("O&#39;Reilly &amp; co"));
    }

    #[test]
    fn numbers_are_compact() {
        assert_eq!(N(12.0).to_string(), "12");
        assert_eq!(N(12.345).to_string(), "12.3");
        assert_eq!(N(-0.04).to_string(), "0");
        assert_eq!(N(f64::NAN).to_string(), "0");
        let mut d = PathData::new();
        d.move_to(1.0, 2.25).line_to(3.0, 4.0).dot(5.0, 6.0);
        assert_eq!(d.0, "M1 2.3L3 4M5 6h0");
    }
}
