-- The de-identification transform on spark of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicomTagConfig": {"actions": [{"queries": ["StudyInstanceUID", "SOPInstanceUID", "ReferencedSOPInstanceUID"], "regenUidTag": {}}], "profileType": "KEEP_ALL_PROFILE"}}
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
  `StudyDate`,
  `SeriesDate`,
  `AcquisitionDate`,
  `ContentDate`,
  `StudyTime`,
  `SeriesTime`,
  `AcquisitionTime`,
  `ContentTime`,
  `AccessionNumber`,
  `Modality`,
  `Manufacturer`,
  `InstitutionName`,
  `InstitutionAddress`,
  `ReferringPhysicianName`,
  `TimezoneOffsetFromUTC`,
  `StationName`,
  `StudyDescription`,
  `ProcedureCodeSequence`,
  `SeriesDescription`,
  `InstitutionalDepartmentName`,
  `NameOfPhysiciansReadingStudy`,
  `PhysiciansReadingStudyIdentificationSequence`,
  `OperatorsName`,
  `ManufacturerModelName`,
  CASE
    WHEN `ReferencedImageSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `ReferencedImageSequence`,
      it0 -> STRUCT(
        it0.`ReferencedSOPClassUID` AS `ReferencedSOPClassUID`,
        CASE
          WHEN it0.`ReferencedSOPInstanceUID` IS NULL
          THEN NULL
          ELSE TRY_ELEMENT_AT(dl_m_uid, it0.`ReferencedSOPInstanceUID`)
        END AS `ReferencedSOPInstanceUID`,
        it0.`PurposeOfReferenceCodeSequence` AS `PurposeOfReferenceCodeSequence`
      )
    )
  END AS `ReferencedImageSequence`,
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
  `PatientName`,
  `PatientID`,
  `PatientBirthDate`,
  `PatientSex`,
  `OtherPatientIDs`,
  `OtherPatientIDsSequence`,
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
  CASE
    WHEN `ReferencedRTPlanSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `ReferencedRTPlanSequence`,
      it0 -> STRUCT(
        it0.`ReferencedSOPClassUID` AS `ReferencedSOPClassUID`,
        CASE
          WHEN it0.`ReferencedSOPInstanceUID` IS NULL
          THEN NULL
          ELSE TRY_ELEMENT_AT(dl_m_uid, it0.`ReferencedSOPInstanceUID`)
        END AS `ReferencedSOPInstanceUID`,
        it0.`RTPlanRelationship` AS `RTPlanRelationship`
      )
    )
  END AS `ReferencedRTPlanSequence`,
  CASE
    WHEN `ReferencedStructureSetSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `ReferencedStructureSetSequence`,
      it0 -> STRUCT(
        it0.`ReferencedSOPClassUID` AS `ReferencedSOPClassUID`,
        CASE
          WHEN it0.`ReferencedSOPInstanceUID` IS NULL
          THEN NULL
          ELSE TRY_ELEMENT_AT(dl_m_uid, it0.`ReferencedSOPInstanceUID`)
        END AS `ReferencedSOPInstanceUID`
      )
    )
  END AS `ReferencedStructureSetSequence`,
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
    '1 actions: regenUidTag',
    'Retain Longitudinal Temporal Information Full Dates Option',
    'Retain Patient Characteristics Option',
    'Retain Device Identity Option',
    'Retain Institution Identity Option',
    '45 identifying attributes kept'
  ) AS `DeidentificationMethod`,
  ARRAY(
    STRUCT(
      '113106' AS CodeValue,
      'DCM' AS CodingSchemeDesignator,
      'Retain Longitudinal Temporal Information Full Dates Option' AS CodeMeaning
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
  NULLIF(FILTER(dl_empty, p -> TRY_ELEMENT_AT(dl_m_keep, p)), ARRAY()) AS dl_empty,
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
        COALESCE(
          FLATTEN(
            TRANSFORM(`ReferencedImageSequence`, it0 -> ARRAY(it0.`ReferencedSOPInstanceUID`))
          ),
          ARRAY()
        ),
        ARRAY(`StudyInstanceUID`),
        ARRAY(`SeriesInstanceUID`),
        COALESCE(
          FLATTEN(
            TRANSFORM(`ReferencedRTPlanSequence`, it0 -> ARRAY(it0.`ReferencedSOPInstanceUID`))
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(`ReferencedStructureSetSequence`, it0 -> ARRAY(it0.`ReferencedSOPInstanceUID`))
          ),
          ARRAY()
        )
      )
    ) AS dl_m_uid,
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
    ) AS dl_m_keep
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
