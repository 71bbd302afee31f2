//! Escaping of untrusted text (names, tag values, descriptions, documents, AWS messages) for every
//! output the tool writes: terminals and CI logs, the Markdown pull-request comment, Mermaid and DOT.
//!
//! Pure: text in, text out. What a reviewer reads must be what is applied, so characters that act
//! instead of showing are written visibly as `\u{…}` (the form Rust's `char::escape_unicode` uses):
//! C0 and C1 controls (ESC sequences erase plan lines, CR overwrites them), DEL, the zero-width and
//! bidirectional-formatting characters that reorder or hide text ("Trojan Source",
//! https://trojansource.codes/, CVE-2021-42574), line and paragraph separators, and the BOM.
//! JSON output does not come through here: serde escapes it exactly.
//!
//! This module must not decide anything: it only changes how text is shown.

use std::borrow::Cow;

/// Whether `c` acts on the display instead of showing: controls, zero-width and bidi formatting.
pub fn is_hidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'         // C0 controls (ESC, CR, BS, LF, TAB…)
        | '\u{7f}'..='\u{9f}'      // DEL and the C1 controls (CSI U+009B is an ESC [ on some terminals)
        | '\u{61c}'                // ARABIC LETTER MARK (bidi)
        | '\u{200b}'..='\u{200f}'  // zero-width space, non-joiner, joiner, LRM, RLM
        | '\u{2028}' | '\u{2029}'  // line and paragraph separators
        | '\u{202a}'..='\u{202e}'  // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}'  // word joiner and invisible operators
        | '\u{2066}'..='\u{2069}'  // bidi isolates
        | '\u{feff}'               // zero-width no-break space (BOM)
    )
}

fn escape_where(text: &str, hide: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&hide) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hide(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of terminal or log text: every hidden character escaped, newlines and tabs included,
/// so a value can neither act on the terminal nor forge a line of its own.
pub fn inline(text: &str) -> Cow<'_, str> {
    escape_where(text, is_hidden)
}

/// Several lines of terminal text (an error with its `hint:` line): like [`inline`] but `\n` stays.
pub fn lines(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c != '\n' && is_hidden(c))
}

/// Like [`lines`], but keeps SGR colour sequences (`ESC [ digits ; … m`), which change colour and
/// nothing else: for text the tool coloured itself (miette's diagnostics) around untrusted parts.
/// Anything else after ESC (cursor movement, erase, OSC) is escaped.
pub fn lines_keeping_colour(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('\u{1b}') {
        out.push_str(&lines(&rest[..position]));
        let after = &rest[position + 1..];
        let parameters = after.strip_prefix('[').map(|tail| {
            let length = tail.find(|c: char| !(c.is_ascii_digit() || c == ';')).unwrap_or(tail.len());
            (length, tail[length..].starts_with('m'))
        });
        match parameters {
            Some((length, true)) => {
                out.push_str(&rest[position..position + 1 + 1 + length + 1]);
                rest = &after[1 + length + 1..];
            }
            _ => {
                out.push_str("\\u{1b}");
                rest = after;
            }
        }
    }
    out.push_str(&lines(rest));
    out
}

/// Text in a Markdown paragraph, list item or table cell: hidden characters escaped (a newline
/// cannot end the list item or start a block), and every ASCII punctuation character that Markdown
/// or GitHub's extensions give meaning to backslash-escaped, so `<img …>`, `<!--`, `*`, `` ` ``,
/// `|`, `[…](…)` and `$…$` show as typed. CommonMark: "Any ASCII punctuation character may be
/// backslash-escaped" (https://spec.commonmark.org/0.31.2/#backslash-escapes).
pub fn markdown(text: &str) -> String {
    let visible = inline(text);
    let mut out = String::with_capacity(visible.len() + 8);
    for c in visible.chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '['
                | ']'
                | '('
                | ')'
                | '<'
                | '>'
                | '&'
                | '|'
                | '~'
                | '!'
                | '#'
                | '$'
                | '{'
                | '}'
                | ':'
                | '^'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Text inside raw HTML (the `<summary>` of a `<details>` block, where Markdown is not parsed):
/// hidden characters escaped, then `& < > " '` as character references.
pub fn html(text: &str) -> String {
    let visible = inline(text);
    let mut out = String::with_capacity(visible.len() + 8);
    for c in visible.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn longest_run(text: &str, of: char) -> usize {
    let (mut longest, mut current) = (0, 0);
    for c in text.chars() {
        current = if c == of { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    longest
}

/// A complete inline code span around `text`: delimited by more backticks than any run inside it,
/// so the content cannot close it (https://spec.commonmark.org/0.31.2/#code-spans); padded with
/// spaces when the content starts or ends with a backtick.
pub fn code_span(text: &str) -> String {
    let visible = inline(text);
    let fence = "`".repeat(longest_run(&visible, '`') + 1);
    let pad = if visible.starts_with('`') || visible.ends_with('`') || visible.is_empty() { " " } else { "" };
    format!("{fence}{pad}{visible}{pad}{fence}")
}

/// A complete fenced code block (ending with a newline): the fence is longer than any run of
/// backticks in the content, so no content line can close it
/// (https://spec.commonmark.org/0.31.2/#fenced-code-blocks). Hidden characters are escaped line
/// by line; HTML inside a code block is shown, never parsed.
pub fn code_block(info: &str, text: &str) -> String {
    let visible = lines(text);
    let fence = "`".repeat((longest_run(&visible, '`') + 1).max(3));
    let newline = if visible.ends_with('\n') || visible.is_empty() { "" } else { "\n" };
    format!("{fence}{info}\n{visible}{newline}{fence}\n")
}

/// A Mermaid node label inside `["…"]`: hidden characters escaped, and the characters that could
/// end the label (`"`), start Mermaid markup or HTML (`<`, `>`, `&`, `` ` ``) or an entity code
/// (`#`) written as HTML character references, which a quoted label renders as the characters and
/// keeps inert (https://mermaid.js.org/syntax/flowchart.html#entity-codes-to-escape-characters;
/// https://html.spec.whatwg.org/multipage/named-characters.html). `#` and `` ` `` take their named
/// references (`&num;`, `&grave;`): Mermaid reads `#…;` in a label as its own entity code, so a
/// numeric reference (`&#35;`) would lose its `#35;` to Mermaid and draw as `&#`. The drawing is
/// checked in a browser by `scripts/mermaid-check.sh`.
pub fn mermaid_label(text: &str) -> String {
    let visible = inline(text);
    let mut out = String::with_capacity(visible.len() + 8);
    for c in visible.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '#' => out.push_str("&num;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push_str("&grave;"),
            other => out.push(other),
        }
    }
    out
}

/// A Graphviz label inside `"…"`: hidden characters escaped, then `\` and `"` backslash-escaped
/// (https://graphviz.org/doc/info/lang.html: in quoted strings only `\"` is an escape; `\n`, `\l`
/// and `\r` are line breaks in labels, so a lone backslash is doubled).
pub fn dot_label(text: &str) -> String {
    inline(text).replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_shows_escape_sequences_instead_of_running_them() {
        assert_eq!(inline("prod\u{1b}[1A\u{1b}[2K"), "prod\\u{1b}[1A\\u{1b}[2K");
        assert_eq!(inline("a\rb\nc\td"), "a\\u{d}b\\u{a}c\\u{9}d");
        assert_eq!(inline("\u{9b}2K"), "\\u{9b}2K");
        assert_eq!(inline("plain text, é ü 日本"), "plain text, é ü 日本");
        assert!(matches!(inline("plain"), Cow::Borrowed(_)));
        assert_eq!(lines("error\nhint: \u{1b}[2K"), "error\nhint: \\u{1b}[2K");
    }

    #[test]
    fn every_bidi_and_zero_width_character_is_visible() {
        let hidden = [
            '\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}',
            '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{feff}', '\u{0}', '\u{7f}', '\u{85}',
        ];
        for c in hidden {
            let shown = inline(&c.to_string()).into_owned();
            assert_eq!(shown, c.escape_unicode().to_string());
            assert!(!shown.chars().any(is_hidden), "{shown:?}");
            assert!(!markdown(&c.to_string()).chars().any(is_hidden));
            assert!(!html(&c.to_string()).chars().any(is_hidden));
            assert!(!code_block("", &c.to_string()).chars().any(|c| c != '\n' && is_hidden(c)));
        }
    }

    #[test]
    fn colour_is_kept_and_everything_else_after_esc_is_escaped() {
        let text = "\u{1b}[31;1merror\u{1b}[0m: `\u{1b}[1A\u{1b}[2K` \u{1b}]8;;x\u{7}";
        assert_eq!(lines_keeping_colour(text), "\u{1b}[31;1merror\u{1b}[0m: `\\u{1b}[1A\\u{1b}[2K` \\u{1b}]8;;x\\u{7}");
        assert_eq!(lines_keeping_colour("ends with \u{1b}"), "ends with \\u{1b}");
        assert_eq!(lines_keeping_colour("\u{1b}[12"), "\\u{1b}[12");
    }

    #[test]
    fn markdown_text_cannot_open_html_comments_or_tags() {
        assert_eq!(markdown("<!-- hide"), "\\<\\!-- hide");
        assert_eq!(markdown("<img src=x onerror=alert(1)>"), "\\<img src=x onerror=alert\\(1\\)\\>");
        assert_eq!(markdown("a|b `c` *d* [e](f)"), "a\\|b \\`c\\` \\*d\\* \\[e\\]\\(f\\)");
        assert_eq!(html("<!-- \"x\" & 'y' -->"), "&lt;!-- &quot;x&quot; &amp; &#39;y&#39; --&gt;");
    }

    #[test]
    fn content_cannot_close_its_code_span_or_block() {
        assert_eq!(code_span("a"), "`a`");
        assert_eq!(code_span("a``b"), "```a``b```");
        assert_eq!(code_span("`x"), "`` `x ``");
        let block = code_block("diff", "+ x\n```\n<!--\n````\n");
        assert!(block.starts_with("`````diff\n"), "{block}");
        assert!(block.ends_with("\n`````\n"), "{block}");
        let inner: Vec<&str> = block.lines().collect();
        assert!(inner[1..inner.len() - 1].iter().all(|line| !line.starts_with("`````")), "{block}");
        assert_eq!(code_block("json", "{}"), "```json\n{}\n```\n");
    }

    #[test]
    fn graph_labels_cannot_leave_their_quotes() {
        assert_eq!(mermaid_label("a\"] --> x[\"<b>"), "a&quot;] --&gt; x[&quot;&lt;b&gt;");
        // No `#` survives to start a Mermaid entity code, and `&` cannot start a reference of its own.
        assert_eq!(mermaid_label("#lt; &amp; `x`"), "&num;lt; &amp;amp; &grave;x&grave;");
        assert!(!mermaid_label("a#35;b\"c").contains('#'));
        assert_eq!(dot_label("a\"];\\"), "a\\\"];\\\\");
        assert_eq!(dot_label("x\ny"), "x\\\\u{a}y");
    }
}
