# Student import and export.
import-error-not-a-spreadsheet = This file is not a spreadsheet Kilele can read. Upload a CSV or Excel (.xlsx) file.
import-error-not-utf8 = Save the file as “CSV UTF-8” and upload it again.
import-error-empty = The file has no students in it. The first row must be the column names.
import-error-missing-column = The file has no column { $columns }. Download the template to see the columns.
import-error-duplicate-column = The column { $column } appears twice. Remove one of them.
import-error-too-many-rows = A file can have at most { $max } students. Split it into smaller files.
import-error-too-large = The file is larger than 5 MB. Split it into smaller files.
error-admission-duplicate = This admission number is also used on another row of the file.
error-admission-exists = A student with this admission number is already in the school.
error-name-required = Enter a name.
error-name-too-long = A name can have at most 60 characters.
error-name-invalid = A name needs letters and cannot start with =, +, - or @.
error-sex-required = Enter the sex: F or M.
error-sex-invalid = Sex must be F (female) or M (male).
error-date-of-birth-future = A date of birth must be before today.
error-date-of-birth-too-early = A date of birth must be in 1990 or later.
error-class-required = Enter the class, like Form 2A.
error-class-unknown = There is no such class in the school. Write the class name as it appears in Kilele.
error-relationship-invalid = Relationship must be mother, father or guardian.
error-sms-invalid = Write yes or no.
error-guardian-phone-repeated = The second guardian has the same phone number as the first.
