import { FhirEtlError } from '../../errors/index.ts';

/** A file given to `fhir-etl send` that holds something other than FHIR resources. */
export class SendInputError extends FhirEtlError {
  constructor(where: string, problem: string, cause?: unknown) {
    super(`${where}: ${problem}`, { code: 'SEND_INPUT_INVALID', context: { where }, cause, kind: 'input' });
  }
}
