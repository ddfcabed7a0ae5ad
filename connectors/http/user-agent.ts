import { packageVersion } from '../../shipped/index.ts';

/** `fhir-etl/<version>`: lets a server operator see who is calling, and which release. */
export const USER_AGENT = `fhir-etl/${packageVersion}`;
