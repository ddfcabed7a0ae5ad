import { shippedPath } from '../shipped/index.ts';
import compartment from './patient-compartment.json' with { type: 'json' };

/** Absolute path of the folder holding the shipped ViewDefinitions (one `<view name>.json` per table). */
export const shippedViewsDir: string = shippedPath('schemas', 'views');

/**
 * Per resource type, the elements that reference the patient whose record the resource is
 * part of: the FHIR R4 Patient compartment with its search parameters resolved to element
 * paths (generated from the spec by patient-compartment.generate.ts).
 */
export const patientCompartment: Readonly<Record<string, readonly string[]>> = compartment.resources;
