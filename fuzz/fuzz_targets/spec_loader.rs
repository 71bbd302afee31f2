//! Fuzzes the spec loader (YAML parse, span index, deserialization, validation): any input may be
//! rejected, none may panic. Run: `cargo +nightly fuzz run spec_loader -- -max_total_time=300`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = landing_zone::spec::load_spec_from_str(std::path::Path::new("fuzz/landing-zone.yaml"), text.to_string());
    }
});
