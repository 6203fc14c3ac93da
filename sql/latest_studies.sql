-- name: latest_studies
-- description: The most recent studies: when, whose, and how many instances (the "latest studies" query of Google's documentation of DICOM export to BigQuery).
-- param: limit INTEGER = 20: how many studies to list
-- column: StudyDateTime: earliest StudyDate and StudyTime of the study's instances, as 'YYYY-MM-DD HH:MM:SS'
-- column: PatientID: the study's patient (lowest value if instances disagree)
-- column: StudyInstanceUID: the study
-- column: InstanceCount: number of instances of the study in the store
SELECT
    MIN(CONCAT(StudyDate, ' ', StudyTime)) AS StudyDateTime,
    MIN(PatientID) AS PatientID,
    StudyInstanceUID,
    COUNT(*) AS InstanceCount
FROM store
GROUP BY StudyInstanceUID
ORDER BY StudyDateTime DESC, StudyInstanceUID  -- Google's query orders by StudyDateTime only; ties are broken so every engine agrees
LIMIT $limit;
