-- The de-identification transform on spark of store 's' (tests/test_deid_sql.py's fixed store)
-- config: {"dicomTagConfig": {"actions": [{"queries": ["RequestAttributesSequence", "PatientBirthDate", "OtherPatientIDs", "PatientName"], "removeTag": {}}, {"queries": ["ReferencedImageSequence", "PatientID", "BeamSequence", "OverlayRows"], "resetTag": {}}, {"deleteTag": {}, "queries": ["ProcedureCodeSequence", "InstitutionName", "OverlayOrigin"]}, {"keepTag": {}, "queries": ["ScheduledProtocolCodeSequence", "CodeValue"]}, {"queries": ["StudyDate", "TM"], "resetTag": {}}, {"queries": ["00091001"], "removeTag": {}}], "profileType": "KEEP_ALL_PROFILE"}}
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
  CASE WHEN `InstanceCreationTime` IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS `InstanceCreationTime`,
  `InstanceCreatorUID`,
  `SOPClassUID`,
  CASE
    WHEN `SOPInstanceUID` IS NULL
    THEN NULL
    ELSE TRY_ELEMENT_AT(dl_m_uid, `SOPInstanceUID`)
  END AS `SOPInstanceUID`,
  CASE WHEN `StudyDate` IS NULL THEN NULL ELSE CAST('1900-01-01' AS DATE) END AS `StudyDate`,
  `SeriesDate`,
  `AcquisitionDate`,
  `ContentDate`,
  CASE WHEN `StudyTime` IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS `StudyTime`,
  CASE WHEN `SeriesTime` IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS `SeriesTime`,
  CASE WHEN `AcquisitionTime` IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS `AcquisitionTime`,
  CASE WHEN `ContentTime` IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS `ContentTime`,
  `AccessionNumber`,
  `Modality`,
  `Manufacturer`,
  `InstitutionAddress`,
  `ReferringPhysicianName`,
  `TimezoneOffsetFromUTC`,
  `StationName`,
  `StudyDescription`,
  `SeriesDescription`,
  `InstitutionalDepartmentName`,
  `NameOfPhysiciansReadingStudy`,
  CASE
    WHEN `PhysiciansReadingStudyIdentificationSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `PhysiciansReadingStudyIdentificationSequence`,
      it0 -> STRUCT(
        it0.`PersonIdentificationCodeSequence` AS `PersonIdentificationCodeSequence`,
        it0.`PersonTelephoneNumbers` AS `PersonTelephoneNumbers`,
        it0.`PersonName` AS `PersonName`
      )
    )
  END AS `PhysiciansReadingStudyIdentificationSequence`,
  `OperatorsName`,
  `ManufacturerModelName`,
  CASE
    WHEN `ReferencedImageSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `ReferencedImageSequence`,
      it0 -> STRUCT(
        CASE
          WHEN it0.`ReferencedSOPClassUID` IS NULL
          THEN NULL
          ELSE TRY_ELEMENT_AT(dl_m_uid, it0.`ReferencedSOPClassUID`)
        END AS `ReferencedSOPClassUID`,
        CASE
          WHEN it0.`ReferencedSOPInstanceUID` IS NULL
          THEN NULL
          ELSE TRY_ELEMENT_AT(dl_m_uid, it0.`ReferencedSOPInstanceUID`)
        END AS `ReferencedSOPInstanceUID`,
        CASE
          WHEN it0.`PurposeOfReferenceCodeSequence` IS NULL
          THEN NULL
          ELSE TRANSFORM(
            it0.`PurposeOfReferenceCodeSequence`,
            it1 -> STRUCT(
              CASE WHEN it1.`CodeValue` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `CodeValue`,
              CASE WHEN it1.`CodingSchemeDesignator` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `CodingSchemeDesignator`,
              CASE WHEN it1.`CodeMeaning` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `CodeMeaning`
            )
          )
        END AS `PurposeOfReferenceCodeSequence`
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
  `PatientSex`,
  CASE
    WHEN `OtherPatientIDs` IS NULL
    THEN NULL
    ELSE SLICE(`OtherPatientIDs`, 1, 0)
  END AS `OtherPatientIDs`,
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
  CASE
    WHEN `RequestAttributesSequence` IS NULL
    THEN NULL
    ELSE SLICE(`RequestAttributesSequence`, 1, 0)
  END AS `RequestAttributesSequence`,
  `StorageMediaFileSetUID`,
  `IconImageSequence`,
  `RTPlanLabel`,
  `RTPlanName`,
  `RTPlanDate`,
  CASE WHEN `RTPlanTime` IS NULL THEN NULL ELSE CAST('00:00:00' AS TIME) END AS `RTPlanTime`,
  `RTPlanGeometry`,
  `DoseReferenceSequence`,
  `FractionGroupSequence`,
  CASE
    WHEN `BeamSequence` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `BeamSequence`,
      it0 -> STRUCT(
        CASE WHEN it0.`Manufacturer` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `Manufacturer`,
        CASE WHEN it0.`InstitutionName` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `InstitutionName`,
        CASE WHEN it0.`InstitutionalDepartmentName` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `InstitutionalDepartmentName`,
        CASE WHEN it0.`ManufacturerModelName` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `ManufacturerModelName`,
        CASE WHEN it0.`DeviceSerialNumber` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `DeviceSerialNumber`,
        CASE WHEN it0.`TreatmentMachineName` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `TreatmentMachineName`,
        CASE WHEN it0.`PrimaryDosimeterUnit` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `PrimaryDosimeterUnit`,
        CASE WHEN it0.`SourceAxisDistance` IS NULL THEN NULL ELSE '0' END AS `SourceAxisDistance`,
        CASE
          WHEN it0.`BeamLimitingDeviceSequence` IS NULL
          THEN NULL
          ELSE TRANSFORM(
            it0.`BeamLimitingDeviceSequence`,
            it1 -> STRUCT(
              CASE WHEN it1.`RTBeamLimitingDeviceType` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `RTBeamLimitingDeviceType`,
              CASE WHEN it1.`NumberOfLeafJawPairs` IS NULL THEN NULL ELSE '0' END AS `NumberOfLeafJawPairs`
            )
          )
        END AS `BeamLimitingDeviceSequence`,
        CASE WHEN it0.`BeamNumber` IS NULL THEN NULL ELSE '0' END AS `BeamNumber`,
        CASE WHEN it0.`BeamName` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `BeamName`,
        CASE WHEN it0.`BeamType` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `BeamType`,
        CASE WHEN it0.`RadiationType` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `RadiationType`,
        CASE WHEN it0.`TreatmentDeliveryType` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `TreatmentDeliveryType`,
        CASE WHEN it0.`NumberOfWedges` IS NULL THEN NULL ELSE '0' END AS `NumberOfWedges`,
        CASE WHEN it0.`NumberOfCompensators` IS NULL THEN NULL ELSE '0' END AS `NumberOfCompensators`,
        CASE WHEN it0.`NumberOfBoli` IS NULL THEN NULL ELSE '0' END AS `NumberOfBoli`,
        CASE WHEN it0.`NumberOfBlocks` IS NULL THEN NULL ELSE '0' END AS `NumberOfBlocks`,
        CASE WHEN it0.`FinalCumulativeMetersetWeight` IS NULL THEN NULL ELSE '0' END AS `FinalCumulativeMetersetWeight`,
        CASE WHEN it0.`NumberOfControlPoints` IS NULL THEN NULL ELSE '0' END AS `NumberOfControlPoints`,
        CASE
          WHEN it0.`ControlPointSequence` IS NULL
          THEN NULL
          ELSE TRANSFORM(
            it0.`ControlPointSequence`,
            it1 -> STRUCT(
              CASE WHEN it1.`ControlPointIndex` IS NULL THEN NULL ELSE '0' END AS `ControlPointIndex`,
              CASE WHEN it1.`NominalBeamEnergy` IS NULL THEN NULL ELSE '0' END AS `NominalBeamEnergy`,
              CASE WHEN it1.`DoseRateSet` IS NULL THEN NULL ELSE '0' END AS `DoseRateSet`,
              CASE
                WHEN it1.`BeamLimitingDevicePositionSequence` IS NULL
                THEN NULL
                ELSE TRANSFORM(
                  it1.`BeamLimitingDevicePositionSequence`,
                  it2 -> STRUCT(
                    CASE WHEN it2.`RTBeamLimitingDeviceType` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `RTBeamLimitingDeviceType`,
                    CASE
                      WHEN it2.`LeafJawPositions` IS NULL
                      THEN NULL
                      ELSE TRANSFORM(it2.`LeafJawPositions`, x -> '0')
                    END AS `LeafJawPositions`
                  )
                )
              END AS `BeamLimitingDevicePositionSequence`,
              CASE WHEN it1.`GantryAngle` IS NULL THEN NULL ELSE '0' END AS `GantryAngle`,
              CASE WHEN it1.`GantryRotationDirection` IS NULL THEN NULL ELSE 'PLACEHOLDER' END AS `GantryRotationDirection`,
              CASE WHEN it1.`BeamLimitingDeviceAngle` IS NULL THEN NULL ELSE '0' END AS `BeamLimitingDeviceAngle`,
              CASE
                WHEN it1.`BeamLimitingDeviceRotationDirection` IS NULL
                THEN NULL
                ELSE 'PLACEHOLDER'
              END AS `BeamLimitingDeviceRotationDirection`,
              CASE WHEN it1.`PatientSupportAngle` IS NULL THEN NULL ELSE '0' END AS `PatientSupportAngle`,
              CASE
                WHEN it1.`PatientSupportRotationDirection` IS NULL
                THEN NULL
                ELSE 'PLACEHOLDER'
              END AS `PatientSupportRotationDirection`,
              CASE WHEN it1.`TableTopEccentricAngle` IS NULL THEN NULL ELSE '0' END AS `TableTopEccentricAngle`,
              CASE
                WHEN it1.`TableTopEccentricRotationDirection` IS NULL
                THEN NULL
                ELSE 'PLACEHOLDER'
              END AS `TableTopEccentricRotationDirection`,
              CASE WHEN it1.`TableTopVerticalPosition` IS NULL THEN NULL ELSE '0' END AS `TableTopVerticalPosition`,
              CASE WHEN it1.`TableTopLongitudinalPosition` IS NULL THEN NULL ELSE '0' END AS `TableTopLongitudinalPosition`,
              CASE WHEN it1.`TableTopLateralPosition` IS NULL THEN NULL ELSE '0' END AS `TableTopLateralPosition`,
              CASE
                WHEN it1.`IsocenterPosition` IS NULL
                THEN NULL
                ELSE TRANSFORM(it1.`IsocenterPosition`, x -> '0')
              END AS `IsocenterPosition`,
              CASE WHEN it1.`SourceToSurfaceDistance` IS NULL THEN NULL ELSE '0' END AS `SourceToSurfaceDistance`,
              CASE WHEN it1.`CumulativeMetersetWeight` IS NULL THEN NULL ELSE '0' END AS `CumulativeMetersetWeight`,
              CASE
                WHEN it1.`ReferencedDoseReferenceSequence` IS NULL
                THEN NULL
                ELSE TRANSFORM(
                  it1.`ReferencedDoseReferenceSequence`,
                  it2 -> STRUCT(
                    CASE WHEN it2.`CumulativeDoseReferenceCoefficient` IS NULL THEN NULL ELSE '0' END AS `CumulativeDoseReferenceCoefficient`,
                    CASE WHEN it2.`ReferencedDoseReferenceNumber` IS NULL THEN NULL ELSE '0' END AS `ReferencedDoseReferenceNumber`
                  )
                )
              END AS `ReferencedDoseReferenceSequence`
            )
          )
        END AS `ControlPointSequence`,
        CASE WHEN it0.`ReferencedPatientSetupNumber` IS NULL THEN NULL ELSE '0' END AS `ReferencedPatientSetupNumber`
      )
    )
  END AS `BeamSequence`,
  `PatientSetupSequence`,
  `ReferencedRTPlanSequence`,
  `ReferencedStructureSetSequence`,
  `ApprovalStatus`,
  CASE
    WHEN `OverlayRows` IS NULL
    THEN NULL
    ELSE TRANSFORM(
      `OverlayRows`,
      g -> STRUCT(g.`Id` AS `Id`, CASE WHEN g.`Value` IS NULL THEN NULL ELSE 0 END AS `Value`)
    )
  END AS `OverlayRows`,
  `OverlayColumns`,
  `NumberOfFramesInOverlay`,
  `OverlayDescription`,
  `OverlayType`,
  `ImageFrameOrigin`,
  `OverlayBitsAllocated`,
  `OverlayBitPosition`,
  FILTER(`OtherElements`, e -> TRY_ELEMENT_AT(dl_m_keep, e.Tag)) AS `OtherElements`,
  'NO' AS `PatientIdentityRemoved`,
  ARRAY(
    'dicomlake KEEP_ALL_PROFILE',
    '6 actions: removeTag, resetTag, deleteTag, keepTag',
    'Retain Longitudinal Temporal Information Full Dates Option',
    'Retain Patient Characteristics Option',
    'Retain Device Identity Option',
    'Retain Institution Identity Option',
    '35 identifying attributes kept'
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
  NULLIF(
    CONCAT(
      COALESCE(FILTER(dl_empty, p -> TRY_ELEMENT_AT(dl_m_keep, p)), ARRAY()),
      CASE
        WHEN NOT `PatientBirthDate` IS NULL OR ARRAY_CONTAINS(dl_empty, 'PatientBirthDate')
        THEN ARRAY('PatientBirthDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'InstanceCreationTime')
        THEN ARRAY('InstanceCreationTime')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'StudyDate')
        THEN ARRAY('StudyDate')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'StudyTime')
        THEN ARRAY('StudyTime')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'SeriesTime')
        THEN ARRAY('SeriesTime')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'AcquisitionTime')
        THEN ARRAY('AcquisitionTime')
        ELSE ARRAY()
      END,
      CASE
        WHEN ARRAY_CONTAINS(dl_empty, 'ContentTime')
        THEN ARRAY('ContentTime')
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
  dl_row
FROM (
  SELECT
    *,
    DL_UID_MAP(
      CONCAT(
        ARRAY(`MediaStorageSOPInstanceUID`),
        ARRAY(`SOPInstanceUID`),
        COALESCE(
          FLATTEN(TRANSFORM(`ReferencedImageSequence`, it0 -> ARRAY(it0.`ReferencedSOPClassUID`))),
          ARRAY()
        ),
        COALESCE(
          FLATTEN(
            TRANSFORM(`ReferencedImageSequence`, it0 -> ARRAY(it0.`ReferencedSOPInstanceUID`))
          ),
          ARRAY()
        ),
        ARRAY(`StudyInstanceUID`),
        ARRAY(`SeriesInstanceUID`)
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
