// Holds the embedded PostgreSQL (the project's .fhir-etl home) for as long as its stdin stays
// open, as one more user of it: each database test file acquires the server and releases it,
// and without this the last file to leave stops it and the next one starts it again (a stop's
// checkpoint and a start cost seconds, many times a pass). Prints `ready` once it holds it;
// at end of input it releases it, stopping it when no one else uses it.
import { acquireEmbedded, releaseEmbedded } from '../dist/loaders/index.js';

await acquireEmbedded();
process.stdout.write('ready\n');
process.stdin.resume();
await new Promise((resolve) => process.stdin.on('end', resolve));
await releaseEmbedded();
