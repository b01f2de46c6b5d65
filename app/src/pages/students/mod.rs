//! The school admin's student pages: the list (search, pages, adding a student) in
//! [`list`], one student (details, status, enrolments, guardians) in [`detail`].

mod detail;
pub(crate) mod list;

pub use detail::StudentPage;
pub use list::StudentsPage;

use crate::ctx::RequestCtx;
use kilele::academic::students::relationship_label_key;
use leptos::prelude::*;

/// `q` as a URL query value.
fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn list_href(q: &str, page: i64) -> String {
    if q.trim().is_empty() {
        format!("/admin/students?page={page}")
    } else {
        format!("/admin/students?q={}&page={page}", url_encode(q.trim()))
    }
}

/// A guardian's name, relationship, phone and email fields (the add-student and the
/// link-guardian forms), with the element ids `ids` (name, relationship, phone, email).
pub(super) fn guardian_fields(t: &RequestCtx, ids: [&'static str; 4]) -> impl IntoView {
    let [name, relationship, phone, email] = ids;
    view! {
        <div class="field">
            <label for=name>{t.t("students-guardian-name")}</label>
            <input id=name name="guardian_name" required maxlength="60"/>
        </div>
        <div class="field">
            <label for=relationship>{t.t("students-relationship")}</label>
            {relationship_select(t, relationship)}
        </div>
        <div class="field">
            <label for=phone>{t.t("students-phone")}</label>
            <input id=phone name="guardian_phone" type="tel" required placeholder="0712 345 678"/>
        </div>
        <div class="field">
            <label for=email>{t.t("email")}</label>
            <input id=email name="guardian_email" type="email"/>
        </div>
    }
}

/// The relationships a guardian can have, as a select.
fn relationship_select(t: &RequestCtx, id: &'static str) -> impl IntoView {
    let options = ["mother", "father", "guardian"]
        .into_iter()
        .map(|r| view! { <option value=r selected=r == "guardian">{t.t(relationship_label_key(r))}</option> })
        .collect_view();
    view! { <select id=id name="guardian_relationship">{options}</select> }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use crate::i18n::t;
    use kilele::academic::students::{relationship_label_key, StudentStatus};
    use kilele::Language;

    /// Keys built from data (statuses, relationships, outcomes) and the error keys the
    /// students domain returns exist in both languages.
    #[test]
    fn every_key_the_students_pages_use_exists() {
        let mut keys: Vec<String> = StudentStatus::ALL.iter().map(|s| s.label_key().to_owned()).collect();
        keys.extend(["mother", "father", "guardian"].map(|r| relationship_label_key(r).to_owned()));
        keys.extend(["promoted", "repeated", "graduated", "transferred", "left"].map(|o| format!("students-outcome-{o}")));
        keys.extend(
            [
                "students-error-too-long",
                "students-error-status-invalid",
                "students-error-reason-required",
                "students-error-no-current-year",
                "students-error-guardian-linked",
                "students-error-sms-needs-one",
                "error-admission-exists",
                "error-admission-invalid",
                "error-admission-required",
                "error-name-required",
                "error-name-too-long",
                "error-name-invalid",
                "error-sex-required",
                "error-sex-invalid",
                "error-date-invalid",
                "error-date-of-birth-future",
                "error-date-of-birth-too-early",
                "error-relationship-invalid",
                "error-phone-required",
                "error-phone-invalid",
                "error-email-invalid",
                "error-class-unknown",
                "error-class-required",
                "error-sms-invalid",
                "admin-tab-students",
                "students-error-prefix-invalid",
                "students-error-format-invalid",
            ]
            .map(String::from),
        );
        for lang in [Language::En, Language::Sw] {
            for key in &keys {
                assert_ne!(&t(lang, key), key, "{key} is missing in {}", lang.code());
            }
        }
    }

    #[test]
    fn search_links_keep_the_query() {
        assert_eq!(super::list_href("", 2), "/admin/students?page=2");
        assert_eq!(super::list_href(" Amina Mushi ", 3), "/admin/students?q=Amina%20Mushi&page=3");
        assert_eq!(super::list_href("KHSS/2026", 1), "/admin/students?q=KHSS%2F2026&page=1");
    }
}
