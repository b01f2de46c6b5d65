# Kuingiza na kutoa wanafunzi.
import-error-not-a-spreadsheet = Faili hili si jedwali ambalo Kilele inaweza kusoma. Pakia faili la CSV au Excel (.xlsx).
import-error-not-utf8 = Hifadhi faili kama “CSV UTF-8” kisha ulipakie tena.
import-error-empty = Faili halina wanafunzi. Safu ya kwanza iwe majina ya safu wima.
import-error-missing-column = Faili halina safu wima { $columns }. Pakua kiolezo uone safu wima zinazohitajika.
import-error-duplicate-column = Safu wima { $column } imejirudia. Ondoa mojawapo.
import-error-too-many-rows = Faili moja linaweza kuwa na wanafunzi { $max } tu. Ligawe katika mafaili madogo.
import-error-too-large = Faili ni kubwa kuliko MB 5. Ligawe katika mafaili madogo.
error-admission-duplicate = Namba hii ya usajili imetumika pia kwenye safu nyingine ya faili.
error-admission-exists = Tayari kuna mwanafunzi mwenye namba hii ya usajili shuleni.
error-name-required = Andika jina.
error-name-too-long = Jina lisizidi herufi 60.
error-name-invalid = Jina liwe na herufi, na lisianze na =, +, - au @.
error-sex-required = Andika jinsia: Ke au Me.
error-sex-invalid = Jinsia iwe Ke (mwanamke) au Me (mwanaume).
error-date-of-birth-future = Tarehe ya kuzaliwa iwe kabla ya leo.
error-date-of-birth-too-early = Tarehe ya kuzaliwa iwe mwaka 1990 au baadaye.
error-class-required = Andika darasa, kwa mfano Form 2A.
error-class-unknown = Hakuna darasa hili shuleni. Andika jina la darasa kama lilivyo kwenye Kilele.
error-relationship-invalid = Uhusiano uwe mama, baba au mlezi.
error-sms-invalid = Andika ndiyo au hapana.
error-guardian-phone-repeated = Mlezi wa pili ana namba ya simu sawa na wa kwanza.
