//! Small pages the server answers with before any Leptos page renders (refusals, internal
//! errors). Their text goes through the same English/Kiswahili layer as every page.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use kilele::Language;

pub const LANG_COOKIE: &str = "kilele_lang";

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub fn accept_language(headers: &HeaderMap) -> Option<Language> {
    let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    value.split(',').filter_map(|part| Language::parse(part.split(';').next()?.split('-').next()?)).next()
}

/// The reader's language when nothing else is known: their choice cookie, then the browser's
/// languages, then Kiswahili.
pub fn language_of(headers: &HeaderMap) -> Language {
    cookie(headers, LANG_COOKIE).and_then(Language::parse).or_else(|| accept_language(headers)).unwrap_or_default()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A one-message page: `key` is the message, `link` a local path with its label's key.
pub fn message(status: StatusCode, lang: Language, key: &str, link: (&str, &str)) -> Response {
    let text = app::i18n::t(lang, key);
    let label = app::i18n::t(lang, link.1);
    let body = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Kilele</title><link rel=\"stylesheet\" href=\"/pkg/kilele.css\"></head><body><main class=\"centered\"><p class=\"alert\" role=\"alert\">{}</p><p><a href=\"{}\">{}</a></p></main></body></html>",
        lang.code(),
        html_escape(&text),
        html_escape(link.0),
        html_escape(&label)
    );
    (status, Html(body)).into_response()
}

/// Something broke on our side: logged with detail, shown only as the generic message.
pub fn internal(lang: Language, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "request failed");
    message(StatusCode::INTERNAL_SERVER_ERROR, lang, "error-internal", ("/", "go-home"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn language_from_cookie_then_browser_then_kiswahili() {
        let mut h = HeaderMap::new();
        assert_eq!(language_of(&h), Language::Sw);
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("fr-FR,en;q=0.8"));
        assert_eq!(language_of(&h), Language::En);
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; kilele_lang=sw; b=2"));
        assert_eq!(language_of(&h), Language::Sw);
        assert_eq!(cookie(&h, "b"), Some("2"));
    }
}
