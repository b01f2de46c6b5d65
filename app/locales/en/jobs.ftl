# Background work that failed (issue 8: the job queue's failed-jobs view).
admin-tab-jobs = Background work
jobs-title = Background work that failed
jobs-hint = Work Kilele does for the school in the background (invitation emails, report cards, audit checks). A failed job is tried again by itself a few times, waiting longer each time; once it has no tries left it stays here until you try it again.
jobs-none = Nothing has failed. All background work finished.
jobs-what = Work
jobs-state = State
jobs-last-error = What went wrong last time
jobs-retry = Try again now
jobs-gave-up = Stopped: no tries left
jobs-next-try = Will try again at { $at }
jobs-tries = Tried { $n } of { $max } times
jobs-kind-unknown = Work of a newer version ({ $code })
jobs-kind-mail-invitation = Invitation email
jobs-kind-audit-verify = Audit log check
jobs-kind-results-flags = Tamper check of marks
jobs-kind-report-cards = Report cards
jobs-error-not-failed = This job has not failed (it is running or finished): there is nothing to try again.
