//! The floor filter (issue 17): what every governing filter must do, nothing more.
//!
//! - request headers: held (`Pause`) until the body is complete, unless the request has no body;
//! - request body: buffered by Envoy until the end of stream, then read into the VM in one host call
//!   and SHA-256'd (the filter's `prompt_sha256`);
//! - log: one filter-state record `{"bytes_in":N,"prompt_sha256":"…"}` (`set_property(["audit"], …)`),
//!   which the access log prints exactly like the filter's audit record.
//!
//! No configuration, no metrics, no logs, no response work: 2 host calls per request with a body
//! (counted by bench/hostcalls.py). Never deployed; a yardstick for `make bench`.

#[cfg(target_arch = "wasm32")]
mod filter {
    use proxy_wasm::traits::{Context, HttpContext, RootContext};
    use proxy_wasm::types::{Action, ContextType};
    use sha2::{Digest, Sha256};

    const HEX: &[u8; 16] = b"0123456789abcdef";

    proxy_wasm::main! {{
        proxy_wasm::set_root_context(|_| Box::new(FloorRoot));
    }}

    struct FloorRoot;

    impl Context for FloorRoot {}

    impl RootContext for FloorRoot {
        fn on_configure(&mut self, _size: usize) -> bool {
            true
        }

        fn get_type(&self) -> Option<ContextType> {
            Some(ContextType::HttpContext)
        }

        fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
            Some(Box::new(Floor { bytes_in: 0, digest: None }))
        }
    }

    struct Floor {
        bytes_in: usize,
        digest: Option<[u8; 32]>,
    }

    impl Context for Floor {}

    impl HttpContext for Floor {
        fn on_http_request_headers(&mut self, _n: usize, end_of_stream: bool) -> Action {
            if end_of_stream {
                Action::Continue
            } else {
                Action::Pause
            }
        }

        fn on_http_request_body(&mut self, size: usize, end_of_stream: bool) -> Action {
            if !end_of_stream {
                return Action::Pause; // StopIterationAndBuffer: Envoy keeps buffering
            }
            let body = self.get_http_request_body(0, size).unwrap_or_default();
            self.bytes_in = body.len();
            self.digest = Some(Sha256::digest(&body).into());
            Action::Continue
        }

        fn on_log(&mut self) {
            let Some(d) = self.digest else { return };
            let mut rec = Vec::with_capacity(128);
            rec.extend_from_slice(b"{\"bytes_in\":");
            rec.extend_from_slice(self.bytes_in.to_string().as_bytes());
            rec.extend_from_slice(b",\"prompt_sha256\":\"");
            for b in d {
                rec.push(HEX[usize::from(b >> 4)]);
                rec.push(HEX[usize::from(b & 15)]);
            }
            rec.extend_from_slice(b"\"}");
            self.set_property(vec!["audit"], Some(&rec));
        }
    }
}
