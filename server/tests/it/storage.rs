//! The storage layer against a real S3-compatible server (moto, started by scripts/test): files
//! round-trip, large bundles go up in parts and come down as a stream, keys cannot climb out of
//! the prefix, and a whole report-card batch runs with its PDFs and ZIP in the bucket.

use crate::harness::*;
use futures_util::TryStreamExt;
use uuid::Uuid;

#[tokio::test]
async fn files_round_trip_through_an_object_store() {
    let location = s3_bucket("schools").await;
    let store = location.open().unwrap();
    assert!(store.describe().starts_with("s3://kilele-t-") && store.describe().ends_with("/schools"), "{}", store.describe());
    let tenant = kilele::tenancy::TenantId(Uuid::new_v4());
    let key = kilele::storage::Storage::new_key(tenant, "report-cards", "pdf");
    assert_eq!(store.get(&key).await.unwrap(), None, "nothing there yet");
    store.put(&key, b"%PDF-1.7 one card").await.unwrap();
    assert_eq!(store.get(&key).await.unwrap().as_deref(), Some(&b"%PDF-1.7 one card"[..]));

    // A bundle larger than two upload parts: multipart up, streamed down, byte for byte.
    let dir = std::env::temp_dir().join(format!("kilele-s3-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let big: Vec<u8> = (0..(17 * 1024 * 1024 + 11)).map(|i: u32| (i % 251) as u8).collect();
    std::fs::write(dir.join("bundle.zip"), &big).unwrap();
    let bundle = kilele::storage::Storage::new_key(tenant, "report-cards", "zip");
    store.put_file(&bundle, &dir.join("bundle.zip")).await.unwrap();
    let download = store.open(&bundle).await.unwrap().expect("the bundle is there");
    assert_eq!(download.size, big.len() as u64);
    let chunks: Vec<bytes::Bytes> = download.body.try_collect().await.unwrap();
    assert!(chunks.len() > 1, "streamed, not read whole");
    assert!(chunks.concat() == big, "the same bytes");
    let _ = std::fs::remove_dir_all(&dir);

    // Keys that would leave the school's prefix are refused before any request.
    for bad in ["", "../other/x.pdf", "/etc/passwd", "a/../../b", "a//b"] {
        assert!(matches!(store.get(bad).await, Err(kilele::storage::StorageError::InvalidKey)), "{bad}");
    }
    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    assert_eq!(store.get(&key).await.unwrap(), None);
    assert!(store.open(&key).await.unwrap().is_none());

    // A bucket that does not exist: an error, not an empty answer.
    let kilele_missing = match &location {
        server::config::StorageLocation::S3(s) => {
            server::config::StorageLocation::S3(kilele::storage::S3Settings { bucket: format!("{}-gone", s.bucket), ..s.clone() })
        }
        server::config::StorageLocation::Local(_) => unreachable!(),
    };
    assert!(kilele_missing.open().unwrap().put(&key, b"x").await.is_err());
}

#[tokio::test]
async fn a_report_card_batch_keeps_its_files_in_the_object_store() {
    let location = s3_bucket("kilele/prod").await;
    let app =
        spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), storage: Some(location.clone()), ..Default::default() }).await;
    let (term, level, stream, child) = crate::cards::published_class(&app, KHSS).await;
    let tenant = crate::results::tenant_of(&app, KHSS).await;
    let admin = app.login_as(Some(KHSS), "admin").await;
    let (status, body) = crate::cards::request(&admin, term, level, Some(stream)).await;
    assert_eq!(status, 200, "{body}");
    let batch: Uuid = serde_json::from_value(body).unwrap();
    let worker = app.worker();
    while server::worker::run_once(&worker).await.unwrap() > 0 {}
    let (status, bundle): (String, Option<String>) = sqlx::query_as("SELECT status, bundle_key FROM report_card_batches WHERE id = $1")
        .bind(batch)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(status, "done");

    // Every file is in the bucket, under the school's id.
    let store = location.open().unwrap();
    let cards: Vec<(Uuid, Uuid, String)> = sqlx::query_as("SELECT id, student_id, storage_key FROM report_cards WHERE batch_id = $1")
        .bind(batch)
        .fetch_all(&app.owner_pool)
        .await
        .unwrap();
    assert!(cards.len() > 5, "a stream's cards: {}", cards.len());
    for (_, _, key) in &cards {
        assert!(key.starts_with(&format!("{tenant}/report-cards/")), "{key}");
        assert!(store.get(key).await.unwrap().expect("in the bucket").starts_with(b"%PDF-"), "{key}");
    }
    let bundle = bundle.expect("a ZIP");
    assert!(bundle.starts_with(&format!("{tenant}/")) && store.get(&bundle).await.unwrap().is_some());
    assert!(!std::env::temp_dir().join(format!("kilele-storage-{}", app.db_name)).exists(), "nothing kept on local disk");

    // Downloads go through Kilele's checks and stream from the bucket.
    let (status, kind, zip) = crate::cards::bytes(&admin, &format!("/admin/cards/batches/{batch}/cards.zip")).await;
    assert_eq!((status, kind.as_str()), (200, "application/zip"));
    assert_eq!(zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap().len(), cards.len());
    let (card, _, key) = cards.iter().find(|(_, student, _)| *student == child).expect("the parent's child has a card");
    let parent = app.login_as(Some(KHSS), "parent").await;
    let (status, kind, pdf) = crate::cards::bytes(&parent, &format!("/portal/cards/{card}/card.pdf")).await;
    assert_eq!((status, kind.as_str()), (200, "application/pdf"));
    assert_eq!(Some(pdf), store.get(key).await.unwrap(), "the stored file, byte for byte");
    let (other, ..) = cards.iter().find(|(_, student, _)| *student != child).unwrap();
    assert_eq!(parent.get(&format!("/portal/cards/{other}/card.pdf")).await.status().as_u16(), 404);
}
