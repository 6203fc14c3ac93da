-- The de-identification transform on duckdb of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicomTagConfig": {"actions": [{"cleanTextTag": {}, "queries": ["PatientName", "StudyDescription", "StudyDate"]}, {"queries": ["PatientID"], "resetTag": {}}, {"queries": ["ReferringPhysicianName", "StudyTime"], "removeTag": {}}], "profileType": "KEEP_ALL_PROFILE"}, "text": {"additionalTransformations": [{"characterMaskConfig": {}, "infoTypes": ["PERSON_NAME"]}]}}
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
  dl_shift_date("StudyDate", dl_patient) AS "StudyDate",
  "SeriesDate",
  "AcquisitionDate",
  "ContentDate",
  CAST(NULL AS TIME) AS "StudyTime",
  "SeriesTime",
  "AcquisitionTime",
  "ContentTime",
  "AccessionNumber",
  "Modality",
  "Manufacturer",
  "InstitutionName",
  "InstitutionAddress",
  CASE
    WHEN "ReferringPhysicianName" IS NULL
    THEN NULL
    ELSE {'Alphabetic': {'FamilyName': CAST(NULL AS TEXT), 'GivenName': CAST(NULL AS TEXT), 'MiddleName': CAST(NULL AS TEXT), 'NamePrefix': CAST(NULL AS TEXT), 'NameSuffix': CAST(NULL AS TEXT)}, 'Ideographic': CAST(NULL AS STRUCT(
      FamilyName TEXT,
      GivenName TEXT,
      MiddleName TEXT,
      NamePrefix TEXT,
      NameSuffix TEXT
    )), 'Phonetic': CAST(NULL AS STRUCT(
      FamilyName TEXT,
      GivenName TEXT,
      MiddleName TEXT,
      NamePrefix TEXT,
      NameSuffix TEXT
    ))}
  END AS "ReferringPhysicianName",
  "TimezoneOffsetFromUTC",
  "StationName",
  dl_clean("StudyDescription", dl_context, 'LO') AS "StudyDescription",
  "ProcedureCodeSequence",
  "SeriesDescription",
  "InstitutionalDepartmentName",
  "NameOfPhysiciansReadingStudy",
  "PhysiciansReadingStudyIdentificationSequence",
  "OperatorsName",
  "ManufacturerModelName",
  "ReferencedImageSequence",
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
  CASE
    WHEN "PatientName" IS NULL
    THEN NULL
    ELSE {'Alphabetic': {'FamilyName': dl_clean(
      CONCAT_WS('^', "PatientName".Alphabetic.FamilyName, "PatientName".Alphabetic.GivenName),
      dl_context,
      'PN'
    ), 'GivenName': CASE
      WHEN dl_clean(
        CONCAT_WS('^', "PatientName".Alphabetic.FamilyName, "PatientName".Alphabetic.GivenName),
        dl_context,
        'PN'
      ) <> ''
      THEN ''
    END, 'MiddleName': CAST(NULL AS TEXT), 'NamePrefix': CAST(NULL AS TEXT), 'NameSuffix': CAST(NULL AS TEXT)}, 'Ideographic': CAST(NULL AS STRUCT(
      FamilyName TEXT,
      GivenName TEXT,
      MiddleName TEXT,
      NamePrefix TEXT,
      NameSuffix TEXT
    )), 'Phonetic': CAST(NULL AS STRUCT(
      FamilyName TEXT,
      GivenName TEXT,
      MiddleName TEXT,
      NamePrefix TEXT,
      NameSuffix TEXT
    ))}
  END AS "PatientName",
  CASE WHEN "PatientID" IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS "PatientID",
  "PatientBirthDate",
  "PatientSex",
  "OtherPatientIDs",
  CASE
    WHEN "OtherPatientIDsSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "OtherPatientIDsSequence",
      LAMBDA it0 : {'PatientID': CASE WHEN it0."PatientID" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'IssuerOfPatientID': it0."IssuerOfPatientID", 'TypeOfPatientID': it0."TypeOfPatientID"}
    )
  END AS "OtherPatientIDsSequence",
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
  LIST_FILTER("OtherElements", LAMBDA e : dl_keep_private(e.Tag)) AS "OtherElements",
  'NO' AS "PatientIdentityRemoved",
  [
    'dicomlake KEEP_ALL_PROFILE',
    '3 actions: cleanTextTag, resetTag, removeTag',
    'Retain Longitudinal Temporal Information Modified Dates Option',
    'Retain Patient Characteristics Option',
    'Retain Device Identity Option',
    'Retain Institution Identity Option',
    '55 identifying attributes kept'
  ] AS "DeidentificationMethod",
  [
    {'CodeValue': '113107', 'CodingSchemeDesignator': 'DCM', 'CodeMeaning': 'Retain Longitudinal Temporal Information Modified Dates Option'},
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
  NULLIF(
    LIST_CONCAT(
      COALESCE(LIST_FILTER(dl_empty, LAMBDA p : dl_keep_path(p)), []),
      CASE
        WHEN NOT "StudyTime" IS NULL OR ARRAY_CONTAINS(dl_empty, 'StudyTime')
        THEN ['StudyTime']
        ELSE []
      END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'StudyDate') THEN ['StudyDate'] ELSE [] END
    ),
    []
  ) AS dl_empty,
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
