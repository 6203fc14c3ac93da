-- name: instances_by_patient
-- description: DICOMweb paths of every instance of one patient (the PatientID search of Google's documentation of DICOM export to BigQuery).
-- param: PatientID VARCHAR: the PatientID to look up, e.g. 19045
-- column: DICOMwebPath: /dicomWeb/studies/{StudyInstanceUID}/series/{SeriesInstanceUID}/instances/{SOPInstanceUID}
SELECT
    CONCAT('/dicomWeb/studies/', StudyInstanceUID, '/series/', SeriesInstanceUID, '/instances/', SOPInstanceUID) AS DICOMwebPath
FROM store
WHERE PatientID = $PatientID
ORDER BY StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID;
