// Messages shown in the banner: built from add reports and command errors, in words a person
// understands, each with what to do next.

import type { AddReport } from '../generated/AddReport';
import type { UserError } from '../generated/UserError';
import { t, tn } from './i18n';

export interface Message {
  id: number;
  kind: 'error' | 'info';
  text: string;
  hint: string;
  details: string[];
}

let next = 1;

export function errorMessage(e: UserError, context?: string): Message {
  return {
    id: next++,
    kind: 'error',
    text: context ? `${context}: ${e.message}` : e.message,
    hint: e.hint,
    details: [],
  };
}

/** Something the engine wants the person to know that is not about one file. */
export function infoMessage(text: string): Message {
  return { id: next++, kind: 'info', text, hint: '', details: [] };
}

/** A message for an add report, or null when everything went well (the rows say enough). */
export function reportMessage(r: AddReport): Message | null {
  if (r.error) return errorMessage(r.error, t('report.nothingAdded'));
  if (r.failures.length === 0) return null;
  const n = r.failures.length;
  return {
    id: next++,
    kind: 'error',
    text: r.added > 0 ? tn('report.someAdded', r.added, { target: r.target, failed: n }) : tn('report.noneAdded', n),
    hint: t('report.hint'),
    details: r.failures.map((f) => `${f.path}: ${f.reason}`),
  };
}
