//! Content-Security-Policy for our pages. Pages carry a per-response nonce so that the one
//! inline script leptos needs (the islands loader) runs and nothing injected does; every other
//! response gets the same policy without a nonce. WebAssembly needs 'wasm-unsafe-eval'.

/// The policy for everything that is not a rendered page (server functions, files, errors).
pub const BASE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// The policy for a rendered page whose inline script carries `nonce`.
pub fn page_csp(nonce: &str) -> String {
    BASE_CSP.replacen("script-src 'self'", &format!("script-src 'self' 'nonce-{nonce}'"), 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_policy_adds_the_nonce_to_scripts_only() {
        let p = page_csp("abc");
        assert!(p.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"), "{p}");
        assert!(p.contains("frame-ancestors 'none'"));
        assert_eq!(p.matches("nonce-").count(), 1);
        assert!(!BASE_CSP.contains("unsafe-inline"));
    }
}
