# Matokeo: alama, tathmini, mifumo ya gredi, karatasi za alama (kilele::results).
error-mark-required = Andika alama, ABS au EX.
error-mark-invalid = Alama ni namba kama 67 au 67.5, au ABS (hakufanya) au EX (amesamehewa).
error-mark-decimals = Alama inaweza kuwa na desimali mbili tu.
error-mark-out-of-range = Alama lazima iwe kati ya 0 na alama za juu za mtihani.
error-assessments-empty = Ongeza angalau tathmini moja.
error-assessments-too-many = Muhula unaweza kuwa na tathmini zisizozidi 12.
error-assessment-key-invalid = Jina fupi lina herufi ndogo, tarakimu, - au _ tu (hadi 40).
error-assessment-key-repeated = Tathmini mbili zina jina fupi moja.
error-assessment-name-required = Andika jina la tathmini.
error-assessment-max = Alama za juu lazima ziwe kati ya 1 na 1,000.
error-assessment-weight = Kila tathmini inahitaji uzito zaidi ya 0 %.
error-assessment-weights-sum = Uzito wote lazima ujumlishe 100 %.
error-assessment-exams = Tathmini moja tu inaweza kuwa mtihani wa muhula.
error-assessment-maxima = Alama hizi za juu haziwezi kuunganishwa kwa usahihi. Tumia thamani za kawaida kama 30, 50 au 100.
error-scheme-key-invalid = Jina fupi la mfumo lina herufi ndogo, tarakimu na - tu (hadi 40).
error-scheme-name-required = Andika jina la mfumo.
error-scheme-version = Toleo linaanzia 1.
error-scheme-source-required = Eleza gredi hizi zinatoka wapi (kwa mfano waraka wa NECTA).
error-scheme-years = Mwaka wa kwanza wa mtihani hauwezi kuwa baada ya mwaka wa mwisho.
error-scheme-frozen = Matokeo yametolewa kwa mfumo huu. Tengeneza toleo jipya ili kuubadilisha.
error-scheme-identity = Kuhariri hakubadilishi jina fupi wala toleo la mfumo.
error-scheme-no-preset = Kilele haina mfumo wa gredi kwa ngazi na mwaka huu wa mtihani. Ongeza mfumo wa shule.
error-bands-empty = Ongeza gredi.
error-bands-too-many = Mfumo unaweza kuwa na gredi zisizozidi 12.
error-band-grade-invalid = Gredi ni herufi 1 hadi 3, kama A au B+.
error-band-grade-repeated = Gredi mbili zina jina moja.
error-band-remark-required = Kila gredi inahitaji maelezo kwa Kiingereza na kwa Kiswahili.
error-band-range = Alama za gredi zinaanzia alama ya chini kwenda ya juu, zisizozidi 100.
error-bands-gap = Baadhi ya alama kati ya 0 na 100 hazina gredi.
error-bands-overlap = Baadhi ya alama ziko katika gredi mbili.
error-bands-points-order = Gredi ya juu haiwezi kuwa na pointi zaidi ya gredi ya chini.
error-divisions-count = Eleza masomo mangapi yanahesabiwa (1 hadi 20).
error-divisions-empty = Ongeza madaraja.
error-divisions-repeated = Daraja moja limeandikwa mara mbili.
error-divisions-range = Pointi za daraja zinaanzia chache kwenda nyingi.
error-divisions-gap = Baadhi ya jumla za pointi hazimo katika daraja lolote.
error-divisions-overlap = Baadhi ya jumla za pointi ziko katika madaraja mawili.
error-divisions-cover = Madaraja lazima yafunike kila jumla ya pointi inayowezekana, na si nyingine.
error-divisions-order = Daraja bora lazima lihitaji pointi chache zaidi.
error-sheet-subject-unknown = Alama ni ya somo ambalo halipo kwenye karatasi.
error-sheet-subject-repeated = Mwanafunzi ana somo moja mara mbili.
error-sheet-marks-count = Mstari una alama nyingi kuliko idadi ya tathmini.
error-sheet-student-repeated = Mwanafunzi ameandikwa mara mbili.
error-stream-required = Andika mkondo.
error-stream-invalid = Mkondo una herufi zisizozidi 40 na hauwezi kuanza na =, +, - au @.
error-principal-invalid = Andika ndiyo kwa somo kuu, na hapana (au acha wazi) kwa somo saidizi.
error-subject-required = Andika somo.
error-subject-invalid = Somo lina herufi zisizozidi 40 na haliwezi kuanza na =, +, - au @.
error-subject-repeated = Mwanafunzi huyu tayari ana somo hili kwenye mstari wa awali.
error-student-inconsistent = Mwanafunzi huyu ana jina, mkondo au tahasusi tofauti kwenye mstari wa awali.
results-file-not-utf8 = Hifadhi faili kama “CSV UTF-8” kisha ulipakie tena.
results-file-not-csv = Faili hili si CSV ambayo Kilele inaweza kusoma.
results-file-empty = Faili halina alama. Mstari wa kwanza uwe majina ya safu.
results-file-missing-column = Faili halina safu { $columns }.
results-file-duplicate-column = Safu { $column } imeandikwa mara mbili. Ondoa mojawapo.
results-file-too-many-rows = Faili linaweza kuwa na mistari isiyozidi { $max }. Ligawe katika mafaili madogo.
results-no-overall-fewer-subjects = Hakuna daraja: masomo yaliyofanywa ni chini ya { $needed } ({ $sat }).
results-no-overall-principal-subjects = Hakuna daraja: masomo makuu { $needed } yanahitajika, { $marked } yametolewa.
results-no-overall-fewer-principal = Hakuna daraja: masomo makuu yaliyofanywa ni chini ya { $needed } ({ $sat }).
results-no-overall-points = Hakuna daraja: pointi { $points } haziko katika daraja lolote.
results-flag-changed-after-approval = Imebadilishwa baada ya kuidhinishwa
results-flag-burst = Alama nyingi zimebadilishwa kwa muda mfupi
results-flag-outside-allocation = Alama zimeingizwa na mwalimu asiyepangiwa darasa hili
results-flag-score-jump = Alama imepanda zaidi sana kuliko ya darasa
error-flags-burst-count = Idadi ya mabadiliko iwe namba kamili kati ya 1 na 10,000.
error-flags-burst-window = Muda uwe dakika kamili kati ya 1 na 1,440.
error-flags-jump-z = Thamani ya z iwe zaidi ya 0 na isizidi 10, yenye desimali zisizozidi mbili.
error-flags-min-class = Ukubwa wa darasa uwe namba kamili kati ya 3 na 10,000.

# Kuingiza alama, mtiririko, kuchapisha, alama za tahadhari, lango la wazazi.
admin-tab-results = Matokeo
results-title = Matokeo
results-my-sheets = Karatasi zangu za alama
results-enter-marks = Ingiza alama
results-back-teacher = ← Eneo la mwalimu
results-back-sheets = ← Karatasi zangu za alama
results-back-overview = ← Matokeo
results-back-portal = ← Familia yangu
results-no-current-term = Muhula wa sasa haujawekwa. Msimamizi wa shule huuweka kwenye kalenda.
results-sheet = Karatasi ya alama
results-status = Hali
results-status-not-started = Haijaanzwa
results-status-draft = Rasimu
results-status-submitted = Imewasilishwa
results-status-approved = Imeidhinishwa
results-status-returned = Imerudishwa
results-status-published = Imechapishwa
results-entries = Alama zilizoingizwa
results-scheme = Upangaji wa madaraja
results-student = Mwanafunzi
results-teacher = Mwalimu
results-term-score = Alama ya muhula
results-grade = Daraja
results-saved = Alama zote zimehifadhiwa.
results-saving = Inahifadhi…
results-waiting = Bado hazijahifadhiwa: alama { $n } zimehifadhiwa kwenye kifaa hiki na zitatumwa mtandao ukirudi.
results-refused = Hazijahifadhiwa: alama { $n } zimehifadhiwa kwenye kifaa hiki.
results-amend-reason = Sababu ya kubadilisha alama zilizoidhinishwa
results-conflict = Imebadilishwa na { $by } kuwa “{ $value }”.
results-keep-mine = Baki na yangu
results-read-only = Karatasi hii ni ya kusoma tu kwako.
results-returned-with = Imerudishwa na maoni:
results-submit = Wasilisha kwa idhini
results-approve = Idhinisha
results-return = Mrudishie mwalimu
results-return-comment = Maoni
results-publish = Chapisha kwa wazazi
results-not-ready = Inasubiri idhini ya kila somo
results-not-submitted = Karatasi ambazo bado hazijawasilishwa
results-broadsheet = Jedwali la matokeo
results-provisional = Ya muda: si kila somo limeidhinishwa bado.
results-download-xlsx = Pakua kama Excel (XLSX)
results-position = Nafasi
results-stream-position = Nafasi katika mkondo
results-class-position = Nafasi darasani
results-total = Jumla
results-average = Wastani
results-points = Pointi
results-division = Daraja la jumla
results-subject-analysis = Uchambuzi wa masomo
results-sat = Walifanya
results-mean = Wastani
results-grades = Madaraja
results-highest = Juu kabisa
results-lowest = Chini kabisa
results-division-summary = Muhtasari wa madaraja
results-no-division = Hakuna daraja
results-flags = Tahadhari za udanganyifu
results-no-flags = Hakuna tahadhari.
results-flag = Tahadhari
results-raised = Imetolewa
results-writer = Imeandikwa na
results-evidence = Ushahidi
results-resolution = Uamuzi
results-resolve = Maliza
results-trend = Mwenendo wa masomo
results-none-published = Bado hakuna matokeo yaliyochapishwa.
results-see = Matokeo
results-remark = Maoni
results-error-not-draft = Ni rasimu au karatasi iliyorudishwa tu inayoweza kuwasilishwa.
results-error-not-submitted = Ni karatasi iliyowasilishwa tu inayoweza kuidhinishwa au kurudishwa.
results-error-assessment-unknown = Tathmini hii si sehemu ya muhula.
results-error-student-not-in-stream = Mwanafunzi huyu hayumo katika mkondo huu.
results-error-duplicate-cell = Alama ileile imetumwa mara mbili.
results-error-sheet-submitted = Karatasi imewasilishwa: mwombe mratibu wa taaluma airudishe kabla ya kubadilisha alama.
results-error-sheet-locked = Alama zimeidhinishwa: kuzibadilisha kunahitaji ruhusa ya kurekebisha matokeo.
results-error-reason-required = Toa sababu (angalau herufi 5) ya kubadilisha alama zilizoidhinishwa.
results-error-reason-long = Sababu isizidi herufi 500.
results-error-comment-required = Andika maoni.
results-error-comment-long = Maoni yasizidi herufi 1,000.
results-error-too-many-cells = Alama nyingi mno kwa uhifadhi mmoja.
results-error-incomplete = Ingiza alama ya kila mwanafunzi (ABS au EX inapohusika) kabla ya kuwasilisha.
results-error-not-all-approved = Kila somo la kila mkondo lazima liidhinishwe kabla ya kuchapisha.
results-error-nothing-to-publish = Hakuna alama za kuchapisha kwa darasa hili.
results-error-already-published = Matokeo haya yameshachapishwa.

# Kupakia karatasi ya alama kutoka kwenye faili (kilele::results::upload).
results-upload-title = Pakia alama kutoka kwenye faili
results-upload-help = Mwanafunzi mmoja kwa kila mstari: admission_no, kisha safu wima moja kwa kila tathmini (mt1, midterm, mt2, exam, au majina yake). Kisanduku kitupu huacha alama ilivyo. Kilele inakagua kila mstari na kuonyesha kitakachobadilika; hakuna kinachohifadhiwa hadi uthibitishe.
results-upload-file = Faili la jedwali (CSV au Excel)
results-upload-check = Kagua faili
results-upload-template = Pakua kiolezo (CSV)
results-upload-preview = Alama kutoka kwenye faili
results-upload-nothing-saved = Hakuna kilichohifadhiwa. Rekebisha mistari hii kwenye jedwali lako kisha ulipakie tena.
results-upload-summary =
    { $changes ->
        [one] Alama 1 itabadilika
       *[other] Alama { $changes } zitabadilika
    } kwa { $students ->
        [one] mwanafunzi 1
       *[other] wanafunzi { $students }
    }. { $unchanged ->
        [one] Mstari 1 haubadilishi chochote.
       *[other] Mistari { $unchanged } haibadilishi chochote.
    }
results-upload-not-in-file = { $n ->
    [one] Mwanafunzi 1 wa darasa hayumo kwenye faili: alama zake zinabaki zilivyo.
   *[other] Wanafunzi { $n } wa darasa hawamo kwenye faili: alama zao zinabaki zilivyo.
}
results-upload-no-change = Faili halibadilishi alama yoyote.
results-upload-confirm = Hifadhi alama { $n }
results-upload-saved = { $n ->
    [one] Alama 1 imehifadhiwa.
   *[other] Alama { $n } zimehifadhiwa.
}
results-upload-conflicts = Kuna aliyebadilisha alama hizi baada ya hakikisho lako, kwa hiyo hakuna kilichohifadhiwa. Pakia faili tena ili likaguliwe dhidi ya alama zilivyo sasa.
results-upload-assessment = Tathmini
results-upload-in-file = Kwenye faili
results-upload-previewed = Wakati wa hakikisho
results-upload-now = Sasa
results-upload-changed-by = Imebadilishwa na
results-upload-changes = Mabadiliko
results-upload-back-sheet = ← Rudi kwenye karatasi ya alama
results-upload-too-large = Faili ni kubwa kuliko MB 2. Karatasi ya alama ni ndogo zaidi: hakikisha umechagua faili sahihi.
results-upload-not-a-spreadsheet = Faili hili si jedwali ambalo Kilele inaweza kusoma. Pakia faili la CSV au Excel (.xlsx).
results-upload-not-utf8 = Hifadhi faili kama “CSV UTF-8” kisha ulipakie tena.
results-upload-empty = Faili ni tupu.
results-upload-too-many-rows = Faili la alama linaweza kuwa na mistari isiyozidi 1,000.
results-upload-no-admission-column = Faili halina safu wima ya admission_no. Mstari wa kwanza uwe majina ya safu wima: admission_no, kisha tathmini.
results-upload-no-mark-columns = Faili halina safu wima ya tathmini yoyote. Zipe majina mt1, midterm, mt2 na exam (au kama tathmini za muhula zinavyoitwa).
results-upload-duplicate-column = Safu wima hii imejirudia. Ondoa mojawapo.
results-upload-unknown-column = Kilele haitambui safu wima hii. Iondoe, au iite kwa jina la tathmini ya muhula (jina fupi kama mt1, au jina lake kama Monthly test 1).
results-upload-unnamed-column = Kuna thamani kwenye safu wima isiyo na jina. Ipe jina kwenye mstari wa kwanza, au ondoa thamani hiyo.
results-upload-admission-required = Mstari huu una alama lakini hauna namba ya usajili.
results-upload-student-not-in-stream = Hakuna mwanafunzi wa darasa hili mwenye namba hii ya usajili.
results-upload-duplicate-student = Mwanafunzi huyu yupo pia kwenye mstari wa awali.
results-upload-no-marks = Faili halina alama.
results-upload-has-errors = Faili lina mistari yenye matatizo, kwa hiyo hakuna kilichohifadhiwa. Lipakie tena baada ya kuirekebisha.
results-upload-already-saved = Alama hizi tayari zimehifadhiwa.
results-upload-stale = Alama zimebadilika tangu hakikisho hili. Pakia faili tena ili likaguliwe dhidi ya alama zilivyo sasa.

# The broadsheet workbook's sheet names and column words (results-col-<word>).
results-col-admission-no = Namba ya usajili
results-col-name = Jina
results-col-stream = Mkondo
results-col-combination = Mchepuo
results-col-grade = daraja
results-col-division = Daraja la jumla
results-col-total = Jumla
results-col-sat = Masomo aliyofanya
results-col-average = Wastani
results-col-points = Pointi
results-col-note = Maelezo
results-col-stream-position = Nafasi mkondoni
results-col-class-position = Nafasi darasani
results-col-subject = Somo
results-col-absent = Hakufanya
results-col-exempt = Ameruhusiwa
results-col-incomplete = Haijakamilika
results-col-mean = Wastani
results-col-highest = Juu kabisa
results-col-lowest = Chini kabisa
results-col-top = Bora zaidi
results-col-bottom = Wa mwisho
results-col-group = Kundi
results-col-students = Wanafunzi
results-col-ranked = Waliopangwa
results-col-none = Bila daraja
results-col-class = Darasa zima
results-col-broadsheet = Jedwali
results-col-subjects = Masomo
results-col-divisions = Madaraja
results-col-grades = Madaraja
