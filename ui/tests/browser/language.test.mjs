// French and English in headless Chromium with a fake shell: the window follows the OS locale
// the shell reports, the Settings choice switches every text at once and is saved, and sizes,
// counts and messages are written the French way.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useHarness } from '../support.mjs';

const open = useHarness({ before, after });
const NB = '\u00a0';

/** English words of the window's own texts, which a French window must not show. */
const ENGLISH = /\b(Add|Upload|Pause|Resume|Clear|Settings|Waiting|Uploaded|Uploading|files|Drop|Watched|Retry|Cancel)\b/;

describe('language', () => {
  test('a French OS locale gives a French window: texts, sizes, counts and the page language', async () => {
    // Every text the window ever shows is recorded from the first frame on.
    const init = () => {
      window.__shown = [];
      new MutationObserver(() => window.__shown.push(document.body?.innerText ?? '')).observe(document, {
        subtree: true,
        childList: true,
        characterData: true,
      });
    };
    const { page, context, problems } = await open({ systemLanguage: 'fr', init });
    await page.getByText('Déposez des fichiers ou des dossiers ici').waitFor();
    const before = await page.evaluate(() => window.__shown.filter((t) => t.trim() !== ''));
    assert.ok(before.length > 0);
    assert.deepEqual(before.map((t) => t.match(ENGLISH)?.[0]).filter(Boolean), [], 'the first frame is French already');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr');
    await page.getByTestId('add-files').click();
    await page.locator('[role="row"]').nth(2).waitFor();
    assert.equal(await page.getByTestId('add-files').textContent(), 'Ajouter des fichiers…');
    assert.match(await page.locator('[role="row"] .sub').first().textContent(), new RegExp(`23${NB}Mio · vers Serveur de test local`));
    assert.match(await page.getByTestId('totals').textContent(), new RegExp(`^0 sur 3${NB}fichiers · 0${NB}o sur 69${NB}Mio`));
    assert.equal((await page.locator('#tab-all').textContent()).trim(), 'Tous 3');
    assert.equal(await page.getByTestId('queue').getAttribute('aria-label'), `File d’envoi, 3${NB}fichiers`);
    assert.equal(await page.locator('[role="row"] [data-testid="state"]').first().textContent(), 'En attente');
    await page.evaluate(() => window.fake.setProgress(1, 7_654_321, 512_000, 125));
    await page.evaluate(() => window.fake.setState(1, { state: 'uploading' }));
    await page.waitForFunction(() => document.querySelector('[role="row"] [data-testid="detail"]')?.textContent.includes('encore'));
    const detail = await page.locator('[role="row"] [data-testid="detail"]').first().textContent();
    assert.match(detail, new RegExp(`^7,3${NB}Mio sur 23${NB}Mio \\(\\d+(,\\d)?${NB}Kio/s\\) · encore \\d+${NB}(s|min)$`));
    const seen = await page.evaluate(() => document.body.innerText);
    assert.doesNotMatch(seen, ENGLISH, 'no English text in the French window');
    // Every button still has a name, in French.
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('button')].filter((b) => !(b.getAttribute('aria-label') || b.textContent.trim())).length,
    );
    assert.equal(unnamed, 0);
    assert.equal(await page.locator('[role="row"] button[data-action="cancel"]').first().getAttribute('title'), 'Annuler');
    // The local test server's line, which the shell writes in English, is said in French.
    await page.getByTestId('settings').click();
    const dialog = page.getByTestId('settings-dialog');
    await dialog.getByText('Garde les fichiers dans /home/me/.local/share/com.linagora.twake-uploader/test-server').waitFor();
    assert.equal(await dialog.getByTestId('language').evaluate((el) => el.options[el.selectedIndex].textContent), 'Celle du système (Français)');
    assert.doesNotMatch(await dialog.evaluate((d) => d.innerText), ENGLISH, 'no English text in the French settings');
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('choosing Français in Settings switches the window at once and is saved; the system choice names the OS language', async () => {
    const { page, context } = await open();
    await page.getByText('Drop files or folders here').waitFor();
    await page.getByTestId('settings').click();
    const dialog = page.getByTestId('settings-dialog');
    const language = dialog.getByTestId('language');
    assert.equal(await language.evaluate((el) => el.options[el.selectedIndex].textContent), 'As the system (English)');
    await language.selectOption('fr');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => window.fake.settings.language), 'fr');
    await page.getByText('Déposez des fichiers ou des dossiers ici').waitFor();
    assert.equal(await page.getByTestId('pause-all').textContent(), 'Tout en pause');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr');

    // The form speaks French too, its refusals included.
    await page.getByTestId('settings').click();
    await dialog.waitFor();
    assert.equal(await dialog.locator('h2').textContent(), 'Paramètres');
    assert.equal(await language.evaluate((el) => el.options[el.selectedIndex].textContent), 'Français');
    await dialog.locator('input[name="parallel_chunks"]').fill('40');
    await dialog.getByRole('button', { name: 'Enregistrer' }).click();
    assert.equal(
      await dialog.getByTestId('settings-error').textContent(),
      'Blocs envoyés en même temps doit être un nombre entier de 0 à 16 Tapez un nombre de 0 à 16, puis enregistrez de nouveau.',
    );
    await dialog.locator('input[name="parallel_chunks"]').fill('3');
    await language.selectOption('system');
    await dialog.getByRole('button', { name: 'Enregistrer' }).click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByText('Drop files or folders here').waitFor();
    assert.equal(await page.evaluate(() => window.fake.settings.language), 'system');
    await context.close();
  });
});
