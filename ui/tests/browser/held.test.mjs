// The queue held by the machine's conditions, in headless Chromium with a fake shell: the
// totals line says why uploads wait (a metered connection, the battery, both), in English and
// French, and the words go by themselves when the engine continues; Settings turns each
// pause off.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { useHarness } from '../support.mjs';

const open = useHarness({ before, after });
const NB = '\u00a0';

describe('held by the machine', () => {
  test('the totals line says why uploads wait and stops saying it when they continue', async () => {
    const { page, context, problems } = await open();
    await page.getByTestId('add-files').click();
    await page.locator('[role="row"]').nth(2).waitFor();
    assert.equal(await page.getByTestId('held').count(), 0, 'nothing holds the queue yet');

    await page.evaluate(() => window.fake.setHeld(['on_battery']));
    const held = page.getByTestId('held');
    await held.waitFor();
    assert.equal(await held.textContent(), 'Paused: on battery');
    assert.match(await held.getAttribute('title'), /continue by themselves/);
    // The files are not paused by anyone: they wait, and their rows say so.
    assert.equal(await page.locator('[role="row"] [data-testid="state"]').first().textContent(), 'Waiting');

    await page.evaluate(() => window.fake.setHeld(['metered']));
    await page.waitForFunction(() => document.querySelector('[data-testid="held"]')?.textContent === 'Paused: on a metered connection');
    await page.evaluate(() => window.fake.setHeld(['metered', 'on_battery']));
    await page.waitForFunction(() => document.querySelector('[data-testid="held"]')?.textContent === 'Paused: on battery and a metered connection');

    await page.evaluate(() => window.fake.setHeld([]));
    await held.waitFor({ state: 'detached' });
    // Held with nothing left to send says nothing.
    await page.evaluate(async () => {
      for (const id of [1, 2, 3]) await window.fake.setState(id, { state: 'done' });
      await window.fake.setHeld(['on_battery']);
    });
    await page.waitForFunction(() => document.querySelector('[data-testid="totals"]')?.textContent.startsWith('3 of 3 files'));
    assert.equal(await page.getByTestId('held').count(), 0);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('in French', async () => {
    const { page, context, problems } = await open({ systemLanguage: 'fr' });
    await page.getByTestId('add-files').click();
    await page.locator('[role="row"]').nth(2).waitFor();
    await page.evaluate(() => window.fake.setHeld(['on_battery']));
    await page.getByTestId('held').waitFor();
    assert.equal(await page.getByTestId('held').textContent(), `En pause${NB}: sur batterie`);
    await page.evaluate(() => window.fake.setHeld(['metered']));
    await page.waitForFunction((nb) => document.querySelector('[data-testid="held"]')?.textContent === `En pause${nb}: connexion limitée`, NB);
    await page.getByTestId('settings').click();
    const dialog = page.getByTestId('settings-dialog');
    await dialog.getByText('Mettre les envois en pause sur batterie').waitFor();
    await dialog.getByText('Mettre les envois en pause sur une connexion limitée').waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('Settings turns each pause off and on, and saves the choice', async () => {
    const { page, context, problems } = await open();
    await page.getByTestId('settings').click();
    const dialog = page.getByTestId('settings-dialog');
    const metered = dialog.getByLabel('Pause uploads on a metered connection');
    const battery = dialog.getByLabel('Pause uploads while on battery');
    assert.equal(await metered.isChecked(), true, 'on by default');
    assert.equal(await battery.isChecked(), true, 'on by default');
    await battery.uncheck();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    const saved = await page.evaluate(() => window.fake.calls.filter((c) => c.cmd === 'save_settings').at(-1).args.settings);
    assert.equal(saved.pause_on_battery, false);
    assert.equal(saved.pause_on_metered, true);
    await page.getByTestId('settings').click();
    assert.equal(await page.getByTestId('settings-dialog').getByLabel('Pause uploads while on battery').isChecked(), false, 'kept');
    assert.deepEqual(problems, []);
    await context.close();
  });
});
