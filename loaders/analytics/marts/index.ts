import type { Mart } from '../mart.ts';
import { claim } from './claim.ts';
import { claimDiagnosis } from './claim-diagnosis.ts';
import { claimLine } from './claim-line.ts';
import { claimProcedure } from './claim-procedure.ts';
import { member } from './member.ts';
import { memberMonth } from './member-month.ts';
import { pmpm } from './pmpm.ts';
import { utilization } from './utilization.ts';

/** Every mart, each after the marts it reads. */
export const MARTS: readonly Mart[] = [
  member,
  memberMonth,
  claim,
  claimLine,
  claimDiagnosis,
  claimProcedure,
  pmpm,
  utilization,
];
