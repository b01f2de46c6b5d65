# Kilele — English. Every key here must also exist in sw/main.ftl (a test checks).

platform-name = Kilele
sign-in = Sign in
signing-in = Signing in…
sign-in-title = Sign in to your school
sign-out = Sign out
school-code = School code
school-code-hint = For example kilimanjaro-hills. Kilele staff leave it empty.
email = Email
password = Password
menu = Menu
portals = Portals
language = Language
save = Save
go-home = Go to the start page
not-found-title = Page not found
no-portal-title = Welcome
no-portal-body = Your account has no portal open yet. Ask your school administrator to give you a role.

portal-owner = Owner console
portal-admin = School admin
portal-accountant = Accounts
portal-teacher = Teaching
portal-family = Family portal

role-owner = Platform owner
role-support = Platform support
role-school-admin = School admin
role-teacher = Teacher
role-accountant = Accountant
role-parent = Parent
role-student = Student

owner-title = Schools
owner-no-schools = No schools yet.
school = School
plan = Plan
status = Status
status-active = Active
status-suspended = Suspended
students = Students
staff = Staff
guardians = Guardians
classes = Classes
class = Class
class-teacher = Class teacher
subject = Subject
admission-no = Admission no.
students-count = { $count ->
    [one] { $count } student
   *[other] { $count } students
}

admin-no-classes = No classes yet. Add levels and streams to get started.
school-settings = School settings
school-default-language = Default language for the school

teacher-title = My classes and subjects
teacher-no-classes = No classes are allocated to you this year yet.

accountant-title = Finance overview

family-title = Family portal
family-my-children = My children
family-no-children = No children are linked to your account yet. Please contact the school office.
family-my-record = My record

error-unauthenticated = Please sign in again.
error-forbidden = You do not have permission to see this.
error-not-found = Not found.
error-internal = Something went wrong on our side. Please try again.
error-conflict = This already exists.
error-login-invalid = Wrong school code, email or password.
error-login-throttled = Too many failed attempts. Please wait a few minutes and try again.
error-login-suspended = This school's account is suspended. Please contact Kilele.
error-login-busy = Many people are signing in right now. Please try again in a moment.
error-session-other-school = This session belongs to another school. Please sign in here.
form-error-expired = This form is out of date. Reload the page and try again.
form-error-resubmitted = This form was already sent from another page or by someone else. Reload the page to start again.
form-error-changed-after-sending = This form was already sent with other values. Reload the page to send new ones.
error-session-expired = Your session has ended. Please sign in again.
error-csrf = The request was refused because it did not come from Kilele's own pages. Reload the page and try again.
error-email-required = Enter an email address.
error-email-invalid = Enter a valid email address, like name@example.com.
error-school-code-required = Enter your school code.
error-school-code-invalid = A school code has 3–63 letters, digits or dashes.
error-password-too-short = A password needs at least 10 characters.
error-password-too-long = That password is too long.
error-phone-required = Enter a phone number.
error-phone-invalid = Enter a Tanzanian mobile number, like 0712 345 678.
error-admission-required = Enter an admission number.
error-admission-invalid = An admission number has letters, digits, / or - only.
error-amount-invalid = Enter an amount like 150,000.
error-language-invalid = Choose English or Kiswahili.

admin-sections = Sections
admin-tab-overview = Overview
admin-tab-calendar = Calendar
calendar-title = Calendar
calendar-empty = No academic years yet. Add the current year to get started.
calendar-add-year = Add academic year
calendar-year = Year
calendar-terms-per-year = Terms per year
calendar-term = Term
calendar-term-n = Term { $number }
calendar-current = Current
calendar-make-current = Make current
calendar-starts = Starts
calendar-ends = Ends
error-date-invalid = Enter a date like 2027-01-13.
error-year-invalid = Enter a year between 2000 and 2200.
error-year-exists = That academic year already exists.
error-terms-per-year = A year has 2 or 3 terms.
error-terms-count = The number of terms does not match the terms per year.
error-term-number = Terms are numbered 1, 2, 3 in order.
error-term-ends-before-start = A term must end after it starts.
error-term-outside-year = A term's dates must fall inside its year.
error-term-overlap = Terms cannot overlap another term.
error-unknown-school = There is no school at this address.
form-row = Row { $n }

# Two-factor sign-in
code-title = Enter your code
code-help = Open the authenticator app on your phone and type the 6-digit code it shows for Kilele.
code-label = Code
code-hint = Lost your phone? Type one of your recovery codes instead (like abcd-efgh-jkmn).
code-submit = Continue
code-start-again = Start again
error-code-invalid = That code is not right, or was already used. Wait for the next code and try again.
error-code-expired = Signing in took too long. Please enter your password again.
error-reauth-invalid = Wrong password or code.
error-two-factor-overdue = Set up two-factor sign-in first.
error-two-factor-already-on = Two-factor sign-in is already on.
error-two-factor-off = Two-factor sign-in is not on.
error-two-factor-required = Your role needs two-factor sign-in: it cannot be turned off.
error-two-factor-reset-self = You cannot reset your own two-factor sign-in here. Use your account's security page.
two-factor-link = Sign-in security
two-factor-title = Two-factor sign-in
two-factor-required = Your role needs two-factor sign-in: a code from your phone as well as your password.
two-factor-optional = Two-factor sign-in asks for a code from your phone as well as your password. It keeps your account safe even if someone learns your password.
two-factor-how = You need an authenticator app on your phone (for example Google Authenticator, Microsoft Authenticator or FreeOTP). It works without internet.
two-factor-set-up = Set up two-factor sign-in
two-factor-scan = Scan this code with your authenticator app
two-factor-qr = QR code for your authenticator app
two-factor-type-instead = Cannot scan? Add an account in the app and type this key:
two-factor-confirm = Turn on
two-factor-new-secret = Start again with a new key
two-factor-is-on = Two-factor sign-in is on.
two-factor-codes-left = Recovery codes left: { $n }
two-factor-codes-title = Your recovery codes
two-factor-codes-help = Write these down or print them and keep them somewhere safe. Each works once, if you lose your phone. They are shown only now.
two-factor-new-codes = Make new recovery codes
two-factor-off-title = Turn off two-factor sign-in
two-factor-off = Turn off
two-factor-due = Please set up two-factor sign-in before { $date }.

# Owner console: onboarding and suspending schools
owner-onboard = Onboard a school
owner-school-name = School name
owner-school-code-hint = Lower-case letters, digits and dashes, for example arusha-valley. It becomes the school's address and sign-in code.
owner-school-language = Default language
owner-admin-name = First admin's name
owner-admin-email = First admin's email
owner-invite-link-help = The school is ready. Send this one-time link to its first admin (it was also emailed); it works for 48 hours.
owner-suspend = Suspend
owner-resume = Resume
error-school-name-required = Enter the school's name.
error-plan-unknown = Choose one of the plans.
error-admission-prefix-invalid = An admission prefix has 1–10 letters or digits.
error-school-code-taken = A school already has this code.
error-status-invalid = Choose active or suspended.
password-change = Change password
password-change-help = Every other place where you are signed in is signed out.
password-current = Current password
password-new = New password
password-changed = Your password was changed. Other sessions were signed out.
