//! A small SVG writer: `<line>`, `<rect>`, `<polyline>`, `<circle>`, `<text>` and groups, with
//! every piece of text escaped (the tests check what it writes with an XML parser,
//! `crate::testing::check_well_formed`).
//!
//! Coordinates are user units of the `viewBox` (one unit = one CSS pixel at the natural width),
//! written with one decimal. Text sizes are estimated, not measured (no font backend, no
//! system libraries): [`text_width`] errs on the wide side so labels do not overlap.

use std::fmt::Write as _;

/// Font stack of every text element: the browser's UI font, then common fallbacks.
pub const FONT_FAMILY: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', 'DejaVu Sans', Arial, sans-serif";

/// Average advance of a char as a share of the font size, rounded up for proportional sans-serif
/// fonts (digits and lowercase are about 0.55 em).
const CHAR_WIDTH_EM: f64 = 0.6;

/// Escapes `&`, `<`, `>`, `"` and `'` so `s` is safe as XML/HTML text and inside quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0; show them as spaces.
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Estimated width of `s` in user units at `font_size`.
pub fn text_width(s: &str, font_size: f64) -> f64 {
    s.chars().count() as f64 * font_size * CHAR_WIDTH_EM
}

/// `s` cut to at most `max_chars` chars, ending with `…` when cut.
pub fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A number as an SVG coordinate: one decimal, no `-0.0`, non-finite values as 0.
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "0".to_string();
    }
    let r = (x * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Horizontal anchor of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The text starts at x.
    Start,
    /// The text is centred on x.
    Middle,
    /// The text ends at x.
    End,
}

impl Anchor {
    fn as_str(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// How a line or an outline is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Stroke {
    /// CSS colour, e.g. `#4e79a7`.
    pub color: String,
    /// Width in user units.
    pub width: f64,
    /// `stroke-dasharray`, e.g. `6 3`; `None` for solid.
    pub dash: Option<String>,
}

impl Stroke {
    /// A solid stroke.
    pub fn solid(color: &str, width: f64) -> Stroke {
        Stroke {
            color: color.to_string(),
            width,
            dash: None,
        }
    }

    /// A dashed stroke with the given `stroke-dasharray`.
    pub fn dashed(color: &str, width: f64, dash: &str) -> Stroke {
        Stroke {
            color: color.to_string(),
            width,
            dash: Some(dash.to_string()),
        }
    }

    fn attrs(&self) -> String {
        let mut s = format!(
            r#" stroke="{}" stroke-width="{}""#,
            escape(&self.color),
            num(self.width)
        );
        if let Some(d) = &self.dash {
            let _ = write!(s, r#" stroke-dasharray="{}""#, escape(d));
        }
        s
    }
}

/// Style of a text element.
#[derive(Debug, Clone, PartialEq)]
pub struct TextStyle {
    /// Font size in user units.
    pub size: f64,
    /// Horizontal anchor.
    pub anchor: Anchor,
    /// CSS colour.
    pub color: String,
    /// Bold.
    pub bold: bool,
    /// Rotation in degrees around the anchor point (negative: counter-clockwise).
    pub rotate_deg: f64,
    /// A white outline behind the glyphs, so the text stays readable over lines.
    pub halo: bool,
}

impl TextStyle {
    /// Regular dark text of `size` anchored at `anchor`.
    pub fn new(size: f64, anchor: Anchor) -> TextStyle {
        TextStyle {
            size,
            anchor,
            color: "#222".to_string(),
            bold: false,
            rotate_deg: 0.0,
            halo: false,
        }
    }

    /// The same style with a white outline behind the glyphs.
    pub fn halo(mut self) -> TextStyle {
        self.halo = true;
        self
    }

    /// The same style in bold.
    pub fn bold(mut self) -> TextStyle {
        self.bold = true;
        self
    }

    /// The same style in another colour.
    pub fn color(mut self, color: &str) -> TextStyle {
        self.color = color.to_string();
        self
    }

    /// The same style rotated by `deg` degrees around the anchor point.
    pub fn rotate(mut self, deg: f64) -> TextStyle {
        self.rotate_deg = deg;
        self
    }
}

/// An SVG document being written. Every method escapes the text and attribute values it is
/// given; [`Svg::finish`] closes the document.
#[derive(Debug, Clone)]
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
    open_groups: usize,
}

impl Svg {
    /// A new document of `width` × `height` user units.
    pub fn new(width: f64, height: f64) -> Svg {
        Svg {
            width,
            height,
            body: String::new(),
            open_groups: 0,
        }
    }

    /// Width in user units.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Height in user units.
    pub fn height(&self) -> f64 {
        self.height
    }

    /// A line from `(x1, y1)` to `(x2, y2)`.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &Stroke) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}"{}/>"#,
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            stroke.attrs()
        );
    }

    /// A filled rectangle with its top-left corner at `(x, y)`, optionally with a hover tooltip.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tooltip: Option<&str>) {
        let (x, w) = if w < 0.0 { (x + w, -w) } else { (x, w) };
        let (y, h) = if h < 0.0 { (y + h, -h) } else { (y, h) };
        let head = format!(
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{}""#,
            num(x),
            num(y),
            num(w),
            num(h),
            escape(fill)
        );
        self.element(&head, tooltip);
    }

    /// An outlined, unfilled rectangle.
    pub fn frame(&mut self, x: f64, y: f64, w: f64, h: f64, stroke: &Stroke) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="none"{}/>"#,
            num(x),
            num(y),
            num(w),
            num(h),
            stroke.attrs()
        );
    }

    /// A polyline through `points` (at least two), optionally with a hover tooltip.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &Stroke, tooltip: Option<&str>) {
        if points.len() < 2 {
            return;
        }
        let mut pts = String::new();
        for (i, (x, y)) in points.iter().enumerate() {
            if i > 0 {
                pts.push(' ');
            }
            let _ = write!(pts, "{},{}", num(*x), num(*y));
        }
        let head = format!(
            r#"<polyline points="{pts}" fill="none"{} stroke-linejoin="round" stroke-linecap="round""#,
            stroke.attrs()
        );
        self.element(&head, tooltip);
    }

    /// A filled circle, optionally with a hover tooltip.
    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, fill: &str, tooltip: Option<&str>) {
        let head = format!(
            r#"<circle cx="{}" cy="{}" r="{}" fill="{}""#,
            num(cx),
            num(cy),
            num(r),
            escape(fill)
        );
        self.element(&head, tooltip);
    }

    /// One line of text at `(x, y)` (y is the baseline).
    pub fn text(&mut self, x: f64, y: f64, s: &str, style: &TextStyle) {
        let mut attrs = format!(
            r#"x="{}" y="{}" font-size="{}" text-anchor="{}" fill="{}""#,
            num(x),
            num(y),
            num(style.size),
            style.anchor.as_str(),
            escape(&style.color)
        );
        if style.bold {
            attrs.push_str(r#" font-weight="bold""#);
        }
        if style.halo {
            attrs.push_str(
                r##" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke""##,
            );
        }
        if style.rotate_deg != 0.0 {
            let _ = write!(
                attrs,
                r#" transform="rotate({} {} {})""#,
                num(style.rotate_deg),
                num(x),
                num(y)
            );
        }
        let _ = writeln!(self.body, "<text {attrs}>{}</text>", escape(s));
    }

    /// One line of text with a hover tooltip (e.g. the full text of a truncated label).
    pub fn text_with_tooltip(&mut self, x: f64, y: f64, s: &str, style: &TextStyle, tooltip: &str) {
        self.open_group(None);
        let _ = writeln!(self.body, "<title>{}</title>", escape(tooltip));
        self.text(x, y, s, style);
        self.close_group();
    }

    /// Opens a `<g>` group; `tooltip` becomes its `<title>` (shown on hover in browsers).
    pub fn open_group(&mut self, tooltip: Option<&str>) {
        self.body.push_str("<g>\n");
        if let Some(t) = tooltip {
            let _ = writeln!(self.body, "<title>{}</title>", escape(t));
        }
        self.open_groups += 1;
    }

    /// Closes the innermost open group (no-op when none is open).
    pub fn close_group(&mut self) {
        if self.open_groups > 0 {
            self.body.push_str("</g>\n");
            self.open_groups -= 1;
        }
    }

    /// An element whose `head` is its open tag without `>`; closed with a `<title>` child when
    /// there is a tooltip, self-closed otherwise.
    fn element(&mut self, head: &str, tooltip: Option<&str>) {
        let tag = head
            .trim_start_matches('<')
            .split_whitespace()
            .next()
            .unwrap_or("g")
            .to_string();
        match tooltip {
            Some(t) => {
                let _ = writeln!(self.body, "{head}><title>{}</title></{tag}>", escape(t));
            }
            None => {
                let _ = writeln!(self.body, "{head}/>");
            }
        }
    }

    /// The whole `<svg>` element, responsive (`width` 100%, natural size as `max-width`), with
    /// `aria-label` set to `label`. Open groups are closed.
    pub fn finish(mut self, label: &str) -> String {
        while self.open_groups > 0 {
            self.close_group();
        }
        format!(
            concat!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" "#,
                r#"style="width:100%;height:auto;max-width:{w}px" role="img" aria-label="{label}" "#,
                r#"font-family="{font}">"#,
                "\n<title>{label}</title>\n",
                r##"<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>"##,
                "\n{body}</svg>"
            ),
            w = num(self.width),
            h = num(self.height),
            label = escape(label),
            font = escape(FONT_FAMILY),
            body = self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_text_and_attributes() {
        assert_eq!(
            escape(r#"<script>"a"&'b'"#),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;"
        );
        let mut s = Svg::new(100.0, 50.0);
        s.text(
            1.0,
            2.0,
            "<script>alert(1)</script>",
            &TextStyle::new(12.0, Anchor::Start),
        );
        s.rect(0.0, 0.0, 5.0, 5.0, "#fff\" onload=\"x", Some("a < b"));
        let out = s.finish("title & <b>");
        assert!(!out.contains("<script>"), "{out}");
        assert!(
            out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{out}"
        );
        assert!(!out.contains("\" onload"), "{out}");
        crate::testing::check_well_formed(&out).unwrap();
    }

    #[test]
    fn writes_well_formed_svg_with_negative_rects_and_groups() {
        let mut s = Svg::new(200.0, 100.0);
        s.open_group(Some("series"));
        s.polyline(
            &[(0.0, 0.0), (10.0, 20.5), (f64::NAN, 3.0)],
            &Stroke::dashed("#123", 2.0, "4 2"),
            None,
        );
        s.rect(10.0, 50.0, 20.0, -30.0, "#abc", None);
        s.circle(5.0, 5.0, 2.0, "red", Some("point"));
        s.text(
            0.0,
            0.0,
            "x",
            &TextStyle::new(10.0, Anchor::Middle).rotate(-30.0).bold(),
        );
        // left open on purpose: finish closes it
        let out = s.finish("chart");
        crate::testing::check_well_formed(&out).unwrap();
        assert!(
            out.contains(r#"<rect x="10" y="20" width="20" height="30""#),
            "{out}"
        );
        assert!(out.contains("points=\"0,0 10,20.5 0,3\""), "{out}");
        assert!(out.contains("rotate(-30 0 0)"), "{out}");
        assert_eq!(out.matches("<g>").count(), out.matches("</g>").count());
    }

    #[test]
    fn text_helpers() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(text_width("abcd", 10.0), 24.0);
        assert_eq!(num(-0.04), "0");
        assert_eq!(num(1.25), "1.3");
        assert_eq!(num(f64::INFINITY), "0");
    }
}
