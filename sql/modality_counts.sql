-- name: modality_counts
-- description: Patients, studies, series and instances per modality.
-- column: Modality: the modality (NULL where instances carry none)
-- column: Patients: distinct PatientID values
-- column: Studies: distinct StudyInstanceUID values
-- column: Series: distinct SeriesInstanceUID values
-- column: Instances: instances
SELECT
    Modality,
    COUNT(DISTINCT PatientID) AS Patients,
    COUNT(DISTINCT StudyInstanceUID) AS Studies,
    COUNT(DISTINCT SeriesInstanceUID) AS Series,
    COUNT(*) AS Instances
FROM store
GROUP BY Modality
ORDER BY Instances DESC, Modality;
