use super::{admin::AdminTabs, layout::Shell, ErrorBox};
use crate::api::import::{preview_import, CommitImport};
use crate::ctx::{request_ctx, RequestCtx};
use crate::i18n::t_args;
use kilele::academic::ImportPreview;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

/// School admin: import students with guardians from CSV/XLSX. Upload → preview with every
/// row's errors → one confirmation imports all rows or none.
#[component]
pub fn ImportPage() -> impl IntoView {
    let ctx = request_ctx();
    let query = use_query_map();
    let upload = query.with_untracked(|q| q.get("upload"));
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("import-title")>
            <AdminTabs/>
            <super::FormErrors/>
            {match upload {
                Some(id) => {
                    let t = t.clone();
                    view! {
                        <Await future=preview_import(id) let:preview>
                            {match preview.clone() {
                                Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                                Ok(p) => preview_view(&t, p).into_any(),
                            }}
                        </Await>
                    }
                    .into_any()
                }
                None => ().into_any(),
            }}
            <section class="card">
                <h2>{ctx.t("import-upload-title")}</h2>
                <p>{ctx.t("import-upload-help")}</p>
                <form method="post" action="/admin/import/upload" enctype="multipart/form-data" class="stack">
                    <div class="field">
                        <label for="file">{ctx.t("import-file")}</label>
                        <input id="file" name="file" type="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required/>
                    </div>
                    <button type="submit" class="btn">{ctx.t("import-check-file")}</button>
                </form>
                <p class="links">
                    <a href="/admin/import/template.csv" download>{ctx.t("import-template")}</a>
                    " · "
                    <a href="/admin/students/export.xlsx" download>{ctx.t("export-xlsx")}</a>
                    " · "
                    <a href="/admin/students/export.csv" download>{ctx.t("export-csv")}</a>
                </p>
            </section>
        </Shell>
    }
}

fn preview_view(t: &RequestCtx, p: ImportPreview) -> impl IntoView {
    if let Some(n) = p.imported {
        return view! {
            <section class="card success" data-testid="import-done">
                <h2>{t_args(t.lang, "import-done", &[("count", n.to_string())])}</h2>
                <p><a href="/admin">{t.t("admin-tab-overview")}</a></p>
            </section>
        }
        .into_any();
    }
    if let Some(key) = p.file_error {
        let text = t_args(
            t.lang,
            &key,
            &[("columns", p.file_error_detail.clone()), ("column", p.file_error_detail.clone()), ("max", p.file_error_detail)],
        );
        return view! { <p class="alert" role="alert" data-testid="file-error">{text}</p> }.into_any();
    }
    let summary = t_args(t.lang, "import-summary", &[("ok", p.rows_ok.to_string()), ("errors", p.errors.len().to_string())]);
    if p.errors.is_empty() {
        let id = p.upload_id.to_string();
        return view! {
            <section class="card" data-testid="import-ready">
                <h2>{p.file_name}</h2>
                <p>{summary}</p>
                <form method="post" action=CommitImport::url()>
                    <input type="hidden" name="upload_id" value=id/>
                    <button type="submit" class="btn btn-primary">{t_args(t.lang, "import-confirm", &[("count", p.rows_ok.to_string())])}</button>
                </form>
            </section>
        }
        .into_any();
    }
    let rows = p
        .errors
        .iter()
        .map(|e| {
            view! {
                <tr>
                    <td data-label=t.t("import-line") class="num">{e.line}</td>
                    <td data-label=t.t("import-column")><code>{e.field.clone()}</code></td>
                    <td data-label=t.t("import-value")>{e.value.clone()}</td>
                    <td data-label=t.t("import-problem")>{t.t(&e.message)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="card" data-testid="import-errors">
            <h2>{p.file_name}</h2>
            <p>{summary}</p>
            <p class="alert">{t.t("import-nothing-written")}</p>
            <table class="table">
                <thead><tr><th class="num">{t.t("import-line")}</th><th>{t.t("import-column")}</th><th>{t.t("import-value")}</th><th>{t.t("import-problem")}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
    }
    .into_any()
}
