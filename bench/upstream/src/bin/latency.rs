//! Sequential (concurrency 1) HTTP/1.1 keep-alive client that measures, per request, the time to
//! the first response-body byte (TTFB: for SSE, the first event) and to the end of the response.
//!
//! Usage: bench-latency PORT BODY_FILE N [--warmup W] [--path P] [--host H] [--stream] [--samples]
//! Prints one JSON object: counts and percentiles in microseconds (warm-up requests excluded);
//! `--samples` adds every sample (`ttfb_us`, `total_us`, in request order).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
    line: Vec<u8>,
}

impl Client {
    fn connect(port: u16) -> io::Result<Self> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_nodelay(true)?;
        let w = s.try_clone()?;
        Ok(Self { r: BufReader::with_capacity(64 * 1024, s), w, line: Vec::new() })
    }

    fn read_line(&mut self) -> io::Result<String> {
        self.line.clear();
        if self.r.read_until(b'\n', &mut self.line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(String::from_utf8_lossy(&self.line).trim_end().to_string())
    }

    fn skip(&mut self, mut n: usize) -> io::Result<()> {
        while n > 0 {
            let b = self.r.fill_buf()?;
            if b.is_empty() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let k = b.len().min(n);
            self.r.consume(k);
            n -= k;
        }
        Ok(())
    }

    /// Sends `req`, returns (status, ttfb seconds, total seconds, keep-alive).
    fn exchange(&mut self, req: &[u8]) -> io::Result<(u16, f64, f64, bool)> {
        let t0 = Instant::now();
        self.w.write_all(req)?;
        let status_line = self.read_line()?;
        let status: u16 = status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut len: Option<usize> = None;
        let mut chunked = false;
        let mut keep = true;
        loop {
            let h = self.read_line()?;
            if h.is_empty() {
                break;
            }
            let (k, v) = h.split_once(':').unwrap_or((h.as_str(), ""));
            let v = v.trim();
            match k.to_ascii_lowercase().as_str() {
                "content-length" => len = v.parse().ok(),
                "transfer-encoding" => chunked = v.eq_ignore_ascii_case("chunked"),
                "connection" => keep = !v.eq_ignore_ascii_case("close"),
                _ => {}
            }
        }
        // First body byte.
        let has_body = chunked || len.unwrap_or(0) > 0;
        if has_body {
            self.r.fill_buf()?;
        }
        let ttfb = t0.elapsed().as_secs_f64();
        if chunked {
            loop {
                let sz = self.read_line()?;
                let n = usize::from_str_radix(sz.split(';').next().unwrap_or("0").trim(), 16)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
                if n == 0 {
                    loop {
                        if self.read_line()?.is_empty() {
                            break;
                        }
                    }
                    break;
                }
                self.skip(n)?;
                self.read_line()?;
            }
        } else if let Some(n) = len {
            self.skip(n)?;
        } else {
            // No length: read to close.
            let mut sink = Vec::new();
            self.r.read_to_end(&mut sink)?;
            keep = false;
        }
        Ok((status, ttfb, t0.elapsed().as_secs_f64(), keep))
    }
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: bench-latency PORT BODY_FILE N [--warmup W] [--path P] [--host H] [--stream]");
        std::process::exit(2);
    }
    let port: u16 = args[1].parse().expect("port");
    let body = std::fs::read(&args[2])?;
    let n: usize = args[3].parse().expect("n");
    let mut warmup = 5usize;
    let mut path = "/api/v1/chat/completions".to_string();
    let mut host = "openrouter.ai".to_string();
    let mut stream = false;
    let mut samples = false;
    let mut i = 4;
    while i < args.len() {
        match args[i].as_str() {
            "--warmup" => {
                warmup = args[i + 1].parse().expect("warmup");
                i += 1;
            }
            "--path" => {
                path = args[i + 1].clone();
                i += 1;
            }
            "--host" => {
                host = args[i + 1].clone();
                i += 1;
            }
            "--stream" => stream = true,
            "--samples" => samples = true,
            other => panic!("unknown argument {other}"),
        }
        i += 1;
    }
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{}\r\n",
        body.len(),
        if stream { "x-bench-stream: 1\r\n" } else { "" }
    )
    .into_bytes();
    req.extend_from_slice(&body);

    let mut c = Client::connect(port)?;
    let (mut ttfb, mut total) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut errors = 0usize;
    let mut non2xx = 0usize;
    let mut last_status = 0u16;
    let started = Instant::now();
    for k in 0..(n + warmup) {
        match c.exchange(&req) {
            Ok((status, tf, tt, keep)) => {
                last_status = status;
                if !(200..300).contains(&status) {
                    non2xx += 1;
                }
                if k >= warmup {
                    ttfb.push(tf * 1e6);
                    total.push(tt * 1e6);
                }
                if !keep {
                    c = Client::connect(port)?;
                }
            }
            Err(_) => {
                errors += 1;
                c = Client::connect(port)?;
            }
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let raw = if samples {
        let join = |v: &[f64]| v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>().join(",");
        format!(",\"ttfb_us\":[{}],\"total_us\":[{}]", join(&ttfb), join(&total))
    } else {
        String::new()
    };
    ttfb.sort_by(|a, b| a.total_cmp(b));
    total.sort_by(|a, b| a.total_cmp(b));
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    println!(
        "{{\"n\":{},\"errors\":{},\"non2xx\":{},\"last_status\":{},\"wall_s\":{:.3},\
\"ttfb_p50_us\":{:.1},\"ttfb_p90_us\":{:.1},\"ttfb_p99_us\":{:.1},\"ttfb_mean_us\":{:.1},\
\"total_p50_us\":{:.1},\"total_p90_us\":{:.1},\"total_p99_us\":{:.1},\"total_mean_us\":{:.1},\"total_max_us\":{:.1}{}}}",
        total.len(),
        errors,
        non2xx,
        last_status,
        wall,
        pct(&ttfb, 50.0),
        pct(&ttfb, 90.0),
        pct(&ttfb, 99.0),
        mean(&ttfb),
        pct(&total, 50.0),
        pct(&total, 90.0),
        pct(&total, 99.0),
        mean(&total),
        pct(&total, 100.0),
        raw,
    );
    Ok(())
}
