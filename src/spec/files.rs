//! Reading the files a spec names — the spec itself and its policy documents — without trusting
//! them: only regular files, never more than a size cap, and (for documents) only inside the spec's
//! directory tree once symlinks are resolved.
//!
//! The spec arrives through pull requests from authors who are not always trusted, and `plan
//! --format markdown` prints documents into a PR comment. A `document:` naming `/etc/passwd`,
//! `../../secrets.json`, a symlink out of the tree, `/dev/zero` or a FIFO must be refused before a
//! byte is read, and no error here ever quotes a refused file's content. This module owns those
//! rules; it knows nothing about YAML, JSON or the spec's shape.

use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use thiserror::Error;

/// Largest spec file the loader reads; a landing zone of thousands of accounts fits in a few MB.
pub const MAX_SPEC_BYTES: u64 = 16 * 1024 * 1024;

/// Largest policy document file the loader reads. AWS's largest document is 10,240 characters
/// minified (an SCP); a pretty-printed file is a few times that. One MiB leaves room for comments
/// of whitespace while keeping `/dev/zero`-style files from filling memory.
pub const MAX_DOCUMENT_BYTES: u64 = 1024 * 1024;

/// Why a file was not read. Messages name the path as written, never the content.
#[derive(Debug, Error)]
pub enum FileError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is {kind}, not a regular file")]
    NotRegular { path: String, kind: &'static str },
    #[error("`{path}` is larger than the limit of {limit} bytes")]
    TooLarge { path: String, limit: u64 },
    #[error("`{path}` is not UTF-8 text")]
    NotUtf8 { path: String },
    #[error("`{path}` is an absolute path")]
    Absolute { path: String },
    #[error("the document path is empty")]
    EmptyPath { path: String },
    #[error("`{path}` resolves outside the spec's directory")]
    Outside { path: String },
}

impl FileError {
    /// The fix, where one is known.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            FileError::Absolute { .. } | FileError::Outside { .. } | FileError::EmptyPath { .. } => Some(
                "documents must be regular files inside the spec file's directory (or below it), named by a relative path; symlinks are followed only if they stay inside",
            ),
            FileError::NotRegular { .. } => Some("name a regular JSON file, not a device, FIFO, socket or directory"),
            FileError::TooLarge { .. } => Some("a policy document is at most a few KB; check the file is the right one"),
            FileError::NotUtf8 { .. } => Some("save the file as UTF-8"),
            FileError::Io { .. } => None,
        }
    }
}

/// Where a relative document path lands, after checking it stays inside `base_dir` once `..` and
/// symlinks are resolved. `written` is the path as the spec wrote it.
pub fn resolve_inside(base_dir: &Path, written: &str) -> Result<PathBuf, FileError> {
    let path = written.to_string();
    if written.trim().is_empty() {
        return Err(FileError::EmptyPath { path });
    }
    let relative = Path::new(written);
    // `Path::is_absolute` is false for `\etc\passwd` or `C:x` on Windows: refuse any root or prefix.
    if relative.is_absolute() || relative.components().any(|c| matches!(c, Component::RootDir | Component::Prefix(_))) {
        return Err(FileError::Absolute { path });
    }
    let io = |source: std::io::Error| FileError::Io { path: written.to_string(), source };
    let base = base_dir.canonicalize().map_err(io)?;
    let resolved = base.join(relative).canonicalize().map_err(io)?;
    if !resolved.starts_with(&base) {
        return Err(FileError::Outside { path });
    }
    Ok(resolved)
}

/// Reads a regular file of at most `limit` bytes as UTF-8 text, a leading byte-order mark removed.
/// Devices, FIFOs and directories are refused before any byte is read, and a FIFO cannot hang the
/// open (it is opened non-blocking); the cap holds while reading, whatever the metadata claimed.
pub fn read_regular_file(path: &Path, shown_as: &str, limit: u64) -> Result<String, FileError> {
    let shown = || shown_as.to_string();
    let io = |source: std::io::Error| FileError::Io { path: shown_as.to_string(), source };
    let metadata = std::fs::metadata(path).map_err(io)?;
    check_metadata(&metadata, shown_as, limit)?;
    let file = open_non_blocking(path).map_err(io)?;
    // The path may have been swapped between stat and open: check what was actually opened.
    check_metadata(&file.metadata().map_err(io)?, shown_as, limit)?;
    let bytes = read_capped(file, limit).map_err(io)?.ok_or_else(|| FileError::TooLarge { path: shown(), limit })?;
    let text = String::from_utf8(bytes).map_err(|_| FileError::NotUtf8 { path: shown() })?;
    Ok(strip_bom(text))
}

/// Removes one leading UTF-8 byte-order mark (editors on Windows add it; YAML and JSON parsers
/// would otherwise read it as content).
pub fn strip_bom(text: String) -> String {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

fn check_metadata(metadata: &std::fs::Metadata, shown_as: &str, limit: u64) -> Result<(), FileError> {
    let file_type = metadata.file_type();
    if !file_type.is_file() {
        return Err(FileError::NotRegular { path: shown_as.to_string(), kind: describe(&file_type) });
    }
    if metadata.len() > limit {
        return Err(FileError::TooLarge { path: shown_as.to_string(), limit });
    }
    Ok(())
}

fn describe(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

#[cfg(unix)]
fn open_non_blocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

#[cfg(not(unix))]
fn open_non_blocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// Reads at most `limit` bytes; `None` when the source has more.
pub fn read_capped(reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        Ok(None)
    } else {
        Ok(Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_stops_at_the_cap_on_an_endless_source() {
        // io::repeat never ends: without the cap this would fill memory.
        assert!(read_capped(std::io::repeat(b'a'), 1024).expect("read").is_none());
        assert_eq!(read_capped(&b"abc"[..], 3).expect("read"), Some(b"abc".to_vec()));
        assert!(read_capped(&b"abcd"[..], 3).expect("read").is_none());
    }

    #[test]
    fn paths_must_stay_inside_the_spec_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inside = dir.path().join("spec");
        std::fs::create_dir_all(inside.join("policies")).expect("mkdir");
        std::fs::write(inside.join("policies/a.json"), "{}").expect("write");
        std::fs::write(dir.path().join("secret.json"), "{}").expect("write");
        let cases: &[(&str, Option<&str>)] = &[
            ("policies/a.json", None),
            ("policies/../policies/a.json", None),
            ("/etc/passwd", Some("absolute")),
            ("../secret.json", Some("outside")),
            ("policies/../../secret.json", Some("outside")),
            ("", Some("path is empty")),
            ("policies/missing.json", Some("cannot read")),
        ];
        for (written, expected) in cases {
            let result = resolve_inside(&inside, written);
            match expected {
                None => assert!(result.is_ok(), "{written}: {result:?}"),
                Some(cause) => {
                    let message = result.expect_err(written).to_string();
                    assert!(message.contains(cause), "{written}: {message}");
                }
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_out_of_the_tree_devices_and_fifos_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inside = dir.path().join("spec");
        std::fs::create_dir_all(&inside).expect("mkdir");
        std::fs::write(dir.path().join("secret.json"), "{}").expect("write");
        std::os::unix::fs::symlink("../secret.json", inside.join("escape.json")).expect("symlink");
        std::os::unix::fs::symlink("/dev/zero", inside.join("zero.json")).expect("symlink");
        let outside = resolve_inside(&inside, "escape.json").expect_err("escape");
        assert!(outside.to_string().contains("outside"), "{outside}");
        assert!(resolve_inside(&inside, "zero.json").is_err());

        let zero = read_regular_file(Path::new("/dev/zero"), "/dev/zero", MAX_DOCUMENT_BYTES).expect_err("device");
        assert!(zero.to_string().contains("a device"), "{zero}");

        let fifo = inside.join("fifo.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("run mkfifo");
        assert!(made.success());
        let error = read_regular_file(&fifo, "fifo.json", MAX_DOCUMENT_BYTES).expect_err("fifo");
        assert!(error.to_string().contains("a FIFO"), "{error}");
    }

    #[test]
    fn size_cap_and_byte_order_mark() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; 2048]).expect("write");
        let error = read_regular_file(&big, "big.json", 1024).expect_err("too large");
        assert!(error.to_string().contains("larger than the limit"), "{error}");
        let bom = dir.path().join("bom.json");
        std::fs::write(&bom, "\u{feff}{}").expect("write");
        assert_eq!(read_regular_file(&bom, "bom.json", 1024).expect("read"), "{}");
    }
}
