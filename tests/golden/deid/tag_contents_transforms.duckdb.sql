-- The de-identification transform on duckdb of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}, "text": {"additionalTransformations": [{"infoTypes": ["PERSON_NAME"], "replaceWithInfoTypeConfig": {}}, {"dateShiftConfig": {"cryptoKey": "MDEyMzQ1Njc4OWFiY2RlZg=="}, "infoTypes": []}, {"cryptoHashConfig": {"cryptoKey": "MDEyMzQ1Njc4OWFiY2RlZg=="}, "infoTypes": ["US_SOCIAL_SECURITY_NUMBER"]}, {"characterMaskConfig": {"maskingCharacter": "#"}, "infoTypes": ["PHONE_NUMBER"]}]}}
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
  dl_clean("ImplementationVersionName", dl_context, 'SH') AS "ImplementationVersionName",
  dl_clean("SourceApplicationEntityTitle", dl_context, 'AE') AS "SourceApplicationEntityTitle",
  "SpecificCharacterSet",
  "ImageType",
  dl_shift_date("InstanceCreationDate", dl_patient) AS "InstanceCreationDate",
  "InstanceCreationTime",
  "InstanceCreatorUID",
  "SOPClassUID",
  CASE WHEN "SOPInstanceUID" IS NULL THEN NULL ELSE dl_uid("SOPInstanceUID") END AS "SOPInstanceUID",
  dl_shift_date("StudyDate", dl_patient) AS "StudyDate",
  dl_shift_date("SeriesDate", dl_patient) AS "SeriesDate",
  dl_shift_date("AcquisitionDate", dl_patient) AS "AcquisitionDate",
  dl_shift_date("ContentDate", dl_patient) AS "ContentDate",
  "StudyTime",
  "SeriesTime",
  "AcquisitionTime",
  "ContentTime",
  dl_clean("AccessionNumber", dl_context, 'SH') AS "AccessionNumber",
  "Modality",
  dl_clean("Manufacturer", dl_context, 'LO') AS "Manufacturer",
  dl_clean("InstitutionName", dl_context, 'LO') AS "InstitutionName",
  dl_clean("InstitutionAddress", dl_context, 'ST') AS "InstitutionAddress",
  CASE
    WHEN "ReferringPhysicianName" IS NULL
    THEN NULL
    ELSE {'Alphabetic': {'FamilyName': '[PERSON_NAME]', 'GivenName': CASE WHEN '[PERSON_NAME]' <> '' THEN '' END, 'MiddleName': CAST(NULL AS TEXT), 'NamePrefix': CAST(NULL AS TEXT), 'NameSuffix': CAST(NULL AS TEXT)}, 'Ideographic': CAST(NULL AS STRUCT(
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
  dl_clean("TimezoneOffsetFromUTC", dl_context, 'SH') AS "TimezoneOffsetFromUTC",
  dl_clean("StationName", dl_context, 'SH') AS "StationName",
  dl_clean("StudyDescription", dl_context, 'LO') AS "StudyDescription",
  CASE
    WHEN "ProcedureCodeSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "ProcedureCodeSequence",
      LAMBDA it0 : {'CodeValue': dl_clean(it0."CodeValue", dl_context, 'SH'), 'CodingSchemeDesignator': dl_clean(it0."CodingSchemeDesignator", dl_context, 'SH'), 'CodeMeaning': dl_clean(it0."CodeMeaning", dl_context, 'LO')}
    )
  END AS "ProcedureCodeSequence",
  dl_clean("SeriesDescription", dl_context, 'LO') AS "SeriesDescription",
  dl_clean("InstitutionalDepartmentName", dl_context, 'LO') AS "InstitutionalDepartmentName",
  CASE
    WHEN "NameOfPhysiciansReadingStudy" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "NameOfPhysiciansReadingStudy",
      LAMBDA p : {'Alphabetic': {'FamilyName': '[PERSON_NAME]', 'GivenName': CASE WHEN '[PERSON_NAME]' <> '' THEN '' END, 'MiddleName': CAST(NULL AS TEXT), 'NamePrefix': CAST(NULL AS TEXT), 'NameSuffix': CAST(NULL AS TEXT)}, 'Ideographic': CAST(NULL AS STRUCT(
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
  END AS "NameOfPhysiciansReadingStudy",
  CASE
    WHEN "PhysiciansReadingStudyIdentificationSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "PhysiciansReadingStudyIdentificationSequence",
      LAMBDA it0 : {'InstitutionName': dl_clean(it0."InstitutionName", dl_context, 'LO'), 'PersonIdentificationCodeSequence': CASE
        WHEN it0."PersonIdentificationCodeSequence" IS NULL
        THEN NULL
        ELSE LIST_TRANSFORM(
          it0."PersonIdentificationCodeSequence",
          LAMBDA it1 : {'CodeValue': dl_clean(it1."CodeValue", dl_context, 'SH'), 'CodingSchemeDesignator': dl_clean(it1."CodingSchemeDesignator", dl_context, 'SH'), 'CodeMeaning': dl_clean(it1."CodeMeaning", dl_context, 'LO')}
        )
      END, 'PersonTelephoneNumbers': LIST_TRANSFORM(it0."PersonTelephoneNumbers", LAMBDA s : dl_clean(s, dl_context, 'LO')), 'PersonName': CASE
        WHEN it0."PersonName" IS NULL
        THEN NULL
        ELSE {'Alphabetic': {'FamilyName': '[PERSON_NAME]', 'GivenName': CASE WHEN '[PERSON_NAME]' <> '' THEN '' END, 'MiddleName': CAST(NULL AS TEXT), 'NamePrefix': CAST(NULL AS TEXT), 'NameSuffix': CAST(NULL AS TEXT)}, 'Ideographic': CAST(NULL AS STRUCT(
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
      END}
    )
  END AS "PhysiciansReadingStudyIdentificationSequence",
  CASE
    WHEN "OperatorsName" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "OperatorsName",
      LAMBDA p : {'Alphabetic': {'FamilyName': '[PERSON_NAME]', 'GivenName': CASE WHEN '[PERSON_NAME]' <> '' THEN '' END, 'MiddleName': CAST(NULL AS TEXT), 'NamePrefix': CAST(NULL AS TEXT), 'NameSuffix': CAST(NULL AS TEXT)}, 'Ideographic': CAST(NULL AS STRUCT(
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
  dl_clean("ManufacturerModelName", dl_context, 'LO') AS "ManufacturerModelName",
  CASE
    WHEN "ReferencedImageSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "ReferencedImageSequence",
      LAMBDA it0 : {'ReferencedSOPClassUID': it0."ReferencedSOPClassUID", 'ReferencedSOPInstanceUID': it0."ReferencedSOPInstanceUID", 'PurposeOfReferenceCodeSequence': CASE
        WHEN it0."PurposeOfReferenceCodeSequence" IS NULL
        THEN NULL
        ELSE LIST_TRANSFORM(
          it0."PurposeOfReferenceCodeSequence",
          LAMBDA it1 : {'CodeValue': dl_clean(it1."CodeValue", dl_context, 'SH'), 'CodingSchemeDesignator': dl_clean(it1."CodingSchemeDesignator", dl_context, 'SH'), 'CodeMeaning': dl_clean(it1."CodeMeaning", dl_context, 'LO')}
        )
      END}
    )
  END AS "ReferencedImageSequence",
  dl_clean("DerivationDescription", dl_context, 'ST') AS "DerivationDescription",
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
          LAMBDA it1 : {'OtherElements': LIST_FILTER(
            LIST_TRANSFORM(
              it1."OtherElements",
              LAMBDA pe : CASE
                WHEN dl_keep_private(pe.Tag)
                THEN CASE
                  WHEN SUBSTRING(pe.Tag, 9, 2) = '00'
                  THEN pe
                  ELSE {'Tag': pe.Tag, 'Data': LIST_TRANSFORM(pe.Data, LAMBDA pv : dl_clean(pv, dl_context, 'UT'))}
                END
                ELSE NULL
              END
            ),
            LAMBDA pk : NOT pk IS NULL
          )}
        )
      END, 'OtherElements': LIST_FILTER(
        LIST_TRANSFORM(
          it0."OtherElements",
          LAMBDA pe : CASE
            WHEN dl_keep_private(pe.Tag)
            THEN CASE
              WHEN SUBSTRING(pe.Tag, 9, 2) = '00'
              THEN pe
              ELSE {'Tag': pe.Tag, 'Data': LIST_TRANSFORM(pe.Data, LAMBDA pv : dl_clean(pv, dl_context, 'UT'))}
            END
            ELSE NULL
          END
        ),
        LAMBDA pk : NOT pk IS NULL
      )}
    )
  END AS "Tag_00091105",
  CASE
    WHEN "PatientName" IS NULL
    THEN NULL
    ELSE {'Alphabetic': {'FamilyName': '[PERSON_NAME]', 'GivenName': CASE WHEN '[PERSON_NAME]' <> '' THEN '' END, 'MiddleName': CAST(NULL AS TEXT), 'NamePrefix': CAST(NULL AS TEXT), 'NameSuffix': CAST(NULL AS TEXT)}, 'Ideographic': CAST(NULL AS STRUCT(
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
  dl_clean("PatientID", dl_context, 'LO') AS "PatientID",
  dl_shift_date("PatientBirthDate", dl_patient) AS "PatientBirthDate",
  "PatientSex",
  LIST_TRANSFORM("OtherPatientIDs", LAMBDA s : dl_clean(s, dl_context, 'LO')) AS "OtherPatientIDs",
  CASE
    WHEN "OtherPatientIDsSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "OtherPatientIDsSequence",
      LAMBDA it0 : {'PatientID': dl_clean(it0."PatientID", dl_context, 'LO'), 'IssuerOfPatientID': dl_clean(it0."IssuerOfPatientID", dl_context, 'LO'), 'TypeOfPatientID': it0."TypeOfPatientID"}
    )
  END AS "OtherPatientIDsSequence",
  dl_clean("PatientAge", dl_context, 'AS') AS "PatientAge",
  "PatientSize",
  "PatientWeight",
  dl_clean("PatientAddress", dl_context, 'LO') AS "PatientAddress",
  LIST_TRANSFORM("PatientTelephoneNumbers", LAMBDA s : dl_clean(s, dl_context, 'SH')) AS "PatientTelephoneNumbers",
  dl_clean("AdditionalPatientHistory", dl_context, 'LT') AS "AdditionalPatientHistory",
  "PregnancyStatus",
  dl_clean("ContrastBolusAgent", dl_context, 'LO') AS "ContrastBolusAgent",
  "BodyPartExamined",
  "ScanningSequence",
  "SequenceVariant",
  "ScanOptions",
  "MRAcquisitionType",
  dl_clean("SequenceName", dl_context, 'SH') AS "SequenceName",
  "AngioFlag",
  "SliceThickness",
  "KVP",
  "RepetitionTime",
  "EchoTime",
  "NumberOfAverages",
  "ImagingFrequency",
  dl_clean("ImagedNucleus", dl_context, 'SH') AS "ImagedNucleus",
  "EchoNumbers",
  "MagneticFieldStrength",
  "SpacingBetweenSlices",
  "NumberOfPhaseEncodingSteps",
  "DataCollectionDiameter",
  "EchoTrainLength",
  "PercentSampling",
  "PercentPhaseFieldOfView",
  "PixelBandwidth",
  dl_clean("DeviceSerialNumber", dl_context, 'LO') AS "DeviceSerialNumber",
  LIST_TRANSFORM("SoftwareVersions", LAMBDA s : dl_clean(s, dl_context, 'LO')) AS "SoftwareVersions",
  dl_clean("ProtocolName", dl_context, 'LO') AS "ProtocolName",
  dl_clean("ContrastBolusRoute", dl_context, 'LO') AS "ContrastBolusRoute",
  "ContrastBolusVolume",
  "ReconstructionDiameter",
  "DistanceSourceToDetector",
  "DistanceSourceToPatient",
  "GantryDetectorTilt",
  "TableHeight",
  "ExposureTime",
  "XRayTubeCurrent",
  "Exposure",
  dl_clean("FilterType", dl_context, 'SH') AS "FilterType",
  "FocalSpots",
  LIST_TRANSFORM("ConvolutionKernel", LAMBDA s : dl_clean(s, dl_context, 'SH')) AS "ConvolutionKernel",
  dl_clean("TransmitCoilName", dl_context, 'SH') AS "TransmitCoilName",
  "AcquisitionMatrix",
  "InPlanePhaseEncodingDirection",
  "FlipAngle",
  "VariableFlipAngleFlag",
  "SAR",
  "dBdt",
  "PatientPosition",
  CASE WHEN "StudyInstanceUID" IS NULL THEN NULL ELSE dl_uid("StudyInstanceUID") END AS "StudyInstanceUID",
  CASE WHEN "SeriesInstanceUID" IS NULL THEN NULL ELSE dl_uid("SeriesInstanceUID") END AS "SeriesInstanceUID",
  dl_clean("StudyID", dl_context, 'SH') AS "StudyID",
  "SeriesNumber",
  "AcquisitionNumber",
  "InstanceNumber",
  "ImagePositionPatient",
  "ImageOrientationPatient",
  "FrameOfReferenceUID",
  "Laterality",
  dl_clean("PositionReferenceIndicator", dl_context, 'LO') AS "PositionReferenceIndicator",
  "SliceLocation",
  dl_clean("ImageComments", dl_context, 'LT') AS "ImageComments",
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
  LIST_TRANSFORM("WindowCenterWidthExplanation", LAMBDA s : dl_clean(s, dl_context, 'LO')) AS "WindowCenterWidthExplanation",
  dl_clean("RequestingService", dl_context, 'LO') AS "RequestingService",
  dl_clean("RequestedProcedureDescription", dl_context, 'LO') AS "RequestedProcedureDescription",
  dl_clean("StudyComments", dl_context, 'LT') AS "StudyComments",
  CASE
    WHEN "RequestAttributesSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "RequestAttributesSequence",
      LAMBDA it0 : {'AccessionNumber': dl_clean(it0."AccessionNumber", dl_context, 'SH'), 'RequestedProcedureDescription': dl_clean(it0."RequestedProcedureDescription", dl_context, 'LO'), 'ScheduledProcedureStepDescription': dl_clean(it0."ScheduledProcedureStepDescription", dl_context, 'LO'), 'ScheduledProtocolCodeSequence': CASE
        WHEN it0."ScheduledProtocolCodeSequence" IS NULL
        THEN NULL
        ELSE LIST_TRANSFORM(
          it0."ScheduledProtocolCodeSequence",
          LAMBDA it1 : {'CodeValue': dl_clean(it1."CodeValue", dl_context, 'SH'), 'CodingSchemeDesignator': dl_clean(it1."CodingSchemeDesignator", dl_context, 'SH'), 'CodingSchemeVersion': dl_clean(it1."CodingSchemeVersion", dl_context, 'SH'), 'CodeMeaning': dl_clean(it1."CodeMeaning", dl_context, 'LO')}
        )
      END, 'ScheduledProcedureStepID': dl_clean(it0."ScheduledProcedureStepID", dl_context, 'SH'), 'RequestedProcedureID': dl_clean(it0."RequestedProcedureID", dl_context, 'SH')}
    )
  END AS "RequestAttributesSequence",
  "StorageMediaFileSetUID",
  "IconImageSequence",
  dl_clean("RTPlanLabel", dl_context, 'SH') AS "RTPlanLabel",
  dl_clean("RTPlanName", dl_context, 'LO') AS "RTPlanName",
  dl_shift_date("RTPlanDate", dl_patient) AS "RTPlanDate",
  "RTPlanTime",
  "RTPlanGeometry",
  CASE
    WHEN "DoseReferenceSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "DoseReferenceSequence",
      LAMBDA it0 : {'DoseReferenceNumber': it0."DoseReferenceNumber", 'DoseReferenceStructureType': it0."DoseReferenceStructureType", 'DoseReferenceDescription': dl_clean(it0."DoseReferenceDescription", dl_context, 'LO'), 'DoseReferencePointCoordinates': it0."DoseReferencePointCoordinates", 'DoseReferenceType': it0."DoseReferenceType", 'DeliveryMaximumDose': it0."DeliveryMaximumDose", 'TargetPrescriptionDose': it0."TargetPrescriptionDose", 'OrganAtRiskMaximumDose': it0."OrganAtRiskMaximumDose"}
    )
  END AS "DoseReferenceSequence",
  "FractionGroupSequence",
  CASE
    WHEN "BeamSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "BeamSequence",
      LAMBDA it0 : {'Manufacturer': dl_clean(it0."Manufacturer", dl_context, 'LO'), 'InstitutionName': dl_clean(it0."InstitutionName", dl_context, 'LO'), 'InstitutionalDepartmentName': dl_clean(it0."InstitutionalDepartmentName", dl_context, 'LO'), 'ManufacturerModelName': dl_clean(it0."ManufacturerModelName", dl_context, 'LO'), 'DeviceSerialNumber': dl_clean(it0."DeviceSerialNumber", dl_context, 'LO'), 'TreatmentMachineName': dl_clean(it0."TreatmentMachineName", dl_context, 'SH'), 'PrimaryDosimeterUnit': it0."PrimaryDosimeterUnit", 'SourceAxisDistance': it0."SourceAxisDistance", 'BeamLimitingDeviceSequence': it0."BeamLimitingDeviceSequence", 'BeamNumber': it0."BeamNumber", 'BeamName': dl_clean(it0."BeamName", dl_context, 'LO'), 'BeamType': it0."BeamType", 'RadiationType': it0."RadiationType", 'TreatmentDeliveryType': it0."TreatmentDeliveryType", 'NumberOfWedges': it0."NumberOfWedges", 'NumberOfCompensators': it0."NumberOfCompensators", 'NumberOfBoli': it0."NumberOfBoli", 'NumberOfBlocks': it0."NumberOfBlocks", 'FinalCumulativeMetersetWeight': it0."FinalCumulativeMetersetWeight", 'NumberOfControlPoints': it0."NumberOfControlPoints", 'ControlPointSequence': it0."ControlPointSequence", 'ReferencedPatientSetupNumber': it0."ReferencedPatientSetupNumber"}
    )
  END AS "BeamSequence",
  CASE
    WHEN "PatientSetupSequence" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "PatientSetupSequence",
      LAMBDA it0 : {'PatientPosition': it0."PatientPosition", 'PatientSetupNumber': it0."PatientSetupNumber", 'SetupTechniqueDescription': dl_clean(it0."SetupTechniqueDescription", dl_context, 'ST')}
    )
  END AS "PatientSetupSequence",
  "ReferencedRTPlanSequence",
  "ReferencedStructureSetSequence",
  "ApprovalStatus",
  "OverlayRows",
  "OverlayColumns",
  "NumberOfFramesInOverlay",
  CASE
    WHEN "OverlayDescription" IS NULL
    THEN NULL
    ELSE LIST_TRANSFORM(
      "OverlayDescription",
      LAMBDA g : {'Id': g."Id", 'Value': dl_clean(g."Value", dl_context, 'LO')}
    )
  END AS "OverlayDescription",
  "OverlayType",
  "OverlayOrigin",
  "ImageFrameOrigin",
  "OverlayBitsAllocated",
  "OverlayBitPosition",
  LIST_FILTER(
    LIST_TRANSFORM(
      "OtherElements",
      LAMBDA pe : CASE
        WHEN dl_keep_private(pe.Tag)
        THEN CASE
          WHEN SUBSTRING(pe.Tag, 9, 2) = '00'
          THEN pe
          ELSE {'Tag': pe.Tag, 'Data': LIST_TRANSFORM(pe.Data, LAMBDA pv : dl_clean(pv, dl_context, 'UT'))}
        END
        ELSE NULL
      END
    ),
    LAMBDA pk : NOT pk IS NULL
  ) AS "OtherElements",
  'NO' AS "PatientIdentityRemoved",
  [
    'dicomlake DEIDENTIFY_TAG_CONTENTS',
    'Retain Longitudinal Temporal Information Modified Dates Option',
    'Retain Patient Characteristics Option',
    '60 identifying attributes kept'
  ] AS "DeidentificationMethod",
  [
    {'CodeValue': '113107', 'CodingSchemeDesignator': 'DCM', 'CodeMeaning': 'Retain Longitudinal Temporal Information Modified Dates Option'},
    {'CodeValue': '113108', 'CodingSchemeDesignator': 'DCM', 'CodeMeaning': 'Retain Patient Characteristics Option'}
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
        WHEN ARRAY_CONTAINS(dl_empty, 'InstanceCreationDate')
        THEN ['InstanceCreationDate']
        ELSE []
      END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'StudyDate') THEN ['StudyDate'] ELSE [] END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'SeriesDate') THEN ['SeriesDate'] ELSE [] END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'AcquisitionDate')
        THEN ['AcquisitionDate']
        ELSE []
      END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'ContentDate') THEN ['ContentDate'] ELSE [] END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'PatientBirthDate')
        THEN ['PatientBirthDate']
        ELSE []
      END,
      CASE WHEN ARRAY_CONTAINS(dl_empty, 'RTPlanDate') THEN ['RTPlanDate'] ELSE [] END
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
