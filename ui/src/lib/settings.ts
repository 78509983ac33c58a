// The Settings form's own checks: a value the shell cannot take (an empty box, a negative
// speed limit, 40 chunks at once) is refused in the form, naming the field by its label and
// the allowed range, before anything is sent. The shell checks again; this is so the person
// reads their mistake in their words instead of a deserialisation error.

import type { AppSettings } from '../generated/AppSettings';
import type { UserError } from '../generated/UserError';

/** The number fields of the form, with their label and allowed range. */
export const NUMBER_FIELDS = {
  parallel_chunks: { label: 'Chunks sent at once', min: 1, max: 16 },
  parallel_files: { label: 'Files uploaded at once', min: 1, max: 8 },
  bandwidth_limit_kbps: { label: 'Speed limit', min: 0, max: null },
} as const;

export type NumberField = keyof typeof NUMBER_FIELDS;

export interface FieldProblem extends UserError {
  field: NumberField;
}

/** What the form holds: a number box that is empty or unreadable binds to null. */
export type SettingsDraft = Omit<AppSettings, NumberField> & Record<NumberField, number | null>;

function rangeWords(min: number, max: number | null): string {
  return max === null ? `${min} or more` : `from ${min} to ${max}`;
}

/** The first field whose value cannot be saved, in the form's order; null when all can. */
export function settingsProblem(draft: SettingsDraft): FieldProblem | null {
  for (const field of Object.keys(NUMBER_FIELDS) as NumberField[]) {
    const { label, min, max } = NUMBER_FIELDS[field];
    const v = draft[field];
    const ok = typeof v === 'number' && Number.isInteger(v) && v >= min && (max === null || v <= max);
    if (ok) continue;
    return {
      field,
      message: `${label} must be a whole number ${rangeWords(min, max)}`,
      hint:
        field === 'bandwidth_limit_kbps'
          ? 'Type the limit, or 0 for no limit, then save again.'
          : `Type a number ${rangeWords(min, max)}, then save again.`,
    };
  }
  return null;
}

/** The draft as the shell takes it, once `settingsProblem` found nothing. */
export function checkedSettings(draft: SettingsDraft): AppSettings {
  return { ...draft } as AppSettings;
}
