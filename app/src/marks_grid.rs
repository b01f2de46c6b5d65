//! The marks-entry grid: an island, because it must work on a phone with a flaky connection.
//!
//! - Every entry is checked as it is typed, by the same domain code the server runs
//!   (`kilele::results::entry::check_cell`), with the error shown in the cell; the row's term
//!   score and grade follow live (`live_grade`).
//! - A valid entry goes into a queue kept in the browser's `localStorage` before anything is
//!   sent, then autosaves (debounced). A failed send keeps it queued: the status line says how
//!   many wait, and the queue is sent again when the browser is back online, on a timer, and
//!   when the page is opened again. Nothing typed is lost by a reload or a dead connection.
//! - Each entry carries the revision it was typed over; when someone else saved the cell in
//!   between, the server writes nothing and says so, and the cell shows their value with a
//!   button to keep ours.
//! - Arrow keys and Enter move between cells; pasting a column from a spreadsheet fills down.

//!
//! The island is in the staff portals' bundle only (`kilele-staff`, feature `staff`): the
//! parents' bundle gets a plain component of the same name, which never runs in the
//! browser (in islands mode only islands do) and only lets the page code compile.

use serde::{Deserialize, Serialize};

#[cfg(any(feature = "ssr", feature = "staff"))]
pub use grid::MarksGrid;
#[cfg(not(any(feature = "ssr", feature = "staff")))]
pub use stub::MarksGrid;

/// What the grid says, in the reader's language (translated on the server).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GridLabels {
    pub student: String,
    pub score: String,
    pub grade: String,
    pub saved: String,
    pub saving: String,
    /// `{n}`: entries waiting.
    pub waiting: String,
    /// `{n}`: entries waiting; shown when a save was refused.
    pub refused: String,
    pub reason: String,
    pub reason_needed: String,
    /// `{value}`, `{by}`.
    pub conflict: String,
    pub keep_mine: String,
    /// i18n key → text, for the messages a cell can show.
    pub messages: Vec<(String, String)>,
}

impl GridLabels {
    #[cfg_attr(not(any(feature = "ssr", feature = "staff")), allow(dead_code))]
    fn message(&self, key: &str) -> String {
        self.messages.iter().find(|(k, _)| k == key).map_or_else(|| key.to_owned(), |(_, v)| v.clone())
    }
}

/// The i18n keys a cell or the status line can show (translated into [`GridLabels::messages`]).
pub const GRID_MESSAGE_KEYS: [&str; 14] = [
    "error-mark-required",
    "error-mark-invalid",
    "error-mark-decimals",
    "error-mark-out-of-range",
    "results-error-assessment-unknown",
    "results-error-student-not-in-stream",
    "results-error-duplicate-cell",
    "results-error-sheet-submitted",
    "results-error-sheet-locked",
    "results-error-reason-required",
    "results-error-reason-long",
    "results-error-too-many-cells",
    "error-forbidden",
    "error-unauthenticated",
];

#[cfg(not(any(feature = "ssr", feature = "staff")))]
mod stub {
    use super::GridLabels;
    use kilele::results::entry::SheetView;
    use leptos::prelude::*;

    #[component]
    pub fn MarksGrid(sheet: SheetView, labels: GridLabels) -> impl IntoView {
        let _ = (sheet, labels);
    }
}

#[cfg(any(feature = "ssr", feature = "staff"))]
mod grid {
    use super::GridLabels;
    use kilele::results::entry::{check_cell, live_grade, parse_cell_field, CellSave, SheetView};
    use kilele::results::Mark;
    use leptos::prelude::*;
    use serde::{Deserialize, Serialize};
    use std::collections::BTreeMap;

    #[derive(Clone, Copy)]
    struct Cell {
        value: RwSignal<String>,
        /// The revision the shown value is based on.
        base: RwSignal<i32>,
        error: RwSignal<Option<String>>,
        conflict: RwSignal<Option<String>>,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Status {
        Saved,
        Saving,
        Waiting,
        Refused,
        NeedReason,
    }

    /// A queued entry, as kept in `localStorage`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct Queued {
        row: usize,
        col: usize,
        value: String,
        base: i32,
    }

    #[derive(Clone, Copy)]
    struct Grid {
        cells: StoredValue<Vec<Vec<Cell>>>,
        students: StoredValue<Vec<uuid::Uuid>>,
        keys: StoredValue<Vec<String>>,
        queue: StoredValue<BTreeMap<(usize, usize), Queued>>,
        in_flight: StoredValue<bool>,
        retry_armed: StoredValue<bool>,
        status: RwSignal<Status>,
        pending: RwSignal<usize>,
        refusal: RwSignal<Option<String>>,
        reason: RwSignal<String>,
        needs_reason: bool,
        #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
        storage_key: StoredValue<String>,
        ids: (uuid::Uuid, uuid::Uuid, uuid::Uuid),
        labels: StoredValue<GridLabels>,
    }

    #[cfg(feature = "hydrate")]
    fn storage() -> Option<web_sys::Storage> {
        web_sys::window().and_then(|w| w.local_storage().ok().flatten())
    }

    impl Grid {
        fn persist(self) {
            let queued: Vec<Queued> = self.queue.with_value(|q| q.values().cloned().collect());
            self.pending.set(queued.len());
            #[cfg(feature = "hydrate")]
            if let Some(store) = storage() {
                let key = self.storage_key.get_value();
                if queued.is_empty() {
                    let _ = store.remove_item(&key);
                } else if let Ok(text) = serde_json::to_string(&queued) {
                    let _ = store.set_item(&key, &text);
                }
            }
        }

        fn restore(self) {
            #[cfg(feature = "hydrate")]
            {
                let Some(text) = storage().and_then(|s| s.get_item(&self.storage_key.get_value()).ok().flatten()) else { return };
                let Ok(queued) = serde_json::from_str::<Vec<Queued>>(&text) else { return };
                for q in queued {
                    if let Some(cell) = self.cell(q.row, q.col) {
                        cell.value.set(q.value.clone());
                        cell.base.set(q.base);
                        self.queue.update_value(|m| {
                            m.insert((q.row, q.col), q.clone());
                        });
                    }
                }
                self.persist();
            }
        }

        fn cell(self, row: usize, col: usize) -> Option<Cell> {
            self.cells.with_value(|c| c.get(row).and_then(|r| r.get(col)).copied())
        }

        /// A cell changed: check it, queue it when valid, save soon.
        fn typed(self, row: usize, col: usize, value: String, assessments: &kilele::results::AssessmentSet) {
            let Some(cell) = self.cell(row, col) else { return };
            cell.value.set(value.clone());
            cell.conflict.set(None);
            match check_cell(assessments, col, &value) {
                Err(e) => {
                    cell.error.set(Some(self.labels.with_value(|l| l.message(&e.message))));
                    // An invalid entry is not sent; an earlier valid one for the cell waits no more.
                    self.queue.update_value(|m| {
                        m.remove(&(row, col));
                    });
                }
                Ok(_) => {
                    cell.error.set(None);
                    let base = cell.base.get_untracked();
                    self.queue.update_value(|m| {
                        m.insert((row, col), Queued { row, col, value, base });
                    });
                }
            }
            self.persist();
            self.schedule(std::time::Duration::from_millis(700));
        }

        fn schedule(self, after: std::time::Duration) {
            set_timeout(move || self.flush(), after);
        }

        fn retry_later(self) {
            if self.retry_armed.get_value() {
                return;
            }
            self.retry_armed.set_value(true);
            set_timeout(
                move || {
                    self.retry_armed.set_value(false);
                    self.flush();
                },
                std::time::Duration::from_secs(5),
            );
        }

        /// Sends what is queued (at most 500 entries at a time), one request at a time.
        fn flush(self) {
            if self.in_flight.get_value() {
                return;
            }
            let batch: Vec<Queued> = self.queue.with_value(|q| q.values().take(500).cloned().collect());
            if batch.is_empty() {
                if self.status.get_untracked() != Status::Refused {
                    self.status.set(Status::Saved);
                }
                return;
            }
            let reason = self.reason.get_untracked();
            if self.needs_reason && reason.trim().chars().count() < 5 {
                self.status.set(Status::NeedReason);
                return;
            }
            let students = self.students.get_value();
            let keys = self.keys.get_value();
            let cells: Vec<CellSave> = batch
                .iter()
                .filter_map(|q| {
                    Some(CellSave {
                        student: *students.get(q.row)?,
                        assessment: keys.get(q.col)?.clone(),
                        value: q.value.clone(),
                        base_revision: q.base,
                    })
                })
                .collect();
            self.in_flight.set_value(true);
            self.status.set(Status::Saving);
            let (term, stream, subject) = self.ids;
            leptos::task::spawn_local(async move {
                let reason = self.needs_reason.then_some(reason);
                let answer = crate::api::results::save_marks(term, stream, subject, cells, reason).await;
                self.in_flight.set_value(false);
                match answer {
                    Ok(report) => {
                        let index = |student: &uuid::Uuid, key: &str| {
                            Some((students.iter().position(|s| s == student)?, keys.iter().position(|k| k == key)?))
                        };
                        for saved in &report.saved {
                            let Some((row, col)) = index(&saved.student, &saved.assessment) else { continue };
                            let sent = batch.iter().find(|q| q.row == row && q.col == col).map(|q| q.value.clone());
                            if let Some(cell) = self.cell(row, col) {
                                cell.base.set(saved.revision);
                            }
                            self.queue.update_value(|m| match m.get_mut(&(row, col)) {
                                // Unchanged since it was sent: done.
                                Some(q) if Some(&q.value) == sent.as_ref() => {
                                    m.remove(&(row, col));
                                }
                                // Typed again meanwhile: send the newer value over the new revision.
                                Some(q) => q.base = saved.revision,
                                None => {}
                            });
                        }
                        for c in &report.conflicts {
                            let Some((row, col)) = index(&c.student, &c.assessment) else { continue };
                            if let Some(cell) = self.cell(row, col) {
                                let text = self.labels.with_value(|l| l.conflict.replace("{value}", &c.current).replace("{by}", &c.by));
                                cell.conflict.set(Some(text));
                                cell.base.set(c.revision);
                            }
                            self.queue.update_value(|m| {
                                m.remove(&(row, col));
                            });
                        }
                        self.refusal.set(None);
                        self.persist();
                        self.status.set(Status::Saved);
                        // Whatever is left (the rest of a refused batch, entries typed meanwhile).
                        self.flush();
                    }
                    Err(crate::errors::AppError::InvalidFields(fields)) => {
                        // Cells the server cannot take: shown in their cells, no longer sent;
                        // nothing of the batch was written, so the rest goes again.
                        let mut removed = 0;
                        for (field, message) in &fields {
                            let Some((student, key)) = parse_cell_field(field) else { continue };
                            let Some(row) = students.iter().position(|s| *s == student) else { continue };
                            let Some(col) = keys.iter().position(|k| k == key) else { continue };
                            if let Some(cell) = self.cell(row, col) {
                                cell.error.set(Some(self.labels.with_value(|l| l.message(message))));
                            }
                            self.queue.update_value(|m| {
                                m.remove(&(row, col));
                            });
                            removed += 1;
                        }
                        self.persist();
                        if removed > 0 {
                            self.flush();
                        } else {
                            let first = fields.first().map(|f| f.1.clone()).unwrap_or_default();
                            self.refusal.set(Some(self.labels.with_value(|l| l.message(&first))));
                            self.status.set(Status::Refused);
                            self.retry_later();
                        }
                    }
                    Err(crate::errors::AppError::Transport(_)) | Err(crate::errors::AppError::Internal) => {
                        // No connection or the server is down: keep everything, try again.
                        self.status.set(Status::Waiting);
                        self.retry_later();
                    }
                    Err(e) => {
                        // Refused as a whole (signed out, sheet submitted meanwhile): keep the
                        // entries, say why, and try again later (signing in again in another tab
                        // lets them through).
                        self.refusal.set(Some(self.labels.with_value(|l| l.message(e.i18n_key()))));
                        self.status.set(Status::Refused);
                        self.retry_later();
                    }
                }
            });
        }
    }

    #[cfg(feature = "hydrate")]
    fn focus_cell(row: usize, col: usize) {
        use leptos::wasm_bindgen::JsCast;
        if let Some(el) = document().get_element_by_id(&format!("cell-{row}-{col}")) {
            if let Ok(input) = el.dyn_into::<web_sys::HtmlInputElement>() {
                let _ = input.focus();
                input.select();
            }
        }
    }

    #[cfg(not(feature = "hydrate"))]
    fn focus_cell(_row: usize, _col: usize) {}

    /// The grid of a sheet: students × assessments, with the live term score and grade.
    #[island]
    pub fn MarksGrid(sheet: SheetView, labels: GridLabels) -> impl IntoView {
        let rows = sheet.rows.len();
        let cols = sheet.assessments.len();
        let cells: Vec<Vec<Cell>> = sheet
            .rows
            .iter()
            .map(|r| {
                (0..cols)
                    .map(|c| {
                        let entry = r.entries.get(c).cloned().flatten();
                        Cell {
                            value: RwSignal::new(entry.as_ref().map(|e| e.text.clone()).unwrap_or_default()),
                            base: RwSignal::new(entry.map_or(0, |e| e.revision)),
                            error: RwSignal::new(None),
                            conflict: RwSignal::new(None),
                        }
                    })
                    .collect()
            })
            .collect();
        let grid = Grid {
            cells: StoredValue::new(cells),
            students: StoredValue::new(sheet.rows.iter().map(|r| r.student_id).collect()),
            keys: StoredValue::new(sheet.assessments.assessments().iter().map(|a| a.key.clone()).collect()),
            queue: StoredValue::new(BTreeMap::new()),
            in_flight: StoredValue::new(false),
            retry_armed: StoredValue::new(false),
            status: RwSignal::new(Status::Saved),
            pending: RwSignal::new(0),
            refusal: RwSignal::new(None),
            reason: RwSignal::new(String::new()),
            needs_reason: sheet.needs_reason,
            storage_key: StoredValue::new(format!("kilele.marks.{}.{}.{}", sheet.term_id, sheet.stream_id, sheet.subject_id)),
            ids: (sheet.term_id, sheet.stream_id, sheet.subject_id),
            labels: StoredValue::new(labels.clone()),
        };
        let assessments = StoredValue::new(sheet.assessments.clone());
        let scheme = StoredValue::new(sheet.scheme.clone());
        let editable = sheet.can_edit;

        Effect::new(move |_| {
            grid.restore();
            grid.flush();
        });
        let _online = window_event_listener(leptos::ev::online, move |_| grid.flush());

        let head = sheet
            .assessments
            .assessments()
            .iter()
            .map(|a| view! { <th scope="col" class="num">{a.name.clone()}<br/><small>{format!("/{} · {}%", a.max, a.weight)}</small></th> })
            .collect_view();
        let body = sheet
        .rows
        .iter()
        .enumerate()
        .map(|(row, r)| {
            let inputs = (0..cols)
                .map(|col| {
                    let Some(cell) = grid.cell(row, col) else { return ().into_any() };
                    let id = format!("cell-{row}-{col}");
                    let label = format!("{} — {}", r.name, sheet.assessments.assessments().get(col).map(|a| a.name.clone()).unwrap_or_default());
                    let keep_mine = labels.keep_mine.clone();
                    view! {
                        <td class="mark-cell" class:invalid=move || cell.error.with(Option::is_some)>
                            <input
                                id=id
                                class="mark-input"
                                inputmode="decimal"
                                autocomplete="off"
                                aria-label=label
                                disabled=!editable
                                prop:value=move || cell.value.get()
                                aria-invalid=move || cell.error.with(Option::is_some).to_string()
                                on:input=move |ev| {
                                    let v = event_target_value(&ev);
                                    assessments.with_value(|a| grid.typed(row, col, v, a));
                                }
                                on:keydown=move |ev| {
                                    let key = ev.key();
                                    let target = match key.as_str() {
                                        "ArrowDown" | "Enter" if !ev.shift_key() => (row + 1 < rows).then(|| (row + 1, col)),
                                        "ArrowUp" => row.checked_sub(1).map(|r| (r, col)),
                                        "Enter" => row.checked_sub(1).map(|r| (r, col)),
                                        "ArrowRight" if ev.ctrl_key() || ev.alt_key() || cell.value.with_untracked(String::is_empty) => (col + 1 < cols).then(|| (row, col + 1)),
                                        "ArrowLeft" if ev.ctrl_key() || ev.alt_key() || cell.value.with_untracked(String::is_empty) => col.checked_sub(1).map(|c| (row, c)),
                                        _ => None,
                                    };
                                    if let Some((r, c)) = target {
                                        ev.prevent_default();
                                        focus_cell(r, c);
                                    }
                                }
                                on:paste=move |ev| {
                                    #[cfg(feature = "hydrate")]
                                    {
                                        let text = ev.clipboard_data().and_then(|d| d.get_data("text").ok()).unwrap_or_default();
                                        let lines: Vec<&str> = text.lines().collect();
                                        if lines.len() > 1 {
                                            // A column pasted from a spreadsheet: fill down from here.
                                            ev.prevent_default();
                                            for (i, line) in lines.iter().enumerate() {
                                                if row + i >= rows { break; }
                                                let first = line.split('\t').next().unwrap_or("").trim().to_owned();
                                                assessments.with_value(|a| grid.typed(row + i, col, first, a));
                                            }
                                        }
                                    }
                                    #[cfg(not(feature = "hydrate"))]
                                    let _ = ev;
                                }
                            />
                            {move || cell.error.get().map(|e| view! { <span class="cell-error" role="alert">{e}</span> })}
                            {move || cell.conflict.get().map(|c| {
                                let keep_mine = keep_mine.clone();
                                view! {
                                    <span class="cell-conflict" role="alert">{c}
                                        <button type="button" class="btn btn-chip" on:click=move |_| {
                                            let v = cell.value.get_untracked();
                                            assessments.with_value(|a| grid.typed(row, col, v, a));
                                        }>{keep_mine}</button>
                                    </span>
                                }
                            })}
                        </td>
                    }
                    .into_any()
                })
                .collect_view();
            let live = Memo::new(move |_| {
                let marks: Vec<Option<Mark>> = (0..cols)
                    .map(|col| {
                        let v = grid.cell(row, col).map(|c| c.value.get()).unwrap_or_default();
                        assessments.with_value(|a| check_cell(a, col, &v).ok().flatten())
                    })
                    .collect();
                assessments.with_value(|a| scheme.with_value(|s| live_grade(a, s, &marks)))
            });
            view! {
                <tr data-student=r.student_id.to_string()>
                    <th scope="row" class="student-cell"><span class="name">{r.name.clone()}</span><br/><small>{r.admission_no.clone()}</small></th>
                    {inputs}
                    <td class="num" data-testid="live-score">{move || live.get().map(|g| g.0).unwrap_or_default()}</td>
                    <td class="num" data-testid="live-grade">{move || live.get().map(|g| g.1).unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
        let status_text = move || {
            let n = grid.pending.get().to_string();
            grid.labels.with_value(|l| match grid.status.get() {
                Status::Saved if grid.pending.get() == 0 => l.saved.clone(),
                Status::Saving => l.saving.clone(),
                Status::Refused => format!("{} {}", l.refused.replace("{n}", &n), grid.refusal.get().unwrap_or_default()),
                Status::NeedReason => l.reason_needed.clone(),
                _ => l.waiting.replace("{n}", &n),
            })
        };
        let reason_box = sheet.needs_reason.then(|| {
        view! {
            <div class="field">
                <label for="amend-reason">{labels.reason.clone()}</label>
                <input id="amend-reason" maxlength="500" prop:value=move || grid.reason.get()
                    on:input=move |ev| { grid.reason.set(event_target_value(&ev)); grid.schedule(std::time::Duration::from_millis(700)); }/>
            </div>
        }
    });
        view! {
            <div class="marks-grid">
                {reason_box}
                <p class="save-status" role="status" aria-live="polite" data-testid="save-status"
                    data-state=move || match grid.status.get() { Status::Saved if grid.pending.get() == 0 => "saved", Status::Saving => "saving", Status::Refused | Status::NeedReason => "refused", _ => "waiting" }>
                    {status_text}
                </p>
                <div class="table-scroll">
                    <table class="table marks" data-testid="marks-grid">
                        <thead><tr><th scope="col">{labels.student.clone()}</th>{head}<th scope="col" class="num">{labels.score.clone()}</th><th scope="col" class="num">{labels.grade.clone()}</th></tr></thead>
                        <tbody>{body}</tbody>
                    </table>
                </div>
            </div>
        }
    }
}
