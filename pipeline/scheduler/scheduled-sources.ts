import cron from 'node-cron';
import { type ConfigProblem, ConfigError, type LoadedConfig, type SourceConfig } from '../../config/index.ts';
import { selectSources } from '../run.ts';

/** A source with its cron schedule, as `fhir-etl schedule` runs it. */
export type ScheduledSource = SourceConfig & { schedule: string };

/**
 * The sources `fhir-etl schedule` runs: those named (all with a schedule when none is). A
 * named source without a schedule, a cron node-cron cannot parse, or an unknown time zone
 * refuses the whole config before anything is scheduled, every problem listed by path.
 */
export function scheduledSources(config: LoadedConfig, names: string[] | undefined): ScheduledSource[] {
  const selected = selectSources(config, names);
  const named = names !== undefined && names.length > 0;
  const problems: ConfigProblem[] = [];
  const scheduled: ScheduledSource[] = [];
  for (const source of selected) {
    const path = `sources[${config.sources.indexOf(source)}]`;
    if (source.schedule === undefined) {
      if (named)
        problems.push({ path: `${path}.schedule`, message: `source "${source.name}" has no schedule` });
      continue;
    }
    if (!cron.validate(source.schedule))
      problems.push({
        path: `${path}.schedule`,
        message: `"${source.schedule}" is not a valid cron expression`,
      });
    if (source.timezone !== undefined && !isTimeZone(source.timezone))
      problems.push({ path: `${path}.timezone`, message: `"${source.timezone}" is not an IANA time zone` });
    scheduled.push(source as ScheduledSource);
  }
  if (problems.length === 0 && scheduled.length === 0)
    problems.push({ path: 'sources', message: 'no source has a schedule: give one a `schedule` (cron)' });
  if (problems.length > 0) throw new ConfigError(config.file ?? 'the config', problems);
  return scheduled;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
