-- name: ingest_issues
-- description: What ingest recorded about files it skipped or read with warnings, newest first.
-- column: recorded_at: when the issue was recorded
-- column: store: the store being written
-- column: severity: error (file not ingested), warning (ingested, something was off), info (not an instance, or a duplicate)
-- column: path: the source file
-- column: sop_instance_uid: the instance, where it could be read
-- column: element: the element path the issue is about, if any
-- column: reason: what happened
SELECT recorded_at, store, severity, path, sop_instance_uid, element, reason
FROM dl_issues
ORDER BY recorded_at DESC, severity, path;
