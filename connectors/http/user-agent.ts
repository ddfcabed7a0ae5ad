import packageJson from '../../package.json' with { type: 'json' };

/** `fhir-etl/<version>`: lets a server operator see who is calling, and which release. */
export const USER_AGENT = `fhir-etl/${packageJson.version}`;
