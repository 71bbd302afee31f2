//! Locations inside a JSON policy file: the line and column of every key and value by document
//! path, and every duplicate key.
//!
//! serde_json parses the document (and reports syntax errors) but keeps no locations, and silently
//! keeps the last of two equal keys — so a file with two `"Statement"` keys would be reviewed as
//! one thing and uploaded as another. This scanner runs over text serde_json already accepted and
//! records what it drops. It owns no rules about policies.

use std::collections::HashMap;

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where a key and its value start.
#[derive(Debug, Clone, Copy)]
pub struct JsonNode {
    pub key: Option<Position>,
    pub value: Position,
}

/// A key given twice in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// Path of the object holding the key.
    pub path: Vec<String>,
    pub key: String,
    /// Where the second occurrence starts.
    pub at: Position,
    /// Line of the first occurrence.
    pub first_line: usize,
}

/// Every key and value of a JSON text by path (array items use their index as the segment).
#[derive(Debug, Clone, Default)]
pub struct JsonIndex {
    nodes: HashMap<Vec<String>, JsonNode>,
    pub duplicates: Vec<DuplicateKey>,
}

impl JsonIndex {
    /// Position of the value at `path`, or of the nearest ancestor that exists.
    pub fn value(&self, path: &[String]) -> Option<Position> {
        self.nearest(path).map(|node| node.value)
    }

    /// Position of the key at `path` (the value's for array items and the root).
    pub fn key(&self, path: &[String]) -> Option<Position> {
        self.nearest(path).map(|node| node.key.unwrap_or(node.value))
    }

    fn nearest(&self, path: &[String]) -> Option<&JsonNode> {
        (0..=path.len()).rev().find_map(|end| self.nodes.get(&path[..end]))
    }
}

/// Indexes `text`, which must already be valid JSON (malformed input yields a partial index).
pub fn index_json(text: &str) -> JsonIndex {
    let mut scanner = Scanner { chars: text.chars().peekable(), line: 1, column: 1, index: JsonIndex::default() };
    scanner.skip_whitespace();
    let start = scanner.position();
    scanner.index.nodes.insert(Vec::new(), JsonNode { key: None, value: start });
    scanner.value(&mut Vec::new());
    scanner.index
}

struct Scanner<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
    index: JsonIndex,
}

impl Scanner<'_> {
    fn position(&self) -> Position {
        Position { line: self.line, column: self.column }
    }

    fn next(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        while self.chars.peek().is_some_and(|c| c.is_whitespace()) {
            self.next();
        }
    }

    /// Scans the value starting at the current position (whitespace already skipped).
    fn value(&mut self, path: &mut Vec<String>) {
        match self.chars.peek() {
            Some('{') => self.object(path),
            Some('[') => self.array(path),
            Some('"') => {
                self.string();
            }
            Some(_) => {
                while self.chars.peek().is_some_and(|c| !matches!(c, ',' | '}' | ']') && !c.is_whitespace()) {
                    self.next();
                }
            }
            None => {}
        }
    }

    fn object(&mut self, path: &mut Vec<String>) {
        self.next(); // {
        let mut seen: HashMap<String, usize> = HashMap::new();
        loop {
            self.skip_whitespace();
            match self.chars.peek() {
                Some('}') => {
                    self.next();
                    return;
                }
                Some(',') => {
                    self.next();
                    continue;
                }
                Some('"') => {}
                _ => return,
            }
            let key_at = self.position();
            let key = self.string();
            if let Some(first_line) = seen.get(&key) {
                self.index.duplicates.push(DuplicateKey {
                    path: path.clone(),
                    key: key.clone(),
                    at: key_at,
                    first_line: *first_line,
                });
            } else {
                seen.insert(key.clone(), key_at.line);
            }
            self.skip_whitespace();
            if self.chars.peek() != Some(&':') {
                return;
            }
            self.next();
            self.skip_whitespace();
            path.push(key);
            // The first occurrence keeps its location, as it is the one a reader sees first.
            let value = self.position();
            self.index.nodes.entry(path.clone()).or_insert(JsonNode { key: Some(key_at), value });
            self.value(path);
            path.pop();
        }
    }

    fn array(&mut self, path: &mut Vec<String>) {
        self.next(); // [
        let mut item = 0usize;
        loop {
            self.skip_whitespace();
            match self.chars.peek() {
                Some(']') => {
                    self.next();
                    return;
                }
                Some(',') => {
                    self.next();
                    continue;
                }
                None => return,
                Some(_) => {}
            }
            path.push(item.to_string());
            let value = self.position();
            self.index.nodes.entry(path.clone()).or_insert(JsonNode { key: None, value });
            self.value(path);
            path.pop();
            item += 1;
        }
    }

    /// Scans a string literal and returns its decoded text.
    fn string(&mut self) -> String {
        self.next(); // opening quote
        let mut text = String::new();
        let mut pending_high: Option<u32> = None;
        while let Some(c) = self.next() {
            match c {
                '"' => break,
                '\\' => {
                    let Some(escape) = self.next() else { break };
                    let decoded = match escape {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'u' => {
                            let hex: String = (0..4).filter_map(|_| self.next()).collect();
                            let unit = u32::from_str_radix(&hex, 16).unwrap_or(0xFFFD);
                            if (0xD800..0xDC00).contains(&unit) {
                                pending_high = Some(unit);
                                continue;
                            }
                            let code = match pending_high.take() {
                                Some(high) if (0xDC00..0xE000).contains(&unit) => {
                                    0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00)
                                }
                                _ => unit,
                            };
                            char::from_u32(code).unwrap_or('\u{FFFD}')
                        }
                        other => other,
                    };
                    text.push(decoded);
                }
                other => text.push(other),
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(segments: &[&str]) -> Vec<String> {
        segments.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn locations_of_keys_and_values() {
        let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    { \"Effect\": \"Maybe\" }\n  ]\n}\n";
        let index = index_json(text);
        assert_eq!(index.value(&path(&["Version"])), Some(Position { line: 2, column: 14 }));
        assert_eq!(index.key(&path(&["Statement"])), Some(Position { line: 3, column: 3 }));
        assert_eq!(index.value(&path(&["Statement", "0", "Effect"])), Some(Position { line: 4, column: 17 }));
        // A path that does not exist falls back to its nearest ancestor.
        assert_eq!(index.value(&path(&["Statement", "0", "Action"])), Some(Position { line: 4, column: 5 }));
        assert!(index.duplicates.is_empty());
    }

    #[test]
    fn duplicate_keys_at_any_depth_with_escapes() {
        let cases: &[(&str, &[&str], &str, Position, usize)] = &[
            ("{\"Statement\": [],\n\"Statement\": {}}", &[], "Statement", Position { line: 2, column: 1 }, 1),
            ("{\"a\": {\"b\": 1, \"b\": 2}}", &["a"], "b", Position { line: 1, column: 16 }, 1),
            ("{\"Effect\": 1, \"Eff\\u0065ct\": 2}", &[], "Effect", Position { line: 1, column: 15 }, 1),
            ("[{\"x\": \"\\\"{\\\"\", \"x\": 0}]", &["0"], "x", Position { line: 1, column: 17 }, 1),
        ];
        for (text, at, key, position, first_line) in cases {
            let index = index_json(text);
            assert_eq!(
                index.duplicates,
                vec![DuplicateKey { path: path(at), key: (*key).to_string(), at: *position, first_line: *first_line }],
                "{text}"
            );
        }
        assert!(index_json("{\"a\": 1, \"A\": 2, \"b\": {\"a\": 3}}").duplicates.is_empty());
    }
}
