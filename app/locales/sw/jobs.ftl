# Kazi za nyuma zilizoshindwa (issue 8).
admin-tab-jobs = Kazi za nyuma
jobs-title = Kazi za nyuma zilizoshindwa
jobs-hint = Kazi ambazo Kilele hufanya kwa ajili ya shule nyuma ya pazia (barua pepe za mialiko, ripoti za wanafunzi, ukaguzi wa kumbukumbu). Kazi ikishindwa hujaribiwa tena yenyewe mara chache, ikisubiri zaidi kila mara; nafasi zikiisha hubaki hapa hadi uijaribu tena.
jobs-none = Hakuna kilichoshindwa. Kazi zote za nyuma zimekamilika.
jobs-what = Kazi
jobs-state = Hali
jobs-last-error = Kilichoharibika mara ya mwisho
jobs-retry = Jaribu tena sasa
jobs-gave-up = Imesimama: nafasi zimekwisha
jobs-next-try = Itajaribiwa tena saa { $at }
jobs-tries = Imejaribiwa mara { $n } kati ya { $max }
jobs-kind-unknown = Kazi ya toleo jipya zaidi ({ $code })
jobs-kind-mail-invitation = Barua pepe ya mwaliko
jobs-kind-audit-verify = Ukaguzi wa kumbukumbu za ukaguzi
jobs-kind-results-flags = Ukaguzi wa udanganyifu wa alama
jobs-kind-report-cards = Ripoti za wanafunzi
jobs-error-not-failed = Kazi hii haijashindwa (inaendelea au imekamilika): hakuna cha kujaribu tena.
