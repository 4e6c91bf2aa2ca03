//! Embeds the version of rustls that cargo resolved, read from Cargo.lock, so that the
//! library reports what it was really built with rather than a number written by hand.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let lock = manifest.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(&lock).unwrap_or_default();
    let mut version = String::from("unknown");
    let mut in_rustls = false;
    for line in text.lines() {
        if line == "[[package]]" {
            in_rustls = false;
        } else if line == "name = \"rustls\"" {
            in_rustls = true;
        } else if in_rustls {
            if let Some(rest) = line.strip_prefix("version = \"") {
                version = rest.trim_end_matches('"').to_string();
                break;
            }
        }
    }
    println!("cargo:rustc-env=SSLCONFORM_RUSTLS_VERSION={version}");
}
