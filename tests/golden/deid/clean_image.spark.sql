-- The de-identification transform on spark of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT_CLEAN_DESCRIPTORS"}}}}
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
  CASE
    WHEN `InstanceCreationDate` IS NULL
    THEN NULL
    ELSE CAST('1900-01-01' AS DATE)
  END AS `InstanceCreationDate`,
  CASE WHEN `InstanceCreationTime` IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS `InstanceCreationTime`,
  CASE
    WHEN `InstanceCreatorUID` IS NULL
    THEN NULL
    ELSE TRY_ELEMENT_AT(dl_m_uid, `InstanceCreatorUID`)
  END AS `InstanceCreatorUID`,
  `SOPClassUID`,
  CASE
    WHEN `SOPInstanceUID` IS NULL
    THEN NULL
    ELSE TRY_ELEMENT_AT(dl_m_uid, `SOPInstanceUID`)
  END AS `SOPInstanceUID`,
  CAST(NULL AS DATE) AS `StudyDate`,
  CASE WHEN `SeriesDate` IS NULL THEN NULL ELSE CAST('1900-01-01' AS DATE) END AS `SeriesDate`,
  CAST(NULL AS DATE) AS `AcquisitionDate`,
  CASE WHEN `ContentDate` IS NULL THEN NULL ELSE CAST('1900-01-01' AS DATE) END AS `ContentDate`,
  CAST(NULL AS TIME) AS `StudyTime`,
  CASE WHEN `SeriesTime` IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS `SeriesTime`,
  CAST(NULL AS TIME) AS `AcquisitionTime`,
  CASE WHEN `ContentTime` IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS `ContentTime`,
  CASE WHEN `AccessionNumber` IS NULL THEN NULL ELSE '' END AS `AccessionNumber`,
  `Modality`,
  `Manufacturer`,
  CASE WHEN `InstitutionName` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `InstitutionName`,
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
  CASE WHEN `StationName` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `StationName`,
  `ProcedureCodeSequence`,
  CASE
    WHEN `OperatorsName` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `OperatorsName`,
      x -> STRUCT(
        STRUCT(
          'PLACEHOLDER' AS FamilyName,
          CASE WHEN 'PLACEHOLDER' <> '' THEN '' END AS GivenName,
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
  CASE
    WHEN `PatientName` IS NULL
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
  END AS `PatientName`,
  CASE WHEN `PatientID` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `PatientID`,
  CAST(NULL AS DATE) AS `PatientBirthDate`,
  CASE WHEN `PatientSex` IS NULL THEN NULL ELSE '' END AS `PatientSex`,
  CASE WHEN `ContrastBolusAgent` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `ContrastBolusAgent`,
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
  CASE WHEN `DeviceSerialNumber` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `DeviceSerialNumber`,
  `SoftwareVersions`,
  CASE WHEN `ProtocolName` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `ProtocolName`,
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
  CASE WHEN `StudyID` IS NULL THEN NULL ELSE '' END AS `StudyID`,
  `SeriesNumber`,
  `AcquisitionNumber`,
  `InstanceNumber`,
  `ImagePositionPatient`,
  `ImageOrientationPatient`,
  CASE
    WHEN `FrameOfReferenceUID` IS NULL
    THEN NULL
    ELSE TRY_ELEMENT_AT(dl_m_uid, `FrameOfReferenceUID`)
  END AS `FrameOfReferenceUID`,
  `Laterality`,
  `PositionReferenceIndicator`,
  `SliceLocation`,
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
  CASE WHEN `RequestedProcedureDescription` IS NULL THEN NULL ELSE '' END AS `RequestedProcedureDescription`,
  CASE
    WHEN `StorageMediaFileSetUID` IS NULL
    THEN NULL
    ELSE TRY_ELEMENT_AT(dl_m_uid, `StorageMediaFileSetUID`)
  END AS `StorageMediaFileSetUID`,
  CASE WHEN `RTPlanLabel` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `RTPlanLabel`,
  CASE WHEN `RTPlanDate` IS NULL THEN NULL ELSE CAST('1900-01-01' AS DATE) END AS `RTPlanDate`,
  CASE WHEN `RTPlanTime` IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS `RTPlanTime`,
  `RTPlanGeometry`,
  CASE
    WHEN `DoseReferenceSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `DoseReferenceSequence`,
      it0 -> STRUCT(
        it0.`DoseReferenceNumber` AS `DoseReferenceNumber`,
        it0.`DoseReferenceStructureType` AS `DoseReferenceStructureType`,
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
        it0.`Manufacturer` AS `Manufacturer`,
        CASE WHEN it0.`InstitutionName` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `InstitutionName`,
        it0.`ManufacturerModelName` AS `ManufacturerModelName`,
        CASE WHEN it0.`DeviceSerialNumber` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `DeviceSerialNumber`,
        CASE WHEN it0.`TreatmentMachineName` IS NULL THEN NULL ELSE '' END AS `TreatmentMachineName`,
        it0.`PrimaryDosimeterUnit` AS `PrimaryDosimeterUnit`,
        it0.`SourceAxisDistance` AS `SourceAxisDistance`,
        it0.`BeamLimitingDeviceSequence` AS `BeamLimitingDeviceSequence`,
        it0.`BeamNumber` AS `BeamNumber`,
        it0.`BeamName` AS `BeamName`,
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
        it0.`PatientSetupNumber` AS `PatientSetupNumber`
      )
    )
  END AS `PatientSetupSequence`,
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
  'YES' AS `PatientIdentityRemoved`,
  ARRAY(
    'dicomlake ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE',
    'Basic Application Confidentiality Profile'
  ) AS `DeidentificationMethod`,
  ARRAY(
    STRUCT(
      '113100' AS CodeValue,
      'DCM' AS CodingSchemeDesignator,
      'Basic Application Confidentiality Profile' AS CodeMeaning
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
        WHEN NOT `StudyDate` IS NULL OR ARRAY_CONTAINS(dl_empty, 'StudyDate')
        THEN ARRAY('StudyDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN NOT `AcquisitionDate` IS NULL OR ARRAY_CONTAINS(dl_empty, 'AcquisitionDate')
        THEN ARRAY('AcquisitionDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN NOT `StudyTime` IS NULL OR ARRAY_CONTAINS(dl_empty, 'StudyTime')
        THEN ARRAY('StudyTime')
        ELSE ARRAY()
      END,
      CASE
        WHEN NOT `AcquisitionTime` IS NULL OR ARRAY_CONTAINS(dl_empty, 'AcquisitionTime')
        THEN ARRAY('AcquisitionTime')
        ELSE ARRAY()
      END,
      CASE
        WHEN NOT `PatientBirthDate` IS NULL OR ARRAY_CONTAINS(dl_empty, 'PatientBirthDate')
        THEN ARRAY('PatientBirthDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'InstanceCreationDate')
        THEN ARRAY('InstanceCreationDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'InstanceCreationTime')
        THEN ARRAY('InstanceCreationTime')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'SeriesDate')
        THEN ARRAY('SeriesDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'ContentDate')
        THEN ARRAY('ContentDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'SeriesTime')
        THEN ARRAY('SeriesTime')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'ContentTime')
        THEN ARRAY('ContentTime')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'RTPlanDate')
        THEN ARRAY('RTPlanDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'RTPlanTime')
        THEN ARRAY('RTPlanTime')
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
  dl_row,
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
      FLATTEN(
        ARRAY(
          CASE
            WHEN `AccessionNumber` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`AccessionNumber` AS STRING))
          END,
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
            WHEN `TimezoneOffsetFromUTC` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`TimezoneOffsetFromUTC` AS STRING))
          END,
          CASE
            WHEN `StationName` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`StationName` AS STRING))
          END,
          CASE
            WHEN `StudyDescription` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`StudyDescription` AS STRING))
          END,
          CASE
            WHEN `SeriesDescription` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`SeriesDescription` AS STRING))
          END,
          CASE
            WHEN `InstitutionalDepartmentName` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`InstitutionalDepartmentName` AS STRING))
          END,
          CASE
            WHEN `DerivationDescription` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`DerivationDescription` AS STRING))
          END,
          CASE
            WHEN `PatientID` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`PatientID` AS STRING))
          END,
          CASE
            WHEN `PatientSex` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`PatientSex` AS STRING))
          END,
          COALESCE(TRANSFORM(`OtherPatientIDs`, x -> CAST(x AS STRING)), ARRAY()),
          CASE
            WHEN `PatientAddress` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`PatientAddress` AS STRING))
          END,
          COALESCE(TRANSFORM(`PatientTelephoneNumbers`, x -> CAST(x AS STRING)), ARRAY()),
          CASE
            WHEN `AdditionalPatientHistory` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`AdditionalPatientHistory` AS STRING))
          END,
          CASE
            WHEN `ContrastBolusAgent` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`ContrastBolusAgent` AS STRING))
          END,
          CASE
            WHEN `DeviceSerialNumber` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`DeviceSerialNumber` AS STRING))
          END,
          CASE
            WHEN `ProtocolName` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`ProtocolName` AS STRING))
          END,
          CASE WHEN `StudyID` IS NULL THEN ARRAY() ELSE ARRAY(CAST(`StudyID` AS STRING)) END,
          CASE
            WHEN `ImageComments` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`ImageComments` AS STRING))
          END,
          CASE
            WHEN `RequestingService` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`RequestingService` AS STRING))
          END,
          CASE
            WHEN `RequestedProcedureDescription` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`RequestedProcedureDescription` AS STRING))
          END,
          CASE
            WHEN `StudyComments` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`StudyComments` AS STRING))
          END,
          CASE
            WHEN `RTPlanLabel` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`RTPlanLabel` AS STRING))
          END,
          CASE
            WHEN `RTPlanName` IS NULL
            THEN ARRAY()
            ELSE ARRAY(CAST(`RTPlanName` AS STRING))
          END
        )
      ) AS c,
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
  ) AS STRING) AS dl_image_context
FROM (
  SELECT
    *,
    DL_UID_MAP(
      CONCAT(
        ARRAY(`MediaStorageSOPInstanceUID`),
        ARRAY(`InstanceCreatorUID`),
        ARRAY(`SOPInstanceUID`),
        COALESCE(
          FLATTEN(
            TRANSFORM(`ReferencedImageSequence`, it0 -> ARRAY(it0.`ReferencedSOPInstanceUID`))
          ),
          ARRAY()
        ),
        ARRAY(`StudyInstanceUID`),
        ARRAY(`SeriesInstanceUID`),
        ARRAY(`FrameOfReferenceUID`),
        ARRAY(`StorageMediaFileSetUID`),
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
