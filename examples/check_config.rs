//! Validates a plugin configuration with the filter's own loader (the same code `on_configure`
//! runs): `cargo run --quiet --release --example check_config -- policy.json [more.json ...]`.
//! Exit 0 when every file compiles; 1 with `file: invalid configuration at <path>: <reason>` otherwise.

use std::process::ExitCode;

use openrouter_guard::api::Policy;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: check_config FILE.json [FILE.json ...]  (use - for stdin)");
        return ExitCode::from(2);
    }
    let mut ok = true;
    for f in &files {
        let bytes = if f == "-" {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut v).map(|_| v)
        } else {
            std::fs::read(f)
        };
        match bytes.map_err(|e| e.to_string()).and_then(|b| Policy::from_json(&b).map_err(|e| e.to_string())) {
            Ok(p) => println!("{f}: ok ({} profiles)", p.profiles.len()),
            Err(e) => {
                eprintln!("{f}: {e}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
