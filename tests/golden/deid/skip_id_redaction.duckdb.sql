-- The de-identification transform on duckdb of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicom": {"skipIdRedaction": true}}
-- regenerate: pytest tests/test_deid_sql.py --update-golden
SELECT
  "MediaStorageSOPClassUID",
  "MediaStorageSOPInstanceUID",
  "TransferSyntaxUID",
  "ImplementationClassUID",
  "ImplementationVersionName",
  "SourceApplicationEntityTitle",
  "SpecificCharacterSet",
  "ImageType",
  "InstanceCreationDate",
  "InstanceCreationTime",
  "InstanceCreatorUID",
  "SOPClassUID",
  "SOPInstanceUID",
  "StudyDate",
  "SeriesDate",
  "AcquisitionDate",
  "ContentDate",
  "StudyTime",
  "SeriesTime",
  "AcquisitionTime",
  "ContentTime",
  "AccessionNumber",
  "Modality",
  "Manufacturer",
  "InstitutionName",
  "InstitutionAddress",
  "ReferringPhysicianName",
  "TimezoneOffsetFromUTC",
  "StationName",
  "StudyDescription",
  "ProcedureCodeSequence",
  "SeriesDescription",
  "InstitutionalDepartmentName",
  "NameOfPhysiciansReadingStudy",
  "PhysiciansReadingStudyIdentificationSequence",
  "OperatorsName",
  "ManufacturerModelName",
  "ReferencedImageSequence",
  "DerivationDescription",
  "Tag_00091105",
  "PatientName",
  "PatientID",
  "PatientBirthDate",
  "PatientSex",
  "OtherPatientIDs",
  "OtherPatientIDsSequence",
  "PatientAge",
  "PatientSize",
  "PatientWeight",
  "PatientAddress",
  "PatientTelephoneNumbers",
  "AdditionalPatientHistory",
  "PregnancyStatus",
  "ContrastBolusAgent",
  "BodyPartExamined",
  "ScanningSequence",
  "SequenceVariant",
  "ScanOptions",
  "MRAcquisitionType",
  "SequenceName",
  "AngioFlag",
  "SliceThickness",
  "KVP",
  "RepetitionTime",
  "EchoTime",
  "NumberOfAverages",
  "ImagingFrequency",
  "ImagedNucleus",
  "EchoNumbers",
  "MagneticFieldStrength",
  "SpacingBetweenSlices",
  "NumberOfPhaseEncodingSteps",
  "DataCollectionDiameter",
  "EchoTrainLength",
  "PercentSampling",
  "PercentPhaseFieldOfView",
  "PixelBandwidth",
  "DeviceSerialNumber",
  "SoftwareVersions",
  "ProtocolName",
  "ContrastBolusRoute",
  "ContrastBolusVolume",
  "ReconstructionDiameter",
  "DistanceSourceToDetector",
  "DistanceSourceToPatient",
  "GantryDetectorTilt",
  "TableHeight",
  "ExposureTime",
  "XRayTubeCurrent",
  "Exposure",
  "FilterType",
  "FocalSpots",
  "ConvolutionKernel",
  "TransmitCoilName",
  "AcquisitionMatrix",
  "InPlanePhaseEncodingDirection",
  "FlipAngle",
  "VariableFlipAngleFlag",
  "SAR",
  "dBdt",
  "PatientPosition",
  "StudyInstanceUID",
  "SeriesInstanceUID",
  "StudyID",
  "SeriesNumber",
  "AcquisitionNumber",
  "InstanceNumber",
  "ImagePositionPatient",
  "ImageOrientationPatient",
  "FrameOfReferenceUID",
  "Laterality",
  "PositionReferenceIndicator",
  "SliceLocation",
  "ImageComments",
  "SamplesPerPixel",
  "PhotometricInterpretation",
  "Rows",
  "Columns",
  "PixelSpacing",
  "BitsAllocated",
  "BitsStored",
  "HighBit",
  "PixelRepresentation",
  "PixelPaddingValue",
  "WindowCenter",
  "WindowWidth",
  "RescaleIntercept",
  "RescaleSlope",
  "WindowCenterWidthExplanation",
  "RequestingService",
  "RequestedProcedureDescription",
  "StudyComments",
  "RequestAttributesSequence",
  "StorageMediaFileSetUID",
  "IconImageSequence",
  "RTPlanLabel",
  "RTPlanName",
  "RTPlanDate",
  "RTPlanTime",
  "RTPlanGeometry",
  "DoseReferenceSequence",
  "FractionGroupSequence",
  "BeamSequence",
  "PatientSetupSequence",
  "ReferencedRTPlanSequence",
  "ReferencedStructureSetSequence",
  "ApprovalStatus",
  "OverlayRows",
  "OverlayColumns",
  "NumberOfFramesInOverlay",
  "OverlayDescription",
  "OverlayType",
  "OverlayOrigin",
  "ImageFrameOrigin",
  "OverlayBitsAllocated",
  "OverlayBitPosition",
  "OtherElements",
  LIST_FILTER(DroppedTags, LAMBDA p : dl_keep_path(p)) AS DroppedTags,
  CAST(NULL AS TEXT) AS dl_source,
  CAST(NULL AS BIGINT) AS dl_source_size,
  CAST(NULL AS TEXT) AS dl_source_sha256,
  CAST(NULL AS TEXT) AS dl_source_version,
  CAST(now() AS TIMESTAMP) AS dl_ingested_at,
  NULLIF(LIST_FILTER(dl_empty, LAMBDA p : dl_keep_path(p)), []) AS dl_empty,
  NULLIF(LIST_FILTER(dl_raw, LAMBDA r : dl_keep_path(r.Path)), []) AS dl_raw,
  dl_src,
  dl_src_size,
  dl_src_sha256,
  dl_src_version,
  dl_row
FROM (
  SELECT
    *,
    CAST(to_json(
      {'n': FLATTEN(
        [
          CASE
            WHEN "PatientName" IS NULL
            THEN []
            ELSE [
              CONCAT_WS(
                '^',
                "PatientName".Alphabetic.FamilyName,
                "PatientName".Alphabetic.GivenName,
                "PatientName".Alphabetic.MiddleName
              )
            ]
          END,
          CASE
            WHEN "ReferringPhysicianName" IS NULL
            THEN []
            ELSE [
              CONCAT_WS(
                '^',
                "ReferringPhysicianName".Alphabetic.FamilyName,
                "ReferringPhysicianName".Alphabetic.GivenName,
                "ReferringPhysicianName".Alphabetic.MiddleName
              )
            ]
          END,
          COALESCE(
            LIST_TRANSFORM(
              "NameOfPhysiciansReadingStudy",
              LAMBDA x : CONCAT_WS('^', x.Alphabetic.FamilyName, x.Alphabetic.GivenName, x.Alphabetic.MiddleName)
            ),
            []
          ),
          COALESCE(
            LIST_TRANSFORM(
              "OperatorsName",
              LAMBDA x : CONCAT_WS('^', x.Alphabetic.FamilyName, x.Alphabetic.GivenName, x.Alphabetic.MiddleName)
            ),
            []
          )
        ]
      ), 'i': FLATTEN(
        [
          CASE WHEN "PatientID" IS NULL THEN [] ELSE [CAST("PatientID" AS TEXT)] END,
          COALESCE(LIST_TRANSFORM("OtherPatientIDs", LAMBDA x : CAST(x AS TEXT)), []),
          CASE
            WHEN "AccessionNumber" IS NULL
            THEN []
            ELSE [CAST("AccessionNumber" AS TEXT)]
          END,
          CASE WHEN "StudyID" IS NULL THEN [] ELSE [CAST("StudyID" AS TEXT)] END
        ]
      ), 'd': FLATTEN(
        [
          CASE
            WHEN "PatientBirthDate" IS NULL
            THEN []
            ELSE [STRFTIME("PatientBirthDate", '%Y%m%d')]
          END
        ]
      ), 'c': CAST([] AS TEXT[]), 'p': FLATTEN(
        [
          CASE
            WHEN "InstitutionName" IS NULL
            THEN []
            ELSE [CAST("InstitutionName" AS TEXT)]
          END,
          CASE
            WHEN "InstitutionAddress" IS NULL
            THEN []
            ELSE [CAST("InstitutionAddress" AS TEXT)]
          END,
          CASE
            WHEN "InstitutionalDepartmentName" IS NULL
            THEN []
            ELSE [CAST("InstitutionalDepartmentName" AS TEXT)]
          END,
          CASE WHEN "StationName" IS NULL THEN [] ELSE [CAST("StationName" AS TEXT)] END,
          CASE WHEN "PatientAddress" IS NULL THEN [] ELSE [CAST("PatientAddress" AS TEXT)] END
        ]
      )}
    ) AS TEXT) AS dl_context,
    COALESCE("PatientID", "StudyInstanceUID") AS dl_patient,
    dl_source AS dl_src,
    dl_source_size AS dl_src_size,
    dl_source_sha256 AS dl_src_sha256,
    dl_source_version AS dl_src_version,
    ROW_NUMBER() OVER () AS dl_row
  FROM "s"
) AS src;
