# Kilele — Kiswahili. Kila ufunguo hapa lazima uwepo pia kwenye en/main.ftl.

platform-name = Kilele
sign-in = Ingia
signing-in = Inaingia…
sign-in-title = Ingia kwenye shule yako
sign-out = Toka
school-code = Msimbo wa shule
school-code-hint = Kwa mfano kilimanjaro-hills. Wafanyakazi wa Kilele waache wazi.
email = Barua pepe
password = Nenosiri
menu = Menyu
portals = Milango
language = Lugha
save = Hifadhi
go-home = Nenda ukurasa wa mwanzo
not-found-title = Ukurasa haukupatikana
no-portal-title = Karibu
no-portal-body = Akaunti yako bado haina mlango wowote. Mwombe msimamizi wa shule akupe jukumu.

portal-owner = Dashibodi ya mmiliki
portal-admin = Utawala wa shule
portal-accountant = Fedha
portal-teacher = Ufundishaji
portal-family = Mlango wa familia

role-owner = Mmiliki wa jukwaa
role-support = Msaada wa jukwaa
role-school-admin = Msimamizi wa shule
role-teacher = Mwalimu
role-accountant = Mhasibu
role-parent = Mzazi
role-student = Mwanafunzi

owner-title = Shule
owner-no-schools = Bado hakuna shule.
school = Shule
plan = Mpango
status = Hali
status-active = Inatumika
status-suspended = Imesimamishwa
students = Wanafunzi
staff = Wafanyakazi
guardians = Walezi
classes = Madarasa
class = Darasa
class-teacher = Mwalimu wa darasa
subject = Somo
admission-no = Namba ya usajili
students-count = { $count ->
    [one] Mwanafunzi { $count }
   *[other] Wanafunzi { $count }
}

admin-no-classes = Bado hakuna madarasa. Ongeza ngazi na mikondo ili kuanza.
school-settings = Mipangilio ya shule
school-default-language = Lugha ya msingi ya shule

teacher-title = Madarasa na masomo yangu
teacher-no-classes = Bado hujapangiwa darasa lolote mwaka huu.

accountant-title = Muhtasari wa fedha

family-title = Mlango wa familia
family-my-children = Watoto wangu
family-no-children = Bado hakuna mtoto aliyeunganishwa na akaunti yako. Tafadhali wasiliana na ofisi ya shule.
family-my-record = Taarifa zangu

error-unauthenticated = Tafadhali ingia tena.
error-forbidden = Huna ruhusa ya kuona hiki.
error-not-found = Haikupatikana.
error-internal = Hitilafu imetokea upande wetu. Tafadhali jaribu tena.
error-conflict = Hiki tayari kipo.
error-login-invalid = Msimbo wa shule, barua pepe au nenosiri si sahihi.
error-login-throttled = Majaribio mengi yameshindwa. Tafadhali subiri dakika chache kisha ujaribu tena.
error-login-suspended = Akaunti ya shule hii imesimamishwa. Tafadhali wasiliana na Kilele.
error-login-busy = Watu wengi wanaingia sasa hivi. Tafadhali jaribu tena baada ya muda mfupi.
error-session-other-school = Kipindi hiki ni cha shule nyingine. Tafadhali ingia hapa.
form-error-expired = Fomu hii imepitwa na wakati. Pakia ukurasa upya kisha ujaribu tena.
form-error-resubmitted = Fomu hii ilishatumwa kutoka ukurasa mwingine au na mtu mwingine. Pakia ukurasa upya uanze tena.
form-error-changed-after-sending = Fomu hii ilishatumwa ikiwa na taarifa tofauti. Pakia ukurasa upya ili kutuma mpya.
error-session-expired = Kipindi chako kimeisha. Tafadhali ingia tena.
error-csrf = Ombi limekataliwa kwa sababu halikutoka kwenye kurasa za Kilele. Pakia ukurasa upya ujaribu tena.
error-email-required = Andika barua pepe.
error-email-invalid = Andika barua pepe sahihi, kama jina@mfano.com.
error-school-code-required = Andika msimbo wa shule yako.
error-school-code-invalid = Msimbo wa shule una herufi, tarakimu au vistari 3–63.
error-password-too-short = Nenosiri linahitaji angalau herufi 10.
error-password-too-long = Nenosiri hilo ni refu mno.
error-phone-required = Andika namba ya simu.
error-phone-invalid = Andika namba ya simu ya Tanzania, kama 0712 345 678.
error-admission-required = Andika namba ya usajili.
error-admission-invalid = Namba ya usajili ina herufi, tarakimu, / au - tu.
error-amount-invalid = Andika kiasi kama 150,000.
error-language-invalid = Chagua English au Kiswahili.

admin-sections = Sehemu
admin-tab-overview = Muhtasari
admin-tab-calendar = Kalenda
calendar-title = Kalenda
calendar-empty = Bado hakuna mwaka wa masomo. Ongeza mwaka huu ili kuanza.
calendar-add-year = Ongeza mwaka wa masomo
calendar-year = Mwaka
calendar-terms-per-year = Mihula kwa mwaka
calendar-term = Muhula
calendar-term-n = Muhula wa { $number }
calendar-current = Unaoendelea
calendar-make-current = Fanya uwe wa sasa
calendar-starts = Unaanza
calendar-ends = Unaisha
error-date-invalid = Andika tarehe kama 2027-01-13.
error-year-invalid = Andika mwaka kati ya 2000 na 2200.
error-year-exists = Mwaka huo wa masomo tayari upo.
error-terms-per-year = Mwaka una mihula 2 au 3.
error-terms-count = Idadi ya mihula hailingani na mihula kwa mwaka.
error-term-number = Mihula inahesabiwa 1, 2, 3 kwa mpangilio.
error-term-ends-before-start = Muhula lazima uishe baada ya kuanza.
error-term-outside-year = Tarehe za muhula lazima ziwe ndani ya mwaka wake.
error-term-overlap = Mihula haiwezi kuingiliana.
error-unknown-school = Hakuna shule kwenye anwani hii.
form-row = Mstari { $n }

# Kuingia kwa hatua mbili
code-title = Weka msimbo wako
code-help = Fungua programu ya uthibitishaji kwenye simu yako na uandike msimbo wa tarakimu 6 inayoonyesha kwa Kilele.
code-label = Msimbo
code-hint = Umepoteza simu? Andika mojawapo ya misimbo yako ya dharura badala yake (kama abcd-efgh-jkmn).
code-submit = Endelea
code-start-again = Anza upya
error-code-invalid = Msimbo huo si sahihi, au umeshatumika. Subiri msimbo unaofuata kisha ujaribu tena.
error-code-expired = Kuingia kumechukua muda mrefu. Tafadhali weka nenosiri lako tena.
error-reauth-invalid = Nenosiri au msimbo si sahihi.
error-two-factor-overdue = Weka kwanza kuingia kwa hatua mbili.
error-two-factor-already-on = Kuingia kwa hatua mbili kumeshawashwa.
error-two-factor-off = Kuingia kwa hatua mbili hakujawashwa.
error-two-factor-required = Nafasi yako inahitaji kuingia kwa hatua mbili: hakuwezi kuzimwa.
error-two-factor-reset-self = Huwezi kuweka upya kuingia kwako kwa hatua mbili hapa. Tumia ukurasa wa usalama wa akaunti yako.
two-factor-link = Usalama wa kuingia
two-factor-title = Kuingia kwa hatua mbili
two-factor-required = Nafasi yako inahitaji kuingia kwa hatua mbili: msimbo kutoka kwenye simu yako pamoja na nenosiri.
two-factor-optional = Kuingia kwa hatua mbili kunaomba msimbo kutoka kwenye simu yako pamoja na nenosiri. Kunalinda akaunti yako hata mtu akijua nenosiri lako.
two-factor-how = Unahitaji programu ya uthibitishaji kwenye simu yako (kwa mfano Google Authenticator, Microsoft Authenticator au FreeOTP). Inafanya kazi bila intaneti.
two-factor-set-up = Weka kuingia kwa hatua mbili
two-factor-scan = Changanua msimbo huu kwa programu yako ya uthibitishaji
two-factor-qr = Msimbo wa QR kwa programu yako ya uthibitishaji
two-factor-type-instead = Huwezi kuchanganua? Ongeza akaunti kwenye programu na uandike ufunguo huu:
two-factor-confirm = Washa
two-factor-new-secret = Anza upya kwa ufunguo mpya
two-factor-is-on = Kuingia kwa hatua mbili kumewashwa.
two-factor-codes-left = Misimbo ya dharura iliyobaki: { $n }
two-factor-codes-title = Misimbo yako ya dharura
two-factor-codes-help = Iandike au uichapishe na uihifadhi mahali salama. Kila mmoja unafanya kazi mara moja, ukipoteza simu yako. Inaonyeshwa sasa tu.
two-factor-new-codes = Tengeneza misimbo mipya ya dharura
two-factor-off-title = Zima kuingia kwa hatua mbili
two-factor-off = Zima
two-factor-due = Tafadhali weka kuingia kwa hatua mbili kabla ya { $date }.

# Dashibodi ya mmiliki: kusajili na kusimamisha shule
owner-onboard = Sajili shule
owner-school-name = Jina la shule
owner-school-code-hint = Herufi ndogo, tarakimu na vistari, kwa mfano arusha-valley. Inakuwa anwani ya shule na msimbo wa kuingia.
owner-school-language = Lugha ya msingi
owner-admin-name = Jina la msimamizi wa kwanza
owner-admin-email = Barua pepe ya msimamizi wa kwanza
owner-invite-link-help = Shule iko tayari. Mtumie msimamizi wake wa kwanza kiungo hiki cha mara moja (kimetumwa pia kwa barua pepe); kinafanya kazi kwa saa 48.
owner-suspend = Simamisha
owner-resume = Rejesha
error-school-name-required = Weka jina la shule.
error-plan-unknown = Chagua mojawapo ya mipango.
error-admission-prefix-invalid = Kiambishi cha namba ya usajili kina herufi au tarakimu 1–10.
error-school-code-taken = Tayari kuna shule yenye msimbo huu.
error-status-invalid = Chagua hai au imesimamishwa.
password-change = Badilisha nenosiri
password-change-help = Kila mahali pengine ulipoingia utatolewa.
password-current = Nenosiri la sasa
password-new = Nenosiri jipya
password-changed = Nenosiri lako limebadilishwa. Vipindi vingine vimefungwa.
