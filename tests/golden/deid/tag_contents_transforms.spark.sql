-- The de-identification transform on spark of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}, "text": {"additionalTransformations": [{"infoTypes": ["PERSON_NAME"], "replaceWithInfoTypeConfig": {}}, {"dateShiftConfig": {"cryptoKey": "MDEyMzQ1Njc4OWFiY2RlZg=="}, "infoTypes": []}, {"cryptoHashConfig": {"cryptoKey": "MDEyMzQ1Njc4OWFiY2RlZg=="}, "infoTypes": ["US_SOCIAL_SECURITY_NUMBER"]}, {"characterMaskConfig": {"maskingCharacter": "#"}, "infoTypes": ["PHONE_NUMBER"]}]}}
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
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', `ImplementationVersionName`)) AS `ImplementationVersionName`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('AE', `SourceApplicationEntityTitle`)) AS `SourceApplicationEntityTitle`,
  `SpecificCharacterSet`,
  `ImageType`,
  DATE_ADD(`InstanceCreationDate`, dl_shift_days) AS `InstanceCreationDate`,
  `InstanceCreationTime`,
  `InstanceCreatorUID`,
  `SOPClassUID`,
  CASE
    WHEN `SOPInstanceUID` IS NULL
    THEN NULL
    ELSE TRY_ELEMENT_AT(dl_m_uid, `SOPInstanceUID`)
  END AS `SOPInstanceUID`,
  DATE_ADD(`StudyDate`, dl_shift_days) AS `StudyDate`,
  DATE_ADD(`SeriesDate`, dl_shift_days) AS `SeriesDate`,
  DATE_ADD(`AcquisitionDate`, dl_shift_days) AS `AcquisitionDate`,
  DATE_ADD(`ContentDate`, dl_shift_days) AS `ContentDate`,
  `StudyTime`,
  `SeriesTime`,
  `AcquisitionTime`,
  `ContentTime`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', `AccessionNumber`)) AS `AccessionNumber`,
  `Modality`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `Manufacturer`)) AS `Manufacturer`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `InstitutionName`)) AS `InstitutionName`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('ST', `InstitutionAddress`)) AS `InstitutionAddress`,
  CASE
    WHEN `ReferringPhysicianName` IS NULL
    THEN NULL
    ELSE STRUCT(
      STRUCT(
        '[PERSON_NAME]' AS FamilyName,
        CASE WHEN '[PERSON_NAME]' <> '' THEN '' END AS GivenName,
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
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', `TimezoneOffsetFromUTC`)) AS `TimezoneOffsetFromUTC`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', `StationName`)) AS `StationName`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `StudyDescription`)) AS `StudyDescription`,
  CASE
    WHEN `ProcedureCodeSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `ProcedureCodeSequence`,
      it0 -> STRUCT(
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it0.`CodeValue`)) AS `CodeValue`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it0.`CodingSchemeDesignator`)) AS `CodingSchemeDesignator`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`CodeMeaning`)) AS `CodeMeaning`
      )
    )
  END AS `ProcedureCodeSequence`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `SeriesDescription`)) AS `SeriesDescription`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `InstitutionalDepartmentName`)) AS `InstitutionalDepartmentName`,
  CASE
    WHEN `NameOfPhysiciansReadingStudy` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `NameOfPhysiciansReadingStudy`,
      p -> STRUCT(
        STRUCT(
          '[PERSON_NAME]' AS FamilyName,
          CASE WHEN '[PERSON_NAME]' <> '' THEN '' END AS GivenName,
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
    )
  END AS `NameOfPhysiciansReadingStudy`,
  CASE
    WHEN `PhysiciansReadingStudyIdentificationSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `PhysiciansReadingStudyIdentificationSequence`,
      it0 -> STRUCT(
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`InstitutionName`)) AS `InstitutionName`,
        CASE
          WHEN it0.`PersonIdentificationCodeSequence` IS NULL
          THEN NULL
          ELSE TRANSFORM(
            it0.`PersonIdentificationCodeSequence`,
            it1 -> STRUCT(
              TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it1.`CodeValue`)) AS `CodeValue`,
              TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it1.`CodingSchemeDesignator`)) AS `CodingSchemeDesignator`,
              TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it1.`CodeMeaning`)) AS `CodeMeaning`
            )
          )
        END AS `PersonIdentificationCodeSequence`,
        TRANSFORM(it0.`PersonTelephoneNumbers`, s -> TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', s))) AS `PersonTelephoneNumbers`,
        CASE
          WHEN it0.`PersonName` IS NULL
          THEN NULL
          ELSE STRUCT(
            STRUCT(
              '[PERSON_NAME]' AS FamilyName,
              CASE WHEN '[PERSON_NAME]' <> '' THEN '' END AS GivenName,
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
        END AS `PersonName`
      )
    )
  END AS `PhysiciansReadingStudyIdentificationSequence`,
  CASE
    WHEN `OperatorsName` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `OperatorsName`,
      p -> STRUCT(
        STRUCT(
          '[PERSON_NAME]' AS FamilyName,
          CASE WHEN '[PERSON_NAME]' <> '' THEN '' END AS GivenName,
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
    )
  END AS `OperatorsName`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `ManufacturerModelName`)) AS `ManufacturerModelName`,
  CASE
    WHEN `ReferencedImageSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `ReferencedImageSequence`,
      it0 -> STRUCT(
        it0.`ReferencedSOPClassUID` AS `ReferencedSOPClassUID`,
        it0.`ReferencedSOPInstanceUID` AS `ReferencedSOPInstanceUID`,
        CASE
          WHEN it0.`PurposeOfReferenceCodeSequence` IS NULL
          THEN NULL
          ELSE TRANSFORM(
            it0.`PurposeOfReferenceCodeSequence`,
            it1 -> STRUCT(
              TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it1.`CodeValue`)) AS `CodeValue`,
              TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it1.`CodingSchemeDesignator`)) AS `CodingSchemeDesignator`,
              TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it1.`CodeMeaning`)) AS `CodeMeaning`
            )
          )
        END AS `PurposeOfReferenceCodeSequence`
      )
    )
  END AS `ReferencedImageSequence`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('ST', `DerivationDescription`)) AS `DerivationDescription`,
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
              FILTER(
                TRANSFORM(
                  it1.`OtherElements`,
                  pe -> CASE
                    WHEN TRY_ELEMENT_AT(dl_m_keep, pe.Tag)
                    THEN CASE
                      WHEN SUBSTRING(pe.Tag, 9, 2) = '00'
                      THEN pe
                      ELSE STRUCT(
                        pe.Tag AS Tag,
                        TRANSFORM(pe.Data, pv -> TRY_ELEMENT_AT(dl_m_clean, CONCAT('UT', pv))) AS Data
                      )
                    END
                    ELSE NULL
                  END
                ),
                pk -> NOT pk IS NULL
              ) AS `OtherElements`
            )
          )
        END AS `Tag_00091003`,
        FILTER(
          TRANSFORM(
            it0.`OtherElements`,
            pe -> CASE
              WHEN TRY_ELEMENT_AT(dl_m_keep, pe.Tag)
              THEN CASE
                WHEN SUBSTRING(pe.Tag, 9, 2) = '00'
                THEN pe
                ELSE STRUCT(
                  pe.Tag AS Tag,
                  TRANSFORM(pe.Data, pv -> TRY_ELEMENT_AT(dl_m_clean, CONCAT('UT', pv))) AS Data
                )
              END
              ELSE NULL
            END
          ),
          pk -> NOT pk IS NULL
        ) AS `OtherElements`
      )
    )
  END AS `Tag_00091105`,
  CASE
    WHEN `PatientName` IS NULL
    THEN NULL
    ELSE STRUCT(
      STRUCT(
        '[PERSON_NAME]' AS FamilyName,
        CASE WHEN '[PERSON_NAME]' <> '' THEN '' END AS GivenName,
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
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `PatientID`)) AS `PatientID`,
  DATE_ADD(`PatientBirthDate`, dl_shift_days) AS `PatientBirthDate`,
  `PatientSex`,
  TRANSFORM(`OtherPatientIDs`, s -> TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', s))) AS `OtherPatientIDs`,
  CASE
    WHEN `OtherPatientIDsSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `OtherPatientIDsSequence`,
      it0 -> STRUCT(
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`PatientID`)) AS `PatientID`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`IssuerOfPatientID`)) AS `IssuerOfPatientID`,
        it0.`TypeOfPatientID` AS `TypeOfPatientID`
      )
    )
  END AS `OtherPatientIDsSequence`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('AS', `PatientAge`)) AS `PatientAge`,
  `PatientSize`,
  `PatientWeight`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `PatientAddress`)) AS `PatientAddress`,
  TRANSFORM(`PatientTelephoneNumbers`, s -> TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', s))) AS `PatientTelephoneNumbers`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LT', `AdditionalPatientHistory`)) AS `AdditionalPatientHistory`,
  `PregnancyStatus`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `ContrastBolusAgent`)) AS `ContrastBolusAgent`,
  `BodyPartExamined`,
  `ScanningSequence`,
  `SequenceVariant`,
  `ScanOptions`,
  `MRAcquisitionType`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', `SequenceName`)) AS `SequenceName`,
  `AngioFlag`,
  `SliceThickness`,
  `KVP`,
  `RepetitionTime`,
  `EchoTime`,
  `NumberOfAverages`,
  `ImagingFrequency`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', `ImagedNucleus`)) AS `ImagedNucleus`,
  `EchoNumbers`,
  `MagneticFieldStrength`,
  `SpacingBetweenSlices`,
  `NumberOfPhaseEncodingSteps`,
  `DataCollectionDiameter`,
  `EchoTrainLength`,
  `PercentSampling`,
  `PercentPhaseFieldOfView`,
  `PixelBandwidth`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `DeviceSerialNumber`)) AS `DeviceSerialNumber`,
  TRANSFORM(`SoftwareVersions`, s -> TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', s))) AS `SoftwareVersions`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `ProtocolName`)) AS `ProtocolName`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `ContrastBolusRoute`)) AS `ContrastBolusRoute`,
  `ContrastBolusVolume`,
  `ReconstructionDiameter`,
  `DistanceSourceToDetector`,
  `DistanceSourceToPatient`,
  `GantryDetectorTilt`,
  `TableHeight`,
  `ExposureTime`,
  `XRayTubeCurrent`,
  `Exposure`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', `FilterType`)) AS `FilterType`,
  `FocalSpots`,
  TRANSFORM(`ConvolutionKernel`, s -> TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', s))) AS `ConvolutionKernel`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', `TransmitCoilName`)) AS `TransmitCoilName`,
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
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', `StudyID`)) AS `StudyID`,
  `SeriesNumber`,
  `AcquisitionNumber`,
  `InstanceNumber`,
  `ImagePositionPatient`,
  `ImageOrientationPatient`,
  `FrameOfReferenceUID`,
  `Laterality`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `PositionReferenceIndicator`)) AS `PositionReferenceIndicator`,
  `SliceLocation`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LT', `ImageComments`)) AS `ImageComments`,
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
  TRANSFORM(`WindowCenterWidthExplanation`, s -> TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', s))) AS `WindowCenterWidthExplanation`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `RequestingService`)) AS `RequestingService`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `RequestedProcedureDescription`)) AS `RequestedProcedureDescription`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LT', `StudyComments`)) AS `StudyComments`,
  CASE
    WHEN `RequestAttributesSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `RequestAttributesSequence`,
      it0 -> STRUCT(
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it0.`AccessionNumber`)) AS `AccessionNumber`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`RequestedProcedureDescription`)) AS `RequestedProcedureDescription`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`ScheduledProcedureStepDescription`)) AS `ScheduledProcedureStepDescription`,
        CASE
          WHEN it0.`ScheduledProtocolCodeSequence` IS NULL
          THEN NULL
          ELSE TRANSFORM(
            it0.`ScheduledProtocolCodeSequence`,
            it1 -> STRUCT(
              TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it1.`CodeValue`)) AS `CodeValue`,
              TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it1.`CodingSchemeDesignator`)) AS `CodingSchemeDesignator`,
              TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it1.`CodingSchemeVersion`)) AS `CodingSchemeVersion`,
              TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it1.`CodeMeaning`)) AS `CodeMeaning`
            )
          )
        END AS `ScheduledProtocolCodeSequence`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it0.`ScheduledProcedureStepID`)) AS `ScheduledProcedureStepID`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it0.`RequestedProcedureID`)) AS `RequestedProcedureID`
      )
    )
  END AS `RequestAttributesSequence`,
  `StorageMediaFileSetUID`,
  `IconImageSequence`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', `RTPlanLabel`)) AS `RTPlanLabel`,
  TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', `RTPlanName`)) AS `RTPlanName`,
  DATE_ADD(`RTPlanDate`, dl_shift_days) AS `RTPlanDate`,
  `RTPlanTime`,
  `RTPlanGeometry`,
  CASE
    WHEN `DoseReferenceSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `DoseReferenceSequence`,
      it0 -> STRUCT(
        it0.`DoseReferenceNumber` AS `DoseReferenceNumber`,
        it0.`DoseReferenceStructureType` AS `DoseReferenceStructureType`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`DoseReferenceDescription`)) AS `DoseReferenceDescription`,
        it0.`DoseReferencePointCoordinates` AS `DoseReferencePointCoordinates`,
        it0.`DoseReferenceType` AS `DoseReferenceType`,
        it0.`DeliveryMaximumDose` AS `DeliveryMaximumDose`,
        it0.`TargetPrescriptionDose` AS `TargetPrescriptionDose`,
        it0.`OrganAtRiskMaximumDose` AS `OrganAtRiskMaximumDose`
      )
    )
  END AS `DoseReferenceSequence`,
  `FractionGroupSequence`,
  CASE
    WHEN `BeamSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `BeamSequence`,
      it0 -> STRUCT(
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`Manufacturer`)) AS `Manufacturer`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`InstitutionName`)) AS `InstitutionName`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`InstitutionalDepartmentName`)) AS `InstitutionalDepartmentName`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`ManufacturerModelName`)) AS `ManufacturerModelName`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`DeviceSerialNumber`)) AS `DeviceSerialNumber`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('SH', it0.`TreatmentMachineName`)) AS `TreatmentMachineName`,
        it0.`PrimaryDosimeterUnit` AS `PrimaryDosimeterUnit`,
        it0.`SourceAxisDistance` AS `SourceAxisDistance`,
        it0.`BeamLimitingDeviceSequence` AS `BeamLimitingDeviceSequence`,
        it0.`BeamNumber` AS `BeamNumber`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', it0.`BeamName`)) AS `BeamName`,
        it0.`BeamType` AS `BeamType`,
        it0.`RadiationType` AS `RadiationType`,
        it0.`TreatmentDeliveryType` AS `TreatmentDeliveryType`,
        it0.`NumberOfWedges` AS `NumberOfWedges`,
        it0.`NumberOfCompensators` AS `NumberOfCompensators`,
        it0.`NumberOfBoli` AS `NumberOfBoli`,
        it0.`NumberOfBlocks` AS `NumberOfBlocks`,
        it0.`FinalCumulativeMetersetWeight` AS `FinalCumulativeMetersetWeight`,
        it0.`NumberOfControlPoints` AS `NumberOfControlPoints`,
        it0.`ControlPointSequence` AS `ControlPointSequence`,
        it0.`ReferencedPatientSetupNumber` AS `ReferencedPatientSetupNumber`
      )
    )
  END AS `BeamSequence`,
  CASE
    WHEN `PatientSetupSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `PatientSetupSequence`,
      it0 -> STRUCT(
        it0.`PatientPosition` AS `PatientPosition`,
        it0.`PatientSetupNumber` AS `PatientSetupNumber`,
        TRY_ELEMENT_AT(dl_m_clean, CONCAT('ST', it0.`SetupTechniqueDescription`)) AS `SetupTechniqueDescription`
      )
    )
  END AS `PatientSetupSequence`,
  `ReferencedRTPlanSequence`,
  `ReferencedStructureSetSequence`,
  `ApprovalStatus`,
  `OverlayRows`,
  `OverlayColumns`,
  `NumberOfFramesInOverlay`,
  CASE
    WHEN `OverlayDescription` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `OverlayDescription`,
      g -> STRUCT(g.`Id` AS `Id`, TRY_ELEMENT_AT(dl_m_clean, CONCAT('LO', g.`Value`)) AS `Value`)
    )
  END AS `OverlayDescription`,
  `OverlayType`,
  `OverlayOrigin`,
  `ImageFrameOrigin`,
  `OverlayBitsAllocated`,
  `OverlayBitPosition`,
  FILTER(
    TRANSFORM(
      `OtherElements`,
      pe -> CASE
        WHEN TRY_ELEMENT_AT(dl_m_keep, pe.Tag)
        THEN CASE
          WHEN SUBSTRING(pe.Tag, 9, 2) = '00'
          THEN pe
          ELSE STRUCT(
            pe.Tag AS Tag,
            TRANSFORM(pe.Data, pv -> TRY_ELEMENT_AT(dl_m_clean, CONCAT('UT', pv))) AS Data
          )
        END
        ELSE NULL
      END
    ),
    pk -> NOT pk IS NULL
  ) AS `OtherElements`,
  'NO' AS `PatientIdentityRemoved`,
  ARRAY(
    'dicomlake DEIDENTIFY_TAG_CONTENTS',
    'Retain Longitudinal Temporal Information Modified Dates Option',
    'Retain Patient Characteristics Option',
    '60 identifying attributes kept'
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
        WHEN ARRAY_CONTAINS(dl_empty, 'InstanceCreationDate')
        THEN ARRAY('InstanceCreationDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'StudyDate')
        THEN ARRAY('StudyDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'SeriesDate')
        THEN ARRAY('SeriesDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'AcquisitionDate')
        THEN ARRAY('AcquisitionDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'ContentDate')
        THEN ARRAY('ContentDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'PatientBirthDate')
        THEN ARRAY('PatientBirthDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'RTPlanDate')
        THEN ARRAY('RTPlanDate')
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
        ARRAY(CONCAT('SH', `ImplementationVersionName`)),
        ARRAY(CONCAT('AE', `SourceApplicationEntityTitle`)),
        ARRAY(CONCAT('SH', `AccessionNumber`)),
        ARRAY(CONCAT('LO', `Manufacturer`)),
        ARRAY(CONCAT('LO', `InstitutionName`)),
        ARRAY(CONCAT('ST', `InstitutionAddress`)),
        ARRAY(CONCAT('SH', `TimezoneOffsetFromUTC`)),
        ARRAY(CONCAT('SH', `StationName`)),
        ARRAY(CONCAT('LO', `StudyDescription`)),
        COALESCE(
          FLATTEN(TRANSFORM(`ProcedureCodeSequence`, it0 -> ARRAY(CONCAT('SH', it0.`CodeValue`)))),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(`ProcedureCodeSequence`, it0 -> ARRAY(CONCAT('SH', it0.`CodingSchemeDesignator`)))
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(`ProcedureCodeSequence`, it0 -> ARRAY(CONCAT('LO', it0.`CodeMeaning`)))
          ),
          ARRAY()
        ),
        ARRAY(CONCAT('LO', `SeriesDescription`)),
        ARRAY(CONCAT('LO', `InstitutionalDepartmentName`)),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `PhysiciansReadingStudyIdentificationSequence`,
              it0 -> ARRAY(CONCAT('LO', it0.`InstitutionName`))
            )
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `PhysiciansReadingStudyIdentificationSequence`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(
                    it0.`PersonIdentificationCodeSequence`,
                    it1 -> ARRAY(CONCAT('SH', it1.`CodeValue`))
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
              `PhysiciansReadingStudyIdentificationSequence`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(
                    it0.`PersonIdentificationCodeSequence`,
                    it1 -> ARRAY(CONCAT('SH', it1.`CodingSchemeDesignator`))
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
              `PhysiciansReadingStudyIdentificationSequence`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(
                    it0.`PersonIdentificationCodeSequence`,
                    it1 -> ARRAY(CONCAT('LO', it1.`CodeMeaning`))
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
              `PhysiciansReadingStudyIdentificationSequence`,
              it0 -> COALESCE(
                FLATTEN(TRANSFORM(it0.`PersonTelephoneNumbers`, s -> ARRAY(CONCAT('LO', s)))),
                ARRAY()
              )
            )
          ),
          ARRAY()
        ),
        ARRAY(CONCAT('LO', `ManufacturerModelName`)),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `ReferencedImageSequence`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(it0.`PurposeOfReferenceCodeSequence`, it1 -> ARRAY(CONCAT('SH', it1.`CodeValue`)))
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
              `ReferencedImageSequence`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(
                    it0.`PurposeOfReferenceCodeSequence`,
                    it1 -> ARRAY(CONCAT('SH', it1.`CodingSchemeDesignator`))
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
              `ReferencedImageSequence`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(
                    it0.`PurposeOfReferenceCodeSequence`,
                    it1 -> ARRAY(CONCAT('LO', it1.`CodeMeaning`))
                  )
                ),
                ARRAY()
              )
            )
          ),
          ARRAY()
        ),
        ARRAY(CONCAT('ST', `DerivationDescription`)),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `Tag_00091105`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(
                    it0.`Tag_00091003`,
                    it1 -> COALESCE(
                      FLATTEN(
                        TRANSFORM(
                          it1.`OtherElements`,
                          pe -> COALESCE(FLATTEN(TRANSFORM(pe.Data, pv -> ARRAY(CONCAT('UT', pv)))), ARRAY())
                        )
                      ),
                      ARRAY()
                    )
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
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(
                    it0.`OtherElements`,
                    pe -> COALESCE(FLATTEN(TRANSFORM(pe.Data, pv -> ARRAY(CONCAT('UT', pv)))), ARRAY())
                  )
                ),
                ARRAY()
              )
            )
          ),
          ARRAY()
        ),
        ARRAY(CONCAT('LO', `PatientID`)),
        COALESCE(FLATTEN(TRANSFORM(`OtherPatientIDs`, s -> ARRAY(CONCAT('LO', s)))), ARRAY()),
        COALESCE(
          FLATTEN(
            TRANSFORM(`OtherPatientIDsSequence`, it0 -> ARRAY(CONCAT('LO', it0.`PatientID`)))
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(`OtherPatientIDsSequence`, it0 -> ARRAY(CONCAT('LO', it0.`IssuerOfPatientID`)))
          ),
          ARRAY()
        ),
        ARRAY(CONCAT('AS', `PatientAge`)),
        ARRAY(CONCAT('LO', `PatientAddress`)),
        COALESCE(
          FLATTEN(TRANSFORM(`PatientTelephoneNumbers`, s -> ARRAY(CONCAT('SH', s)))),
          ARRAY()
        ),
        ARRAY(CONCAT('LT', `AdditionalPatientHistory`)),
        ARRAY(CONCAT('LO', `ContrastBolusAgent`)),
        ARRAY(CONCAT('SH', `SequenceName`)),
        ARRAY(CONCAT('SH', `ImagedNucleus`)),
        ARRAY(CONCAT('LO', `DeviceSerialNumber`)),
        COALESCE(FLATTEN(TRANSFORM(`SoftwareVersions`, s -> ARRAY(CONCAT('LO', s)))), ARRAY()),
        ARRAY(CONCAT('LO', `ProtocolName`)),
        ARRAY(CONCAT('LO', `ContrastBolusRoute`)),
        ARRAY(CONCAT('SH', `FilterType`)),
        COALESCE(FLATTEN(TRANSFORM(`ConvolutionKernel`, s -> ARRAY(CONCAT('SH', s)))), ARRAY()),
        ARRAY(CONCAT('SH', `TransmitCoilName`)),
        ARRAY(CONCAT('SH', `StudyID`)),
        ARRAY(CONCAT('LO', `PositionReferenceIndicator`)),
        ARRAY(CONCAT('LT', `ImageComments`)),
        COALESCE(
          FLATTEN(TRANSFORM(`WindowCenterWidthExplanation`, s -> ARRAY(CONCAT('LO', s)))),
          ARRAY()
        ),
        ARRAY(CONCAT('LO', `RequestingService`)),
        ARRAY(CONCAT('LO', `RequestedProcedureDescription`)),
        ARRAY(CONCAT('LT', `StudyComments`)),
        COALESCE(
          FLATTEN(
            TRANSFORM(`RequestAttributesSequence`, it0 -> ARRAY(CONCAT('SH', it0.`AccessionNumber`)))
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `RequestAttributesSequence`,
              it0 -> ARRAY(CONCAT('LO', it0.`RequestedProcedureDescription`))
            )
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `RequestAttributesSequence`,
              it0 -> ARRAY(CONCAT('LO', it0.`ScheduledProcedureStepDescription`))
            )
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `RequestAttributesSequence`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(it0.`ScheduledProtocolCodeSequence`, it1 -> ARRAY(CONCAT('SH', it1.`CodeValue`)))
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
              `RequestAttributesSequence`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(
                    it0.`ScheduledProtocolCodeSequence`,
                    it1 -> ARRAY(CONCAT('SH', it1.`CodingSchemeDesignator`))
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
              `RequestAttributesSequence`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(
                    it0.`ScheduledProtocolCodeSequence`,
                    it1 -> ARRAY(CONCAT('SH', it1.`CodingSchemeVersion`))
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
              `RequestAttributesSequence`,
              it0 -> COALESCE(
                FLATTEN(
                  TRANSFORM(it0.`ScheduledProtocolCodeSequence`, it1 -> ARRAY(CONCAT('LO', it1.`CodeMeaning`)))
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
              `RequestAttributesSequence`,
              it0 -> ARRAY(CONCAT('SH', it0.`ScheduledProcedureStepID`))
            )
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `RequestAttributesSequence`,
              it0 -> ARRAY(CONCAT('SH', it0.`RequestedProcedureID`))
            )
          ),
          ARRAY()
        ),
        ARRAY(CONCAT('SH', `RTPlanLabel`)),
        ARRAY(CONCAT('LO', `RTPlanName`)),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `DoseReferenceSequence`,
              it0 -> ARRAY(CONCAT('LO', it0.`DoseReferenceDescription`))
            )
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(TRANSFORM(`BeamSequence`, it0 -> ARRAY(CONCAT('LO', it0.`Manufacturer`)))),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(TRANSFORM(`BeamSequence`, it0 -> ARRAY(CONCAT('LO', it0.`InstitutionName`)))),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(`BeamSequence`, it0 -> ARRAY(CONCAT('LO', it0.`InstitutionalDepartmentName`)))
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(`BeamSequence`, it0 -> ARRAY(CONCAT('LO', it0.`ManufacturerModelName`)))
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(TRANSFORM(`BeamSequence`, it0 -> ARRAY(CONCAT('LO', it0.`DeviceSerialNumber`)))),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(`BeamSequence`, it0 -> ARRAY(CONCAT('SH', it0.`TreatmentMachineName`)))
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(TRANSFORM(`BeamSequence`, it0 -> ARRAY(CONCAT('LO', it0.`BeamName`)))),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `PatientSetupSequence`,
              it0 -> ARRAY(CONCAT('ST', it0.`SetupTechniqueDescription`))
            )
          ),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(TRANSFORM(`OverlayDescription`, g -> ARRAY(CONCAT('LO', g.`Value`)))),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(
              `OtherElements`,
              pe -> COALESCE(FLATTEN(TRANSFORM(pe.Data, pv -> ARRAY(CONCAT('UT', pv)))), ARRAY())
            )
          ),
          ARRAY()
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
                    it1 -> COALESCE(FLATTEN(TRANSFORM(it1.`OtherElements`, pe -> ARRAY(pe.Tag))), ARRAY())
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
              it0 -> COALESCE(FLATTEN(TRANSFORM(it0.`OtherElements`, pe -> ARRAY(pe.Tag))), ARRAY())
            )
          ),
          ARRAY()
        ),
        COALESCE(FLATTEN(TRANSFORM(`OtherElements`, pe -> ARRAY(pe.Tag))), ARRAY()),
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
