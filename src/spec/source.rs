//! Source text and locations: which line and column each key and value of a YAML file came from.
//!
//! serde_yaml reports locations for syntax and type errors only; semantic errors ("unit
//! `Workloads/Prd` does not exist") need them too. This module walks the YAML event stream once,
//! records the span of every key and value by its document path, and reports duplicate keys
//! (which serde would otherwise merge silently into a map), a second YAML document, YAML tags
//! (`!Ref`: the spec is plain YAML) and aliases that expand past a bound ("billion laughs"), each
//! at its own location. It owns no rules about the spec.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::diagnostic::SpecDiagnostic;

/// A region of a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Byte offset from the start of the file.
    pub offset: usize,
    /// Length in bytes (at least 1 where the file has text there).
    pub len: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl From<Span> for SourceSpan {
    fn from(span: Span) -> SourceSpan {
        SourceSpan::new(span.offset.into(), span.len)
    }
}

/// Where a key and its value sit in the file.
#[derive(Debug, Clone, Copy)]
pub struct NodeSpans {
    pub key: Option<Span>,
    pub value: Span,
}

/// A loaded text file with its name for messages.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user gave it (used in messages).
    pub path: PathBuf,
    pub text: Arc<String>,
}

impl SourceFile {
    pub fn new(path: &Path, text: String) -> SourceFile {
        SourceFile { path: path.to_path_buf(), text: Arc::new(text) }
    }

    pub fn name(&self) -> String {
        self.path.display().to_string()
    }

    pub fn named_source(&self) -> NamedSource<Arc<String>> {
        NamedSource::new(self.name(), Arc::clone(&self.text))
    }

    /// The span of `len` characters starting at 1-based `line`/`column`.
    pub fn span_at(&self, line: usize, column: usize, len_chars: usize) -> Span {
        let mut offset = 0;
        for (index, text_line) in self.text.split_inclusive('\n').enumerate() {
            if index + 1 == line {
                let start = text_line
                    .char_indices()
                    .nth(column.saturating_sub(1))
                    .map_or(text_line.trim_end_matches('\n').len(), |(byte, _)| byte);
                let rest = &text_line[start..];
                let len = rest
                    .char_indices()
                    .nth(len_chars)
                    .map_or(rest.trim_end_matches(['\n', '\r']).len(), |(byte, _)| byte);
                return Span { offset: offset + start, len: len.max(usize::from(rest.is_empty())), line, column };
            }
            offset += text_line.len();
        }
        Span { offset: self.text.len(), len: 0, line, column }
    }
}

/// Every key and value of a YAML document, by path (`["accounts", "security", "email"]`;
/// sequence items use their index as the segment).
#[derive(Debug, Default, Clone)]
pub struct SpanIndex {
    nodes: HashMap<Vec<String>, NodeSpans>,
}

impl SpanIndex {
    /// Span of the value at `path`, or of the nearest ancestor that exists.
    pub fn value(&self, path: &[&str]) -> Option<Span> {
        self.nearest(path).map(|node| node.value)
    }

    /// Span of the key at `path` (falls back to the value, then to the nearest ancestor).
    pub fn key(&self, path: &[&str]) -> Option<Span> {
        self.nearest(path).map(|node| node.key.unwrap_or(node.value))
    }

    /// Whether the document has a node at exactly this path.
    pub fn contains(&self, path: &[&str]) -> bool {
        self.nodes.contains_key(&owned(path))
    }

    fn nearest(&self, path: &[&str]) -> Option<&NodeSpans> {
        (0..=path.len()).rev().find_map(|end| self.nodes.get(&owned(&path[..end])))
    }
}

fn owned(path: &[&str]) -> Vec<String> {
    path.iter().map(|segment| (*segment).to_string()).collect()
}

/// Most nodes that aliases may add to the document when expanded. A real spec repeats a few
/// mappings; a "billion laughs" document nests aliases of aliases to reach 10^9 nodes from a few
/// hundred bytes, which serde_yaml would then build in memory.
pub const MAX_ALIAS_EXPANSION: u64 = 100_000;

/// Parses the YAML event stream of `source`: the span index, or the syntax error and every
/// duplicate key, extra document, tag and alias bomb found.
pub fn index_yaml(source: &SourceFile) -> Result<SpanIndex, Vec<SpecDiagnostic>> {
    index_yaml_with(source, false)
}

/// [`index_yaml`] for a CloudFormation-style template (a conformance pack's), where local tags
/// such as `!Ref` and `!Sub` are the template language's short forms, not errors.
pub fn index_template_yaml(source: &SourceFile) -> Result<SpanIndex, Vec<SpecDiagnostic>> {
    index_yaml_with(source, true)
}

fn index_yaml_with(source: &SourceFile, local_tags: bool) -> Result<SpanIndex, Vec<SpecDiagnostic>> {
    let mut walker = Walker {
        source,
        index: SpanIndex::default(),
        stack: Vec::new(),
        errors: Vec::new(),
        documents: 0,
        nodes: 0,
        alias_nodes: 0,
        open: Vec::new(),
        anchor_sizes: HashMap::new(),
        local_tags,
    };
    let mut parser = Parser::new_from_str(&source.text);
    // Every document is read (`multi`), so a second one is reported where it starts instead of
    // serde_yaml's location-less "more than one document" pointing at line 1.
    if let Err(error) = parser.load(&mut walker, true) {
        let marker = error.marker();
        // A `{` or `[` never closed makes the parser fail lines later, wherever the flow
        // collection stops making sense; the fix is at the bracket, so that is where we point.
        if let Some((line, column, bracket)) = unclosed_flow_bracket(&source.text, marker.line(), marker.col() + 1) {
            let span = source.span_at(line, column, 1);
            let closer = if bracket == '{' { '}' } else { ']' };
            return Err(vec![SpecDiagnostic::new(
                source,
                span,
                format!(
                    "invalid YAML: `{bracket}` is never closed ({} at line {}, column {})",
                    error.info(),
                    marker.line(),
                    marker.col() + 1
                ),
            )
            .with_label("opened here")
            .with_help(format!("close it with `{closer}` on the same entry, or remove it"))]);
        }
        let span = source.span_at(marker.line(), marker.col() + 1, 1);
        return Err(vec![
            SpecDiagnostic::new(source, span, format!("invalid YAML: {}", error.info())).with_label("here")
        ]);
    }
    if walker.errors.is_empty() {
        Ok(walker.index)
    } else {
        Err(walker.errors)
    }
}

/// The last `{` or `[` before 1-based (`line`, `column`) that the whole text never closes, as
/// (line, column, bracket). Brackets inside comments and quoted scalars are skipped.
fn unclosed_flow_bracket(text: &str, line: usize, column: usize) -> Option<(usize, usize, char)> {
    let mut open: Vec<(usize, usize, char)> = Vec::new();
    for (index, text_line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        for (col, c) in text_line.chars().enumerate() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '#' if previous.is_whitespace() => break,
                    '"' | '\'' if matches!(previous, ' ' | '\t' | '[' | '{' | ',' | ':') => quote = Some(c),
                    '{' | '[' => open.push((index + 1, col + 1, c)),
                    '}' | ']' => {
                        let wanted = if c == '}' { '{' } else { '[' };
                        if open.last().is_some_and(|top| top.2 == wanted) {
                            open.pop();
                        }
                    }
                    _ => {}
                },
            }
            previous = c;
        }
        // Quoted scalars in the spec stay on one line here: a stray quote ends with its line.
    }
    open.into_iter().rfind(|&(l, c, _)| (l, c) < (line, column))
}

enum Frame {
    Mapping { path: Vec<String>, pending_key: Option<(String, Span)>, seen: HashMap<String, Span> },
    Sequence { path: Vec<String>, next: usize },
}

struct Walker<'a> {
    source: &'a SourceFile,
    index: SpanIndex,
    stack: Vec<Frame>,
    errors: Vec<SpecDiagnostic>,
    /// Documents started so far; events after the first document are not indexed.
    documents: usize,
    /// Nodes seen, aliases counted at their expanded size.
    nodes: u64,
    /// Nodes added by alias expansion.
    alias_nodes: u64,
    /// Open collections: (anchor id, `nodes` when it opened).
    open: Vec<(usize, u64)>,
    /// Expanded size of each anchored node.
    anchor_sizes: HashMap<usize, u64>,
    /// Local tags (`!Ref`, `!Sub`) are accepted: CloudFormation-style templates, not the spec.
    local_tags: bool,
}

impl Walker<'_> {
    fn span(&self, mark: Marker, text_len: usize) -> Span {
        // yaml-rust2 markers: 1-based line, 0-based column.
        self.source.span_at(mark.line(), mark.col() + 1, text_len.max(1))
    }

    /// A node (scalar or collection start) arrived: decide whether it is a key or a value.
    /// Returns the path of the node when it is a value.
    fn node(&mut self, key_text: Option<String>, span: Span) -> Option<Vec<String>> {
        match self.stack.last_mut() {
            None => {
                self.index.nodes.insert(Vec::new(), NodeSpans { key: None, value: span });
                Some(Vec::new())
            }
            Some(Frame::Sequence { path, next }) => {
                let mut item = path.clone();
                item.push(next.to_string());
                *next += 1;
                self.index.nodes.insert(item.clone(), NodeSpans { key: None, value: span });
                Some(item)
            }
            Some(Frame::Mapping { path, pending_key, seen }) => match pending_key.take() {
                Some((key, key_span)) => {
                    let mut item = path.clone();
                    item.push(key);
                    self.index.nodes.insert(item.clone(), NodeSpans { key: Some(key_span), value: span });
                    Some(item)
                }
                None => {
                    let key = key_text.unwrap_or_else(|| "<complex key>".to_string());
                    if let Some(first) = seen.get(&key) {
                        let message = format!("duplicate key `{key}` (first defined on line {})", first.line);
                        let diagnostic = SpecDiagnostic::new(self.source, span, message)
                            .with_label("defined again here")
                            .with_help("names are map keys and must be unique; rename or merge the two entries");
                        self.errors.push(diagnostic);
                    } else {
                        seen.insert(key.clone(), span);
                    }
                    *pending_key = Some((key, span));
                    None
                }
            },
        }
    }
}

impl Walker<'_> {
    /// Refuses YAML tags other than the core schema's (`!!str` and friends): `!Ref`, `!Sub` or
    /// `!!python/object` would otherwise surface as serde's "untagged and internally tagged enums
    /// do not support enum input" or be silently taken as their plain value.
    fn tag(&mut self, tag: Option<&Tag>, mark: Marker) {
        let Some(tag) = tag else { return };
        if self.local_tags && tag.handle == "!" {
            return;
        }
        let core = matches!(tag.handle.as_str(), "!!" | "tag:yaml.org,2002:")
            && matches!(tag.suffix.as_str(), "str" | "int" | "float" | "bool" | "null" | "map" | "seq");
        if !core {
            let shown = if tag.handle == "tag:yaml.org,2002:" {
                format!("!!{}", tag.suffix)
            } else {
                format!("{}{}", tag.handle, tag.suffix)
            };
            let span = self.span(mark, shown.chars().count());
            self.errors.push(
                SpecDiagnostic::new(self.source, span, format!("YAML tag `{shown}` is not supported"))
                    .with_label("this tag")
                    .with_help("the spec is plain YAML: write the value itself (CloudFormation functions such as `!Ref` do not apply)"),
            );
        }
    }

    /// Counts one node, or an alias at the size of what it copies, and reports the alias that
    /// takes the expansion past `MAX_ALIAS_EXPANSION`.
    fn count(&mut self, alias_of: Option<usize>, mark: Marker) {
        let size = alias_of.map_or(1, |anchor| self.anchor_sizes.get(&anchor).copied().unwrap_or(1));
        let before = self.alias_nodes;
        self.nodes = self.nodes.saturating_add(size);
        if alias_of.is_some() {
            self.alias_nodes = self.alias_nodes.saturating_add(size);
        }
        if before <= MAX_ALIAS_EXPANSION && self.alias_nodes > MAX_ALIAS_EXPANSION {
            let span = self.span(mark, 1);
            self.errors.push(
                SpecDiagnostic::new(
                    self.source,
                    span,
                    format!("YAML aliases expand the spec past {MAX_ALIAS_EXPANSION} nodes"),
                )
                .with_label("this alias")
                .with_help("each `*alias` copies its anchor, and aliases of aliases multiply; write the values out"),
            );
        }
    }
}

impl MarkedEventReceiver for Walker<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if let Event::DocumentStart = event {
            self.documents += 1;
            if self.documents == 2 {
                let span = self.span(mark, 3);
                self.errors.push(
                    SpecDiagnostic::new(
                        self.source,
                        span,
                        "the spec is one YAML document, but a second one starts here",
                    )
                    .with_label("second document")
                    .with_help("remove this `---` and what follows, or merge it into the first document"),
                );
            }
            return;
        }
        if self.documents > 1 {
            return;
        }
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.tag(tag.as_ref(), mark);
                self.count(None, mark);
                if anchor != 0 {
                    self.anchor_sizes.insert(anchor, 1);
                }
                let quoted = matches!(style, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted);
                let span = self.span(mark, text.chars().count() + if quoted { 2 } else { 0 });
                self.node(Some(text), span);
            }
            Event::Alias(anchor) => {
                self.count(Some(anchor), mark);
                let span = self.span(mark, 1);
                self.node(Some("<alias>".to_string()), span);
            }
            Event::MappingStart(anchor, tag) => {
                self.tag(tag.as_ref(), mark);
                self.count(None, mark);
                self.open.push((anchor, self.nodes));
                let span = self.span(mark, 1);
                if let Some(path) = self.node(None, span) {
                    self.stack.push(Frame::Mapping { path, pending_key: None, seen: HashMap::new() });
                } else {
                    // A mapping used as a key: track it so its events stay balanced.
                    self.stack.push(Frame::Mapping {
                        path: vec!["<complex key>".to_string()],
                        pending_key: None,
                        seen: HashMap::new(),
                    });
                }
            }
            Event::SequenceStart(anchor, tag) => {
                self.tag(tag.as_ref(), mark);
                self.count(None, mark);
                self.open.push((anchor, self.nodes));
                let span = self.span(mark, 1);
                let path = self.node(None, span).unwrap_or_else(|| vec!["<complex key>".to_string()]);
                self.stack.push(Frame::Sequence { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some((anchor, opened_at)) = self.open.pop() {
                    if anchor != 0 {
                        // The collection itself plus everything inside it, aliases expanded.
                        self.anchor_sizes.insert(anchor, self.nodes - opened_at + 1);
                    }
                }
                self.stack.pop();
            }
            _ => {}
        }
    }
}
