//! The well-formedness check of the HTML report and its SVG charts, for tests: the document
//! must parse as XML (an XML parser, `roxmltree`, with the leading `<!DOCTYPE html>` allowed):
//! every tag closed in order, attribute values quoted, no raw `<` or stray `&`, only XML's own
//! entities and numeric ones. A fragment (one section, one chart) is checked inside one
//! wrapping element, since XML wants a single root.

/// Chars of the failing line shown on each side of the place a check failed.
const CONTEXT_CHARS: usize = 200;

/// `Ok` when `doc` (a whole document, or a fragment of elements) parses as XML; else the
/// parser's message (its line and column count the wrapper of a fragment as line 1) and the
/// text of `doc` around that place.
pub fn check_well_formed(doc: &str) -> Result<(), String> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let start = doc.trim_start();
    let whole = start.starts_with("<!") || start.starts_with("<?");
    // The wrapper takes a line of its own, so a fragment's lines are one further down.
    let (text, wrapper_lines) = if whole {
        (doc.to_string(), 0)
    } else {
        (format!("<fragment>\n{doc}\n</fragment>"), 1)
    };
    roxmltree::Document::parse_with_options(&text, options)
        .map(|_| ())
        .map_err(|e| {
            let pos = e.pos();
            let row = (pos.row as usize).saturating_sub(1 + wrapper_lines);
            let line = doc.lines().nth(row).unwrap_or("");
            let col = (pos.col as usize).saturating_sub(1);
            let around: String = line
                .chars()
                .skip(col.saturating_sub(CONTEXT_CHARS))
                .take(2 * CONTEXT_CHARS)
                .collect();
            format!("not well-formed: {e}\n…{around}…")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_documents_are_refused() {
        let ok = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"/><style>a > b { x: 1 }</style></head>\
                  <body><!-- c < d --><p class='x'>a &amp; b &#215; &#x2013;<br/></p></body></html>";
        check_well_formed(ok).unwrap();
        check_well_formed("<h3>a</h3>\n<figure><svg/></figure>").unwrap();
        for doc in [
            "<p><b>x</p></b>",
            "<p>x",
            "</p>",
            "<p>a < b</p>",
            "<p>a & b</p>",
            "<p>&nbsp;</p>",
            "<p class=x>y</p>",
            "<p title=\"a<b\">y</p>",
            "<p title=\"a&b\">y</p>",
            "<p hidden>y</p>",
        ] {
            let e = check_well_formed(doc).expect_err(doc);
            assert!(e.starts_with("not well-formed: "), "{doc}: {e}");
        }
    }
}
