/**
 * Variables that look like a misspelling of one a service reads. A misspelt variable is not an
 * error (environments carry many variables of other programs, and a ConfigMap shared by every
 * service holds settings each reads in part), but it is silently ignored: `PARTITONS=16` left
 * the default of 8. So a near miss is a warning, naming both names.
 */
export interface ConfigWarning {
  /** The variable that is set but read by nothing. */
  readonly variable: string;
  /** The variable of the service it is closest to. */
  readonly suggestion: string;
  readonly message: string;
}

/**
 * Edits allowed between a set variable and a known one, by the known one's length: none below
 * five characters (every short name is near another), one up to nine (TENANT, LOG_LEVEL), two
 * beyond (PARTITIONS, HEALTH_PORT). Letter case is free: `partitions` is a near miss too.
 */
function allowedEdits(name: string): number {
  return name.length < 5 ? 0 : name.length <= 9 ? 1 : 2;
}

/**
 * The set variables (non-blank) of `env` that are not in `known` but close to one of them:
 * letters in another case, or a few letters added, dropped, changed or swapped (optimal string
 * alignment distance). The closest known name is suggested (the first in order on a tie); the
 * warnings come sorted by variable, so the same environment gives the same lines.
 */
export function nearMissWarnings(scope: string, known: readonly string[], env: Readonly<Record<string, string | undefined>>): ConfigWarning[] {
  const knownSet = new Set(known);
  const warnings: ConfigWarning[] = [];
  for (const variable of Object.keys(env).sort()) {
    const value = env[variable];
    if (knownSet.has(variable) || value === undefined || value.trim() === '') continue;
    const upper = variable.toUpperCase();
    let best: { name: string; distance: number } | undefined;
    for (const name of known) {
      const limit = Math.min(allowedEdits(name), best === undefined ? Infinity : best.distance - 1);
      if (limit < 0) continue;
      const distance = boundedDistance(upper, name.toUpperCase(), limit);
      if (distance !== undefined) best = { name, distance };
    }
    if (best === undefined) continue;
    const suggestion = best.name;
    const other = env[suggestion] === undefined || env[suggestion].trim() === '' ? `${suggestion} is not set` : `${suggestion} is set too`;
    const message = best.distance === 0
      ? `${variable} is ignored by ${scope}: variable names are case-sensitive, and ${suggestion} is the one it reads (${other})`
      : `${variable} is ignored by ${scope}; did you mean ${suggestion}? (${other})`;
    warnings.push({ variable, suggestion, message });
  }
  return warnings;
}

/**
 * The optimal string alignment distance of `a` and `b` (insertions, deletions, substitutions,
 * swaps of neighbours), or undefined when it is above `limit`: names differing in length by
 * more than the limit are not compared at all, which keeps a large environment cheap.
 */
function boundedDistance(a: string, b: string, limit: number): number | undefined {
  if (Math.abs(a.length - b.length) > limit) return undefined;
  let previous2: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, (previous2[j - 2] ?? 0) + 1);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > limit) return undefined;
    previous2 = previous;
    previous = current;
  }
  const distance = previous[b.length] ?? Infinity;
  return distance <= limit ? distance : undefined;
}
