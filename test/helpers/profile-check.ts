import { readFileSync } from 'node:fs';
import fhirpath from 'fhirpath';
import { projectPath } from './project.ts';

/**
 * A structural check of resources against the required elements, cardinalities, fixed and
 * pattern values, bindings and invariants of a profile, as test/fixtures/hrex/ records them
 * (copied from the IGs' profile sources). Not a full validator: enough to prove every
 * MemberBundle fhir-etl sends has what the HRex profiles require, and nothing they forbid.
 */

export interface ElementRule {
  path: string;
  min: number;
  max: string;
  /** Count only the elements matching this pattern (a pattern-discriminated slice). */
  slice?: unknown;
  /** Apply the rule under the parent elements matching this pattern only. */
  parentSlice?: unknown;
  /** Count only the elements whose field has one of these values (a value-discriminated slice). */
  sliceIn?: Record<string, string[]>;
  fixed?: unknown;
  pattern?: unknown;
  valueSet?: string[];
  /** For Codings: the codes allowed per system. */
  valueSetCodes?: Record<string, string[]>;
}

export interface Profile {
  resourceType: string;
  elements: ElementRule[];
  invariants?: Array<{ key: string; expression: string }>;
}

export interface ProfileFixture {
  memberBundle: {
    maxParts: number;
    parts: Record<string, { min: number; max: string; resourceType: string; profile: string }>;
  };
  profiles: Record<string, Profile>;
}

export const HREX_FIXTURE: ProfileFixture = JSON.parse(
  readFileSync(projectPath('test', 'fixtures', 'hrex', 'member-bundle-profiles.json'), 'utf8'),
);

/** Every violation of a MemberBundle (a Parameters.parameter with parts), as readable lines. */
export function memberBundleViolations(bundle: unknown, fixture: ProfileFixture = HREX_FIXTURE): string[] {
  const b = bundle as {
    name?: unknown;
    part?: Array<{ name?: unknown; resource?: Record<string, unknown> }>;
  };
  const problems: string[] = [];
  if (b.name !== 'MemberBundle') problems.push(`parameter name is ${String(b.name)}, not MemberBundle`);
  const parts = b.part ?? [];
  if (parts.length > fixture.memberBundle.maxParts)
    problems.push(`${parts.length} parts, at most ${fixture.memberBundle.maxParts} allowed`);
  for (const part of parts) {
    if (typeof part.name !== 'string' || !(part.name in fixture.memberBundle.parts))
      problems.push(`part ${String(part.name)} is not allowed (closed slicing)`);
  }
  for (const [name, rule] of Object.entries(fixture.memberBundle.parts)) {
    const found = parts.filter((p) => p.name === name);
    if (!withinCardinality(found.length, rule.min, rule.max))
      problems.push(`part ${name}: ${found.length} found, ${rule.min}..${rule.max} required`);
    for (const part of found) {
      if (part.resource?.resourceType !== rule.resourceType) {
        problems.push(`part ${name}: a ${rule.resourceType} resource is required`);
        continue;
      }
      const profile = fixture.profiles[rule.profile] as Profile;
      problems.push(
        ...profileViolations(part.resource, profile).map((p) => `${name} (${rule.profile}): ${p}`),
      );
    }
  }
  return problems;
}

export function profileViolations(resource: Record<string, unknown>, profile: Profile): string[] {
  const problems: string[] = [];
  if (resource.resourceType !== profile.resourceType)
    problems.push(`resourceType ${String(resource.resourceType)} is not ${profile.resourceType}`);
  for (const rule of profile.elements) problems.push(...ruleViolations(resource, rule));
  for (const invariant of profile.invariants ?? []) {
    const result = fhirpath.evaluate(resource, invariant.expression) as unknown[];
    if (result[0] !== true) problems.push(`invariant ${invariant.key} fails: ${invariant.expression}`);
  }
  return problems;
}

function ruleViolations(resource: Record<string, unknown>, rule: ElementRule): string[] {
  const segments = rule.path.split('.');
  const last = segments.pop() as string;
  let parents = nodesAt(resource, segments);
  if (rule.parentSlice !== undefined) parents = parents.filter((p) => matches(p, rule.parentSlice));
  const problems: string[] = [];
  parents.forEach((parent, i) => {
    let values = asArray((parent as Record<string, unknown>)[last]);
    if (rule.slice !== undefined) values = values.filter((v) => matches(v, rule.slice));
    if (rule.sliceIn !== undefined) {
      const [field, allowed] = Object.entries(rule.sliceIn)[0] as [string, string[]];
      values = values.filter((v) => allowed.includes((v as Record<string, unknown>)[field] as string));
    }
    const where = parents.length > 1 ? `${rule.path} (${i + 1})` : rule.path;
    const sliced = rule.slice !== undefined || rule.sliceIn !== undefined ? ' (slice)' : '';
    if (!withinCardinality(values.length, rule.min, rule.max))
      problems.push(`${where}${sliced}: ${values.length} found, ${rule.min}..${rule.max} required`);
    for (const value of values) {
      if (rule.fixed !== undefined && value !== rule.fixed)
        problems.push(`${where}: ${JSON.stringify(value)} is not the fixed ${JSON.stringify(rule.fixed)}`);
      if (rule.pattern !== undefined && !matches(value, rule.pattern))
        problems.push(`${where}: ${JSON.stringify(value)} does not match ${JSON.stringify(rule.pattern)}`);
      if (rule.valueSet !== undefined && !rule.valueSet.includes(value as string))
        problems.push(`${where}: ${JSON.stringify(value)} is not in the bound value set`);
      if (rule.valueSetCodes !== undefined) {
        const coding = value as { system?: string; code?: string };
        if (!(rule.valueSetCodes[coding.system ?? ''] ?? []).includes(coding.code ?? ''))
          problems.push(`${where}: ${coding.system}|${coding.code} is not in the bound value set`);
      }
    }
  });
  return problems;
}

function nodesAt(root: unknown, segments: string[]): unknown[] {
  let nodes: unknown[] = [root];
  for (const segment of segments)
    nodes = nodes.flatMap((n) => asArray((n as Record<string, unknown>)[segment]));
  return nodes;
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** FHIR pattern semantics: every element of the pattern is present in the value (arrays: each pattern item in some value item). */
function matches(value: unknown, pattern: unknown): boolean {
  if (Array.isArray(pattern))
    return Array.isArray(value) && pattern.every((p) => value.some((v) => matches(v, p)));
  if (pattern !== null && typeof pattern === 'object') {
    if (value === null || typeof value !== 'object') return false;
    return Object.entries(pattern).every(([k, p]) => matches((value as Record<string, unknown>)[k], p));
  }
  return value === pattern;
}

function withinCardinality(count: number, min: number, max: string): boolean {
  return count >= min && (max === '*' || count <= Number(max));
}
