#!/usr/bin/env -S node --max-old-space-size=256
// The fhir-etl command, compiled to dist/bin/fhir-etl.js (`npm install` and `npm pack` build it).
// The heap cap keeps V8 from growing lazily far past what a streaming load needs (peak RSS
// for a 1 GB file: ~280 MB with it, ~500 MB without); to change it, run
// `node --max-old-space-size=N dist/bin/fhir-etl.js ...`.
import { main } from './main.ts';

process.exitCode = await main(process.argv);
