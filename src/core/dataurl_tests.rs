//! `data:` URLs are read as a WHATWG reader reads them; what it cannot read but another decoder
//! could is unreadable.

use super::*;

const TEXT: &str = "Patient SSN 123-45-6789, mail jane.doe@example.com. ";

fn body_text(s: &str) -> String {
    match read(s) {
        Read::Url(d) => String::from_utf8(d.bytes().expect("decodes").into_owned()).expect("utf-8"),
        other => panic!("{s:?} read as {other:?}"),
    }
}

#[test]
fn spellings_a_whatwg_reader_accepts_are_decoded() {
    let p = base64::encode(TEXT.as_bytes());
    assert!(p.ends_with('='));
    let wrapped =
        |sep: &str| p.as_bytes().chunks(16).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(sep);
    for url in [
        format!("data:text/plain;base64,{p}"),
        format!("DATA:text/plain;BASE64,{p}"),
        format!(" data:text/plain;base64,{p} "),
        format!("\u{1}data:text/plain;base64,{p}\n"),
        format!("data:text/plain;charset=\"utf-8\";base64,{p}"),
        format!("data:text/plain; base64 ,{p}"),
        format!("data:text/plain;base64,{}", p.replace('=', "%3D")),
        format!("data:text/plain;base64,{}", p.trim_end_matches('=')),
        format!("data:text/plain;base64,{}", wrapped("\n")),
        format!("data:text/plain;base64,{}", wrapped("\r\n")),
        format!("data:text/plain;base64,{}", wrapped(" ")),
        format!("data:text/plain;base64,{}", wrapped("\u{c}")),
        format!("da\nta:text/pl\tain;base64,{p}"),
        format!("data:text/plain;base64,{}", p.replace('Q', "%51")),
    ] {
        assert_eq!(body_text(&url), TEXT, "{url:?}");
    }
}

#[test]
fn percent_encoded_text_urls_are_decoded() {
    assert_eq!(body_text("data:,Patient%20SSN%20123-45-6789"), "Patient SSN 123-45-6789");
    assert_eq!(body_text("data:text/plain,100%"), "100%");
    let Read::Url(d) = read("data:text/plain,a%2Cb") else { panic!() };
    assert!(!d.base64);
    assert_eq!(d.rebuild(&d.header, b"x y,%#\xc3\xa9"), "data:text/plain,x%20y,%25%23%c3%a9");
}

#[test]
fn base64_a_reader_would_decode_differently_is_unreadable() {
    for url in [
        "data:text/plain;base64,AAAA my ssn is 123-45-6789",
        "data:text/plain;base64,QQ==c2VjcmV0",
        "data:text/plain;base64,QUJD!REVG",
        "data:text/plain;base64,QUJD#REVG",
        "data:text/plain;base64,-_8=",
        "data:text/plain;base64,QUJDR",
        "data:text/plain;base64;charset=utf-8,QUJD",
        "data:text/plain;base64x,QUJD",
    ] {
        assert_eq!(read(url), Read::Unreadable, "{url:?}");
    }
}

#[test]
fn other_strings_are_text() {
    for s in ["hello", "data", "data:text/plain;base64", "metadata:x,y", "the data: 123-45-6789", "", "dat"] {
        assert_eq!(read(s), Read::Text, "{s:?}");
    }
}

#[test]
fn media_types_fall_back_to_text_plain() {
    let mt = |s: &str| match read(s) {
        Read::Url(d) => d.media_type(),
        other => panic!("{other:?}"),
    };
    assert_eq!(mt("data:Image/PNG;base64,AAAA"), "image/png");
    assert_eq!(mt("data:;base64,AAAA"), "text/plain");
    assert_eq!(mt("data:text plain;base64,AAAA"), "text/plain");
    assert_eq!(mt("data:application/octet-stream;base64,AAAA"), "application/octet-stream");
}

#[test]
fn binary_starts_are_seen_from_the_first_bytes() {
    let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
    let url = |b: &[u8]| format!("data:image/png;base64,{}", base64::encode(b));
    let binary = |s: &str| match read(s) {
        Read::Url(d) => d.starts_binary(),
        other => panic!("{other:?}"),
    };
    assert!(binary(&url(&png)));
    assert!(!binary(&url(TEXT.as_bytes())));
    // A multi-byte character cut at the 48th byte is not an error.
    assert!(!binary(&url("é".repeat(40).as_bytes())));
}

#[test]
fn text_media_types() {
    for mt in ["text/csv", "application/json", "application/vnd.api+json", "image/svg+xml"] {
        assert!(is_text_media(mt), "{mt}");
    }
    for mt in ["image/png", "application/pdf", "application/octet-stream", "audio/wav"] {
        assert!(!is_text_media(mt), "{mt}");
    }
}
