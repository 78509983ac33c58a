// The Settings form's own checks: a value the shell cannot take (an empty box, a negative
// speed limit, 40 chunks at once) is refused in the form, naming the field by its label and
// the allowed range, before anything is sent. The shell checks again; this is so the person
// reads their mistake in their words instead of a deserialisation error. The speed limit is
// shown in KiB/s, the units of every size in the window; the shell keeps bytes per second.

import type { AppSettings } from '../generated/AppSettings';
import type { UserError } from '../generated/UserError';
import { t } from './i18n';

/** The number fields of the form, with their label and allowed range. */
export const NUMBER_FIELDS = {
  parallel_chunks: { label: 'settings.parallelChunks', min: 0, max: 16 },
  parallel_files: { label: 'settings.parallelFiles', min: 0, max: 8 },
  speed_limit_kib: { label: 'settings.speedLimit', min: 0, max: null },
} as const;

export type NumberField = keyof typeof NUMBER_FIELDS;

export interface FieldProblem extends UserError {
  field: NumberField;
}

/** What the form holds: a number box that is empty or unreadable binds to null. */
export type SettingsDraft = Omit<AppSettings, 'parallel_chunks' | 'parallel_files' | 'bandwidth_limit'> &
  Record<NumberField, number | null>;

/** The shell keeps the limit in bytes per second; the form shows KiB/s, like every size. */
const KIB = 1024;

/** The form's copy of the settings. */
export function draftFrom(s: AppSettings): SettingsDraft {
  const { bandwidth_limit, ...rest } = s;
  return { ...rest, speed_limit_kib: Math.round(bandwidth_limit / KIB) };
}

function rangeWords(min: number, max: number | null): string {
  return max === null ? t('settings.rangeOrMore', { min }) : t('settings.rangeFromTo', { min, max });
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
      message: t('settings.mustBe', { label: t(label), range: rangeWords(min, max) }),
      hint:
        field === 'speed_limit_kib'
          ? t('settings.limitHint')
          : t('settings.numberHint', { range: rangeWords(min, max) }),
    };
  }
  return null;
}

/** The draft as the shell takes it, once `settingsProblem` found nothing. */
export function checkedSettings(draft: SettingsDraft): AppSettings {
  const { speed_limit_kib, parallel_chunks, parallel_files, ...rest } = draft;
  return {
    ...rest,
    parallel_chunks: parallel_chunks ?? 0,
    parallel_files: parallel_files ?? 0,
    bandwidth_limit: Math.round((speed_limit_kib ?? 0) * KIB),
  };
}
