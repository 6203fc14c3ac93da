-- The de-identification transform on spark of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicomTagConfig": {"actions": [{"cleanTextTag": {}, "queries": ["PatientName", "StudyDescription", "StudyDate"]}, {"queries": ["PatientID"], "resetTag": {}}, {"queries": ["ReferringPhysicianName", "StudyTime"], "removeTag": {}}], "profileType": "KEEP_ALL_PROFILE"}, "text": {"additionalTransformations": [{"characterMaskConfig": {}, "infoTypes": ["PERSON_NAME"]}]}}
-- regenerate: pytest tests/test_deid_sql.py --update-golden
SELECT
  `MediaStorageSOPClassUID`,
  CASE
    WHEN `MediaStorageSOPInstanceUID` IS NULL
    THEN NULL
    ELSE TRY_ELEMENT_AT(dl_m_uid, `MediaStorageSOPInstanceUID`)
  END AS `MediaStorageSOPInstanceUID`,
  `TransferSyntaxUID`,
  `ImplementationClassUID`,
  `ImplementationVersionName`,
  `SourceApplicationEntityTitle`,
  `SpecificCharacterSet`,
  `ImageType`,
  `InstanceCreationDate`,
  `InstanceCreationTime`,
  `InstanceCreatorUID`,
  `SOPClassUID`,
  CASE
    WHEN `SOPInstanceUID` IS NULL
    THEN NULL
    ELSE TRY_ELEMENT_AT(dl_m_uid, `SOPInstanceUID`)
  END AS `SOPInstanceUID`,
  DATE_ADD(`StudyDate`, dl_shift_days) AS `StudyDate`,
  `SeriesDate`,
  `AcquisitionDate`,
  `ContentDate`,
  CAST(NULL AS TIME) AS `StudyTime`,
  `SeriesTime`,
  `AcquisitionTime`,
  `ContentTime`,
  `AccessionNumber`,
  `Modality`,
  `Manufacturer`,
  `InstitutionName`,
  `InstitutionAddress`,
  CASE
    WHEN `ReferringPhysicianName` IS NULL
    THEN NULL
    ELSE STRUCT(
      STRUCT(
        CAST(NULL AS STRING) AS FamilyName,
        CAST(NULL AS STRING) AS GivenName,
        CAST(NULL AS STRING) AS MiddleName,
        CAST(NULL AS STRING) AS NamePrefix,
        CAST(NULL AS STRING) AS NameSuffix
      ) AS Alphabetic,
      CAST(NULL AS STRUCT<
        FamilyName: STRING,
        GivenName: STRING,
        MiddleName: STRING,
        NamePrefix: STRING,
        NameSuffix: STRING
      >) AS Ideographic,
      CAST(NULL AS STRUCT<
        FamilyName: STRING,
        GivenName: STRING,
        MiddleName: STRING,
        NamePrefix: STRING,
        NameSuffix: STRING
      >) AS Phonetic
    )
  END AS `ReferringPhysicianName`,
  `TimezoneOffsetFromUTC`,
  `StationName`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `StudyDescription`)) AS `StudyDescription`,
  `ProcedureCodeSequence`,
  `SeriesDescription`,
  `InstitutionalDepartmentName`,
  `NameOfPhysiciansReadingStudy`,
  `PhysiciansReadingStudyIdentificationSequence`,
  `OperatorsName`,
  `ManufacturerModelName`,
  `ReferencedImageSequence`,
  `DerivationDescription`,
  CASE
    WHEN `Tag_00091105` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `Tag_00091105`,
      it0 -> STRUCT(
        CASE
          WHEN it0.`Tag_00091003` IS NULL
          THEN NULL
          ELSE TRANSFORM(
            it0.`Tag_00091003`,
            it1 -> STRUCT(
              FILTER(it1.`OtherElements`, e -> TRY_ELEMENT_AT(dl_m_keep, e.Tag)) AS `OtherElements`
            )
          )
        END AS `Tag_00091003`,
        FILTER(it0.`OtherElements`, e -> TRY_ELEMENT_AT(dl_m_keep, e.Tag)) AS `OtherElements`
      )
    )
  END AS `Tag_00091105`,
  CASE
    WHEN `PatientName` IS NULL
    THEN NULL
    ELSE STRUCT(
      STRUCT(
        TRY_ELEMENT_AT(
          dl_m_clean,
          CONCAT(
            'PN',
            CONCAT_WS('^', `PatientName`.Alphabetic.FamilyName, `PatientName`.Alphabetic.GivenName)
          )
        ) AS FamilyName,
        CASE
          WHEN TRY_ELEMENT_AT(
            dl_m_clean,
            CONCAT(
              'PN',
              CONCAT_WS('^', `PatientName`.Alphabetic.FamilyName, `PatientName`.Alphabetic.GivenName)
            )
          ) <> ''
          THEN ''
        END AS GivenName,
        CAST(NULL AS STRING) AS MiddleName,
        CAST(NULL AS STRING) AS NamePrefix,
        CAST(NULL AS STRING) AS NameSuffix
      ) AS Alphabetic,
      CAST(NULL AS STRUCT<
        FamilyName: STRING,
        GivenName: STRING,
        MiddleName: STRING,
        NamePrefix: STRING,
        NameSuffix: STRING
      >) AS Ideographic,
      CAST(NULL AS STRUCT<
        FamilyName: STRING,
        GivenName: STRING,
        MiddleName: STRING,
        NamePrefix: STRING,
        NameSuffix: STRING
      >) AS Phonetic
    )
  END AS `PatientName`,
  CASE WHEN `PatientID` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `PatientID`,
  `PatientBirthDate`,
  `PatientSex`,
  `OtherPatientIDs`,
  CASE
    WHEN `OtherPatientIDsSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `OtherPatientIDsSequence`,
      it0 -> STRUCT(
        CASE WHEN it0.`PatientID` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `PatientID`,
        it0.`IssuerOfPatientID` AS `IssuerOfPatientID`,
        it0.`TypeOfPatientID` AS `TypeOfPatientID`
      )
    )
  END AS `OtherPatientIDsSequence`,
  `PatientAge`,
  `PatientSize`,
  `PatientWeight`,
  `PatientAddress`,
  `PatientTelephoneNumbers`,
  `AdditionalPatientHistory`,
  `PregnancyStatus`,
  `ContrastBolusAgent`,
  `BodyPartExamined`,
  `ScanningSequence`,
  `SequenceVariant`,
  `ScanOptions`,
  `MRAcquisitionType`,
  `SequenceName`,
  `AngioFlag`,
  `SliceThickness`,
  `KVP`,
  `RepetitionTime`,
  `EchoTime`,
  `NumberOfAverages`,
  `ImagingFrequency`,
  `ImagedNucleus`,
  `EchoNumbers`,
  `MagneticFieldStrength`,
  `SpacingBetweenSlices`,
  `NumberOfPhaseEncodingSteps`,
  `DataCollectionDiameter`,
  `EchoTrainLength`,
  `PercentSampling`,
  `PercentPhaseFieldOfView`,
  `PixelBandwidth`,
  `DeviceSerialNumber`,
  `SoftwareVersions`,
  `ProtocolName`,
  `ContrastBolusRoute`,
  `ContrastBolusVolume`,
  `ReconstructionDiameter`,
  `DistanceSourceToDetector`,
  `DistanceSourceToPatient`,
  `GantryDetectorTilt`,
  `TableHeight`,
  `ExposureTime`,
  `XRayTubeCurrent`,
  `Exposure`,
  `FilterType`,
  `FocalSpots`,
  `ConvolutionKernel`,
  `TransmitCoilName`,
  `AcquisitionMatrix`,
  `InPlanePhaseEncodingDirection`,
  `FlipAngle`,
  `VariableFlipAngleFlag`,
  `SAR`,
  `dBdt`,
  `PatientPosition`,
  CASE
    WHEN `StudyInstanceUID` IS NULL
    THEN NULL
    ELSE TRY_ELEMENT_AT(dl_m_uid, `StudyInstanceUID`)
  END AS `StudyInstanceUID`,
  CASE
    WHEN `SeriesInstanceUID` IS NULL
    THEN NULL
    ELSE TRY_ELEMENT_AT(dl_m_uid, `SeriesInstanceUID`)
  END AS `SeriesInstanceUID`,
  `StudyID`,
  `SeriesNumber`,
  `AcquisitionNumber`,
  `InstanceNumber`,
  `ImagePositionPatient`,
  `ImageOrientationPatient`,
  `FrameOfReferenceUID`,
  `Laterality`,
  `PositionReferenceIndicator`,
  `SliceLocation`,
  `ImageComments`,
  `SamplesPerPixel`,
  `PhotometricInterpretation`,
  `Rows`,
  `Columns`,
  `PixelSpacing`,
  `BitsAllocated`,
  `BitsStored`,
  `HighBit`,
  `PixelRepresentation`,
  `PixelPaddingValue`,
  `WindowCenter`,
  `WindowWidth`,
  `RescaleIntercept`,
  `RescaleSlope`,
  `WindowCenterWidthExplanation`,
  `RequestingService`,
  `RequestedProcedureDescription`,
  `StudyComments`,
  `RequestAttributesSequence`,
  `StorageMediaFileSetUID`,
  `IconImageSequence`,
  `RTPlanLabel`,
  `RTPlanName`,
  `RTPlanDate`,
  `RTPlanTime`,
  `RTPlanGeometry`,
  `DoseReferenceSequence`,
  `FractionGroupSequence`,
  `BeamSequence`,
  `PatientSetupSequence`,
  `ReferencedRTPlanSequence`,
  `ReferencedStructureSetSequence`,
  `ApprovalStatus`,
  `OverlayRows`,
  `OverlayColumns`,
  `NumberOfFramesInOverlay`,
  `OverlayDescription`,
  `OverlayType`,
  `OverlayOrigin`,
  `ImageFrameOrigin`,
  `OverlayBitsAllocated`,
  `OverlayBitPosition`,
  FILTER(`OtherElements`, e -> TRY_ELEMENT_AT(dl_m_keep, e.Tag)) AS `OtherElements`,
  'NO' AS `PatientIdentityRemoved`,
  ARRAY(
    'dicomlake KEEP_ALL_PROFILE',
    '3 actions: cleanTextTag, resetTag, removeTag',
    'Retain Longitudinal Temporal Information Modified Dates Option',
    'Retain Patient Characteristics Option',
    'Retain Device Identity Option',
    'Retain Institution Identity Option',
    '55 identifying attributes kept'
  ) AS `DeidentificationMethod`,
  ARRAY(
    STRUCT(
      '113107' AS CodeValue,
      'DCM' AS CodingSchemeDesignator,
      'Retain Longitudinal Temporal Information Modified Dates Option' AS CodeMeaning
    ),
    STRUCT(
      '113108' AS CodeValue,
      'DCM' AS CodingSchemeDesignator,
      'Retain Patient Characteristics Option' AS CodeMeaning
    ),
    STRUCT(
      '113109' AS CodeValue,
      'DCM' AS CodingSchemeDesignator,
      'Retain Device Identity Option' AS CodeMeaning
    ),
    STRUCT(
      '113112' AS CodeValue,
      'DCM' AS CodingSchemeDesignator,
      'Retain Institution Identity Option' AS CodeMeaning
    )
  ) AS `DeidentificationMethodCodeSequence`,
  FILTER(DroppedTags, p -> TRY_ELEMENT_AT(dl_m_keep, p)) AS DroppedTags,
  CAST(NULL AS STRING) AS dl_source,
  CAST(NULL AS BIGINT) AS dl_source_size,
  CAST(NULL AS STRING) AS dl_source_sha256,
  CAST(NULL AS STRING) AS dl_source_version,
  CAST(NOW() AS TIMESTAMP_NTZ) AS dl_ingested_at,
  NULLIF(
    CONCAT(
      COALESCE(FILTER(dl_empty, p -> TRY_ELEMENT_AT(dl_m_keep, p)), ARRAY()),
      CASE
        WHEN NOT `StudyTime` IS NULL OR ARRAY_CONTAINS(dl_empty, 'StudyTime')
        THEN ARRAY('StudyTime')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'StudyDate')
        THEN ARRAY('StudyDate')
        ELSE ARRAY()
      END
    ),
    ARRAY()
  ) AS dl_empty,
  NULLIF(FILTER(dl_raw, r -> TRY_ELEMENT_AT(dl_m_keep, r.Path)), ARRAY()) AS dl_raw,
  dl_src,
  dl_src_size,
  dl_src_sha256,
  dl_src_version,
  dl_row
FROM (
  SELECT
    *,
    DL_UID_MAP(
      CONCAT(
        ARRAY(`MediaStorageSOPInstanceUID`),
        ARRAY(`SOPInstanceUID`),
        ARRAY(`StudyInstanceUID`),
        ARRAY(`SeriesInstanceUID`)
      )
    ) AS dl_m_uid,
    DL_CLEAN_MAP(
      CONCAT(
        ARRAY(CONCAT('LO', `StudyDescription`)),
        ARRAY(
          CONCAT(
            'PN',
            CONCAT_WS('^', `PatientName`.Alphabetic.FamilyName, `PatientName`.Alphabetic.GivenName)
          )
        ),
        ARRAY(
          CONCAT(
            'PN',
            CONCAT_WS('^', `PatientName`.Alphabetic.FamilyName, `PatientName`.Alphabetic.GivenName)
          )
        )
      ),
      dl_context
    ) AS dl_m_clean,
    DL_KEEP_MAP(
      CONCAT(
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `Tag_00091105`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(
                    it0.`Tag_00091003`,
                    it1 -> COALESCE(FLATTEN(TRANSFORM(it1.`OtherElements`, e -> ARRAY(e.Tag))), ARRAY())
                  )
                ),
                ARRAY()
              )
            )
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `Tag_00091105`,
              it0 -> COALESCE(FLATTEN(TRANSFORM(it0.`OtherElements`, e -> ARRAY(e.Tag))), ARRAY())
            )
          ),
          ARRAY()
        ),
        COALESCE(FLATTEN(TRANSFORM(`OtherElements`, e -> ARRAY(e.Tag))), ARRAY()),
        COALESCE(FLATTEN(TRANSFORM(DroppedTags, p -> ARRAY(p))), ARRAY()),
        COALESCE(FLATTEN(TRANSFORM(dl_empty, p -> ARRAY(p))), ARRAY()),
        COALESCE(FLATTEN(TRANSFORM(dl_raw, r -> ARRAY(r.Path))), ARRAY())
      )
    ) AS dl_m_keep,
    DL_SHIFT_DAYS(dl_patient) AS dl_shift_days
  FROM (
    SELECT
      *,
      CAST(TO_JSON(
        STRUCT(
          FLATTEN(
            ARRAY(
              CASE
                WHEN `PatientName` IS NULL
                THEN ARRAY()
                ELSE ARRAY(
                  CONCAT_WS(
                    '^',
                    `PatientName`.Alphabetic.FamilyName,
                    `PatientName`.Alphabetic.GivenName,
                    `PatientName`.Alphabetic.MiddleName
                  )
                )
              END,
              CASE
                WHEN `ReferringPhysicianName` IS NULL
                THEN ARRAY()
                ELSE ARRAY(
                  CONCAT_WS(
                    '^',
                    `ReferringPhysicianName`.Alphabetic.FamilyName,
                    `ReferringPhysicianName`.Alphabetic.GivenName,
                    `ReferringPhysicianName`.Alphabetic.MiddleName
                  )
                )
              END,
              COALESCE(
                TRANSFORM(
                  `NameOfPhysiciansReadingStudy`,
                  x -> CONCAT_WS('^', x.Alphabetic.FamilyName, x.Alphabetic.GivenName, x.Alphabetic.MiddleName)
                ),
                ARRAY()
              ),
              COALESCE(
                TRANSFORM(
                  `OperatorsName`,
                  x -> CONCAT_WS('^', x.Alphabetic.FamilyName, x.Alphabetic.GivenName, x.Alphabetic.MiddleName)
                ),
                ARRAY()
              )
            )
          ) AS n,
          FLATTEN(
            ARRAY(
              CASE
                WHEN `PatientID` IS NULL
                THEN ARRAY()
                ELSE ARRAY(CAST(`PatientID` AS STRING))
              END,
              COALESCE(TRANSFORM(`OtherPatientIDs`, x -> CAST(x AS STRING)), ARRAY()),
              CASE
                WHEN `AccessionNumber` IS NULL
                THEN ARRAY()
                ELSE ARRAY(CAST(`AccessionNumber` AS STRING))
              END,
              CASE WHEN `StudyID` IS NULL THEN ARRAY() ELSE ARRAY(CAST(`StudyID` AS STRING)) END
            )
          ) AS i,
          FLATTEN(
            ARRAY(
              CASE
                WHEN `PatientBirthDate` IS NULL
                THEN ARRAY()
                ELSE ARRAY(DATE_FORMAT(`PatientBirthDate`, 'yyyyMMdd'))
              END
            )
          ) AS d,
          CAST(ARRAY() AS ARRAY<STRING>) AS c,
          FLATTEN(
            ARRAY(
              CASE
                WHEN `InstitutionName` IS NULL
                THEN ARRAY()
                ELSE ARRAY(CAST(`InstitutionName` AS STRING))
              END,
              CASE
                WHEN `InstitutionAddress` IS NULL
                THEN ARRAY()
                ELSE ARRAY(CAST(`InstitutionAddress` AS STRING))
              END,
              CASE
                WHEN `InstitutionalDepartmentName` IS NULL
                THEN ARRAY()
                ELSE ARRAY(CAST(`InstitutionalDepartmentName` AS STRING))
              END,
              CASE
                WHEN `StationName` IS NULL
                THEN ARRAY()
                ELSE ARRAY(CAST(`StationName` AS STRING))
              END,
              CASE
                WHEN `PatientAddress` IS NULL
                THEN ARRAY()
                ELSE ARRAY(CAST(`PatientAddress` AS STRING))
              END
            )
          ) AS p
        )
      ) AS STRING) AS dl_context,
      COALESCE(`PatientID`, `StudyInstanceUID`) AS dl_patient,
      dl_source AS dl_src,
      dl_source_size AS dl_src_size,
      dl_source_sha256 AS dl_src_sha256,
      dl_source_version AS dl_src_version,
      MONOTONICALLY_INCREASING_ID() AS dl_row
    FROM `s`
  ) AS dl_rows
) AS src;
