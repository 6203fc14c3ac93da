-- The de-identification transform on spark of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicom": {"skipIdRedaction": true}}
-- regenerate: pytest tests/test_deid_sql.py --update-golden
SELECT
  `MediaStorageSOPClassUID`,
  `MediaStorageSOPInstanceUID`,
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
  `SOPInstanceUID`,
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
  `ReferencedImageSequence`,
  `DerivationDescription`,
  `Tag_00091105`,
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
  `StudyInstanceUID`,
  `SeriesInstanceUID`,
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
  `OtherElements`,
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
    DL_KEEP_MAP(
      CONCAT(
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
