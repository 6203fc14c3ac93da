-- name: series_summary
-- description: One row per series: patient, study, modality, description, date range and instance count.
-- column: PatientID: the series' patient
-- column: StudyInstanceUID: the study the series belongs to
-- column: SeriesInstanceUID: the series
-- column: Modality: the series' modality
-- column: SeriesDescription: the series description (any one instance's)
-- column: SeriesNumber: the series number (any one instance's)
-- column: FirstDate: earliest SeriesDate (else StudyDate) of the series
-- column: InstanceCount: number of instances in the series
-- column: TotalBytes: sum of the instances' source file sizes
SELECT
    MIN(PatientID) AS PatientID,
    StudyInstanceUID,
    SeriesInstanceUID,
    MIN(Modality) AS Modality,
    MIN(SeriesDescription) AS SeriesDescription,
    MIN(SeriesNumber) AS SeriesNumber,
    MIN(COALESCE(SeriesDate, StudyDate)) AS FirstDate,
    COUNT(*) AS InstanceCount,
    CAST(SUM(dl_source_size) AS BIGINT) AS TotalBytes
FROM store
GROUP BY StudyInstanceUID, SeriesInstanceUID
ORDER BY PatientID, StudyInstanceUID, SeriesNumber, SeriesInstanceUID;
