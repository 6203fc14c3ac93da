-- The de-identification transform on duckdb of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicomTagConfig": {}}
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
  CASE
    WHEN "InstanceCreationDate" IS NULL
    THEN NULL
    ELSE CAST('1900-01-01' AS DATE)
  END AS "InstanceCreationDate",
  CASE WHEN "InstanceCreationTime" IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS "InstanceCreationTime",
  CASE
    WHEN "InstanceCreatorUID" IS NULL
    THEN NULL
    ELSE dl_uid("InstanceCreatorUID")
  END AS "InstanceCreatorUID",
  "SOPClassUID",
  CASE WHEN "SOPInstanceUID" IS NULL THEN NULL ELSE dl_uid("SOPInstanceUID") END AS "SOPInstanceUID",
  CAST(NULL AS DATE) AS "StudyDate",
  CASE WHEN "SeriesDate" IS NULL THEN NULL ELSE CAST('1900-01-01' AS DATE) END AS "SeriesDate",
  CAST(NULL AS DATE) AS "AcquisitionDate",
  CASE WHEN "ContentDate" IS NULL THEN NULL ELSE CAST('1900-01-01' AS DATE) END AS "ContentDate",
  CAST(NULL AS TIME) AS "StudyTime",
  CASE WHEN "SeriesTime" IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS "SeriesTime",
  CAST(NULL AS TIME) AS "AcquisitionTime",
  CASE WHEN "ContentTime" IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS "ContentTime",
  CASE WHEN "AccessionNumber" IS NULL THEN NULL ELSE '' END AS "AccessionNumber",
  "Modality",
  "Manufacturer",
  CASE WHEN "InstitutionName" IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS "InstitutionName",
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
  CASE WHEN "StationName" IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS "StationName",
  "ProcedureCodeSequence",
  CASE
    WHEN "OperatorsName" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "OperatorsName",
      LAMBDA x : {'Alphabetic': {'FamilyName': 'PLACEHOLDER', 'GivenName': CASE WHEN 'PLACEHOLDER' <> '' THEN '' END, 'MiddleName': CAST(NULL AS TEXT), 'NamePrefix': CAST(NULL AS TEXT), 'NameSuffix': CAST(NULL AS TEXT)}, 'Ideographic': CAST(NULL AS STRUCT(
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
    )
  END AS "OperatorsName",
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
  CASE
    WHEN "PatientName" IS NULL
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
  END AS "PatientName",
  CASE WHEN "PatientID" IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS "PatientID",
  CAST(NULL AS DATE) AS "PatientBirthDate",
  CASE WHEN "PatientSex" IS NULL THEN NULL ELSE '' END AS "PatientSex",
  CASE WHEN "ContrastBolusAgent" IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS "ContrastBolusAgent",
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
  CASE WHEN "DeviceSerialNumber" IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS "DeviceSerialNumber",
  "SoftwareVersions",
  CASE WHEN "ProtocolName" IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS "ProtocolName",
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
  CASE WHEN "StudyID" IS NULL THEN NULL ELSE '' END AS "StudyID",
  "SeriesNumber",
  "AcquisitionNumber",
  "InstanceNumber",
  "ImagePositionPatient",
  "ImageOrientationPatient",
  CASE
    WHEN "FrameOfReferenceUID" IS NULL
    THEN NULL
    ELSE dl_uid("FrameOfReferenceUID")
  END AS "FrameOfReferenceUID",
  "Laterality",
  "PositionReferenceIndicator",
  "SliceLocation",
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
  CASE WHEN "RequestedProcedureDescription" IS NULL THEN NULL ELSE '' END AS "RequestedProcedureDescription",
  CASE
    WHEN "StorageMediaFileSetUID" IS NULL
    THEN NULL
    ELSE dl_uid("StorageMediaFileSetUID")
  END AS "StorageMediaFileSetUID",
  CASE WHEN "RTPlanLabel" IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS "RTPlanLabel",
  CASE WHEN "RTPlanDate" IS NULL THEN NULL ELSE CAST('1900-01-01' AS DATE) END AS "RTPlanDate",
  CASE WHEN "RTPlanTime" IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS "RTPlanTime",
  "RTPlanGeometry",
  CASE
    WHEN "DoseReferenceSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "DoseReferenceSequence",
      LAMBDA it0 : {'DoseReferenceNumber': it0."DoseReferenceNumber", 'DoseReferenceStructureType': it0."DoseReferenceStructureType", 'DoseReferencePointCoordinates': it0."DoseReferencePointCoordinates", 'DoseReferenceType': it0."DoseReferenceType", 'DeliveryMaximumDose': it0."DeliveryMaximumDose", 'TargetPrescriptionDose': it0."TargetPrescriptionDose", 'OrganAtRiskMaximumDose': it0."OrganAtRiskMaximumDose"}
    )
  END AS "DoseReferenceSequence",
  "FractionGroupSequence",
  CASE
    WHEN "BeamSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "BeamSequence",
      LAMBDA it0 : {'Manufacturer': it0."Manufacturer", 'InstitutionName': CASE WHEN it0."InstitutionName" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'ManufacturerModelName': it0."ManufacturerModelName", 'DeviceSerialNumber': CASE WHEN it0."DeviceSerialNumber" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'TreatmentMachineName': CASE WHEN it0."TreatmentMachineName" IS NULL THEN NULL ELSE '' END, 'PrimaryDosimeterUnit': it0."PrimaryDosimeterUnit", 'SourceAxisDistance': it0."SourceAxisDistance", 'BeamLimitingDeviceSequence': it0."BeamLimitingDeviceSequence", 'BeamNumber': it0."BeamNumber", 'BeamName': it0."BeamName", 'BeamType': it0."BeamType", 'RadiationType': it0."RadiationType", 'TreatmentDeliveryType': it0."TreatmentDeliveryType", 'NumberOfWedges': it0."NumberOfWedges", 'NumberOfCompensators': it0."NumberOfCompensators", 'NumberOfBoli': it0."NumberOfBoli", 'NumberOfBlocks': it0."NumberOfBlocks", 'FinalCumulativeMetersetWeight': it0."FinalCumulativeMetersetWeight", 'NumberOfControlPoints': it0."NumberOfControlPoints", 'ControlPointSequence': it0."ControlPointSequence", 'ReferencedPatientSetupNumber': it0."ReferencedPatientSetupNumber"}
    )
  END AS "BeamSequence",
  CASE
    WHEN "PatientSetupSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "PatientSetupSequence",
      LAMBDA it0 : {'PatientPosition': it0."PatientPosition", 'PatientSetupNumber': it0."PatientSetupNumber"}
    )
  END AS "PatientSetupSequence",
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
  'YES' AS "PatientIdentityRemoved",
  [
    'dicomlake ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE',
    'Basic Application Confidentiality Profile'
  ] AS "DeidentificationMethod",
  [
    {'CodeValue': '113100', 'CodingSchemeDesignator': 'DCM', 'CodeMeaning': 'Basic Application Confidentiality Profile'}
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
        WHEN NOT "StudyDate" IS NULL OR ARRAY_CONTAINS(dl_empty, 'StudyDate')
        THEN ['StudyDate']
        ELSE []
      END,
      CASE
        WHEN NOT "AcquisitionDate" IS NULL OR ARRAY_CONTAINS(dl_empty, 'AcquisitionDate')
        THEN ['AcquisitionDate']
        ELSE []
      END,
      CASE
        WHEN NOT "StudyTime" IS NULL OR ARRAY_CONTAINS(dl_empty, 'StudyTime')
        THEN ['StudyTime']
        ELSE []
      END,
      CASE
        WHEN NOT "AcquisitionTime" IS NULL OR ARRAY_CONTAINS(dl_empty, 'AcquisitionTime')
        THEN ['AcquisitionTime']
        ELSE []
      END,
      CASE
        WHEN NOT "PatientBirthDate" IS NULL OR ARRAY_CONTAINS(dl_empty, 'PatientBirthDate')
        THEN ['PatientBirthDate']
        ELSE []
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'InstanceCreationDate')
        THEN ['InstanceCreationDate']
        ELSE []
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'InstanceCreationTime')
        THEN ['InstanceCreationTime']
        ELSE []
      END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'SeriesDate') THEN ['SeriesDate'] ELSE [] END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'ContentDate') THEN ['ContentDate'] ELSE [] END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'SeriesTime') THEN ['SeriesTime'] ELSE [] END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'ContentTime') THEN ['ContentTime'] ELSE [] END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'RTPlanDate') THEN ['RTPlanDate'] ELSE [] END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'RTPlanTime') THEN ['RTPlanTime'] ELSE [] END
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
