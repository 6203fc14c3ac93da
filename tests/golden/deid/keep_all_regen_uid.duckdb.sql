-- The de-identification transform on duckdb of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicomTagConfig": {"actions": [{"queries": ["StudyInstanceUID", "SOPInstanceUID", "ReferencedSOPInstanceUID"], "regenUidTag": {}}], "profileType": "KEEP_ALL_PROFILE"}}
-- regenerate: pytest tests/test_deid_sql.py --update-golden
SELECT
  "MediaStorageSOPClassUID",
  CASE
    WHEN "MediaStorageSOPInstanceUID" IS NULL
    THEN NULL
    ELSE dl_uid("MediaStorageSOPInstanceUID")
  END AS "MediaStorageSOPInstanceUID",
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
  CASE WHEN "SOPInstanceUID" IS NULL THEN NULL ELSE dl_uid("SOPInstanceUID") END AS "SOPInstanceUID",
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
  CASE
    WHEN "ReferencedImageSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "ReferencedImageSequence",
      LAMBDA it0 : {'ReferencedSOPClassUID': it0."ReferencedSOPClassUID", 'ReferencedSOPInstanceUID': CASE
        WHEN it0."ReferencedSOPInstanceUID" IS NULL
        THEN NULL
        ELSE dl_uid(it0."ReferencedSOPInstanceUID")
      END, 'PurposeOfReferenceCodeSequence': it0."PurposeOfReferenceCodeSequence"}
    )
  END AS "ReferencedImageSequence",
  "DerivationDescription",
  CASE
    WHEN "Tag_00091105" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "Tag_00091105",
      LAMBDA it0 : {'Tag_00091003': CASE
        WHEN it0."Tag_00091003" IS NULL
        THEN NULL
        ELSE LIST_TRANSFORM(
          it0."Tag_00091003",
          LAMBDA it1 : {'OtherElements': LIST_FILTER(it1."OtherElements", LAMBDA e : dl_keep_private(e.Tag))}
        )
      END, 'OtherElements': LIST_FILTER(it0."OtherElements", LAMBDA e : dl_keep_private(e.Tag))}
    )
  END AS "Tag_00091105",
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
  CASE WHEN "StudyInstanceUID" IS NULL THEN NULL ELSE dl_uid("StudyInstanceUID") END AS "StudyInstanceUID",
  CASE WHEN "SeriesInstanceUID" IS NULL THEN NULL ELSE dl_uid("SeriesInstanceUID") END AS "SeriesInstanceUID",
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
  CASE
    WHEN "ReferencedRTPlanSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "ReferencedRTPlanSequence",
      LAMBDA it0 : {'ReferencedSOPClassUID': it0."ReferencedSOPClassUID", 'ReferencedSOPInstanceUID': CASE
        WHEN it0."ReferencedSOPInstanceUID" IS NULL
        THEN NULL
        ELSE dl_uid(it0."ReferencedSOPInstanceUID")
      END, 'RTPlanRelationship': it0."RTPlanRelationship"}
    )
  END AS "ReferencedRTPlanSequence",
  CASE
    WHEN "ReferencedStructureSetSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "ReferencedStructureSetSequence",
      LAMBDA it0 : {'ReferencedSOPClassUID': it0."ReferencedSOPClassUID", 'ReferencedSOPInstanceUID': CASE
        WHEN it0."ReferencedSOPInstanceUID" IS NULL
        THEN NULL
        ELSE dl_uid(it0."ReferencedSOPInstanceUID")
      END}
    )
  END AS "ReferencedStructureSetSequence",
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
  LIST_FILTER("OtherElements", LAMBDA e : dl_keep_private(e.Tag)) AS "OtherElements",
  'NO' AS "PatientIdentityRemoved",
  [
    'dicomlake KEEP_ALL_PROFILE',
    '1 actions: regenUidTag',
    'Retain Longitudinal Temporal Information Full Dates Option',
    'Retain Patient Characteristics Option',
    'Retain Device Identity Option',
    'Retain Institution Identity Option',
    '45 identifying attributes kept'
  ] AS "DeidentificationMethod",
  [
    {'CodeValue': '113106', 'CodingSchemeDesignator': 'DCM', 'CodeMeaning': 'Retain Longitudinal Temporal Information Full Dates Option'},
    {'CodeValue': '113108', 'CodingSchemeDesignator': 'DCM', 'CodeMeaning': 'Retain Patient Characteristics Option'},
    {'CodeValue': '113109', 'CodingSchemeDesignator': 'DCM', 'CodeMeaning': 'Retain Device Identity Option'},
    {'CodeValue': '113112', 'CodingSchemeDesignator': 'DCM', 'CodeMeaning': 'Retain Institution Identity Option'}
  ] AS "DeidentificationMethodCodeSequence",
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
