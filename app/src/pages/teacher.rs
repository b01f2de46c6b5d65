use super::{count, layout::Shell, ErrorBox};
use crate::api::my_classes;
use crate::ctx::request_ctx;
use kilele::Language;
use leptos::prelude::*;

/// Teacher workspace: my classes and subjects this year.
#[component]
pub fn TeacherPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("teacher-title")>
            {ctx.can(kilele::identity::Permission::ResultsEnter).then(|| view! {
                <p><a href="/teacher/marks" class="btn btn-primary" data-testid="marks-link">{ctx.t("results-enter-marks")}</a></p>
            })}
            <Await future=my_classes() let:classes>
                {match classes.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! {
                        <p class="empty-state" data-testid="my-classes-empty">{t.t("teacher-no-classes")}</p>
                    }.into_any(),
                    Ok(rows) => {
                        let body = rows.into_iter().map(|a| {
                            let subject = if t.lang == Language::Sw { a.subject_sw } else { a.subject_en };
                            view! {
                                <tr>
                                    <td data-label=t.t("class")>{a.class_name}
                                        {a.is_class_teacher.then(|| view! { " " <span class="badge">{t.t("class-teacher")}</span> })}
                                    </td>
                                    <td data-label=t.t("subject")>{subject}</td>
                                    <td data-label=t.t("students") class="num">{count(a.students)}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="table" data-testid="my-classes">
                                <thead><tr><th>{t.t("class")}</th><th>{t.t("subject")}</th><th class="num">{t.t("students")}</th></tr></thead>
                                <tbody>{body}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}
