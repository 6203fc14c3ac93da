-- The de-identification transform on duckdb of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicomTagConfig": {"actions": [{"queries": ["RequestAttributesSequence", "PatientBirthDate", "OtherPatientIDs", "PatientName"], "removeTag": {}}, {"queries": ["ReferencedImageSequence", "PatientID", "BeamSequence", "OverlayRows"], "resetTag": {}}, {"deleteTag": {}, "queries": ["ProcedureCodeSequence", "InstitutionName", "OverlayOrigin"]}, {"keepTag": {}, "queries": ["ScheduledProtocolCodeSequence", "CodeValue"]}, {"queries": ["StudyDate", "TM"], "resetTag": {}}, {"queries": ["00091001"], "removeTag": {}}], "profileType": "KEEP_ALL_PROFILE"}}
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
  CASE WHEN "InstanceCreationTime" IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS "InstanceCreationTime",
  "InstanceCreatorUID",
  "SOPClassUID",
  CASE WHEN "SOPInstanceUID" IS NULL THEN NULL ELSE dl_uid("SOPInstanceUID") END AS "SOPInstanceUID",
  CASE WHEN "StudyDate" IS NULL THEN NULL ELSE CAST('1900-01-01' AS DATE) END AS "StudyDate",
  "SeriesDate",
  "AcquisitionDate",
  "ContentDate",
  CASE WHEN "StudyTime" IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS "StudyTime",
  CASE WHEN "SeriesTime" IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS "SeriesTime",
  CASE WHEN "AcquisitionTime" IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS "AcquisitionTime",
  CASE WHEN "ContentTime" IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS "ContentTime",
  "AccessionNumber",
  "Modality",
  "Manufacturer",
  "InstitutionAddress",
  "ReferringPhysicianName",
  "TimezoneOffsetFromUTC",
  "StationName",
  "StudyDescription",
  "SeriesDescription",
  "InstitutionalDepartmentName",
  "NameOfPhysiciansReadingStudy",
  CASE
    WHEN "PhysiciansReadingStudyIdentificationSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "PhysiciansReadingStudyIdentificationSequence",
      LAMBDA it0 : {'PersonIdentificationCodeSequence': it0."PersonIdentificationCodeSequence", 'PersonTelephoneNumbers': it0."PersonTelephoneNumbers", 'PersonName': it0."PersonName"}
    )
  END AS "PhysiciansReadingStudyIdentificationSequence",
  "OperatorsName",
  "ManufacturerModelName",
  CASE
    WHEN "ReferencedImageSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "ReferencedImageSequence",
      LAMBDA it0 : {'ReferencedSOPClassUID': CASE
        WHEN it0."ReferencedSOPClassUID" IS NULL
        THEN NULL
        ELSE dl_uid(it0."ReferencedSOPClassUID")
      END, 'ReferencedSOPInstanceUID': CASE
        WHEN it0."ReferencedSOPInstanceUID" IS NULL
        THEN NULL
        ELSE dl_uid(it0."ReferencedSOPInstanceUID")
      END, 'PurposeOfReferenceCodeSequence': CASE
        WHEN it0."PurposeOfReferenceCodeSequence" IS NULL
        THEN NULL
        ELSE LIST_TRANSFORM(
          it0."PurposeOfReferenceCodeSequence",
          LAMBDA it1 : {'CodeValue': CASE WHEN it1."CodeValue" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'CodingSchemeDesignator': CASE WHEN it1."CodingSchemeDesignator" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'CodeMeaning': CASE WHEN it1."CodeMeaning" IS NULL THEN NULL ELSE 'PLACEHOLDER' END}
        )
      END}
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
  "PatientSex",
  CASE WHEN "OtherPatientIDs" IS NULL THEN NULL ELSE "OtherPatientIDs"[1:0] END AS "OtherPatientIDs",
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
  CASE
    WHEN "RequestAttributesSequence" IS NULL
    THEN NULL
    ELSE "RequestAttributesSequence"[1:0]
  END AS "RequestAttributesSequence",
  "StorageMediaFileSetUID",
  "IconImageSequence",
  "RTPlanLabel",
  "RTPlanName",
  "RTPlanDate",
  CASE WHEN "RTPlanTime" IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS "RTPlanTime",
  "RTPlanGeometry",
  "DoseReferenceSequence",
  "FractionGroupSequence",
  CASE
    WHEN "BeamSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "BeamSequence",
      LAMBDA it0 : {'Manufacturer': CASE WHEN it0."Manufacturer" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'InstitutionName': CASE WHEN it0."InstitutionName" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'InstitutionalDepartmentName': CASE WHEN it0."InstitutionalDepartmentName" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'ManufacturerModelName': CASE WHEN it0."ManufacturerModelName" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'DeviceSerialNumber': CASE WHEN it0."DeviceSerialNumber" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'TreatmentMachineName': CASE WHEN it0."TreatmentMachineName" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'PrimaryDosimeterUnit': CASE WHEN it0."PrimaryDosimeterUnit" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'SourceAxisDistance': CASE WHEN it0."SourceAxisDistance" IS NULL THEN NULL ELSE '0' END, 'BeamLimitingDeviceSequence': CASE
        WHEN it0."BeamLimitingDeviceSequence" IS NULL
        THEN NULL
        ELSE LIST_TRANSFORM(
          it0."BeamLimitingDeviceSequence",
          LAMBDA it1 : {'RTBeamLimitingDeviceType': CASE WHEN it1."RTBeamLimitingDeviceType" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'NumberOfLeafJawPairs': CASE WHEN it1."NumberOfLeafJawPairs" IS NULL THEN NULL ELSE '0' END}
        )
      END, 'BeamNumber': CASE WHEN it0."BeamNumber" IS NULL THEN NULL ELSE '0' END, 'BeamName': CASE WHEN it0."BeamName" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'BeamType': CASE WHEN it0."BeamType" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'RadiationType': CASE WHEN it0."RadiationType" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'TreatmentDeliveryType': CASE WHEN it0."TreatmentDeliveryType" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'NumberOfWedges': CASE WHEN it0."NumberOfWedges" IS NULL THEN NULL ELSE '0' END, 'NumberOfCompensators': CASE WHEN it0."NumberOfCompensators" IS NULL THEN NULL ELSE '0' END, 'NumberOfBoli': CASE WHEN it0."NumberOfBoli" IS NULL THEN NULL ELSE '0' END, 'NumberOfBlocks': CASE WHEN it0."NumberOfBlocks" IS NULL THEN NULL ELSE '0' END, 'FinalCumulativeMetersetWeight': CASE WHEN it0."FinalCumulativeMetersetWeight" IS NULL THEN NULL ELSE '0' END, 'NumberOfControlPoints': CASE WHEN it0."NumberOfControlPoints" IS NULL THEN NULL ELSE '0' END, 'ControlPointSequence': CASE
        WHEN it0."ControlPointSequence" IS NULL
        THEN NULL
        ELSE LIST_TRANSFORM(
          it0."ControlPointSequence",
          LAMBDA it1 : {'ControlPointIndex': CASE WHEN it1."ControlPointIndex" IS NULL THEN NULL ELSE '0' END, 'NominalBeamEnergy': CASE WHEN it1."NominalBeamEnergy" IS NULL THEN NULL ELSE '0' END, 'DoseRateSet': CASE WHEN it1."DoseRateSet" IS NULL THEN NULL ELSE '0' END, 'BeamLimitingDevicePositionSequence': CASE
            WHEN it1."BeamLimitingDevicePositionSequence" IS NULL
            THEN NULL
            ELSE LIST_TRANSFORM(
              it1."BeamLimitingDevicePositionSequence",
              LAMBDA it2 : {'RTBeamLimitingDeviceType': CASE WHEN it2."RTBeamLimitingDeviceType" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'LeafJawPositions': CASE
                WHEN it2."LeafJawPositions" IS NULL
                THEN NULL
                ELSE LIST_TRANSFORM(it2."LeafJawPositions", LAMBDA x : '0')
              END}
            )
          END, 'GantryAngle': CASE WHEN it1."GantryAngle" IS NULL THEN NULL ELSE '0' END, 'GantryRotationDirection': CASE WHEN it1."GantryRotationDirection" IS NULL THEN NULL ELSE 'PLACEHOLDER' END, 'BeamLimitingDeviceAngle': CASE WHEN it1."BeamLimitingDeviceAngle" IS NULL THEN NULL ELSE '0' END, 'BeamLimitingDeviceRotationDirection': CASE
            WHEN it1."BeamLimitingDeviceRotationDirection" IS NULL
            THEN NULL
            ELSE 'PLACEHOLDER'
          END, 'PatientSupportAngle': CASE WHEN it1."PatientSupportAngle" IS NULL THEN NULL ELSE '0' END, 'PatientSupportRotationDirection': CASE
            WHEN it1."PatientSupportRotationDirection" IS NULL
            THEN NULL
            ELSE 'PLACEHOLDER'
          END, 'TableTopEccentricAngle': CASE WHEN it1."TableTopEccentricAngle" IS NULL THEN NULL ELSE '0' END, 'TableTopEccentricRotationDirection': CASE
            WHEN it1."TableTopEccentricRotationDirection" IS NULL
            THEN NULL
            ELSE 'PLACEHOLDER'
          END, 'TableTopVerticalPosition': CASE WHEN it1."TableTopVerticalPosition" IS NULL THEN NULL ELSE '0' END, 'TableTopLongitudinalPosition': CASE WHEN it1."TableTopLongitudinalPosition" IS NULL THEN NULL ELSE '0' END, 'TableTopLateralPosition': CASE WHEN it1."TableTopLateralPosition" IS NULL THEN NULL ELSE '0' END, 'IsocenterPosition': CASE
            WHEN it1."IsocenterPosition" IS NULL
            THEN NULL
            ELSE LIST_TRANSFORM(it1."IsocenterPosition", LAMBDA x : '0')
          END, 'SourceToSurfaceDistance': CASE WHEN it1."SourceToSurfaceDistance" IS NULL THEN NULL ELSE '0' END, 'CumulativeMetersetWeight': CASE WHEN it1."CumulativeMetersetWeight" IS NULL THEN NULL ELSE '0' END, 'ReferencedDoseReferenceSequence': CASE
            WHEN it1."ReferencedDoseReferenceSequence" IS NULL
            THEN NULL
            ELSE LIST_TRANSFORM(
              it1."ReferencedDoseReferenceSequence",
              LAMBDA it2 : {'CumulativeDoseReferenceCoefficient': CASE WHEN it2."CumulativeDoseReferenceCoefficient" IS NULL THEN NULL ELSE '0' END, 'ReferencedDoseReferenceNumber': CASE WHEN it2."ReferencedDoseReferenceNumber" IS NULL THEN NULL ELSE '0' END}
            )
          END}
        )
      END, 'ReferencedPatientSetupNumber': CASE WHEN it0."ReferencedPatientSetupNumber" IS NULL THEN NULL ELSE '0' END}
    )
  END AS "BeamSequence",
  "PatientSetupSequence",
  "ReferencedRTPlanSequence",
  "ReferencedStructureSetSequence",
  "ApprovalStatus",
  CASE
    WHEN "OverlayRows" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "OverlayRows",
      LAMBDA g : {'Id': g."Id", 'Value': CASE WHEN g."Value" IS NULL THEN NULL ELSE 0 END}
    )
  END AS "OverlayRows",
  "OverlayColumns",
  "NumberOfFramesInOverlay",
  "OverlayDescription",
  "OverlayType",
  "ImageFrameOrigin",
  "OverlayBitsAllocated",
  "OverlayBitPosition",
  LIST_FILTER("OtherElements", LAMBDA e : dl_keep_private(e.Tag)) AS "OtherElements",
  'NO' AS "PatientIdentityRemoved",
  [
    'dicomlake KEEP_ALL_PROFILE',
    '6 actions: removeTag, resetTag, deleteTag, keepTag',
    'Retain Longitudinal Temporal Information Full Dates Option',
    'Retain Patient Characteristics Option',
    'Retain Device Identity Option',
    'Retain Institution Identity Option',
    '35 identifying attributes kept'
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
  NULLIF(
    LIST_CONCAT(
      COALESCE(LIST_FILTER(dl_empty, LAMBDA p : dl_keep_path(p)), []),
      CASE
        WHEN NOT "PatientBirthDate" IS NULL OR ARRAY_CONTAINS(dl_empty, 'PatientBirthDate')
        THEN ['PatientBirthDate']
        ELSE []
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'InstanceCreationTime')
        THEN ['InstanceCreationTime']
        ELSE []
      END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'StudyDate') THEN ['StudyDate'] ELSE [] END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'StudyTime') THEN ['StudyTime'] ELSE [] END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'SeriesTime') THEN ['SeriesTime'] ELSE [] END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'AcquisitionTime')
        THEN ['AcquisitionTime']
        ELSE []
      END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'ContentTime') THEN ['ContentTime'] ELSE [] END,
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
