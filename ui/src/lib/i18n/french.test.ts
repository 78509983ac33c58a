// The window's words and figures in French: units (Kio, Mio), the decimal comma, the no-break
// spaces of French typography and the plural rule, through the same functions the rows, the
// totals, the chunk map and the settings form use.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setLang } from '.';
import { describe as describeChunk } from '../chunkmap';
import { formatBinary, formatBytes, formatDuration, progressText } from '../format';
import { reportMessage } from '../messages';
import { rowDetail, stateWords } from '../rowtext';
import { draftFrom, settingsProblem } from '../settings';
import { lastSyncWords, stateWords as folderWords } from '../watch';
import { row } from '../testdata';
import type { AppSettings } from '../../generated/AppSettings';

const NB = '\u00a0';
const MIB = 1024 * 1024;

describe('in French', () => {
  beforeEach(() => setLang('fr'));
  afterEach(() => setLang('en'));

  it('sizes use Kio/Mio, a decimal comma and a no-break space', () => {
    expect(formatBytes(0)).toBe(`0${NB}o`);
    expect(formatBytes(980)).toBe(`980${NB}o`);
    expect(formatBytes(7.3 * MIB)).toBe(`7,3${NB}Mio`);
    expect(formatBytes(150 * MIB)).toBe(`150${NB}Mio`);
    expect(formatBinary(256 * 1024)).toBe(`256${NB}Kio`);
  });

  it('progress says "sur" and "encore … min"', () => {
    expect(progressText(7 * MIB, 300 * MIB, 500 * 1024, 120)).toBe(`7,0${NB}Mio sur 300${NB}Mio (500${NB}Kio/s) · encore 2${NB}min`);
    expect(formatDuration(3 * 86400)).toBe(`3${NB}jours`);
    expect(formatDuration(3900)).toBe(`1${NB}h 5${NB}min`);
  });

  it('rows, folders and the chunk map speak French', () => {
    expect(stateWords({ state: 'done' })).toBe('Envoyé');
    expect(rowDetail(row({ size: 2 * MIB, state: { state: 'done' } }))).toBe(`2,0${NB}Mio envoyés`);
    expect(folderWords({ state: 'syncing', pending: 1 })).toBe(`1${NB}fichier en attente`);
    expect(lastSyncWords(1000, 1000_000 + 5 * 60_000)).toBe(`Dernière synchro il y a 5${NB}min`);
    const chunk = describeChunk(
      { number: 2, start: 1_048_576, end: 2_097_152, state: { state: 'done' }, attempts: 1, last_answer: '' },
      3,
    );
    expect(chunk).toBe(`Bloc 2 sur 3 · octets 1\u202f048\u202f576–2\u202f097\u202f151 (1,0${NB}Mio) · reçu par le serveur · 1${NB}essai échoué`);
  });

  it('the settings form and the banner name their problem in French', () => {
    const base = { parallel_chunks: 3, parallel_files: 2, bandwidth_limit: 0 } as AppSettings;
    const problem = settingsProblem({ ...draftFrom(base), parallel_chunks: 40 });
    expect(problem?.message).toBe('Blocs envoyés en même temps doit être un nombre entier de 0 à 16');
    const m = reportMessage({ added: 2, target: 'Serveur', failures: [{ path: '/a', reason: 'x' }], error: null });
    expect(m?.text).toBe(`2${NB}fichiers ajoutés à Serveur, mais impossible d’en ajouter 1`);
  });
});
