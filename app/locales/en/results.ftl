# Results: marks, assessments, grading schemes, mark sheets (kilele::results).
error-mark-required = Enter a mark, ABS or EX.
error-mark-invalid = A mark is a number like 67 or 67.5, or ABS (absent) or EX (exempt).
error-mark-decimals = A mark can have at most two decimals.
error-mark-out-of-range = The mark must be between 0 and the paper's maximum.
error-assessments-empty = Add at least one assessment.
error-assessments-too-many = A term can have at most 12 assessments.
error-assessment-key-invalid = A short name has lower-case letters, digits, - or _ only (up to 40).
error-assessment-key-repeated = Two assessments have the same short name.
error-assessment-name-required = Enter the assessment's name.
error-assessment-max = Maximum marks must be between 1 and 1,000.
error-assessment-weight = Each assessment needs a weight above 0 %.
error-assessment-weights-sum = The weights must add up to 100 %.
error-assessment-exams = Only one assessment can be the terminal exam.
error-assessment-maxima = These maximum marks cannot be combined exactly. Use common values like 30, 50 or 100.
error-scheme-key-invalid = A scheme's short name has lower-case letters, digits and - only (up to 40).
error-scheme-name-required = Enter the scheme's name.
error-scheme-version = The version starts at 1.
error-scheme-source-required = Say where these grades come from (for example the NECTA circular).
error-scheme-years = The first exam year cannot be after the last.
error-scheme-frozen = Results were published with this scheme. Make a new version to change it.
error-scheme-identity = An edit keeps the scheme's short name and version.
error-scheme-no-preset = Kilele has no grading scheme for this level and exam year. Add the school's own.
error-bands-empty = Add the grades.
error-bands-too-many = A scheme can have at most 12 grades.
error-band-grade-invalid = A grade is 1 to 3 characters, like A or B+.
error-band-grade-repeated = Two grades have the same name.
error-band-remark-required = Each grade needs a remark in English and in Kiswahili.
error-band-range = A grade's marks run from a lower to a higher mark, at most 100.
error-bands-gap = Some marks between 0 and 100 have no grade.
error-bands-overlap = Some marks fall in two grades.
error-bands-points-order = A higher grade cannot have more points than a lower one.
error-divisions-count = Say how many subjects count (1 to 20).
error-divisions-empty = Add the divisions.
error-divisions-repeated = A division appears twice.
error-divisions-range = A division's points run from fewer to more.
error-divisions-gap = Some totals of points fall in no division.
error-divisions-overlap = Some totals of points fall in two divisions.
error-divisions-cover = The divisions must cover every possible total of points, and no other.
error-divisions-order = A better division must need fewer points.
error-sheet-subject-unknown = A mark is for a subject that is not on the sheet.
error-sheet-subject-repeated = A student has the same subject twice.
error-sheet-marks-count = A row has more marks than there are assessments.
error-sheet-student-repeated = A student appears twice.
error-stream-required = Enter the stream.
error-stream-invalid = A stream has at most 40 characters and cannot start with =, +, - or @.
error-principal-invalid = Write yes for a principal subject, and no (or nothing) for a subsidiary one.
error-subject-required = Enter the subject.
error-subject-invalid = A subject has at most 40 characters and cannot start with =, +, - or @.
error-subject-repeated = This student already has this subject on an earlier row.
error-student-inconsistent = This student has another name, stream or combination on an earlier row.
results-file-not-utf8 = Save the file as “CSV UTF-8” and upload it again.
results-file-not-csv = This file is not a CSV file Kilele can read.
results-file-empty = The file has no marks in it. The first row must be the column names.
results-file-missing-column = The file has no column { $columns }.
results-file-duplicate-column = The column { $column } appears twice. Remove one of them.
results-file-too-many-rows = A file can have at most { $max } rows. Split it into smaller files.
results-no-overall-fewer-subjects = No division: fewer than { $needed } subjects sat ({ $sat }).
results-no-overall-principal-subjects = No division: { $needed } principal subjects are needed, { $marked } given.
results-no-overall-fewer-principal = No division: fewer than { $needed } principal subjects sat ({ $sat }).
results-no-overall-points = No division: { $points } points fall in none.
results-flag-changed-after-approval = Changed after approval
results-flag-burst = Many marks changed in a short time
results-flag-outside-allocation = Marks entered by a teacher not allocated to the class
results-flag-score-jump = A score rose far more than the class's
error-flags-burst-count = The number of changes must be a whole number from 1 to 10,000.
error-flags-burst-window = The time window must be a whole number of minutes from 1 to 1,440.
error-flags-jump-z = The z-score must be above 0 and at most 10, with at most two decimals.
error-flags-min-class = The class size must be a whole number from 3 to 10,000.

# Marks entry, workflow, publishing, flags, portal (pages and the marks grid).
admin-tab-results = Results
results-title = Results
results-my-sheets = My mark sheets
results-enter-marks = Enter marks
results-back-teacher = ← Teacher workspace
results-back-sheets = ← My mark sheets
results-back-overview = ← Results
results-back-portal = ← My family
results-no-current-term = No current term is set. The school admin sets it in the calendar.
results-sheet = Mark sheet
results-status = Status
results-status-not-started = Not started
results-status-draft = Draft
results-status-submitted = Submitted
results-status-approved = Approved
results-status-returned = Returned
results-status-published = Published
results-entries = Entries
results-scheme = Grading
results-student = Student
results-teacher = Teacher
results-term-score = Term score
results-grade = Grade
results-saved = All entries saved.
results-saving = Saving…
results-waiting = Not saved yet: { $n } entries are kept on this device and will be sent when the connection returns.
results-refused = Not saved: { $n } entries are kept on this device.
results-amend-reason = Reason for changing approved marks
results-conflict = Changed meanwhile by { $by } to “{ $value }”.
results-keep-mine = Keep mine
results-read-only = This sheet is read-only for you.
results-returned-with = Returned with the comment:
results-submit = Submit for approval
results-approve = Approve
results-return = Return to the teacher
results-return-comment = Comment
results-publish = Publish to parents
results-not-ready = Waiting for approval of every subject
results-not-submitted = Sheets not yet submitted
results-broadsheet = Broadsheet
results-provisional = Provisional: not every subject is approved yet.
results-download-xlsx = Download as Excel (XLSX)
results-position = Position
results-stream-position = Stream position
results-class-position = Class position
results-total = Total
results-average = Average
results-points = Points
results-division = Division
results-subject-analysis = Subject analysis
results-sat = Sat
results-mean = Mean
results-grades = Grades
results-highest = Highest
results-lowest = Lowest
results-division-summary = Division summary
results-no-division = No division
results-flags = Tamper flags
results-no-flags = No flags raised.
results-flag = Flag
results-raised = Raised
results-writer = Written by
results-evidence = Evidence
results-resolution = Resolution
results-resolve = Resolve
results-trend = Subject trend
results-none-published = No results have been published yet.
results-see = Results
results-remark = Remark
results-error-not-draft = Only a draft or returned sheet can be submitted.
results-error-not-submitted = Only a submitted sheet can be approved or returned.
results-error-assessment-unknown = This assessment is not part of the term.
results-error-student-not-in-stream = This student is not in the stream.
results-error-duplicate-cell = The same entry was sent twice.
results-error-sheet-submitted = The sheet is submitted: ask the academic master to return it before changing marks.
results-error-sheet-locked = The marks are approved: changing them needs the permission to amend results.
results-error-reason-required = Give a reason (at least 5 characters) for changing approved marks.
results-error-reason-long = The reason can be at most 500 characters.
results-error-comment-required = Write a comment.
results-error-comment-long = The comment can be at most 1,000 characters.
results-error-too-many-cells = Too many entries in one save.
results-error-incomplete = Enter every student's mark (ABS or EX where they apply) before submitting.
results-error-not-all-approved = Every subject of every stream must be approved before publishing.
results-error-nothing-to-publish = There are no marks to publish for this class.
results-error-already-published = These results are already published.

# Uploading a mark sheet from a file (kilele::results::upload).
results-upload-title = Upload marks from a file
results-upload-help = One row per student: admission_no, then a column per assessment (mt1, midterm, mt2, exam, or their names). A blank cell leaves the mark as it is. Kilele checks every row and shows what will change; nothing is saved until you confirm.
results-upload-file = Spreadsheet file (CSV or Excel)
results-upload-check = Check the file
results-upload-template = Download the template (CSV)
results-upload-preview = Marks from a file
results-upload-nothing-saved = Nothing has been saved. Fix these rows in your spreadsheet and upload it again.
results-upload-summary =
    { $changes ->
        [one] 1 mark will change
       *[other] { $changes } marks will change
    } for { $students ->
        [one] 1 student
       *[other] { $students } students
    }. { $unchanged ->
        [one] 1 row changes nothing.
       *[other] { $unchanged } rows change nothing.
    }
results-upload-not-in-file = { $n ->
    [one] 1 student of the class is not in the file: their marks stay as they are.
   *[other] { $n } students of the class are not in the file: their marks stay as they are.
}
results-upload-no-change = The file changes no mark.
results-upload-confirm = { $n ->
    [one] Save 1 mark
   *[other] Save { $n } marks
}
results-upload-saved = { $n ->
    [one] 1 mark saved.
   *[other] { $n } marks saved.
}
results-upload-conflicts = Someone changed these marks after your preview, so nothing was saved. Upload the file again to check it against the marks as they are now.
results-upload-assessment = Assessment
results-upload-in-file = In the file
results-upload-previewed = At the preview
results-upload-now = Now
results-upload-changed-by = Changed by
results-upload-changes = Changes
results-upload-back-sheet = ← Back to the mark sheet
results-upload-too-large = The file is larger than 2 MB. A mark sheet is much smaller: check that you chose the right file.
results-upload-not-a-spreadsheet = This file is not a spreadsheet Kilele can read. Upload a CSV or Excel (.xlsx) file.
results-upload-not-utf8 = Save the file as “CSV UTF-8” and upload it again.
results-upload-empty = The file is empty.
results-upload-too-many-rows = A marks file can have at most 1,000 rows.
results-upload-no-admission-column = The file has no admission_no column. The first row must be the column names: admission_no, then the assessments.
results-upload-no-mark-columns = The file has no column for an assessment. Name them mt1, midterm, mt2 and exam (or as the term's assessments are named).
results-upload-duplicate-column = This column appears twice. Remove one of them.
results-upload-unknown-column = Kilele does not know this column. Remove it, or name it after an assessment of the term (its short name, like mt1, or its name, like Monthly test 1).
results-upload-unnamed-column = There is a value in a column without a name. Name the column in the first row, or remove the value.
results-upload-admission-required = This row has marks but no admission number.
results-upload-student-not-in-stream = No student of this class has this admission number.
results-upload-duplicate-student = This student is on an earlier row too.
results-upload-no-marks = The file has no marks in it.
results-upload-has-errors = The file has rows with problems, so nothing was saved. Upload it again after fixing them.
results-upload-already-saved = These marks have already been saved.
results-upload-stale = Marks changed since this preview. Upload the file again to check it against the marks as they are now.

# The broadsheet workbook's sheet names and column words (results-col-<word>).
results-col-admission-no = Admission no.
results-col-name = Name
results-col-stream = Stream
results-col-combination = Combination
results-col-grade = grade
results-col-division = Division
results-col-total = Total
results-col-sat = Subjects sat
results-col-average = Average
results-col-points = Points
results-col-note = Note
results-col-stream-position = Stream position
results-col-class-position = Class position
results-col-subject = Subject
results-col-absent = Absent
results-col-exempt = Exempt
results-col-incomplete = Incomplete
results-col-mean = Mean
results-col-highest = Highest
results-col-lowest = Lowest
results-col-top = Top
results-col-bottom = Bottom
results-col-group = Group
results-col-students = Students
results-col-ranked = Ranked
results-col-none = No division or grade
results-col-class = Whole class
results-col-broadsheet = Broadsheet
results-col-subjects = Subjects
results-col-divisions = Divisions
results-col-grades = Grades
