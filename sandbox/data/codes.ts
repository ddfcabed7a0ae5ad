/**
 * Code tables the generator draws from: real code systems (SNOMED CT, ICD-10-CM, LOINC with
 * UCUM units, RxNorm, CVX, CPT/HCPCS, NUBC, CDT, OMB race and ethnicity), small enough to read.
 */

export const SYSTEM = {
  snomed: 'http://snomed.info/sct',
  icd10cm: 'http://hl7.org/fhir/sid/icd-10-cm',
  icd10pcs: 'http://www.cms.gov/Medicare/Coding/ICD10',
  loinc: 'http://loinc.org',
  ucum: 'http://unitsofmeasure.org',
  rxnorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  ndc: 'http://hl7.org/fhir/sid/ndc',
  cvx: 'http://hl7.org/fhir/sid/cvx',
  cpt: 'http://www.ama-assn.org/go/cpt',
  hcpcs: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  cdt: 'http://www.ada.org/cdt',
  revenue: 'https://www.nubc.org/CodeSystem/RevenueCodes',
  typeOfBill: 'https://www.nubc.org/CodeSystem/TypeOfBill',
  dischargeStatus: 'https://www.nubc.org/CodeSystem/PatDischargeStatus',
  admitType: 'https://www.nubc.org/CodeSystem/PriorityTypeOfAdmitOrVisit',
  pointOfOrigin: 'https://www.nubc.org/CodeSystem/PointOfOrigin',
  poa: 'https://www.nubc.org/CodeSystem/PresentOnAdmissionIndicator',
  drg: 'https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software',
  placeOfService: 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set',
  omb: 'urn:oid:2.16.840.1.113883.6.238',
  v20203: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  npi: 'http://hl7.org/fhir/sid/us-npi',
  tin: 'urn:oid:2.16.840.1.113883.4.4',
  claimType: 'http://terminology.hl7.org/CodeSystem/claim-type',
  adjudication: 'http://terminology.hl7.org/CodeSystem/adjudication',
  c4bbAdjudication: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication',
  c4bbDiscriminator: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudicationDiscriminator',
  c4bbSupportingInfo: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBSupportingInfoType',
  c4bbIdentifierType: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBIdentifierType',
  c4bbCareTeamRole: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimCareTeamRole',
  c4bbDiagnosisType: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimDiagnosisType',
  c4bbProcedureType: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBClaimProcedureType',
  c4bbPaymentStatus: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBPayerBenefitPaymentStatus',
  c4bbAdjudicationStatus: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBPayerAdjudicationStatus',
  c4bbInstitutionalSubType: 'http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBInstitutionalClaimSubType',
  diagnosisType: 'http://terminology.hl7.org/CodeSystem/ex-diagnosistype',
  coverageClass: 'http://terminology.hl7.org/CodeSystem/coverage-class',
  tooth: 'http://terminology.hl7.org/CodeSystem/ex-tooth',
} as const;

export interface Code {
  code: string;
  display: string;
}

export const RACES: ReadonlyArray<Code> = [
  { code: '2106-3', display: 'White' },
  { code: '2054-5', display: 'Black or African American' },
  { code: '2028-9', display: 'Asian' },
  { code: '1002-5', display: 'American Indian or Alaska Native' },
  { code: '2076-8', display: 'Native Hawaiian or Other Pacific Islander' },
];
export const ETHNICITIES: ReadonlyArray<Code> = [
  { code: '2186-5', display: 'Not Hispanic or Latino' },
  { code: '2135-2', display: 'Hispanic or Latino' },
];

/** A diagnosis as both clinical (SNOMED, for Condition) and billing (ICD-10-CM, for EOBs) codes. */
export interface Diagnosis {
  snomed: Code;
  icd10: Code;
  drg: Code;
  chronic: boolean;
}
export const DIAGNOSES: ReadonlyArray<Diagnosis> = [
  d(
    '44054006',
    'Diabetes mellitus type 2',
    'E11.9',
    'Type 2 diabetes mellitus without complications',
    '638',
    'Diabetes with CC',
    true,
  ),
  d(
    '38341003',
    'Hypertensive disorder',
    'I10',
    'Essential (primary) hypertension',
    '305',
    'Hypertension without MCC',
    true,
  ),
  d(
    '55822004',
    'Hyperlipidemia',
    'E78.5',
    'Hyperlipidemia, unspecified',
    '641',
    'Misc disorders of nutrition, metabolism, fluids/electrolytes without MCC',
    true,
  ),
  d(
    '195967001',
    'Asthma',
    'J45.909',
    'Unspecified asthma, uncomplicated',
    '203',
    'Bronchitis and asthma without CC/MCC',
    true,
  ),
  d(
    '195662009',
    'Acute viral pharyngitis',
    'J02.9',
    'Acute pharyngitis, unspecified',
    '154',
    'Other ear, nose, mouth and throat diagnoses with MCC',
    false,
  ),
  d(
    '10509002',
    'Acute bronchitis',
    'J20.9',
    'Acute bronchitis, unspecified',
    '203',
    'Bronchitis and asthma without CC/MCC',
    false,
  ),
  d(
    '233604007',
    'Pneumonia',
    'J18.9',
    'Pneumonia, unspecified organism',
    '194',
    'Simple pneumonia and pleurisy with CC',
    false,
  ),
  d(
    '40055000',
    'Chronic sinusitis',
    'J32.9',
    'Chronic sinusitis, unspecified',
    '153',
    'Otitis media and URI without MCC',
    true,
  ),
  d(
    '271737000',
    'Anemia',
    'D64.9',
    'Anemia, unspecified',
    '812',
    'Red blood cell disorders without MCC',
    false,
  ),
  d(
    '279039007',
    'Low back pain',
    'M54.50',
    'Low back pain, unspecified',
    '552',
    'Medical back problems without MCC',
    false,
  ),
];

function d(
  snomed: string,
  snomedDisplay: string,
  icd10: string,
  icd10Display: string,
  drg: string,
  drgDisplay: string,
  chronic: boolean,
): Diagnosis {
  return {
    snomed: { code: snomed, display: snomedDisplay },
    icd10: { code: icd10, display: icd10Display },
    drg: { code: drg, display: drgDisplay },
    chronic,
  };
}

export interface EncounterKind {
  classCode: 'AMB' | 'EMER' | 'IMP';
  classDisplay: string;
  type: Code;
  /** The E/M visit code billed by the professional claim. */
  visit: Code;
  placeOfService: Code;
}
export const ENCOUNTER_KINDS: ReadonlyArray<EncounterKind> = [
  {
    classCode: 'AMB',
    classDisplay: 'ambulatory',
    type: { code: '185349003', display: 'Encounter for check up' },
    visit: { code: '99213', display: 'Office or other outpatient visit, established patient, low MDM' },
    placeOfService: { code: '11', display: 'Office' },
  },
  {
    classCode: 'AMB',
    classDisplay: 'ambulatory',
    type: { code: '185345009', display: 'Encounter for symptom' },
    visit: { code: '99214', display: 'Office or other outpatient visit, established patient, moderate MDM' },
    placeOfService: { code: '11', display: 'Office' },
  },
  {
    classCode: 'AMB',
    classDisplay: 'ambulatory',
    type: { code: '185345009', display: 'Encounter for symptom' },
    visit: { code: '99203', display: 'Office or other outpatient visit, new patient, low MDM' },
    placeOfService: { code: '22', display: 'On Campus-Outpatient Hospital' },
  },
  {
    classCode: 'EMER',
    classDisplay: 'emergency',
    type: { code: '50849002', display: 'Emergency room admission' },
    visit: { code: '99284', display: 'Emergency department visit, moderate MDM' },
    placeOfService: { code: '23', display: 'Emergency Room - Hospital' },
  },
  {
    classCode: 'IMP',
    classDisplay: 'inpatient encounter',
    type: { code: '32485007', display: 'Hospital admission' },
    visit: { code: '99223', display: 'Initial hospital inpatient care, high MDM' },
    placeOfService: { code: '21', display: 'Inpatient Hospital' },
  },
];

export interface Measure {
  loinc: Code;
  category: 'vital-signs' | 'laboratory';
  unit: string;
  ucum: string;
  min: number;
  max: number;
  decimals: number;
}
export const VITALS: ReadonlyArray<Measure> = [
  m('8867-4', 'Heart rate', 'vital-signs', '/min', '/min', 55, 100, 0),
  m('8480-6', 'Systolic blood pressure', 'vital-signs', 'mm[Hg]', 'mm[Hg]', 100, 160, 0),
  m('8462-4', 'Diastolic blood pressure', 'vital-signs', 'mm[Hg]', 'mm[Hg]', 60, 100, 0),
  m('29463-7', 'Body weight', 'vital-signs', 'kg', 'kg', 45, 120, 1),
  m('8302-2', 'Body height', 'vital-signs', 'cm', 'cm', 150, 195, 1),
  m('39156-5', 'Body mass index (BMI) [Ratio]', 'vital-signs', 'kg/m2', 'kg/m2', 18, 38, 1),
  m('8310-5', 'Body temperature', 'vital-signs', 'Cel', 'Cel', 36.1, 38.4, 1),
];
export const LABS: ReadonlyArray<Measure> = [
  m('2339-0', 'Glucose [Mass/volume] in Blood', 'laboratory', 'mg/dL', 'mg/dL', 70, 180, 0),
  m('4548-4', 'Hemoglobin A1c/Hemoglobin.total in Blood', 'laboratory', '%', '%', 4.8, 9.5, 1),
  m('2093-3', 'Cholesterol [Mass/volume] in Serum or Plasma', 'laboratory', 'mg/dL', 'mg/dL', 140, 280, 0),
  m('718-7', 'Hemoglobin [Mass/volume] in Blood', 'laboratory', 'g/dL', 'g/dL', 10.5, 17.5, 1),
];
function m(
  code: string,
  display: string,
  category: Measure['category'],
  unit: string,
  ucum: string,
  min: number,
  max: number,
  decimals: number,
): Measure {
  return { loinc: { code, display }, category, unit, ucum, min, max, decimals };
}

/** LOINC 72166-2 Tobacco smoking status, answered with SNOMED CT: a coded observation. */
export const SMOKING_STATUS = { code: '72166-2', display: 'Tobacco smoking status' };
export const SMOKING_ANSWERS: ReadonlyArray<Code> = [
  { code: '266919005', display: 'Never smoked tobacco' },
  { code: '8517006', display: 'Ex-smoker' },
  { code: '449868002', display: 'Smokes tobacco daily' },
];

export interface Drug {
  rxnorm: Code;
  ndc: string;
  dosage: string;
  quantity: number;
  daysSupply: number;
}
export const DRUGS: ReadonlyArray<Drug> = [
  {
    rxnorm: { code: '314076', display: 'lisinopril 10 MG Oral Tablet' },
    ndc: '68180051301',
    dosage: 'Take 1 tablet by mouth daily',
    quantity: 30,
    daysSupply: 30,
  },
  {
    rxnorm: { code: '860975', display: '24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet' },
    ndc: '00093726701',
    dosage: 'Take 1 tablet by mouth twice daily with meals',
    quantity: 60,
    daysSupply: 30,
  },
  {
    rxnorm: { code: '617314', display: 'atorvastatin 10 MG Oral Tablet' },
    ndc: '00378395077',
    dosage: 'Take 1 tablet by mouth at bedtime',
    quantity: 90,
    daysSupply: 90,
  },
  {
    rxnorm: { code: '197361', display: 'amlodipine 5 MG Oral Tablet' },
    ndc: '00093716798',
    dosage: 'Take 1 tablet by mouth daily',
    quantity: 30,
    daysSupply: 30,
  },
  {
    rxnorm: { code: '308182', display: 'amoxicillin 250 MG Oral Capsule' },
    ndc: '00093310905',
    dosage: 'Take 1 capsule by mouth three times daily for 10 days',
    quantity: 30,
    daysSupply: 10,
  },
  {
    rxnorm: { code: '745679', display: '200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler' },
    ndc: '00173068220',
    dosage: 'Inhale 2 puffs every 4 hours as needed',
    quantity: 1,
    daysSupply: 30,
  },
];

export interface ProcedureCode {
  snomed: Code;
  cpt: Code;
  icd10pcs: Code;
  revenue: Code;
}
export const PROCEDURES: ReadonlyArray<ProcedureCode> = [
  p(
    '73761001',
    'Colonoscopy',
    '45378',
    'Colonoscopy, flexible; diagnostic',
    '0DJD8ZZ',
    'Inspection of Lower Intestinal Tract, Endo',
    '0750',
    'Gastrointestinal services',
  ),
  p(
    '399208008',
    'Plain chest X-ray',
    '71046',
    'Radiologic examination, chest; 2 views',
    'BW03ZZZ',
    'Plain Radiography of Chest',
    '0320',
    'Radiology - diagnostic',
  ),
  p(
    '252160004',
    'Standard ECG procedure',
    '93000',
    'Electrocardiogram, routine ECG with at least 12 leads',
    '4A02X4Z',
    'Measurement of Cardiac Electrical Activity, External',
    '0730',
    'EKG/ECG',
  ),
  p(
    '117015009',
    'Throat culture',
    '87070',
    'Culture, bacterial; any other source except urine, blood or stool',
    '0CJS8ZZ',
    'Inspection of Larynx, Endo',
    '0306',
    'Laboratory - bacteriology and microbiology',
  ),
  p(
    '76601001',
    'Intramuscular injection',
    '96372',
    'Therapeutic, prophylactic, or diagnostic injection; intramuscular',
    '3E0234Z',
    'Introduction of Serum, Toxoid and Vaccine into Muscle',
    '0260',
    'IV therapy',
  ),
];
function p(
  snomed: string,
  snomedDisplay: string,
  cpt: string,
  cptDisplay: string,
  pcs: string,
  pcsDisplay: string,
  revenue: string,
  revenueDisplay: string,
): ProcedureCode {
  return {
    snomed: { code: snomed, display: snomedDisplay },
    cpt: { code: cpt, display: cptDisplay },
    icd10pcs: { code: pcs, display: pcsDisplay },
    revenue: { code: revenue, display: revenueDisplay },
  };
}

export const VACCINES: ReadonlyArray<Code> = [
  { code: '140', display: 'Influenza, seasonal, injectable, preservative free' },
  {
    code: '208',
    display: 'SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose',
  },
  { code: '115', display: 'Tdap' },
  { code: '133', display: 'Pneumococcal conjugate PCV 13' },
];

export interface Allergen {
  substance: Code & { system: string };
  category: 'food' | 'medication' | 'environment';
}
export const ALLERGENS: ReadonlyArray<Allergen> = [
  { substance: { system: SYSTEM.rxnorm, code: '7980', display: 'Penicillin G' }, category: 'medication' },
  {
    substance: { system: SYSTEM.snomed, code: '762952008', display: 'Peanut (substance)' },
    category: 'food',
  },
  {
    substance: { system: SYSTEM.snomed, code: '111088007', display: 'Latex (substance)' },
    category: 'environment',
  },
  {
    substance: { system: SYSTEM.snomed, code: '256277009', display: 'Grass pollen (substance)' },
    category: 'environment',
  },
];
export const REACTIONS: ReadonlyArray<Code> = [
  { code: '247472004', display: 'Wheal (finding)' },
  { code: '39579001', display: 'Anaphylaxis (disorder)' },
  { code: '271807003', display: 'Eruption of skin (disorder)' },
  { code: '49727002', display: 'Cough (finding)' },
];

export const DENTAL: ReadonlyArray<Code> = [
  { code: 'D0120', display: 'Periodic oral evaluation - established patient' },
  { code: 'D1110', display: 'Prophylaxis - adult' },
  { code: 'D0274', display: 'Bitewings - four radiographic images' },
  { code: 'D2391', display: 'Resin-based composite - one surface, posterior' },
];

export const MODIFIERS: ReadonlyArray<string> = ['25', '59', 'GT', 'RT', 'LT'];

export const GIVEN_FEMALE = [
  'Ana',
  'Beatriz',
  'Chloe',
  'Dana',
  'Elena',
  'Fatima',
  'Grace',
  'Hana',
  'Iris',
  'Julia',
  'Keiko',
  'Lucia',
  'Maya',
  'Nora',
  'Olivia',
  'Priya',
];
export const GIVEN_MALE = [
  'Aaron',
  'Bruno',
  'Carlos',
  'David',
  'Emeka',
  'Felix',
  'Gabriel',
  'Hiro',
  'Ivan',
  'James',
  'Kwame',
  'Liam',
  'Mateo',
  'Noah',
  'Omar',
  'Pedro',
];
export const FAMILY = [
  'Anderson',
  'Brown',
  'Chen',
  'Diaz',
  'Evans',
  'Fischer',
  'Garcia',
  'Hughes',
  'Ito',
  'Johnson',
  'Kim',
  'Lopez',
  'Martin',
  'Nguyen',
  'Okafor',
  'Patel',
  'Quinn',
  'Rossi',
  'Smith',
  'Tanaka',
];
export const STREETS = [
  'Main St',
  'Maple Ave',
  'Oak St',
  'Elm St',
  'Washington St',
  'Park Rd',
  'Beacon St',
  'Liberty Ave',
];
export const PLACES: ReadonlyArray<{ city: string; state: string; postalCode: string; phoneArea: string }> = [
  { city: 'Boston', state: 'MA', postalCode: '02116', phoneArea: '617' },
  { city: 'Andover', state: 'MA', postalCode: '01810', phoneArea: '978' },
  { city: 'Worcester', state: 'MA', postalCode: '01608', phoneArea: '508' },
  { city: 'Pittsburgh', state: 'PA', postalCode: '15239', phoneArea: '412' },
  { city: 'Erie', state: 'PA', postalCode: '16501', phoneArea: '814' },
  { city: 'Providence', state: 'RI', postalCode: '02903', phoneArea: '401' },
];
